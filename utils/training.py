"""Training helpers shared across chapters.

The dense-network chapter (``chapters/02_dense.ipynb``) builds each of these in
the open first; later chapters call the versions here:

* :func:`gradients` differentiates a scalar function with the active backend's
  automatic differentiation (``tf.GradientTape`` or ``jax.grad``) and returns
  NumPy arrays, so that hand-derived gradients can be checked against autodiff
  under either backend;
* :func:`train_with_gradient_tape` is the explicit training loop (forward, loss,
  backward, update) of the TensorFlow backend, batch for batch the same as
  ``model.fit(..., shuffle=False)``;
* :func:`learning_rate_sweep` trains the same architecture, from the same
  initial weights, once per learning rate;
* :func:`array_dataset` turns NumPy arrays into a batched, cached input
  pipeline built once, instead of once per epoch (see its docstring for why
  this matters for small models);
* :func:`fit_classifier` is the chapters' usual recipe for a classifier that
  outputs logits: Adam on the cross-entropy, a seeded batch order, the test
  accuracy at the end;
* :func:`epoch_timer` is a callback that records each epoch's wall time;
* :func:`predict_logits` and :func:`accuracy` score a model without the set-up
  time of ``model.predict`` and ``model.evaluate``;
* :func:`side_by_side` and :func:`build_optimizer_state` are speed devices of
  the recurrent chapter: several networks trained in one ``fit`` call, and a
  training step traced once instead of twice.
* :func:`time_training_steps` times a small model's training step under the
  active backend (the tools chapter compares backends with it).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Sequence, Tuple

import numpy as np

from ._checks import (
    ArgumentError,
    check_bool,
    check_callable,
    check_fraction,
    check_instance,
    check_positive_int,
    check_positive_number,
    check_seed,
    check_string,
)


def _keras_backend() -> str:
    import keras

    return keras.backend.backend()


def gradients(function: Callable[..., Any], *arrays: Any) -> Tuple[np.ndarray, ...]:
    """Gradient of a scalar-valued ``function(*arrays)`` with respect to each array.

    ``function`` must be written with ``keras.ops`` (so it runs on any backend)
    and return a scalar. The gradients are computed by the active backend's
    automatic differentiation and returned as NumPy arrays, one per input, in
    the inputs' shapes. Inputs are converted to float32 tensors.

    Raises :class:`utils.ArgumentError` when ``function`` is not callable, an
    input is not numeric, no input is given or the function's value is not a
    scalar, and ``ValueError`` under a backend other than TensorFlow and JAX.
    """
    check_callable("function", function)
    if not arrays:
        raise ArgumentError("arrays: give at least one array to differentiate with respect to.")
    values = []
    for i, array in enumerate(arrays):
        value = np.asarray(array)
        if value.dtype.kind not in "biuf":
            raise ArgumentError(f"arrays[{i}] must be numeric; got dtype {value.dtype}.")
        values.append(value.astype(np.float32))

    def scalar(result: Any) -> Any:
        shape = tuple(getattr(result, "shape", ()))
        if int(np.prod(shape)) != 1:
            raise ArgumentError(f"function must return a scalar; got a value of shape {shape}.")
        return result

    backend = _keras_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensors = [tf.convert_to_tensor(v) for v in values]
        with tf.GradientTape() as tape:
            for tensor in tensors:
                tape.watch(tensor)
            result = tf.reshape(scalar(function(*tensors)), [])
        grads = tape.gradient(result, tensors)
        return tuple(
            np.zeros_like(v) if g is None else np.asarray(g) for v, g in zip(values, grads)
        )
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def wrapped(*inputs):
            return jnp.reshape(scalar(function(*inputs)), ())

        grads = jax.grad(wrapped, argnums=tuple(range(len(values))))(*values)
        return tuple(np.asarray(g) for g in grads)
    raise ValueError(
        f"gradients() supports the tensorflow and jax backends; the active backend is {backend!r}."
    )


def _check_xy(x: Any, y: Any) -> Tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or y.ndim == 0:
        raise ArgumentError("x and y must be arrays with one row per example.")
    if len(x) != len(y):
        raise ArgumentError(f"x and y must have the same number of examples; got {len(x)} and {len(y)}.")
    if len(x) == 0:
        raise ArgumentError("x and y are empty; give at least one example.")
    return x, y


def train_with_gradient_tape(
    model: Any,
    loss_fn: Callable[[Any, Any], Any],
    optimizer: Any,
    x: Any,
    y: Any,
    epochs: int = 1,
    batch_size: int = 32,
) -> Dict[str, List[float]]:
    """Train ``model`` with an explicit ``tf.GradientTape`` loop (TensorFlow backend only).

    Batches are taken in order, without shuffling: the same batches, in the same
    order, as ``model.fit(x, y, batch_size=batch_size, shuffle=False)``. Each
    step runs the forward pass, the loss, the backward pass (``tape.gradient``)
    and the update (``optimizer.apply_gradients``). The epoch loss is the mean
    of the batch losses weighted by batch size, as ``fit`` reports it.

    Returns ``{"loss": [one value per epoch]}``, shaped like ``History.history``.
    Raises ``RuntimeError`` under another backend, ``ValueError`` for bad sizes.
    """
    backend = _keras_backend()
    if backend != "tensorflow":
        raise RuntimeError(
            f"train_with_gradient_tape needs the tensorflow backend; the active backend is {backend!r}. "
            "Use model.fit, or set KERAS_BACKEND=tensorflow before the set-up cell."
        )
    import keras
    import tensorflow as tf

    check_instance("model", model, keras.Model, "a keras.Model")
    check_callable("loss_fn", loss_fn)
    check_instance("optimizer", optimizer, keras.optimizers.Optimizer, "a keras optimizer")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    x, y = _check_xy(x, y)

    @tf.function
    def train_step(x_batch, y_batch):
        with tf.GradientTape() as tape:
            predictions = model(x_batch, training=True)  # forward
            loss = loss_fn(y_batch, predictions)  # loss
        grads = tape.gradient(loss, model.trainable_variables)  # backward
        optimizer.apply_gradients(zip(grads, model.trainable_variables))  # update
        return loss

    history: Dict[str, List[float]] = {"loss": []}
    n = len(x)
    for _ in range(epochs):
        total, count = 0.0, 0
        for start in range(0, n, batch_size):
            x_batch = tf.convert_to_tensor(x[start : start + batch_size])
            y_batch = tf.convert_to_tensor(y[start : start + batch_size])
            loss = float(train_step(x_batch, y_batch))
            total += loss * len(x_batch)
            count += len(x_batch)
        history["loss"].append(total / count)
    return history


def _array_batches_class():
    """The ``keras.utils.PyDataset`` behind :func:`array_dataset` off TensorFlow (made on first use)."""
    global _ARRAY_BATCHES
    if _ARRAY_BATCHES is not None:
        return _ARRAY_BATCHES
    import keras

    class ArrayBatches(keras.utils.PyDataset):
        """Batches of in-memory arrays, reshuffled after every epoch when a generator is given."""

        def __init__(self, elements, n, batch_size, rng):
            super().__init__()
            self.elements, self.n, self.batch_size, self.rng = elements, n, batch_size, rng
            self.order = np.arange(n) if rng is None else rng.permutation(n)

        def __len__(self):
            return -(-self.n // self.batch_size)

        def __getitem__(self, index):
            if not 0 <= index < len(self):
                raise IndexError(f"batch {index} of {len(self)}")
            rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
            return _take(self.elements, rows)

        def on_epoch_end(self):
            if self.rng is not None:
                self.order = self.rng.permutation(self.n)

    _ARRAY_BATCHES = ArrayBatches
    return ArrayBatches


_ARRAY_BATCHES = None


def _take(elements, rows):
    if isinstance(elements, tuple):
        return tuple(_take(part, rows) for part in elements)
    return elements[rows]


def array_dataset(
    x: Any,
    y: Any = None,
    batch_size: int = 32,
    shuffle: bool = False,
    seed: Any = None,
):
    """NumPy arrays as a batched input pipeline for ``fit``/``evaluate``, built once.

    Pass the result as ``model.fit(train_dataset, validation_data=val_dataset, ...)``
    (no ``batch_size`` argument: the pipeline is already batched). What it is
    depends on the active Keras backend:

    * TensorFlow: a ``tf.data.Dataset`` built once, with ``cache()``, that
      shuffles and batches in memory. Given NumPy arrays, ``fit`` also builds
      its pipelines once per call (one for the training arrays, one for the
      validation arrays), but they are made for large data: each epoch
      shuffles an index array and gathers every batch in a parallel map with
      background prefetching, and each validation pass starts an evaluation
      with its own bookkeeping. For the book's small models those per-epoch
      costs rival the arithmetic; with this dataset, and the validation part as
      one batch, they shrink (the dense chapter measures both).
    * JAX (the Colab TPU path) and others: a ``keras.utils.PyDataset`` over the
      arrays, which needs no TensorFlow. Keras's own NumPy path is already lean
      under JAX; this keeps one call for both backends.

    ``x`` is an array or a tuple of arrays (a model with several inputs), ``y``
    an array or ``None``. With ``shuffle=True`` the examples are reshuffled at
    every epoch, in an order fixed by ``seed`` (required then, for
    reproducibility; the order differs between the two backends); with
    ``shuffle=False`` batches come in array order, the same batches as
    ``fit(x, y, batch_size=batch_size, shuffle=False)``. One difference between
    the backends: ``fit`` leaves a ``tf.data.Dataset`` in its order, but by
    default (``fit(..., shuffle=True)``) draws a new order of a ``PyDataset``'s
    batches every epoch with Python's ``random`` module (seeded by
    :func:`utils.setup`). The batches keep their examples; to keep their order
    too, call ``fit(dataset, ..., shuffle=False)``.

    Raises ``ValueError`` for empty or mismatched arrays, a bad ``batch_size``,
    or ``shuffle=True`` without a ``seed``; ``TypeError`` when ``shuffle`` is
    not a bool (both as :class:`utils.ArgumentError`).
    """
    shuffle = check_bool("shuffle", shuffle)
    batch_size = check_positive_int("batch_size", batch_size)
    if shuffle and seed is None:
        raise ArgumentError("shuffle=True needs a seed (an int >= 0) so that the batch order is reproducible.")
    if seed is not None:
        seed = check_seed("seed", seed)
    inputs = tuple(np.asarray(part) for part in x) if isinstance(x, (tuple, list)) else (np.asarray(x),)
    arrays = inputs + (() if y is None else (np.asarray(y),))
    if not inputs:
        raise ArgumentError("x is an empty tuple; give at least one input array.")
    for name, array in zip([f"x[{i}]" for i in range(len(inputs))] + ["y"], arrays):
        if array.ndim == 0:
            raise ArgumentError(f"{name} must be an array with one row per example; got a scalar.")
    lengths = {len(array) for array in arrays}
    if len(lengths) != 1:
        raise ArgumentError(f"x and y must have the same number of examples; got lengths {[len(a) for a in arrays]}.")
    n = lengths.pop()
    if n == 0:
        raise ArgumentError("x is empty; give at least one example.")

    features = inputs if isinstance(x, (tuple, list)) else inputs[0]
    elements = features if y is None else (features, arrays[-1])
    if _keras_backend() != "tensorflow":
        rng = np.random.default_rng(seed) if shuffle else None
        return _array_batches_class()(elements, n, batch_size, rng)
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(elements).cache()
    if shuffle:
        dataset = dataset.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size)


def learning_rate_sweep(
    build_and_compile: Callable[[float], Any],
    learning_rates: Sequence[float],
    x_train: Any,
    y_train: Any,
    x_val: Any,
    y_val: Any,
    epochs: int = 10,
    batch_size: int = 32,
    seed: int = 0,
) -> Dict[float, Dict[str, List[float]]]:
    """Train one model per learning rate and return each ``History.history``.

    ``build_and_compile(learning_rate)`` must return a compiled ``keras.Model``.
    Keras is reseeded with ``seed`` before each build, so every run starts from
    the same initial weights and sees the same batch order: only the learning
    rate differs (the data go through :func:`array_dataset`). Returns ``{learning_rate: history dict}`` in the given order.

    Raises ``ValueError`` for an empty list, a learning rate that is not a
    positive finite number, a repeated learning rate, bad sizes or seed, and
    ``TypeError`` when ``build_and_compile`` does not return a compiled model.
    """
    import keras

    check_callable("build_and_compile", build_and_compile)
    single = isinstance(learning_rates, (int, float, np.integer, np.floating))
    rates = [learning_rates] if single else list(learning_rates)
    if not rates:
        raise ArgumentError("learning_rates is empty; give at least one positive learning rate.")
    rates = [check_positive_number(f"learning_rates[{i}]", rate) for i, rate in enumerate(rates)]
    if len(set(rates)) != len(rates):
        raise ArgumentError(f"learning_rates contains duplicates: {rates}.")
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    seed = check_seed("seed", seed)
    x_train, y_train = _check_xy(x_train, y_train)
    x_val, y_val = _check_xy(x_val, y_val)

    results: Dict[float, Dict[str, List[float]]] = {}
    for rate in rates:
        keras.utils.set_random_seed(int(seed))
        model = build_and_compile(float(rate))
        if not isinstance(model, keras.Model) or not getattr(model, "compiled", False):
            raise ArgumentError("build_and_compile must return a compiled keras.Model (call model.compile).")
        history = model.fit(
            array_dataset(x_train, y_train, batch_size, shuffle=True, seed=int(seed)),
            validation_data=array_dataset(x_val, y_val, batch_size=len(x_val)), epochs=epochs, verbose=0,
        )
        results[float(rate)] = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    return results


def epoch_timer():
    """A Keras callback that records the wall time of every epoch, in seconds, in its ``seconds`` list.

    The first epoch also traces the training step, so it is usually the slowest;
    on a shared machine other programs can only make an epoch slower, which is
    why chapters compare the fastest epochs.
    """
    import time

    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


def predict_logits(model: Any, x: Any, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs for ``x`` (an array, or a tuple of arrays for several inputs) as a NumPy array.

    Calls the model directly (inference mode, ``training=False``) on chunks of
    ``batch_size`` examples. Unlike ``model.predict`` and ``model.evaluate``,
    which compile a new function for every model, this costs no set-up time,
    which dominates for the book's small test sets; the numbers are the same.
    The result does not depend on how the model was compiled.

    Raises ``TypeError`` when ``model`` is not a ``keras.Model`` and
    ``ValueError`` for a bad ``batch_size`` or inputs of different lengths.
    """
    import keras

    check_instance("model", model, keras.Model, "a keras.Model")
    batch_size = check_positive_int("batch_size", batch_size)
    inputs = tuple(x) if isinstance(x, (tuple, list)) else (x,)
    lengths = {len(part) for part in inputs}
    if len(lengths) != 1:
        raise ArgumentError(f"the inputs in x must all have the same number of examples; got lengths {sorted(lengths)}.")
    (n,) = lengths
    chunks = []
    for start in range(0, n, batch_size):
        part = tuple(np.asarray(array[start : start + batch_size]) for array in inputs)
        outputs = model(part if len(part) > 1 else part[0], training=False)
        chunks.append(keras.ops.convert_to_numpy(outputs))
    return np.concatenate(chunks, axis=0)


def _logit_accuracy(logits: np.ndarray, y: Any) -> float:
    y = np.asarray(y)
    if logits.shape[:-1] != y.shape:
        raise ArgumentError(
            f"y must hold one integer label per example, shape {logits.shape[:-1]}; got shape {y.shape}."
        )
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def accuracy(model: Any, x: Any, y: Any) -> float:
    """Fraction of examples whose largest output (logit) is the integer label in ``y``.

    Uses :func:`predict_logits`, so it works whatever loss the model was
    compiled with (``model.evaluate`` needs labels in the loss's format, one-hot
    after ``fit_classifier(..., label_smoothing=...)``). Raises ``ValueError``
    when ``y`` does not hold one label per example.
    """
    return _logit_accuracy(predict_logits(model, x), y)


def fit_classifier(
    model: Any,
    data: Any,
    epochs: int,
    *,
    learning_rate: float,
    batch_size: int,
    seed: int,
    steps_per_execution: int = 1,
    validate: bool = False,
    callbacks: Sequence[Any] = (),
    label_smoothing: float = 0.0,
) -> Tuple[Any, float, float]:
    """Compile and train a classifier whose outputs are logits; return ``(history, test loss, test accuracy)``.

    The recipe of the chapters: Adam at ``learning_rate`` on the sparse
    categorical cross-entropy of the logits, with accuracy as the metric;
    with ``label_smoothing`` = a > 0 the labels are one-hot encoded and the loss is
    ``keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=a)``
    (targets 1 - a + a/K for the true class and a/K for the others, K classes;
    the reported losses are then the smoothed ones, and the model stays compiled
    for one-hot labels, so score it later with :func:`accuracy`);
    ``data.x_train``/``data.y_train`` go through :func:`array_dataset`, reshuffled
    every epoch in an order fixed by ``seed``; with ``validate=True`` the
    validation part is scored after every epoch (it appears in the history). The
    test part is scored once, at the end, with :func:`predict_logits` (the same
    numbers as ``model.evaluate``, without its set-up time). ``data`` is a
    :class:`utils.data.DataSplit` (or anything with the same six arrays).

    Raises ``TypeError`` when ``model`` is not a ``keras.Model``, ``data`` lacks
    one of the six arrays or ``validate`` is not a bool, and ``ValueError`` for a
    learning rate that is not a positive finite number or a bad ``epochs``,
    ``batch_size``, ``steps_per_execution`` or ``seed``, or a ``label_smoothing``
    outside [0, 1).
    """
    import keras

    check_instance("model", model, keras.Model, "a keras.Model")
    missing = [name for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test") if not hasattr(data, name)]
    if missing:
        raise ArgumentError(
            f"data must be a utils.data.DataSplit (x_train, y_train, x_val, y_val, x_test, y_test); "
            f"{type(data).__name__} lacks {', '.join(missing)}."
        )
    epochs = check_positive_int("epochs", epochs)
    batch_size = check_positive_int("batch_size", batch_size)
    steps_per_execution = check_positive_int("steps_per_execution", steps_per_execution)
    learning_rate = check_positive_number("learning_rate", learning_rate)
    seed = check_seed("seed", seed)
    validate = check_bool("validate", validate)
    label_smoothing = check_fraction("label_smoothing", label_smoothing)

    if label_smoothing > 0:
        x_first = data.x_train
        x_first = tuple(x[:1] for x in x_first) if isinstance(x_first, (tuple, list)) else x_first[:1]
        n_classes = int(model(x_first, training=False).shape[-1])  # the width of the logits
        loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=float(label_smoothing))

        def labels(y):
            return keras.utils.to_categorical(y, n_classes)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

        def labels(y):
            return y

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=loss,
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )
    validation = array_dataset(data.x_val, labels(data.y_val), batch_size=len(data.y_val)) if validate else None
    history = model.fit(
        array_dataset(data.x_train, labels(data.y_train), batch_size, shuffle=True, seed=int(seed)),
        validation_data=validation, epochs=epochs, verbose=0, callbacks=list(callbacks),
    )
    test_logits = predict_logits(model, data.x_test)
    test_loss = float(keras.ops.convert_to_numpy(loss(labels(data.y_test), test_logits)))
    return history, test_loss, _logit_accuracy(test_logits, data.y_test)


# Training several networks at once, tracing the training step once (chapter 04_rnn) ---


def side_by_side(networks: Dict[str, Any], name: str = "side_by_side") -> Any:
    """One Keras model that runs every network in ``networks`` on one shared input.

    ``networks`` maps an output name to a ``keras.Model`` with one input; all
    inputs must have the same shape. The result has that input and one output
    per network, named by its key (a dict of outputs). Compiled with one loss
    per output, ``fit`` minimises the sum of the losses; since a network's
    weights get no gradient from another network's loss, and Adam scales each
    weight's step on its own, this trains every network exactly as ``fit`` on
    the network alone would, on the same batches.

    Why it exists: one ``fit`` call, and one traced training step, instead of
    one per network. For small recurrent networks the per-call overhead (and
    the step-by-step loop over time) dominates, so several networks side by
    side cost little more than one.

    Raises ``ArgumentError`` when ``networks`` is not a non-empty dict of
    single-input ``keras.Model``s with the same input shape, or ``name`` is
    not a non-empty string.
    """
    import keras

    if not isinstance(networks, dict) or not networks:
        raise ArgumentError(f"networks must be a non-empty dict of name -> keras.Model; got {networks!r:.80}.")
    name = check_string("name", name)
    shapes = set()
    for key, network in networks.items():
        if not isinstance(key, str) or not key:
            raise ArgumentError(f"networks must have non-empty string keys; got {key!r}.")
        if not isinstance(network, keras.Model) or len(network.inputs) != 1:
            raise ArgumentError(f"networks[{key!r}] must be a keras.Model with one input; got {type(network).__name__}.")
        shapes.add(tuple(network.inputs[0].shape[1:]))
    if len(shapes) != 1:
        raise ArgumentError(f"networks must all take inputs of the same shape; got {sorted(shapes, key=str)}.")
    (shape,) = shapes
    shared_input = keras.Input(shape=shape, name="input")
    outputs = {key: network(shared_input) for key, network in networks.items()}
    return keras.Model(shared_input, outputs, name=name)


def build_optimizer_state(model: Any) -> None:
    """Create a compiled model's optimizer state (for Adam: the step count and two
    moving averages per weight) now, rather than inside the first training step.

    Why it exists: left to ``fit``, the state is created during the first
    training step, and under TensorFlow that step is then traced a second
    time, which costs seconds for a recurrent model. The training itself is
    unchanged.

    Raises ``ArgumentError`` when ``model`` is not a compiled ``keras.Model``.
    """
    import keras

    if not isinstance(model, keras.Model) or getattr(model, "optimizer", None) is None:
        raise ArgumentError(f"model must be a compiled keras.Model (call model.compile first); got {type(model).__name__}.")
    model.optimizer.build(model.trainable_variables)


def time_training_steps(batch_size: int = 256, n_features: int = 64, hidden_units: Sequence[int] = (256, 256),
                        n_classes: int = 10, steps: int = 20, seed: int = 0) -> Dict[str, Any]:
    """Time the training step of a small Keras MLP under the active backend.

    The same model and data on every backend: ``n_features`` Gaussian inputs
    (from ``seed``), a class given by a fixed random linear map, an MLP from
    :func:`utils.models.build_mlp` with Adam on the cross-entropy. The first
    ``train_on_batch`` call traces and compiles the step; the next ``steps``
    calls, on the same batch, are timed one by one. Returns a dict:
    ``backend``, ``parameters``, ``first_step_seconds`` (tracing and
    compilation included), ``step_milliseconds`` (median over the timed steps),
    ``loss_first`` and ``loss_last``. The tools chapter runs it in this process
    and, for another backend, in a subprocess. Wall times depend on the machine
    and its load: report them, never assert them.
    """
    import time

    import keras

    from .models import build_mlp

    batch_size = check_positive_int("batch_size", batch_size)
    n_features = check_positive_int("n_features", n_features)
    n_classes = check_positive_int("n_classes", n_classes)
    steps = check_positive_int("steps", steps)
    seed = check_seed("seed", seed)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch_size, n_features)).astype("float32")
    y = (x @ rng.normal(size=(n_features, n_classes))).argmax(axis=1).astype("int32")
    keras.utils.set_random_seed(seed)
    model = build_mlp((n_features,), n_classes, hidden_units, name="timed_mlp")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    start = time.perf_counter()
    loss_first = float(model.train_on_batch(x, y))
    first_step = time.perf_counter() - start
    times, loss = [], loss_first
    for _ in range(steps):
        start = time.perf_counter()
        loss = float(model.train_on_batch(x, y))
        times.append(time.perf_counter() - start)
    return {"backend": keras.backend.backend(), "parameters": int(model.count_params()),
            "first_step_seconds": first_step, "step_milliseconds": 1000 * float(np.median(times)),
            "loss_first": loss_first, "loss_last": loss}
