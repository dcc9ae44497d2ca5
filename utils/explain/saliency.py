"""Saliency maps for Keras classifiers (chapter 7, *Saliency maps*).

One function per method, each taking a trained model, a batch of inputs and one
target class per input, and returning one **raw** map per input with the input's
spatial shape: ``(n, length)`` for 1-D signals of shape ``(length, channels)``,
``(n, height, width)`` for images of shape ``(height, width, channels)``. Maps
are not rescaled to [0, 1]; the plotting helpers scale them for display only.

Gradient methods, written with ``keras.ops`` and
:func:`utils.training.gradients`, so they run under every backend (the JAX
path of a Colab TPU included, where TensorFlow is absent):

* :func:`vanilla_gradients`: the gradient of the class score with respect to
  the input (Simonyan et al., 2014);
* :func:`smoothgrad`: that gradient averaged over noisy copies of the input
  (Smilkov et al., 2017);
* :func:`integrated_gradients`: the path integral of the gradient from a
  baseline to the input, times their difference (Sundararajan et al., 2017);
* :func:`gradcam`, :func:`gradcam_plus_plus`, :func:`layercam`: class
  activation maps of a spatial layer weighted by gradients (Selvaraju et al.,
  2017; Chattopadhay et al., 2018; Jiang et al., 2021).

Through tf-keras-vis (TensorFlow backend only; imported inside the functions):

* :func:`scorecam`: Score-CAM and Faster Score-CAM (Wang et al., 2020);
* :func:`activation_maximization`: inputs that maximise a class score;
* ``implementation="tf-keras-vis"`` on the gradient methods above (except
  Integrated Gradients, which tf-keras-vis lacks) runs the library's version,
  so that a chapter can check that both agree.

What this module hides (traps of tf-keras-vis 0.8.7 with Keras 3): the model is
first rebuilt by :func:`explanation_model` as one flat functional graph that
shares the original layers, so that Sequential models and base models nested in
another model work (tf-keras-vis's ``ReplaceToLinear`` fails on Sequential
models, and Grad-CAM fails on nested ones with "not connected to inputs"); a
softmax or sigmoid on the output is dropped, so that every method explains the
logit; and Score-CAM, which applies a softmax to the model's outputs, is given
the two log-probabilities of a single-unit sigmoid head instead of its one
logit (the softmax of one number is 1, which would make every weight equal).

The class score each method explains is :func:`target_scores`: the logit of the
target class for a multi-class head, and ``+z`` (target 1) or ``-z`` (target 0)
for a single-unit head with logit ``z``. :func:`model_passes` gives the cost of
each method in forward and backward passes per explained input.
"""

from __future__ import annotations

import weakref
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from .._checks import (
    ArgumentError,
    check_array,
    check_bool,
    check_choice,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_positive_number,
    check_seed,
    check_string,
    is_int,
)

IMPLEMENTATIONS = ("keras", "tf-keras-vis")
_OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "linear")
_FEATURES = "saliency_features"
# Rebuilt models, per original model and request: built once, so that repeated calls cost no graph
# construction (and add no nodes to the shared layers); the copied output layer is refreshed per call.
_REBUILT: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


# --------------------------------------------------------------------------
# The model seen by every method: one flat functional graph, logits out
# --------------------------------------------------------------------------


def _keras():
    import keras

    return keras


def _is_convolution(layer: Any) -> bool:
    keras = _keras()
    kinds = tuple(
        getattr(keras.layers, name)
        for name in ("Conv1D", "Conv2D", "Conv3D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
                     "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose")
        if hasattr(keras.layers, name)
    )
    return isinstance(layer, kinds)


def _inner_layers(model: Any) -> list:
    """Every layer of ``model`` that is not itself a model, nested models opened, in graph order."""
    keras = _keras()
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found.extend(_inner_layers(layer))
        elif not isinstance(layer, keras.layers.InputLayer):
            found.append(layer)
    return found


def _output_layer(model: Any) -> Any:
    """The layer that produces the model's output (inside nested models)."""
    keras = _keras()
    if isinstance(model, keras.Sequential):
        last = model.layers[-1]
    else:
        last = model.outputs[0]._keras_history.operation
    return _output_layer(last) if isinstance(last, keras.Model) else last


def _output_activation(layer: Any) -> str:
    """'softmax', 'sigmoid' or 'linear': the activation at the end of the output layer."""
    keras = _keras()
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    activation = getattr(layer, "activation", None)
    name = getattr(activation, "__name__", None) if activation is not None else "linear"
    if name in _OUTPUT_ACTIVATIONS:
        return name
    raise ArgumentError(
        f"model must end in a layer with a linear, softmax or sigmoid output (logits or probabilities); "
        f"its output layer {layer.name!r} has activation {name!r}."
    )


def _check_model(model: Any) -> Any:
    keras = _keras()
    check_instance("model", model, keras.Model, "a keras.Model")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise ArgumentError("model has no inputs yet; build it first (give it a keras.Input or call it once).")
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise ArgumentError(
            f"model must have one input and one output; got {len(inputs)} inputs and {len(model.outputs)} outputs."
        )
    if len(model.outputs[0].shape) != 2:
        raise ArgumentError(f"model must output one vector of scores per example; got output shape {model.outputs[0].shape}.")
    return model


def _find_layer(model: Any, layer: Any) -> Any:
    """The layer named ``layer`` (nested models searched), or the last convolution when ``layer`` is None."""
    layers = _inner_layers(model)
    if layer is None:
        convolutions = [candidate for candidate in layers if _is_convolution(candidate)]
        if not convolutions:
            raise ArgumentError(
                "model has no convolutional layer, so a class activation map needs layer=: the name of a "
                "layer whose output has spatial axes (batch, length, channels) or (batch, height, width, channels)."
            )
        found = convolutions[-1]
    else:
        check_string("layer", layer)
        matches = [candidate for candidate in layers if candidate.name == layer]
        if not matches:
            names = ", ".join(repr(candidate.name) for candidate in layers)
            raise ArgumentError(f"layer {layer!r} is not in the model; its layers are {names}.")
        found = matches[0]
    input_rank = len(model.inputs[0].shape)
    shape = tuple(found.output.shape)
    if len(shape) not in (3, 4):
        raise ArgumentError(
            f"layer {found.name!r} is not spatial: its output has shape {shape}, but a class activation map needs "
            "(batch, length, channels) for 1-D signals or (batch, height, width, channels) for images."
        )
    if len(shape) != input_rank:
        raise ArgumentError(
            f"layer {found.name!r} has {len(shape) - 2} spatial axes (output shape {shape}) and the input "
            f"{input_rank - 2}: a class activation map needs a layer with the input's spatial axes."
        )
    return found


def find_spatial_layer(model: Any) -> str:
    """The name of the last convolutional layer of ``model`` (nested models searched).

    This is the layer that :func:`gradcam` and the other class activation maps
    use when none is named. Raises :class:`utils.ArgumentError` when ``model``
    is not a built ``keras.Model`` or has no convolutional layer.
    """
    _check_model(model)
    return _find_layer(model, None).name


def explanation_model(model: Any, layer: Optional[str] = None, *, head: str = "logits", features: bool = False,
                      feature_offset: bool = False) -> Any:
    """``model`` rebuilt as one flat functional graph that shares its layers and weights.

    Nested models are opened and Sequential models become functional, so that
    every layer's output is connected to the new input. With ``head="logits"``
    a softmax or sigmoid at the end is dropped (the new model outputs logits);
    with ``head="log_probabilities"`` it outputs the log-probabilities of the
    classes, two columns ``[log(1 - p), log p]`` for a single-unit sigmoid head
    (so that a softmax of the outputs gives back the class probabilities).

    With ``features=True`` the rebuilt model has two outputs, ``[features,
    scores]``, where the features are the output of ``layer`` (a name, or
    None for the last convolution): the layer's output passes
    through an identity layer named ``"saliency_features"``, which tf-keras-vis
    can be pointed at. With ``feature_offset=True`` the model also takes a
    second input that is added to the features: the gradient with respect to
    it, at zero, is the gradient with respect to the features, under any
    backend. Only the output layer is copied when its activation is changed
    (its weights are copied again at every call); everything else is the
    original layer. The rebuilt model is kept, per model and arguments, and
    returned again by later calls.

    Raises :class:`utils.ArgumentError` for a model that is not a built
    single-input, single-output ``keras.Model``, an unknown ``head``, a
    ``layer`` that does not exist or is not spatial, or layer names that repeat
    across nested models.
    """
    keras = _keras()
    _check_model(model)
    check_choice("head", head, ("logits", "log_probabilities"))
    features = check_bool("features", features)
    feature_offset = check_bool("feature_offset", feature_offset)
    target = _find_layer(model, layer) if (features or feature_offset) else None
    key = (None if target is None else target.name, head, feature_offset, len(_inner_layers(model)))
    cached = _REBUILT.setdefault(model, {}).get(key)
    if cached is not None:
        rebuilt, copy, original = cached
        if copy is not None:
            copy.set_weights(original.get_weights())
        return rebuilt
    names = [candidate.name for candidate in _inner_layers(model)]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ArgumentError(f"model has layers that share a name across nested models ({', '.join(repeated)}); "
                            "give them unique names.")
    last = _output_layer(model)
    activation = _output_activation(last)
    n_outputs = int(model.outputs[0].shape[-1])
    linear_last = _linear_copy(last) if (activation != "linear" and not isinstance(last, (keras.layers.Softmax, keras.layers.Activation))) else None

    inputs = keras.Input(shape=tuple(model.inputs[0].shape[1:]), name="saliency_input")
    captured: Dict[str, Any] = {}
    offset_input = None

    def apply(operation, *args, **kwargs):
        nonlocal offset_input
        if isinstance(operation, keras.Model):
            return run(operation, args[0] if args else kwargs.pop("inputs"))
        if operation is last and activation != "linear":
            return args[0] if linear_last is None else linear_last(args[0])
        outputs = operation(*args, **kwargs)
        if operation is target:
            marked = keras.layers.Identity(name=_FEATURES)(outputs)
            captured["features"] = marked
            if feature_offset:
                offset_input = keras.Input(shape=tuple(marked.shape[1:]), name="feature_offset")
                outputs = keras.layers.Add(name="saliency_features_offset")([marked, offset_input])
            else:
                outputs = marked
        return outputs

    def run(graph, x):
        if isinstance(graph, keras.Sequential):
            for operation in graph.layers:
                if not isinstance(operation, keras.layers.InputLayer):
                    x = apply(operation, x)
            return x
        return graph._run_through_graph(x, operation_fn=lambda operation: lambda *a, **k: apply(operation, *a, **k))

    scores = run(model, inputs)
    if isinstance(scores, (list, tuple)):
        scores = scores[0]
    if head == "log_probabilities":
        if n_outputs == 1:
            scores = keras.layers.Lambda(
                lambda z: keras.ops.concatenate([-keras.ops.softplus(z), -keras.ops.softplus(-z)], axis=-1),
                name="binary_log_probabilities")(scores)
        else:
            scores = keras.layers.Lambda(lambda z: keras.ops.log_softmax(z, axis=-1), name="log_probabilities")(scores)
    model_inputs = inputs if offset_input is None else [inputs, offset_input]
    outputs = scores if target is None else [captured["features"], scores]
    rebuilt = keras.Model(model_inputs, outputs, name=f"{model.name}_explained")
    _REBUILT[model][key] = (rebuilt, linear_last, last)
    return rebuilt


def _linear_copy(layer: Any) -> Any:
    """A copy of ``layer`` (a Dense-like layer) with a linear activation and the same weights."""
    config = dict(layer.get_config(), activation="linear", name=f"{layer.name}_logits")
    copy = type(layer).from_config(config)
    copy.build(layer.input.shape)
    copy.set_weights(layer.get_weights())
    return copy


# --------------------------------------------------------------------------
# Checks of the inputs and targets
# --------------------------------------------------------------------------


def _check_batch(model: Any, x: Any) -> np.ndarray:
    array = check_array("x", x, finite=True)
    expected = tuple(model.inputs[0].shape[1:])
    if array.ndim != len(expected) + 1:
        raise ArgumentError(
            f"x must be a batch of inputs of shape (n, {', '.join(str(d) for d in expected)}), one row per "
            f"example ({len(expected) + 1}-D); got shape {array.shape}. For one example, use x[None]."
        )
    for got, want in zip(array.shape[1:], expected):
        if want is not None and got != want:
            raise ArgumentError(f"x must have shape (n, {', '.join(str(d) for d in expected)}); got {array.shape}.")
    if array.ndim not in (3, 4):
        raise ArgumentError(f"x must hold 1-D signals (n, length, channels) or images (n, height, width, channels); "
                            f"got shape {array.shape}.")
    return array.astype(np.float32)


def n_classes(model: Any) -> int:
    """The number of classes a target may name: the output width, or 2 for a single-unit head."""
    _check_model(model)
    width = int(model.outputs[0].shape[-1])
    return 2 if width == 1 else width


def _check_targets(model: Any, targets: Any, n: int) -> np.ndarray:
    classes = n_classes(model)
    if is_int(targets):
        targets = np.full(n, int(targets))
    array = check_array("targets", targets, 1)
    if array.dtype.kind not in "iu":
        raise ArgumentError(f"targets must hold integer class indices; got dtype {array.dtype}.")
    if len(array) != n:
        raise ArgumentError(f"targets must have one class per example ({n}); got {len(array)}.")
    if array.min() < 0 or array.max() >= classes:
        bad = int(array[(array < 0) | (array >= classes)][0])
        raise ArgumentError(f"targets must be class indices in [0, {classes - 1}]; got {bad}.")
    return array.astype(np.int64)


def _scores_from_outputs(outputs: Any, targets: Any) -> Any:
    """Per-example target scores from logits (keras.ops): z[target], or (2 t - 1) z for one unit."""
    keras = _keras()
    ops = keras.ops
    width = outputs.shape[-1]
    if width == 1:
        sign = 2.0 * ops.cast(targets, outputs.dtype) - 1.0
        return outputs[:, 0] * sign
    return ops.sum(outputs * ops.one_hot(targets, width, dtype=outputs.dtype), axis=-1)


def target_scores(model: Any, x: Any, targets: Any, batch_size: int = 256) -> np.ndarray:
    """The class score every method here explains, one per example.

    For a multi-class head, the logit of the target class (a softmax at the
    end of the model is dropped); for a single-unit head with logit ``z``,
    ``z`` for target 1 and ``-z`` for target 0 (a sigmoid is dropped).
    Integrated Gradients' attributions add up to ``target_scores(x) -
    target_scores(baseline)``.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    flat = explanation_model(model)
    x = _check_batch(model, x)
    targets = _check_targets(model, targets, len(x))
    return np.concatenate([
        _keras().ops.convert_to_numpy(_scores_from_outputs(flat(x[i : i + batch_size], training=False), targets[i : i + batch_size]))
        for i in range(0, len(x), batch_size)
    ])


def _reduce_channels(gradients: np.ndarray, keep_channels: bool) -> np.ndarray:
    return gradients if keep_channels else gradients.sum(axis=-1)


def _implementation(value: Any) -> str:
    check_choice("implementation", value, IMPLEMENTATIONS)
    if value == "tf-keras-vis":
        _require_tensorflow("implementation='tf-keras-vis'")
    return value


def _require_tensorflow(what: str) -> None:
    backend = _keras().backend.backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"{what} needs tf-keras-vis, which needs the TensorFlow backend; the active backend is {backend!r}. "
            "Use implementation='keras' (the gradient methods) or set KERAS_BACKEND=tensorflow."
        )


# --------------------------------------------------------------------------
# Gradient methods (any backend)
# --------------------------------------------------------------------------


# Compiled gradient functions under JAX, one per rebuilt model (see _jax_input_gradient_function).
_JAX_GRADIENTS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _jax_input_gradient_function(flat: Any) -> Any:
    """``grad(inputs, targets, trainable, non_trainable)``: d (sum of target scores) / d inputs, under JAX.

    ``jax.grad`` of the model's ``stateless_call``, compiled with ``jax.jit`` once
    per rebuilt model (and traced once per chunk shape). The weights are
    arguments, not constants of the compiled function, so a model trained
    further, or an output layer whose weights were copied again, is explained
    with its current weights.
    """
    function = _JAX_GRADIENTS.get(flat)
    if function is None:
        import jax

        def total_score(inputs, rows, trainable, non_trainable):
            outputs, _ = flat.stateless_call(trainable, non_trainable, inputs, training=False)
            return _keras().ops.sum(_scores_from_outputs(outputs, rows))

        function = _JAX_GRADIENTS[flat] = jax.jit(jax.grad(total_score))
    return function


def _input_gradients(flat: Any, x: np.ndarray, targets: np.ndarray, batch_size: int) -> np.ndarray:
    """d score / d x for every row, in chunks of ``batch_size`` rows (one forward and one backward each).

    Under JAX the gradient is compiled once per model (:func:`_jax_input_gradient_function`);
    under TensorFlow it runs through :func:`utils.training.gradients`.
    """
    from ..training import gradients

    if _keras().backend.backend() == "jax":
        gradient = _jax_input_gradient_function(flat)
        trainable = [variable.value for variable in flat.trainable_variables]
        non_trainable = [variable.value for variable in flat.non_trainable_variables]
        return np.concatenate([
            np.asarray(gradient(x[start : start + batch_size], targets[start : start + batch_size].astype(np.int32),
                                trainable, non_trainable))
            for start in range(0, len(x), batch_size)
        ])
    chunks = []
    for start in range(0, len(x), batch_size):
        rows = targets[start : start + batch_size]

        def total_score(inputs, rows=rows):
            return _keras().ops.sum(_scores_from_outputs(flat(inputs, training=False), rows))

        chunks.append(gradients(total_score, x[start : start + batch_size])[0])
    return np.concatenate(chunks)


def vanilla_gradients(model: Any, x: Any, targets: Any, *, keep_channels: bool = False,
                      implementation: str = "keras", batch_size: int = 256) -> np.ndarray:
    """Gradient of the target score with respect to each input (Simonyan et al., 2014).

    Returns the signed gradient, summed over the channel axis (shape
    ``x.shape[:-1]``) unless ``keep_channels=True`` (shape ``x.shape``). One
    forward and one backward pass per example, ``batch_size`` examples per
    call. ``implementation="tf-keras-vis"`` runs ``tf_keras_vis.saliency.Saliency``
    on the same model, without its absolute value and normalisation.

    Raises :class:`utils.ArgumentError` for a bad model, a batch of the wrong
    shape (rank or sizes), targets out of range or of the wrong length.
    """
    keep_channels = check_bool("keep_channels", keep_channels)
    implementation = _implementation(implementation)
    batch_size = check_positive_int("batch_size", batch_size)
    x = _check_batch(_check_model(model), x)
    targets = _check_targets(model, targets, len(x))
    flat = explanation_model(model)
    if implementation == "tf-keras-vis":
        from tf_keras_vis.saliency import Saliency

        grads = Saliency(_for_tf_keras_vis(flat), clone=False)(_tf_keras_vis_score(flat, targets), x, gradient_modifier=None,
                                             keepdims=True, normalize_map=False)
        return _reduce_channels(np.asarray(grads), keep_channels)
    return _reduce_channels(_input_gradients(flat, x, targets, batch_size), keep_channels)


def _noise_scale(x: np.ndarray, noise_level: float) -> np.ndarray:
    axes = tuple(range(1, x.ndim))
    return noise_level * (x.max(axis=axes, keepdims=True) - x.min(axis=axes, keepdims=True))


def smoothgrad(model: Any, x: Any, targets: Any, *, n_samples: int = 25, noise_level: float = 0.2, seed: int = 0,
               keep_channels: bool = False, implementation: str = "keras", batch_size: int = 256) -> np.ndarray:
    """SmoothGrad (Smilkov et al., 2017): the gradient averaged over ``n_samples`` noisy copies of each input.

    The noise is Gaussian with standard deviation ``noise_level * (max(x_i) -
    min(x_i))`` for example ``i``. It is drawn from NumPy's legacy generator
    seeded with ``seed``, in the order tf-keras-vis draws it, so both
    implementations average the same noisy copies. Returns the signed mean
    gradient (tf-keras-vis's default averages absolute values instead), summed
    over channels unless ``keep_channels=True``. ``n_samples`` forward and
    backward passes per example, batched.

    Raises :class:`utils.ArgumentError` as :func:`vanilla_gradients` does, and
    for a bad ``n_samples``, ``noise_level`` (>= 0) or ``seed``.
    """
    n_samples = check_positive_int("n_samples", n_samples)
    noise_level = check_number("noise_level", noise_level, 0.0)
    seed = check_seed("seed", seed)
    keep_channels = check_bool("keep_channels", keep_channels)
    implementation = _implementation(implementation)
    batch_size = check_positive_int("batch_size", batch_size)
    x = _check_batch(_check_model(model), x)
    targets = _check_targets(model, targets, len(x))
    flat = explanation_model(model)
    if implementation == "tf-keras-vis":
        from tf_keras_vis.saliency import Saliency

        state = np.random.get_state()
        np.random.seed(seed)
        try:
            grads = Saliency(_for_tf_keras_vis(flat), clone=False)(_tf_keras_vis_score(flat, targets), x, smooth_samples=n_samples,
                                                 smooth_noise=noise_level, gradient_modifier=None, keepdims=True,
                                                 normalize_map=False)
        finally:
            np.random.set_state(state)
        return _reduce_channels(np.asarray(grads), keep_channels)
    noise = np.random.RandomState(seed).standard_normal((n_samples,) + x.shape)
    noisy = (x[None] + noise * _noise_scale(x, noise_level)[None]).astype(np.float32)
    grads = _input_gradients(flat, noisy.reshape((-1,) + x.shape[1:]), np.tile(targets, n_samples), batch_size)
    return _reduce_channels(grads.reshape(noisy.shape).mean(axis=0), keep_channels)


def _check_baseline(baseline: Any, x: np.ndarray) -> np.ndarray:
    if baseline is None:
        return np.zeros_like(x)
    array = check_array("baseline", baseline, finite=True).astype(np.float32)
    if array.shape == x.shape[1:]:
        return np.broadcast_to(array, x.shape).copy()
    if array.shape != x.shape:
        raise ArgumentError(f"baseline must have the shape of one input {x.shape[1:]} or of x {x.shape}; got {array.shape}.")
    return array


def integrated_gradients(model: Any, x: Any, targets: Any, *, baseline: Any = None, steps: int = 32,
                         keep_channels: bool = False, batch_size: int = 1024) -> np.ndarray:
    """Integrated Gradients (Sundararajan et al., 2017), batched over examples and path points.

    ``IG_i = (x_i - x'_i) * (1/m) sum_k dF/dx_i at x' + a_k (x - x')``, with the
    midpoint rule ``a_k = (k - 1/2) / m`` for ``k = 1..m`` (``m = steps``) and
    the baseline ``x'`` (zeros unless given: one input's shape, or ``x``'s).
    ``F`` is :func:`target_scores`. The attributions add up to ``F(x) - F(x')``
    up to the quadrature error (completeness); for a model linear in its input
    they are exactly ``(x - x') * w``. Summed over channels unless
    ``keep_channels=True`` (the sum keeps completeness). ``steps`` forward and
    backward passes per example, ``batch_size`` path points per call.

    Raises :class:`utils.ArgumentError` as :func:`vanilla_gradients` does, and
    for a bad ``steps`` or a baseline of the wrong shape.
    """
    steps = check_positive_int("steps", steps)
    keep_channels = check_bool("keep_channels", keep_channels)
    batch_size = check_positive_int("batch_size", batch_size)
    x = _check_batch(_check_model(model), x)
    targets = _check_targets(model, targets, len(x))
    baseline = _check_baseline(baseline, x)
    flat = explanation_model(model)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    shape = (steps,) + (1,) * x.ndim
    path = baseline[None] + alphas.reshape(shape) * (x - baseline)[None]  # (steps, n, ...)
    grads = _input_gradients(flat, path.reshape((-1,) + x.shape[1:]), np.tile(targets, steps), batch_size)
    attributions = (x - baseline) * grads.reshape(path.shape).mean(axis=0)
    return _reduce_channels(attributions, keep_channels)


# --------------------------------------------------------------------------
# Class activation maps
# --------------------------------------------------------------------------


def _upsample(maps: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Linear interpolation of (n, *feature spatial) maps to (n, *input spatial), as tf-keras-vis does it."""
    from scipy.ndimage import zoom

    factors = (1.0,) + tuple(float(t) / float(f) for f, t in zip(maps.shape[1:], x.shape[1:-1]))
    return zoom(maps, factors, order=1)


def _features_and_gradients(model: Any, x: np.ndarray, targets: np.ndarray, layer: Optional[str],
                            batch_size: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features A, d score / d A, scores), for the chosen layer: one forward, then one forward and backward."""
    from ..training import gradients

    keras = _keras()
    flat = explanation_model(model, layer, features=True, feature_offset=True)
    features, grads, scores = [], [], []
    for start in range(0, len(x), batch_size):
        rows = targets[start : start + batch_size]
        part = keras.ops.convert_to_tensor(x[start : start + batch_size])
        zero = np.zeros((len(rows),) + tuple(flat.inputs[1].shape[1:]), np.float32)
        a, logits = flat([part, keras.ops.convert_to_tensor(zero)], training=False)
        features.append(keras.ops.convert_to_numpy(a))
        scores.append(keras.ops.convert_to_numpy(_scores_from_outputs(logits, rows)))

        def total_score(offset, rows=rows, part=part):
            return keras.ops.sum(_scores_from_outputs(flat([part, offset], training=False)[1], rows))

        grads.append(gradients(total_score, zero)[0])
    return np.concatenate(features), np.concatenate(grads), np.concatenate(scores)


def _cam_from_weights(features: np.ndarray, weights: np.ndarray, relu: bool) -> np.ndarray:
    cam = (features * weights).sum(axis=-1)
    return np.maximum(cam, 0.0) if relu else cam


def _spatial_axes(features: np.ndarray) -> tuple:
    return tuple(range(1, features.ndim - 1))


def _cam_arguments(model, x, targets, layer, implementation, batch_size, relu):
    implementation = _implementation(implementation)
    batch_size = check_positive_int("batch_size", batch_size)
    relu = check_bool("relu", relu)
    x = _check_batch(_check_model(model), x)
    targets = _check_targets(model, targets, len(x))
    _find_layer(model, layer)
    return x, targets, implementation, batch_size, relu


def gradcam(model: Any, x: Any, targets: Any, *, layer: Optional[str] = None, relu: bool = True,
            implementation: str = "keras", batch_size: int = 256) -> np.ndarray:
    """Grad-CAM (Selvaraju et al., 2017), upsampled to the input's spatial shape.

    With ``A`` the output of ``layer`` (the last convolution when None) and
    ``S`` the target score, ``w_k = mean over positions of dS/dA_k`` and the map
    is ``ReLU(sum_k w_k A_k)`` (no ReLU with ``relu=False``), then linearly
    interpolated to the input's size the way tf-keras-vis does it
    (``scipy.ndimage.zoom``, order 1). Two forward passes and one backward pass
    per example (the features, then the gradient). ``implementation="tf-keras-vis"``
    runs ``tf_keras_vis.gradcam.Gradcam`` on the same layer, without normalisation.

    Raises :class:`utils.ArgumentError` as :func:`vanilla_gradients` does, and
    when ``layer`` does not exist, is not spatial, or the model has no
    convolution and no layer is named.
    """
    x, targets, implementation, batch_size, relu = _cam_arguments(model, x, targets, layer, implementation, batch_size, relu)
    if implementation == "tf-keras-vis":
        return _tf_keras_vis_cam("gradcam", model, x, targets, layer, relu)
    features, grads, _ = _features_and_gradients(model, x, targets, layer, batch_size)
    weights = grads.mean(axis=_spatial_axes(grads), keepdims=True)
    return _upsample(_cam_from_weights(features, weights, relu), x)


def gradcam_plus_plus(model: Any, x: Any, targets: Any, *, layer: Optional[str] = None, relu: bool = True,
                      implementation: str = "keras", batch_size: int = 256) -> np.ndarray:
    """Grad-CAM++ (Chattopadhay et al., 2018), in tf-keras-vis's closed form, upsampled.

    With ``g = dS/dA`` and ``E = exp(S)`` (the paper differentiates ``exp(S)``),
    ``alpha = g^2 / (2 g^2 + g^3 sum_positions A)`` (1 where ``g = 0``),
    normalised to sum to 1 over positions as tf-keras-vis does; the channel
    weights are ``w_k = sum over positions of alpha * ReLU(E g)``, and the map is
    ``ReLU(sum_k w_k A_k)``. Same cost and errors as :func:`gradcam`.
    """
    x, targets, implementation, batch_size, relu = _cam_arguments(model, x, targets, layer, implementation, batch_size, relu)
    if implementation == "tf-keras-vis":
        return _tf_keras_vis_cam("gradcam++", model, x, targets, layer, relu)
    features, grads, scores = _features_and_gradients(model, x, targets, layer, batch_size)
    axes = _spatial_axes(grads)
    exp_score = np.exp(scores).reshape((-1,) + (1,) * (grads.ndim - 1)).astype(np.float32)
    first = exp_score * grads
    second, third = first * grads, first * grads * grads
    denominator = 2.0 * second + third * features.sum(axis=axes, keepdims=True)
    alphas = second / (denominator + (second == 0.0))
    normaliser = alphas.sum(axis=axes, keepdims=True)
    alphas = alphas / (normaliser + (normaliser == 0.0))
    weights = (np.maximum(first, 0.0) * alphas).sum(axis=axes, keepdims=True)
    return _upsample(_cam_from_weights(features, weights, relu), x)


def layercam(model: Any, x: Any, targets: Any, *, layer: Optional[str] = None, relu: bool = True,
             implementation: str = "keras", batch_size: int = 256) -> np.ndarray:
    """LayerCAM (Jiang et al., 2021): ``ReLU(sum_k ReLU(dS/dA_k) * A_k)``, position by position, upsampled.

    Unlike Grad-CAM, each position keeps its own weight (the positive part of
    the gradient there), so the map follows the gradient's detail inside the
    layer's resolution. Same cost and errors as :func:`gradcam`.
    """
    x, targets, implementation, batch_size, relu = _cam_arguments(model, x, targets, layer, implementation, batch_size, relu)
    if implementation == "tf-keras-vis":
        return _tf_keras_vis_cam("layercam", model, x, targets, layer, relu)
    features, grads, _ = _features_and_gradients(model, x, targets, layer, batch_size)
    return _upsample(_cam_from_weights(features, np.maximum(grads, 0.0), relu), x)


# --------------------------------------------------------------------------
# tf-keras-vis (TensorFlow only)
# --------------------------------------------------------------------------


def _for_tf_keras_vis(flat: Any) -> Any:
    """The scores output of ``flat``, with its input declared as a list (tf-keras-vis passes a list)."""
    return _keras().Model(list(flat.inputs), flat.outputs[-1], name=flat.name)


def _tf_keras_vis_score(flat: Any, targets: np.ndarray) -> Any:
    from tf_keras_vis.utils.scores import BinaryScore, CategoricalScore

    if int(flat.outputs[-1].shape[-1]) == 1:
        return BinaryScore([bool(t) for t in targets])
    return CategoricalScore([int(t) for t in targets])


def _tf_keras_vis_cam(method: str, model: Any, x: np.ndarray, targets: np.ndarray, layer: Optional[str],
                      relu: bool, **options: Any) -> np.ndarray:
    from tf_keras_vis.gradcam import Gradcam
    from tf_keras_vis.gradcam_plus_plus import GradcamPlusPlus
    from tf_keras_vis.layercam import Layercam
    from tf_keras_vis.scorecam import Scorecam

    keras = _keras()
    two_outputs = explanation_model(model, layer, head="log_probabilities" if method == "scorecam" else "logits",
                                    features=True)
    flat = _for_tf_keras_vis(two_outputs)
    marker = flat.get_layer(_FEATURES)
    activation = (lambda cam: keras.ops.relu(cam)) if relu else None
    common = dict(penultimate_layer=marker, seek_penultimate_conv_layer=False, activation_modifier=activation,
                  normalize_cam=False)
    if method == "scorecam":
        from tf_keras_vis.utils.scores import CategoricalScore

        flat.predict = _quiet_predict(flat)  # tf-keras-vis calls predict with Keras's progress bar
        # log-probabilities: at least two columns, even for a single-unit head
        cams = Scorecam(flat, clone=False)(CategoricalScore([int(t) for t in targets]), x, **common, **options)
    else:
        kind = {"gradcam": Gradcam, "gradcam++": GradcamPlusPlus, "layercam": Layercam}[method]
        cams = kind(flat, clone=False)(_tf_keras_vis_score(flat, targets), x, **common)
    return np.asarray(cams, dtype=np.float32)


def _quiet_predict(model: Any):
    predict = model.predict

    def quiet(*args, **kwargs):
        kwargs["verbose"] = 0
        return predict(*args, **kwargs)

    return quiet


def scorecam(model: Any, x: Any, targets: Any, *, layer: Optional[str] = None, max_n: Optional[int] = None,
             relu: bool = True, batch_size: int = 256) -> np.ndarray:
    """Score-CAM (Wang et al., 2020) through tf-keras-vis; Faster Score-CAM with ``max_n``.

    Each channel ``k`` of the layer's output, upsampled to the input's size and
    scaled to [0, 1], masks the input; the channel's weight is the softmax
    probability of the target class for the masked input, and the map is
    ``ReLU(sum_k w_k A_k)``, upsampled. With ``max_n`` only the ``max_n``
    channels with the largest spatial variance are used (Faster Score-CAM).
    A single-unit sigmoid head is given to tf-keras-vis as the two
    log-probabilities ``[log(1 - p), log p]``, so that its softmax gives back
    ``(1 - p, p)``; on the raw logit the softmax of one number is always 1 and
    every channel would get the same weight. One forward pass for the features,
    then one per channel kept (``K`` or ``max_n``) per example, ``batch_size``
    masked inputs per call. TensorFlow backend only (``RuntimeError``
    otherwise); bad arguments raise :class:`utils.ArgumentError` as for
    :func:`gradcam`, and for ``max_n`` outside [1, K].
    """
    _require_tensorflow("scorecam")
    x, targets, _, batch_size, relu = _cam_arguments(model, x, targets, layer, "keras", batch_size, relu)
    channels = int(_find_layer(model, layer).output.shape[-1])
    options: Dict[str, Any] = {"batch_size": batch_size}
    if max_n is not None:
        options["max_N"] = check_int("max_n", max_n, 1, channels)
    return _tf_keras_vis_cam("scorecam", model, x, targets, layer, relu, **options)


def activation_maximization(model: Any, classes: Sequence[int], *, steps: int = 200, learning_rate: float = 0.05,
                            total_variation: float = 0.1, l2: float = 0.01, input_range: Tuple[float, float] = (0.0, 1.0),
                            seed: int = 0) -> np.ndarray:
    """Inputs that maximise each class's score, found by tf-keras-vis's ``ActivationMaximization``.

    Starts from uniform noise in ``input_range`` (drawn with ``seed``) and runs
    ``steps`` Adam steps on ``score - total_variation * TV(x) - l2 * ||x||_2``
    (total variation only for images), clipping to ``input_range``. The score
    is :func:`target_scores` (the logit). Returns one input per class, shaped
    like the model's input. TensorFlow backend only (``RuntimeError``
    otherwise); :class:`utils.ArgumentError` for classes out of range and bad
    numbers.
    """
    _require_tensorflow("activation_maximization")
    _check_model(model)
    steps = check_positive_int("steps", steps)
    learning_rate = check_positive_number("learning_rate", learning_rate)
    total_variation = check_number("total_variation", total_variation, 0.0)
    l2 = check_number("l2", l2, 0.0)
    seed = check_seed("seed", seed)
    if not isinstance(input_range, (tuple, list)) or len(input_range) != 2:
        raise ArgumentError(f"input_range must be a pair (low, high); got {input_range!r}.")
    low, high = (check_number(f"input_range[{i}]", value) for i, value in enumerate(input_range))
    if not low < high:
        raise ArgumentError(f"input_range must have low < high; got {input_range!r}.")
    classes = np.atleast_1d(np.asarray(classes))
    classes = _check_targets(model, classes, len(classes))

    from tf_keras_vis.activation_maximization import ActivationMaximization
    from tf_keras_vis.activation_maximization.regularizers import Norm, TotalVariation2D

    keras = _keras()
    flat = explanation_model(model)
    shape = (len(classes),) + tuple(flat.inputs[0].shape[1:])
    start = np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)
    regularizers = [Norm(weight=l2, p=2)]
    if len(shape) == 4 and total_variation > 0:
        regularizers.insert(0, TotalVariation2D(weight=total_variation))
    result = ActivationMaximization(_for_tf_keras_vis(flat), clone=False)(
        _tf_keras_vis_score(flat, classes), seed_input=start, input_range=(low, high), input_modifiers=[],
        regularizers=regularizers, steps=steps, optimizer=keras.optimizers.Adam(learning_rate),
    )
    return np.asarray(result, dtype=np.float32)


# --------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------

METHODS = ("vanilla", "smoothgrad", "integrated_gradients", "gradcam", "gradcam++", "layercam", "scorecam",
           "faster_scorecam")


def model_passes(method: str, *, n_samples: int = 25, steps: int = 32, channels: Optional[int] = None,
                 max_n: Optional[int] = None) -> Dict[str, int]:
    """Forward and backward passes through the model per explained example, as implemented here.

    ``{"forward": f, "backward": b}``: vanilla 1 + 1; SmoothGrad ``n_samples``
    of each; Integrated Gradients ``steps`` of each; Grad-CAM, Grad-CAM++ and
    LayerCAM 2 + 1 (the features, then the gradient); Score-CAM 1 + ``channels``
    forward passes and Faster Score-CAM 1 + ``max_n`` (give ``channels`` or
    ``max_n``). The Score-CAM passes through the masked inputs run the whole
    model; the first pass, to the layer only, is counted as one.
    """
    check_choice("method", method, METHODS)
    n_samples = check_positive_int("n_samples", n_samples)
    steps = check_positive_int("steps", steps)
    if method == "vanilla":
        return {"forward": 1, "backward": 1}
    if method == "smoothgrad":
        return {"forward": n_samples, "backward": n_samples}
    if method == "integrated_gradients":
        return {"forward": steps, "backward": steps}
    if method in ("gradcam", "gradcam++", "layercam"):
        return {"forward": 2, "backward": 1}
    if method == "scorecam":
        if channels is None:
            raise ArgumentError("channels is required for method='scorecam' (the layer's number of channels).")
        return {"forward": 1 + check_positive_int("channels", channels), "backward": 0}
    if max_n is None:
        raise ArgumentError("max_n is required for method='faster_scorecam'.")
    return {"forward": 1 + check_positive_int("max_n", max_n), "backward": 0}


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _display_scale(saliency_map: np.ndarray, signed: bool) -> Tuple[np.ndarray, float, float, str]:
    values = np.asarray(saliency_map, dtype=np.float64)
    if signed:
        peak = float(np.abs(values).max()) or 1.0
        return values / peak, -1.0, 1.0, "RdBu_r"
    values = np.abs(values)
    peak = float(values.max()) or 1.0
    return values / peak, 0.0, 1.0, "Reds"


def overlay_image(ax: Any, image: Any, saliency_map: Any, *, signed: bool = False, alpha: float = 1.0) -> Any:
    """Draw ``saliency_map`` (height, width) on ``ax``, with the outline of ``image`` (height, width[, channels]) over it.

    The map is scaled for display only: by its largest absolute value, to
    [0, 1] (``signed=False``: magnitudes, white to red) or to [-1, 1]
    (``signed=True``: red positive, blue negative, white zero). The image is
    drawn as a contour at half its largest value (the strokes of a digit),
    so that the map's colours stay readable. ``alpha`` is the map's opacity.
    Returns the map's image (for a colour bar). Raises
    :class:`utils.ArgumentError` when the shapes disagree.
    """
    image = check_array("image", image, finite=True)
    image = image[..., 0] if image.ndim == 3 else image
    saliency_map = check_array("saliency_map", saliency_map, 2, finite=True)
    if image.shape != saliency_map.shape:
        raise ArgumentError(f"saliency_map must have the image's shape {image.shape}; got {saliency_map.shape}.")
    signed = check_bool("signed", signed)
    alpha = check_number("alpha", alpha, 0.0, 1.0)
    values, low, high, cmap = _display_scale(saliency_map, signed)
    shown = ax.imshow(values, cmap=cmap, vmin=low, vmax=high, alpha=alpha, interpolation="nearest")
    if image.max() > image.min():
        ax.contour(image, levels=[0.5 * (image.min() + image.max())], colors="tab:green" if signed else "tab:blue",
                   linewidths=1.0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
    return shown


def overlay_signal(ax: Any, signal: Any, saliency_map: Any, *, signed: bool = False, alpha: float = 1.0) -> Any:
    """Draw a 1-D ``signal`` (length[, channels]) as a line on ``ax``, over a colour strip of ``saliency_map`` (length,).

    Scaled for display as in :func:`overlay_image`. Returns the strip's image.
    Raises :class:`utils.ArgumentError` when the lengths disagree.
    """
    signal = check_array("signal", signal, finite=True)
    signal = signal[:, 0] if signal.ndim == 2 else signal
    saliency_map = check_array("saliency_map", saliency_map, 1, finite=True)
    if signal.shape != saliency_map.shape:
        raise ArgumentError(f"saliency_map must have the signal's length {signal.shape}; got {saliency_map.shape}.")
    signed = check_bool("signed", signed)
    alpha = check_number("alpha", alpha, 0.0, 1.0)
    values, low, high, cmap = _display_scale(saliency_map, signed)
    bottom, top = float(signal.min()), float(signal.max())
    margin = 0.1 * (top - bottom or 1.0)
    shown = ax.imshow(values[None, :], cmap=cmap, vmin=low, vmax=high, alpha=alpha, aspect="auto",
                      extent=(-0.5, len(signal) - 0.5, bottom - margin, top + margin), interpolation="nearest")
    ax.plot(np.arange(len(signal)), signal, color="black", lw=1.2)
    ax.set_xlim(-0.5, len(signal) - 0.5)
    ax.set_ylim(bottom - margin, top + margin)
    ax.set_yticks([])
    ax.grid(False)
    return shown


def plot_saliency_grid(inputs: Any, maps: Dict[str, Any], *, column_titles: Optional[Sequence[str]] = None,
                       signed: Sequence[str] = (), cell_size: Tuple[float, float] = (1.3, 1.3)):
    """A figure with one row per method (``maps``: name -> ``(n, *spatial)`` maps) and one column per input.

    The first row shows the inputs themselves; each later cell overlays a
    method's map on its input (:func:`overlay_image` for images,
    :func:`overlay_signal` for 1-D signals). Methods named in ``signed`` are
    drawn signed. Returns the figure. Raises :class:`utils.ArgumentError` when a
    map's shape does not match the inputs or ``column_titles`` has the wrong length.
    """
    import matplotlib.pyplot as plt

    inputs = check_array("inputs", inputs, finite=True)
    if inputs.ndim not in (3, 4):
        raise ArgumentError(f"inputs must be (n, length, channels) or (n, height, width, channels); got {inputs.shape}.")
    if not isinstance(maps, dict) or not maps:
        raise ArgumentError("maps must be a non-empty dict: method name -> array of maps.")
    for name, values in maps.items():
        if np.shape(values) != inputs.shape[:-1]:
            raise ArgumentError(f"maps[{name!r}] must have shape {inputs.shape[:-1]}; got {np.shape(values)}.")
    n = len(inputs)
    if column_titles is not None and len(column_titles) != n:
        raise ArgumentError(f"column_titles must have one title per input ({n}); got {len(column_titles)}.")
    images = inputs.ndim == 4
    rows = len(maps) + 1
    figure, axes = plt.subplots(rows, n, figsize=(cell_size[0] * n + 1.2, cell_size[1] * rows), squeeze=False)
    for column in range(n):
        ax = axes[0, column]
        if images:
            ax.imshow(inputs[column, ..., 0], cmap="gray_r", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        else:
            ax.plot(inputs[column, :, 0], color="tab:blue", lw=1.2)
            ax.set_yticks([])
        if column_titles is not None:
            ax.set_title(column_titles[column], fontsize=8)
        for row, (name, values) in enumerate(maps.items(), start=1):
            draw = overlay_image if images else overlay_signal
            draw(axes[row, column], inputs[column], np.asarray(values)[column], signed=name in signed)
    for row, name in enumerate(["input", *maps], start=0):
        axes[row, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    figure.tight_layout()
    return figure
