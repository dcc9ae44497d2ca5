"""Model builders shared across chapters.

Each chapter first builds its models layer by layer in the open; the builders
here are the same architectures, so that later chapters (explanations, scaling)
can retrain them in seconds without depending on an earlier notebook having run.
A unit test pins each builder's architecture (layer types, shapes, parameters).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

Shape = Union[int, Tuple[int, ...]]


def _check_positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return value


def _as_shape(input_shape: Shape) -> Tuple[int, ...]:
    shape = (input_shape,) if isinstance(input_shape, int) else tuple(input_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in shape):
        raise ValueError(
            f"input_shape must be a positive int or a tuple of positive ints; got {input_shape!r}."
        )
    return shape


def build_mlp(
    input_shape: Shape,
    n_outputs: int,
    hidden_units: Sequence[int] = (64,),
    activation: str = "relu",
    output_activation: Optional[str] = None,
    dropout: float = 0.0,
    name: str = "mlp",
):
    """A multilayer perceptron: ``Flatten`` (if needed) -> Dense(+Dropout) blocks -> Dense.

    ``output_activation=None`` gives logits (use ``from_logits=True`` losses) or a
    linear regression output.
    """
    import keras

    shape = _as_shape(input_shape)
    _check_positive_int("n_outputs", n_outputs)
    units = list(hidden_units)
    for u in units:
        _check_positive_int("hidden_units entries", u)
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"dropout must be a number in [0, 1); got {dropout!r}.")
    inputs = keras.Input(shape=shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
    for i, u in enumerate(units):
        x = keras.layers.Dense(u, activation=activation, name=f"dense_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name=name)
