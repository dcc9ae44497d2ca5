"""Model builders shared across chapters.

Each chapter first builds its models layer by layer in the open; the builders
here are the same architectures, so that later chapters (explanations, scaling)
can retrain them in seconds without depending on an earlier notebook having run.
A unit test pins each builder's architecture (layer types, shapes, parameters).
"""

from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

from ._checks import (
    ArgumentError,
    check_choice,
    check_fraction,
    check_instance,
    check_positive_int,
    check_positive_ints,
    check_shape,
)

Shape = Union[int, Tuple[int, ...]]


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

    shape = check_shape("input_shape", input_shape)
    n_outputs = check_positive_int("n_outputs", n_outputs)
    no_hidden = isinstance(hidden_units, (tuple, list)) and len(hidden_units) == 0
    units = [] if no_hidden else list(check_positive_ints("hidden_units", hidden_units))
    dropout = check_fraction("dropout", dropout)
    inputs = keras.Input(shape=shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
    for i, u in enumerate(units):
        x = keras.layers.Dense(u, activation=activation, name=f"dense_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation, name="output")(x)
    return keras.Model(inputs, outputs, name=name)


# Convolutional networks (chapter 03_cnn) ---------------------------------------------


def build_cnn1d(
    input_length: int = 40,
    n_outputs: int = 10,
    filters: Sequence[int] = (32, 32, 32),
    kernel_sizes: Sequence[int] = (5, 3, 3),
    pool_size: int = 2,
    name: str = "cnn1d",
):
    """The 1-D CNN of chapter 03_cnn (MNIST-1D): [Conv1D('same', ReLU) -> MaxPooling1D] blocks -> Flatten -> Dense.

    One block per entry of ``filters`` (with the matching entry of
    ``kernel_sizes``); the input has shape ``(input_length, 1)`` and the output
    is ``n_outputs`` logits. With the defaults: 8,010 parameters.
    """
    import keras

    input_length = check_positive_int("input_length", input_length)
    n_outputs = check_positive_int("n_outputs", n_outputs)
    pool_size = check_positive_int("pool_size", pool_size)
    filters = check_positive_ints("filters", filters)
    kernel_sizes = check_positive_ints("kernel_sizes", kernel_sizes)
    if len(filters) != len(kernel_sizes):
        raise ArgumentError(
            f"filters and kernel_sizes must have the same length (one per block); got {len(filters)} and {len(kernel_sizes)}."
        )
    if input_length < pool_size ** len(filters):
        raise ArgumentError(
            f"input_length {input_length} is too short for {len(filters)} pooling steps of {pool_size}; "
            f"it must be at least {pool_size ** len(filters)}."
        )
    inputs = keras.Input(shape=(input_length, 1), name="signal")
    x = inputs
    for i, (n_filters, kernel_size) in enumerate(zip(filters, kernel_sizes)):
        x = keras.layers.Conv1D(n_filters, kernel_size, padding="same", activation="relu", name=f"conv_{i}")(x)
        x = keras.layers.MaxPooling1D(pool_size, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(n_outputs, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_cnn2d(
    input_shape: Tuple[int, int, int] = (8, 8, 1),
    n_outputs: int = 10,
    filters: Sequence[int] = (32, 32),
    kernel_size: int = 3,
    dropout: float = 0.5,
    name: str = "cnn2d",
):
    """The 2-D CNN of chapter 03_cnn (8x8 digits): Conv2D('same', ReLU) layers -> one 2x2 MaxPooling2D -> Flatten -> Dropout -> Dense.

    One convolution per entry of ``filters``, all at the input's resolution,
    then a single 2x2 max pooling. The output is ``n_outputs`` logits. With the
    defaults: 14,698 parameters. The chapter's recipe for the digits
    (``utils.data.load_digits(as_images=True)``) is ``utils.training.fit_classifier``
    with 40 epochs, ``learning_rate=3e-3``, ``batch_size=32`` and
    ``label_smoothing=0.1``; it takes about 8 s on two CPU cores, so later
    chapters retrain the model instead of loading it.
    """
    import keras

    shape = check_shape("input_shape", input_shape)
    if len(shape) != 3:
        raise ArgumentError(f"input_shape must be (height, width, channels); got {input_shape!r}.")
    n_outputs = check_positive_int("n_outputs", n_outputs)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    filters = check_positive_ints("filters", filters)
    dropout = check_fraction("dropout", dropout)
    if min(shape[:2]) < 2:
        raise ArgumentError(f"input_shape {shape} is too small for 2x2 pooling; height and width must be at least 2.")
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    for i, n_filters in enumerate(filters):
        x = keras.layers.Conv2D(n_filters, kernel_size, padding="same", activation="relu", name=f"conv_{i}")(x)
    x = keras.layers.MaxPooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout > 0:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    outputs = keras.layers.Dense(n_outputs, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


# Recurrent networks (chapter 04_rnn) -------------------------------------------------

_RECURRENT_CELLS = ("simple_rnn", "lstm", "gru")


def _recurrent_layer(cell: str, units: int, **kwargs):
    import keras

    check_choice("cell", cell, _RECURRENT_CELLS)
    layer_class = {"simple_rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    return layer_class(units, **kwargs)


def build_rnn_classifier(
    input_length: int = 40,
    n_features: int = 1,
    n_outputs: int = 10,
    units: int = 64,
    cell: str = "gru",
    name: str = "gru_classifier",
    layer_options: Optional[dict] = None,
):
    """A recurrent sequence classifier (chapter 04_rnn): one recurrent layer -> Dense logits.

    The recurrent layer (``cell`` = 'simple_rnn', 'lstm' or 'gru') reads the
    sequence of shape ``(input_length, n_features)``; its last state feeds a
    Dense layer with ``n_outputs`` logits. With the defaults (a GRU of 64 units
    on MNIST-1D): 13,514 parameters. ``layer_options`` are passed on to the
    recurrent layer (for example a ``bias_initializer``).
    """
    import keras

    input_length = check_positive_int("input_length", input_length)
    n_features = check_positive_int("n_features", n_features)
    n_outputs = check_positive_int("n_outputs", n_outputs)
    units = check_positive_int("units", units)
    if layer_options is not None:
        check_instance("layer_options", layer_options, dict, "a dict of keyword arguments or None")
    inputs = keras.Input(shape=(input_length, n_features), name="sequence")
    state = _recurrent_layer(cell, units, name="recurrent", **(layer_options or {}))(inputs)
    outputs = keras.layers.Dense(n_outputs, name="logits")(state)
    return keras.Model(inputs, outputs, name=name)


def build_rnn_forecaster(
    window: int,
    horizon: int,
    units: int = 32,
    cell: str = "gru",
    name: str = "forecaster",
):
    """A direct multi-step forecaster (chapter 04_rnn): recurrent layer -> Dense(horizon).

    Input: ``window`` past values, shape ``(window, 1)``; output: the next
    ``horizon`` values at once (one Dense unit per step ahead).
    """
    import keras

    window = check_positive_int("window", window)
    horizon = check_positive_int("horizon", horizon)
    units = check_positive_int("units", units)
    inputs = keras.Input(shape=(window, 1), name="past")
    state = _recurrent_layer(cell, units, name="recurrent")(inputs)
    outputs = keras.layers.Dense(horizon, name="future")(state)
    return keras.Model(inputs, outputs, name=name)


def build_seq2seq_attention(
    source_vocabulary_size: int,
    target_vocabulary_size: int,
    source_length: int,
    target_length: int,
    embedding_dim: int = 16,
    units: int = 64,
    name: str = "seq2seq_attention",
):
    """A GRU encoder-decoder with additive attention (chapter 04_rnn), trained with teacher forcing.

    Inputs: ``source`` ids (source_length,), id 0 is padding and is masked; and
    ``decoder_input`` ids (target_length,): the start id followed by the target
    shifted right. The encoder is a bidirectional GRU (``units`` per direction)
    whose final states, concatenated, start a GRU decoder of ``2 * units``; an
    ``AdditiveAttention`` layer named ``"attention"`` lets each decoder step
    look at every encoder step, and the concatenation [decoder state, context]
    gives ``target_vocabulary_size`` logits per output position. Use
    :func:`attention_model` to read the alignment weights.
    """
    import keras

    source_vocabulary_size = check_positive_int("source_vocabulary_size", source_vocabulary_size)
    target_vocabulary_size = check_positive_int("target_vocabulary_size", target_vocabulary_size)
    source_length = check_positive_int("source_length", source_length)
    target_length = check_positive_int("target_length", target_length)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim)
    units = check_positive_int("units", units)
    source = keras.Input(shape=(source_length,), dtype="int32", name="source")
    decoder_input = keras.Input(shape=(target_length,), dtype="int32", name="decoder_input")
    embedded_source = keras.layers.Embedding(
        source_vocabulary_size, embedding_dim, mask_zero=True, name="source_embedding"
    )(source)
    encoder_states, forward_state, backward_state = keras.layers.Bidirectional(
        keras.layers.GRU(units, return_sequences=True, return_state=True), name="encoder"
    )(embedded_source)
    decoder_start = keras.layers.Concatenate(name="encoder_final_state")([forward_state, backward_state])
    embedded_target = keras.layers.Embedding(target_vocabulary_size, embedding_dim, name="target_embedding")(
        decoder_input
    )
    decoder_states = keras.layers.GRU(2 * units, return_sequences=True, name="decoder")(
        embedded_target, initial_state=decoder_start
    )
    context, _scores = keras.layers.AdditiveAttention(name="attention")(
        [decoder_states, encoder_states], return_attention_scores=True
    )
    features = keras.layers.Concatenate(name="state_and_context")([decoder_states, context])
    logits = keras.layers.Dense(target_vocabulary_size, name="logits")(features)
    return keras.Model([source, decoder_input], logits, name=name)


def attention_model(seq2seq_model):
    """A model with the same inputs as :func:`build_seq2seq_attention`'s that returns
    the attention weights, shape (batch, target_length, source_length)."""
    import keras

    try:
        layer = seq2seq_model.get_layer("attention")
    except ValueError:
        raise ArgumentError("seq2seq_model must come from build_seq2seq_attention (no layer named 'attention').") from None
    return keras.Model(seq2seq_model.inputs, layer.output[1], name="attention_weights")
