"""Unit tests of utils/training.py: autodiff gradients, the GradientTape loop, the sweep."""

import json

import numpy as np
import pytest

import utils

utils.setup(quiet=True)

import keras  # noqa: E402  (after utils.setup, as in the chapters)
from keras import ops  # noqa: E402

from utils import training  # noqa: E402

from conftest import exactly, run_python  # noqa: E402

TENSORFLOW = keras.backend.backend() == "tensorflow"


# gradients ---------------------------------------------------------------------------


def test_gradients_of_a_quadratic_and_a_matrix_product():
    x = np.array([1.0, -2.0, 3.0])
    (grad,) = training.gradients(lambda v: ops.sum(v**2), x)
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-6)
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    grad_a, grad_b = training.gradients(lambda p, q: ops.sum(ops.matmul(p, q)), a, b)
    np.testing.assert_allclose(grad_a, np.ones((3, 2)) @ b.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_b, a.T @ np.ones((3, 2)), rtol=1e-5, atol=1e-6)
    assert grad_a.shape == a.shape and grad_a.dtype == np.float32


def test_gradients_of_an_unused_input_are_zero():
    grad_x, grad_y = training.gradients(lambda x, y: ops.sum(x), np.ones(3), np.ones(2))
    np.testing.assert_array_equal(grad_x, np.ones(3))
    np.testing.assert_array_equal(grad_y, np.zeros(2))
    assert (grad_y.shape, grad_y.dtype) == ((2,), np.float32)  # an array shaped like the input, not a broadcast 0
    (grad,) = training.gradients(lambda x: 1.0, np.ones(3))  # a Python number: a constant, so zero gradients
    np.testing.assert_array_equal(grad, np.zeros(3))
    assert grad.shape == (3,)


def test_gradients_jax_branch_differentiates_every_input(monkeypatch):
    """The jax.grad branch, run here whatever the active backend (the function is written in jax.numpy)."""
    jnp = pytest.importorskip("jax.numpy")
    monkeypatch.setattr(training, "_keras_backend", lambda: "jax")
    a, b, unused = np.array([1.0, 2.0]), np.array([[3.0], [-1.0]]), np.ones(4)
    grad_a, grad_b, grad_unused = training.gradients(
        lambda p, q, r: jnp.sum(p * q[:, 0]) + jnp.sum(q**2), a, b, unused
    )
    np.testing.assert_allclose(grad_a, b[:, 0])
    np.testing.assert_allclose(grad_b, a[:, None] + 2 * b)
    np.testing.assert_array_equal(grad_unused, np.zeros(4))
    assert [g.dtype for g in (grad_a, grad_b)] == [np.float32, np.float32]
    (grad,) = training.gradients(lambda v: jnp.reshape(jnp.sum(v), (1, 1)), np.ones(3))  # a 1x1 value is a scalar
    np.testing.assert_array_equal(grad, np.ones(3))
    with pytest.raises(utils.ArgumentError) as info:  # JAX adds a note to the exception, hence no match=
        training.gradients(lambda v: v * 2, np.ones(3))
    assert str(info.value) == "function must return a scalar; got a value of shape (3,)."


def test_gradients_refuse_a_backend_without_a_branch(monkeypatch):
    monkeypatch.setattr(training, "_keras_backend", lambda: "numpy")
    with pytest.raises(ValueError, match=exactly(
            "gradients() supports the tensorflow and jax backends; the active backend is 'numpy'.")):
        training.gradients(lambda v: v, np.ones(1))


def test_gradients_reject_bad_input():
    with pytest.raises(TypeError, match=exactly("function must be callable; got str.")):
        training.gradients("not a function", np.ones(2))
    with pytest.raises(ValueError, match=exactly("arrays: give at least one array to differentiate with respect to.")):
        training.gradients(lambda: 0.0)
    with pytest.raises(TypeError, match=exactly("arrays[1] must be numeric; got dtype <U1.")):
        training.gradients(lambda x, s: ops.sum(x), np.ones(2), np.array(["a", "b"]))
    with pytest.raises(ValueError) as info:  # under JAX the exception carries a note, hence no match=
        training.gradients(lambda x: x * 2, np.ones(3))
    assert str(info.value) == "function must return a scalar; got a value of shape (3,)."


@pytest.mark.slow
def test_gradients_under_the_jax_backend():
    code = (
        "import json, numpy as np, utils; utils.setup(quiet=True)\n"
        "import keras; from keras import ops; from utils.training import gradients\n"
        "(g,) = gradients(lambda v: ops.sum(ops.sin(v)), np.array([0.0, 1.0]))\n"
        "print(json.dumps([keras.backend.backend(), g.tolist()]))\n"
    )
    result = run_python(["-c", code], {"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-2000:]
    backend, grad = json.loads(result.stdout.strip().splitlines()[-1])
    assert backend == "jax"
    np.testing.assert_allclose(grad, np.cos([0.0, 1.0]), rtol=1e-6)


@pytest.mark.slow
def test_gradients_under_the_jax_backend_differentiate_every_input():
    # f(a, b) = sum(a * b) + sum(b ** 2): df/da = b, df/db = a + 2 b; b also comes second.
    code = (
        "import json, numpy as np, utils; utils.setup(quiet=True)\n"
        "import keras; from keras import ops; from utils.training import gradients\n"
        "a, b = np.array([1.0, 2.0]), np.array([3.0, -1.0])\n"
        "ga, gb = gradients(lambda a, b: ops.sum(a * b) + ops.sum(b ** 2), a, b)\n"
        "print(json.dumps([keras.backend.backend(), ga.tolist(), gb.tolist()]))\n"
    )
    result = run_python(["-c", code], {"KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-2000:]
    backend, grad_a, grad_b = json.loads(result.stdout.strip().splitlines()[-1])
    assert backend == "jax"
    np.testing.assert_allclose(grad_a, [3.0, -1.0], rtol=1e-6)
    np.testing.assert_allclose(grad_b, [1.0 + 6.0, 2.0 - 2.0], rtol=1e-6)


def test_epoch_timer_records_durations_not_timestamps(monkeypatch):
    import time

    clock = iter([1000.0, 1002.5, 2000.0, 2000.5])  # begin, end of epoch 0; begin, end of epoch 1
    monkeypatch.setattr(time, "perf_counter", lambda: next(clock))
    timer = training.epoch_timer()
    timer.on_train_begin()
    for epoch in range(2):
        timer.on_epoch_begin(epoch)
        timer.on_epoch_end(epoch)
    assert timer.seconds == [2.5, 0.5]


# train_with_gradient_tape ------------------------------------------------------------


def small_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4)).astype("float32")
    y = (x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1).astype("float32")[:, None]
    return x, y


def small_model():
    inputs = keras.Input(shape=(4,))
    hidden = keras.layers.Dense(8, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1)(hidden))


@pytest.mark.skipif(not TENSORFLOW, reason="GradientTape loop is TensorFlow-only")
def test_gradient_tape_loop_matches_fit_batch_for_batch():
    x, y = small_problem()
    keras.utils.set_random_seed(0)
    model_fit = small_model()
    model_tape = small_model()
    model_tape.set_weights(model_fit.get_weights())
    model_fit.compile(keras.optimizers.SGD(0.05), keras.losses.MeanSquaredError())
    history = model_fit.fit(x, y, epochs=3, batch_size=16, shuffle=False, verbose=0)  # last batch has 2
    tape = training.train_with_gradient_tape(
        model_tape, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.05), x, y, epochs=3, batch_size=16
    )
    assert list(tape) == ["loss"] and len(tape["loss"]) == 3
    assert tape["loss"][-1] < tape["loss"][0]  # it trains
    np.testing.assert_allclose(tape["loss"], history.history["loss"], rtol=1e-5)
    for a, b in zip(model_tape.get_weights(), model_fit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not TENSORFLOW, reason="GradientTape loop is TensorFlow-only")
def test_gradient_tape_loop_rejects_bad_input():
    x, y = small_problem()
    model, loss, opt = small_model(), keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.1)
    with pytest.raises(TypeError, match=exactly("model must be a keras.Model; got str.")):
        training.train_with_gradient_tape("model", loss, opt, x, y)
    with pytest.raises(TypeError, match=exactly("loss_fn must be callable; got NoneType.")):
        training.train_with_gradient_tape(model, None, opt, x, y)
    with pytest.raises(TypeError, match=exactly("optimizer must be a keras optimizer; got str.")):
        training.train_with_gradient_tape(model, loss, "sgd", x, y)
    with pytest.raises(ValueError, match=exactly("epochs must be a positive int; got 0.")):
        training.train_with_gradient_tape(model, loss, opt, x, y, epochs=0)
    with pytest.raises(ValueError, match=exactly("batch_size must be a positive int; got 2.5.")):
        training.train_with_gradient_tape(model, loss, opt, x, y, batch_size=2.5)
    with pytest.raises(ValueError, match=exactly("x and y must have the same number of examples; got 50 and 10.")):
        training.train_with_gradient_tape(model, loss, opt, x, y[:10])
    for bad_x, bad_y in ((np.float32(1.0), y), (x, np.float32(1.0))):
        with pytest.raises(ValueError, match=exactly("x and y must be arrays with one row per example.")):
            training.train_with_gradient_tape(model, loss, opt, bad_x, bad_y)
    with pytest.raises(ValueError, match=exactly("x and y are empty; give at least one example.")):
        training.train_with_gradient_tape(model, loss, opt, x[:0], y[:0])


@pytest.mark.skipif(not TENSORFLOW, reason="GradientTape loop is TensorFlow-only")
def test_gradient_tape_loop_defaults_to_one_epoch_of_batches_of_32():
    x, y = small_problem()
    x, y = x[:33], y[:33]  # batches of 32 and 1
    model, optimizer = small_model(), keras.optimizers.SGD(0.01)
    history = training.train_with_gradient_tape(model, keras.losses.MeanSquaredError(), optimizer, x, y)
    assert len(history["loss"]) == 1 and int(optimizer.iterations) == 2


def test_gradient_tape_loop_refuses_another_backend(monkeypatch):
    monkeypatch.setattr(training, "_keras_backend", lambda: "jax")
    with pytest.raises(RuntimeError, match=exactly(
            "train_with_gradient_tape needs the tensorflow backend; the active backend is 'jax'. "
            "Use model.fit, or set KERAS_BACKEND=tensorflow before the set-up cell.")):
        training.train_with_gradient_tape(None, None, None, None, None)


# learning_rate_sweep -----------------------------------------------------------------


def test_learning_rate_sweep_starts_every_run_from_the_same_weights():
    x, y = small_problem()
    initial = []

    def build(learning_rate):
        model = small_model()
        initial.append([w.copy() for w in model.get_weights()])
        model.compile(keras.optimizers.SGD(learning_rate), keras.losses.MeanSquaredError())
        return model

    results = training.learning_rate_sweep(build, [1e-4, 0.05], x[:40], y[:40], x[40:], y[40:], epochs=4, batch_size=10)
    assert list(results) == [1e-4, 0.05]
    for a, b in zip(*initial):
        np.testing.assert_array_equal(a, b)
    assert set(results[0.05]) == {"loss", "val_loss"} and len(results[0.05]["loss"]) == 4
    # the larger rate learns much faster on this easy problem
    assert results[0.05]["val_loss"][-1] < 0.5 * results[1e-4]["val_loss"][-1]
    again = training.learning_rate_sweep(build, [0.05], x[:40], y[:40], x[40:], y[40:], epochs=4, batch_size=10)
    np.testing.assert_allclose(again[0.05]["loss"], results[0.05]["loss"], rtol=1e-6)


def test_learning_rate_sweep_is_the_recipe_written_out(capsys):
    """Each run: reseed, build, fit on array_dataset (shuffled by the seed), validation as one batch."""
    x, y = small_problem()

    def build(learning_rate):
        model = small_model()
        model.compile(keras.optimizers.SGD(learning_rate), keras.losses.MeanSquaredError())
        return model

    def written_out(rate, epochs, batch_size, seed):
        keras.utils.set_random_seed(seed)
        model = build(rate)
        history = model.fit(training.array_dataset(x[:40], y[:40], batch_size, shuffle=True, seed=seed),
                            validation_data=(x[40:], y[40:]), epochs=epochs, verbose=0)
        return history.history

    defaults = training.learning_rate_sweep(build, 0.05, x[:40], y[:40], x[40:], y[40:])  # one rate, not a list
    chosen = training.learning_rate_sweep(build, [0.05], x[:40], y[:40], x[40:], y[40:], epochs=3, batch_size=8,
                                          seed=2)
    assert capsys.readouterr().out == ""  # silent
    for result, expected in ((defaults[0.05], written_out(0.05, 10, 32, 0)), (chosen[0.05], written_out(0.05, 3, 8, 2))):
        assert set(result) == {"loss", "val_loss"}
        for key in result:
            np.testing.assert_allclose(result[key], expected[key], rtol=1e-5)


def test_learning_rate_sweep_rejects_bad_input():
    x, y = small_problem()

    def build(learning_rate):
        model = small_model()
        model.compile(keras.optimizers.SGD(learning_rate), "mse")
        return model

    for rates, message in (
        ([], "learning_rates is empty; give at least one positive learning rate."),
        ([0.1, -1.0], "learning_rates[1] must be a finite number > 0; got -1.0."),
        ([float("inf")], "learning_rates[0] must be a finite number > 0; got inf."),
        ([0.1, 0.1], "learning_rates contains duplicates: [0.1, 0.1]."),
        (["0.1"], "learning_rates[0] must be a finite number > 0; got '0.1'."),
    ):
        with pytest.raises(ValueError, match=exactly(message)):
            training.learning_rate_sweep(build, rates, x, y, x, y)
    with pytest.raises(TypeError, match=exactly("build_and_compile must be callable; got NoneType.")):
        training.learning_rate_sweep(None, [0.1], x, y, x, y)
    with pytest.raises(TypeError, match=exactly("build_and_compile must return a compiled keras.Model (call model.compile).")):
        training.learning_rate_sweep(lambda lr: small_model(), [0.1], x, y, x, y, epochs=1)
    with pytest.raises(ValueError, match=exactly("seed must be a non-negative int; got -1.")):
        training.learning_rate_sweep(build, [0.1], x, y, x, y, seed=-1)
    with pytest.raises(ValueError, match=exactly("epochs must be a positive int; got 0.")):
        training.learning_rate_sweep(build, [0.1], x, y, x, y, epochs=0)
    with pytest.raises(ValueError, match=exactly("batch_size must be a positive int; got 0.")):
        training.learning_rate_sweep(build, [0.1], x, y, x, y, batch_size=0)
    with pytest.raises(ValueError, match=exactly("x and y must have the same number of examples; got 3 and 50.")):
        training.learning_rate_sweep(build, [0.1], x, y, x[:3], y)


# --- array_dataset ---------------------------------------------------------------


@pytest.fixture(params=["active backend", "PyDataset"])
def dataset_kind(request, monkeypatch):
    """array_dataset as the active backend builds it, and the PyDataset it builds off TensorFlow."""
    if request.param == "PyDataset":
        monkeypatch.setattr(training, "_keras_backend", lambda: "jax")
    return request.param


def _epoch_rows(dataset):
    rows = np.concatenate([np.asarray(features) for features, _ in dataset])[:, 0]
    if hasattr(dataset, "on_epoch_end"):  # a PyDataset: fit calls this at the end of every epoch
        dataset.on_epoch_end()
    return rows


def test_array_dataset_batches_in_order_without_shuffle(dataset_kind):
    x = np.arange(10, dtype="float32").reshape(10, 1)
    y = np.arange(10) % 2
    batches = list(training.array_dataset(x, y, batch_size=4))
    assert [len(features) for features, _ in batches] == [4, 4, 2]
    np.testing.assert_array_equal(_epoch_rows(batches), np.arange(10))
    np.testing.assert_array_equal(np.concatenate([np.asarray(t) for _, t in batches]), y)


def test_array_dataset_shuffle_is_seeded_and_reshuffles_every_epoch(dataset_kind):
    x = np.arange(50, dtype="float32").reshape(50, 1)
    first = training.array_dataset(x, x[:, 0], batch_size=8, shuffle=True, seed=3)
    epoch_1, epoch_2 = _epoch_rows(first), _epoch_rows(first)
    again = _epoch_rows(training.array_dataset(x, x[:, 0], batch_size=8, shuffle=True, seed=3))
    np.testing.assert_array_equal(np.sort(epoch_1), np.arange(50))  # every example once per epoch
    np.testing.assert_array_equal(np.sort(epoch_2), np.arange(50))
    assert not np.array_equal(epoch_1, np.arange(50))  # shuffled
    assert not np.array_equal(epoch_1, epoch_2)  # a new order each epoch
    np.testing.assert_array_equal(epoch_1, again)  # the same seed gives the same order


def test_array_dataset_defaults_to_batches_of_32_in_the_backends_own_form(dataset_kind):
    dataset = training.array_dataset(np.zeros((40, 1), "float32"))
    assert [len(batch) for batch in dataset] == [32, 8]
    native = keras.backend.backend() == "tensorflow" and dataset_kind == "active backend"
    assert isinstance(dataset, keras.utils.PyDataset) != native  # tf.data under TensorFlow, a PyDataset otherwise
    with pytest.raises(ValueError, match=exactly("y must be an array with one row per example; got a scalar.")):
        training.array_dataset(np.zeros((3, 1)), np.float32(1.0))


def test_array_dataset_accepts_several_inputs_and_no_targets(dataset_kind):
    a, b = np.zeros((6, 3), "float32"), np.ones((6, 2), "float32")
    (first_a, first_b), target = next(iter(training.array_dataset((a, b), np.arange(6), batch_size=6)))
    assert first_a.shape == (6, 3) and first_b.shape == (6, 2) and target.shape == (6,)
    only_x = next(iter(training.array_dataset(a, batch_size=2)))
    assert only_x.shape == (2, 3)


def test_array_datasets_pydataset_counts_batches_and_refuses_an_index_past_the_end(monkeypatch):
    monkeypatch.setattr(training, "_keras_backend", lambda: "jax")
    dataset = training.array_dataset(np.zeros((10, 1)), np.zeros(10), batch_size=4)
    assert isinstance(dataset, keras.utils.PyDataset) and len(dataset) == 3
    assert len(dataset[2][0]) == 2  # the last batch holds the remainder
    for index in (-1, 3):
        with pytest.raises(IndexError, match=exactly(f"batch {index} of 3")):
            dataset[index]


def test_array_dataset_fit_matches_numpy_fit(dataset_kind):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")

    def fitted(use_dataset):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        if use_dataset:  # shuffle=False: fit would otherwise reorder a PyDataset's batches (not a tf.data one's)
            history = model.fit(training.array_dataset(x, y, batch_size=8), epochs=3, shuffle=False, verbose=0)
        else:
            history = model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
        return history.history["loss"]

    np.testing.assert_allclose(fitted(True), fitted(False), rtol=1e-5)



@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(x=np.zeros((3, 2)), y=np.zeros(4)), ValueError,
         "x and y must have the same number of examples; got lengths [3, 4]."),
        (dict(x=np.zeros((0, 2)), y=np.zeros(0)), ValueError, "x is empty; give at least one example."),
        (dict(x=np.zeros((3, 2)), batch_size=0), ValueError, "batch_size must be a positive int; got 0."),
        (dict(x=np.zeros((3, 2)), batch_size=2.5), ValueError, "batch_size must be a positive int; got 2.5."),
        (dict(x=np.zeros((3, 2)), shuffle=True), ValueError,
         "shuffle=True needs a seed (an int >= 0) so that the batch order is reproducible."),
        (dict(x=np.zeros((3, 2)), shuffle="yes", seed=0), TypeError, "shuffle must be True or False; got 'yes'."),
        (dict(x=np.zeros((3, 2)), seed=-1), ValueError, "seed must be a non-negative int; got -1."),
        (dict(x=np.float32(1.0)), ValueError, "x[0] must be an array with one row per example; got a scalar."),
        (dict(x=(), y=np.zeros(3)), ValueError, "x is an empty tuple; give at least one input array."),
    ],
)
def test_array_dataset_rejects_bad_input(kwargs, error, message):
    with pytest.raises(error, match=exactly(message)):
        training.array_dataset(**kwargs)


def _small_split(n=48, seed=0):
    from utils.data import DataSplit

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    third = n // 3
    return DataSplit(x[:third], y[:third], x[third : 2 * third], y[third : 2 * third], x[2 * third :], y[2 * third :],
                     name="small")


def _tiny_classifier():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])


def test_fit_classifier_matches_the_recipe_written_out(capsys):
    data = _small_split()

    keras.utils.set_random_seed(0)
    model = _tiny_classifier()
    timer = training.epoch_timer()
    history, test_loss, test_accuracy = training.fit_classifier(
        model, data, 3, learning_rate=0.01, batch_size=8, seed=1, validate=True, callbacks=[timer]
    )
    assert capsys.readouterr().out == ""  # silent
    assert model.steps_per_execution == 1  # the default

    keras.utils.set_random_seed(0)
    reference = _tiny_classifier()
    reference.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    reference_history = reference.fit(
        training.array_dataset(data.x_train, data.y_train, 8, shuffle=True, seed=1),
        validation_data=(data.x_val, data.y_val), epochs=3, verbose=0,
    )
    np.testing.assert_allclose(history.history["loss"], reference_history.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_loss"], reference_history.history["val_loss"], rtol=1e-5)
    expected_loss, expected_accuracy = reference.evaluate(data.x_test, data.y_test, verbose=0)
    assert test_loss == pytest.approx(expected_loss, rel=1e-5)
    assert test_accuracy == pytest.approx(expected_accuracy)
    assert len(timer.seconds) == 3 and all(s > 0 for s in timer.seconds)


def test_fit_classifier_with_label_smoothing_matches_the_recipe_written_out():
    data = _small_split()
    keras.utils.set_random_seed(0)
    history, test_loss, test_accuracy = training.fit_classifier(
        _tiny_classifier(), data, 2, learning_rate=0.01, batch_size=8, seed=1, validate=True, label_smoothing=0.1
    )

    keras.utils.set_random_seed(0)
    reference = _tiny_classifier()
    reference.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.1),
                      metrics=["accuracy"])
    n_classes = 2
    one_hot = {part: np.eye(n_classes)[getattr(data, f"y_{part}")] for part in ("train", "val", "test")}
    reference_history = reference.fit(
        training.array_dataset(data.x_train, one_hot["train"], 8, shuffle=True, seed=1),
        validation_data=(data.x_val, one_hot["val"]), epochs=2, verbose=0,
    )
    np.testing.assert_allclose(history.history["loss"], reference_history.history["loss"], rtol=1e-5)
    np.testing.assert_allclose(history.history["val_accuracy"], reference_history.history["val_accuracy"])
    expected_loss, expected_accuracy = reference.evaluate(data.x_test, one_hot["test"], verbose=0)
    assert test_loss == pytest.approx(expected_loss, rel=1e-5)
    assert test_accuracy == pytest.approx(expected_accuracy)
    # the docstring's targets: 1 - a + a/K for the true class, a/K for the others
    logits = reference.predict(data.x_test, verbose=0).astype(np.float64)
    log_probabilities = logits - logits.max(axis=1, keepdims=True)
    log_probabilities -= np.log(np.exp(log_probabilities).sum(axis=1, keepdims=True))
    targets = (1 - 0.1) * one_hot["test"] + 0.1 / n_classes
    assert test_loss == pytest.approx(float(np.mean(-(targets * log_probabilities).sum(axis=1))), rel=1e-5)


def test_fit_classifier_with_label_smoothing_takes_the_classes_from_the_logits():
    """Label smoothing over every logit, on a two-input model whose third class never occurs in the data."""
    from utils.data import DataSplit

    split = _small_split()
    parts = {name: getattr(split, name) for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test")}
    data = DataSplit(**{name: (part[:, :2], part[:, 2:]) if name.startswith("x") else part
                        for name, part in parts.items()}, name="two inputs")

    def two_input_classifier():
        a, b = keras.Input((2,)), keras.Input((2,))
        hidden = keras.layers.BatchNormalization()(keras.layers.Concatenate()([a, b]))
        return keras.Model([a, b], keras.layers.Dense(3)(hidden))

    keras.utils.set_random_seed(0)
    history, test_loss, _ = training.fit_classifier(
        two_input_classifier(), data, 2, learning_rate=0.01, batch_size=8, seed=1, label_smoothing=0.3
    )
    keras.utils.set_random_seed(0)
    reference = two_input_classifier()
    reference.compile(optimizer=keras.optimizers.Adam(0.01),
                      loss=keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.3))
    one_hot = {part: np.eye(3)[getattr(data, f"y_{part}")] for part in ("train", "val", "test")}
    reference_history = reference.fit(
        training.array_dataset(data.x_train, one_hot["train"], 8, shuffle=True, seed=1),
        validation_data=(data.x_val, one_hot["val"]), epochs=2, verbose=0,
    )
    np.testing.assert_allclose(history.history["loss"], reference_history.history["loss"], rtol=1e-5)
    assert test_loss == pytest.approx(reference.evaluate(data.x_test, one_hot["test"], verbose=0), rel=1e-5)


def test_fit_classifier_with_label_smoothing_on_logits_per_time_step():
    """Logits (examples, 5 steps, 3 classes): the classes are the last axis, not the second."""
    from utils.data import DataSplit

    rng = np.random.default_rng(1)
    x = rng.normal(size=(24, 5, 2)).astype("float32")
    y = (x[..., 0] > 0).astype("int32") + (x[..., 1] > 1)
    data = DataSplit(x[:8], y[:8], x[8:16], y[8:16], x[16:], y[16:], name="steps")
    model = keras.Sequential([keras.Input((5, 2)), keras.layers.Dense(3)])
    history, test_loss, test_accuracy = training.fit_classifier(model, data, 1, learning_rate=0.01, batch_size=4,
                                                                seed=0, label_smoothing=0.1)
    assert np.isfinite(test_loss) and 0 <= test_accuracy <= 1 and len(history.history["loss"]) == 1


def test_fit_classifier_without_validation_has_no_validation_history():
    keras.utils.set_random_seed(0)
    model = _tiny_classifier()
    history, _, _ = training.fit_classifier(model, _small_split(), 1, learning_rate=0.01, batch_size=8,
                                            seed=0, steps_per_execution=4)
    assert model.steps_per_execution == 4
    assert set(history.history) == {"loss", "accuracy"}


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(model="not a model"), TypeError, "model must be a keras.Model; got str."),
        (dict(data=(np.zeros((3, 4)), np.zeros(3))), TypeError,
         "data must be a utils.data.DataSplit (x_train, y_train, x_val, y_val, x_test, y_test); "
         "tuple lacks x_train, y_train, x_val, y_val, x_test, y_test."),
        (dict(epochs=0), ValueError, "epochs must be a positive int; got 0."),
        (dict(batch_size=-1), ValueError, "batch_size must be a positive int; got -1."),
        (dict(steps_per_execution=0), ValueError, "steps_per_execution must be a positive int; got 0."),
        (dict(learning_rate=0.0), ValueError, "learning_rate must be a finite number > 0; got 0.0."),
        (dict(learning_rate=float("nan")), ValueError, "learning_rate must be a finite number > 0; got nan."),
        (dict(seed=-1), ValueError, "seed must be a non-negative int; got -1."),
        (dict(validate="yes"), TypeError, "validate must be True or False; got 'yes'."),
        (dict(label_smoothing=1.0), ValueError, "label_smoothing must be a finite number in [0, 1); got 1.0."),
        (dict(label_smoothing=-0.1), ValueError, "label_smoothing must be a finite number in [0, 1); got -0.1."),
    ],
)
def test_fit_classifier_rejects_bad_input(kwargs, error, message):
    arguments = dict(model=_tiny_classifier(), data=_small_split(), epochs=1, learning_rate=0.01, batch_size=8, seed=0)
    arguments.update(kwargs)
    model, data, epochs = arguments.pop("model"), arguments.pop("data"), arguments.pop("epochs")
    with pytest.raises(error, match=exactly(message)):
        training.fit_classifier(model, data, epochs, **arguments)


def test_predict_logits_equals_predict_in_chunks_and_for_several_inputs():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3)])
    x = np.random.default_rng(0).normal(size=(50, 4)).astype("float32")
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(training.predict_logits(model, x), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(training.predict_logits(model, x, batch_size=7), expected, rtol=1e-5, atol=1e-6)

    first, second = keras.Input((4,)), keras.Input((2,))
    two_inputs = keras.Model([first, second], keras.layers.Dense(3)(keras.layers.Concatenate()([first, second])))
    x2 = np.ones((50, 2), dtype="float32")
    np.testing.assert_allclose(training.predict_logits(two_inputs, (x, x2), batch_size=16),
                               two_inputs.predict([x, x2], verbose=0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "model, x, kwargs, error, message",
    [
        ("not a model", np.zeros((3, 4)), {}, TypeError, "model must be a keras.Model; got str."),
        (None, np.zeros((3, 4)), dict(batch_size=0), ValueError, "batch_size must be a positive int; got 0."),
        (None, (np.zeros((3, 4)), np.zeros((2, 4))), {}, ValueError,
         "the inputs in x must all have the same number of examples; got lengths [2, 3]."),
    ],
)
def test_predict_logits_rejects_bad_input(model, x, kwargs, error, message):
    model = _tiny_classifier() if model is None else model
    with pytest.raises(error, match=exactly(message)):
        training.predict_logits(model, x, **kwargs)


def test_accuracy_of_logits_per_time_step():
    """Logits of shape (examples, steps, classes) against labels of shape (examples, steps)."""
    logits = np.zeros((2, 3, 4))
    logits[0, :, 1] = logits[1, :, 3] = 1.0  # predicts class 1 at every step of example 0, class 3 of example 1
    y = np.array([[1, 1, 0], [3, 2, 2]])
    assert training._logit_accuracy(logits, y) == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match=exactly(
            "y must hold one integer label per example, shape (2, 3); got shape (2,).")):
        training._logit_accuracy(logits, y[:, 0])


def test_accuracy_matches_evaluate_and_ignores_the_compiled_loss():
    data = _small_split()
    keras.utils.set_random_seed(0)
    model = _tiny_classifier()
    _, _, test_accuracy = training.fit_classifier(model, data, 2, learning_rate=0.01, batch_size=8, seed=0)
    assert training.accuracy(model, data.x_test, data.y_test) == pytest.approx(test_accuracy)
    assert test_accuracy == pytest.approx(model.evaluate(data.x_test, data.y_test, verbose=0)[1])
    smoothed = _tiny_classifier()
    training.fit_classifier(smoothed, data, 1, learning_rate=0.01, batch_size=8, seed=0, label_smoothing=0.1)
    logits = smoothed.predict(data.x_test, verbose=0)
    assert training.accuracy(smoothed, data.x_test, data.y_test) == pytest.approx(np.mean(logits.argmax(axis=1) == data.y_test))
    with pytest.raises(ValueError, match=exactly("y must hold one integer label per example, shape (16,); got shape (16, 2).")):
        training.accuracy(model, data.x_test, np.eye(2)[data.y_test])


# side_by_side, build_optimizer_state ------------------------------------


def _tiny_sequence_network(name, units=3):
    inputs = keras.Input(shape=(5, 2))
    state = keras.layers.GRU(units)(inputs)
    return keras.Model(inputs, keras.layers.Dense(2)(state), name=name)


def _compiled_pair():
    keras.utils.set_random_seed(0)
    networks = {"first": _tiny_sequence_network("first"), "second": _tiny_sequence_network("second", units=4)}
    model = training.side_by_side(networks)
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss={"first": loss, "second": loss})
    return networks, model


def test_side_by_side_trains_each_network_as_alone():
    x = np.random.default_rng(0).normal(size=(32, 5, 2)).astype("float32")
    y = (x[:, 0, 0] > 0).astype("int32")
    networks, model = _compiled_pair()
    start = networks["second"].get_weights()
    outputs = model.predict_on_batch(x)
    assert set(outputs) == {"first", "second"}
    np.testing.assert_allclose(outputs["first"], networks["first"].predict_on_batch(x), rtol=1e-6, atol=1e-6)
    model.fit(x, {"first": y, "second": y}, epochs=2, batch_size=8, shuffle=False, verbose=0)
    keras.utils.set_random_seed(0)
    alone = _tiny_sequence_network("alone", units=4)
    alone.set_weights(start)
    alone.compile(optimizer=keras.optimizers.Adam(0.05), loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    alone.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    for ours, theirs in zip(networks["second"].get_weights(), alone.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_build_optimizer_state_creates_adams_moments_before_training():
    _, model = _compiled_pair()
    assert not model.optimizer.built
    training.build_optimizer_state(model)
    n_weights = len(model.trainable_variables)
    assert model.optimizer.built and len(model.optimizer.variables) >= 2 * n_weights  # two moments per weight
    assert int(keras.ops.convert_to_numpy(model.optimizer.iterations)) == 0


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: training.side_by_side({}), "networks must be a non-empty dict of name -> keras.Model; got {}."),
        (lambda: training.side_by_side([_tiny_sequence_network("a")]),
         "networks must be a non-empty dict of name -> keras.Model; got [<Functional name=a, built=True>]."),
        (lambda: training.side_by_side({"a": "not a model"}), "networks['a'] must be a keras.Model with one input; got str."),
        (lambda: training.side_by_side({"a": _tiny_sequence_network("a")}, name=""),
         "name must be a non-empty string; got ''."),
        (lambda: training.side_by_side({"a": _tiny_sequence_network("a"), "b": _tiny_mlp_4()}),
         "networks must all take inputs of the same shape; got [(4,), (5, 2)]."),
        (lambda: training.build_optimizer_state(_tiny_sequence_network("a")),
         "model must be a compiled keras.Model (call model.compile first); got Functional."),
        (lambda: training.build_optimizer_state("not a model"),
         "model must be a compiled keras.Model (call model.compile first); got str."),
    ],
)
def test_side_by_side_and_build_optimizer_state_reject_bad_input(call, message):
    with pytest.raises(utils.ArgumentError, match=exactly(message)):
        call()


def test_side_by_side_is_named_side_by_side_unless_told():
    networks = {"a": _tiny_sequence_network("a"), "b": _tiny_sequence_network("b")}
    pair = training.side_by_side(networks)
    assert pair.name == "side_by_side" and [tensor.name for tensor in pair.inputs] == ["input"]
    assert training.side_by_side(networks, name="pair").name == "pair"


def test_side_by_side_names_what_is_wrong_with_the_networks():
    def network(shape):
        inputs = keras.Input(shape=shape)
        return keras.Model(inputs, keras.layers.Dense(1)(inputs))

    with pytest.raises(utils.ArgumentError, match=exactly("networks must have non-empty string keys; got 1.")):
        training.side_by_side({1: network((2,))})
    with pytest.raises(utils.ArgumentError, match=exactly("networks must have non-empty string keys; got ''.")):
        training.side_by_side({"": network((2,))})
    # shapes with an open dimension (None) are listed too: sorted as text
    with pytest.raises(utils.ArgumentError, match=exactly(
            "networks must all take inputs of the same shape; got [(3, 2), (None, 2)].")):
        training.side_by_side({"a": network((None, 2)), "b": network((3, 2))})


def _tiny_mlp_4():
    inputs = keras.Input(shape=(4,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


# time_training_steps -------------------------------------------------------------------


def test_time_training_steps_reports_the_model_and_its_losses():
    report = training.time_training_steps(batch_size=16, n_features=4, hidden_units=(5,), n_classes=3, steps=3, seed=1)
    assert report["backend"] == keras.backend.backend()
    assert report["parameters"] == (4 * 5 + 5) + (5 * 3 + 3)
    assert report["first_step_seconds"] > 0 and report["step_milliseconds"] > 0
    assert np.isfinite(report["loss_first"]) and report["loss_last"] < report["loss_first"]  # same batch, Adam


def _timed_mlp_written_out(batch_size, n_features, hidden_units, n_classes, steps, seed):
    """time_training_steps's model, data and training, written out: (first loss, last loss)."""
    from utils.models import build_mlp

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch_size, n_features)).astype("float32")
    y = (x @ rng.normal(size=(n_features, n_classes))).argmax(axis=1)
    keras.utils.set_random_seed(seed)
    model = build_mlp((n_features,), n_classes, hidden_units)
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    losses = [float(model.train_on_batch(x, y)) for _ in range(1 + steps)]
    return losses[0], losses[-1]


class _Clock:
    """time.perf_counter for utils.training only: scripted readings, or the real clock, counted."""

    def __init__(self, readings=None):
        import time

        self.real, self.readings, self.calls = time.perf_counter, readings, 0

    def __call__(self):
        import sys

        if sys._getframe(1).f_globals.get("__name__") != "utils.training":
            return self.real()  # Keras and the backends keep their clock
        self.calls += 1
        return self.real() if self.readings is None else self.readings.pop(0)


def test_time_training_steps_trains_the_documented_model(monkeypatch):
    import time

    clock = _Clock()
    monkeypatch.setattr(time, "perf_counter", clock)
    report = training.time_training_steps()  # the defaults: 256 x 64 inputs, (256, 256), 10 classes, 20 steps, seed 0
    assert report["parameters"] == (64 * 256 + 256) + (256 * 256 + 256) + (256 * 10 + 10)
    assert clock.calls == 2 * (1 + 20)  # the first step and 20 timed steps, each read twice
    first, _ = _timed_mlp_written_out(256, 64, (256, 256), 10, 0, seed=0)
    assert report["loss_first"] == pytest.approx(first, rel=1e-5)
    small = dict(batch_size=16, n_features=5, hidden_units=(6,), n_classes=3, steps=4, seed=2)
    report = training.time_training_steps(**small)
    first, last = _timed_mlp_written_out(**small)
    assert (report["loss_first"], report["loss_last"]) == (pytest.approx(first, rel=1e-5), pytest.approx(last, rel=1e-5))


def test_time_training_steps_reports_the_first_step_and_the_median_step(monkeypatch):
    import time

    # start and end of the first step, then of each timed step: 10, 30 and 20 ms
    readings = [1.0, 3.5, 10.0, 10.010, 20.0, 20.030, 30.0, 30.020]
    monkeypatch.setattr(time, "perf_counter", _Clock(readings))
    report = training.time_training_steps(batch_size=8, n_features=3, hidden_units=(4,), n_classes=2, steps=3)
    assert report["first_step_seconds"] == pytest.approx(2.5)
    assert report["step_milliseconds"] == pytest.approx(20.0)
    assert readings == []


@pytest.mark.parametrize("kwargs, message", [
    ({"n_features": 0}, "n_features must be a positive int; got 0."),
    ({"n_classes": 0}, "n_classes must be a positive int; got 0."),
    ({"steps": 0}, "steps must be a positive int; got 0."),
    ({"batch_size": 2.5}, "batch_size must be a positive int; got 2.5."),
    ({"seed": -1}, "seed must be a non-negative int; got -1."),
    ({"hidden_units": (4, 0)}, "hidden_units[1] must be a positive int; got 0."),
])
def test_time_training_steps_rejects_bad_arguments(kwargs, message):
    with pytest.raises(utils.ArgumentError, match=exactly(message)):
        training.time_training_steps(**kwargs)
