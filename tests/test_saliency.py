"""Unit tests of utils.explain.saliency: known answers, agreement with tf-keras-vis, bad input.

The known-answer checks are plain functions (``check_*``) so that the JAX test
can run them in a fresh interpreter where TensorFlow cannot be imported
(tests/without_tensorflow), as on a Colab TPU.
"""

import numpy as np
import pytest

from conftest import ROOT, exactly, run_python

IG_STEPS = 128  # the chapter's step count


def _keras():
    import utils

    utils.setup(quiet=True)
    import keras

    return keras


def linear_model(input_shape=(3, 4, 1), n_outputs=3, activation=None, seed=0):
    """Flatten -> Dense: the gradient of logit c is column c of the kernel, everywhere."""
    keras = _keras()
    model = keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(name="flatten"),
                              keras.layers.Dense(n_outputs, activation=activation, name="scores")])
    rng = np.random.default_rng(seed)
    size = int(np.prod(input_shape))
    model.set_weights([rng.normal(size=(size, n_outputs)).astype("float32"),
                       rng.normal(size=n_outputs).astype("float32")])
    return model


def small_cnn(input_shape=(8, 8, 1), n_outputs=4, activation=None, seed=0):
    """A random ReLU CNN, nonlinear enough for the completeness test."""
    keras = _keras()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(input_shape, name="image")
    conv = keras.layers.Conv2D if len(input_shape) == 3 else keras.layers.Conv1D
    pool = keras.layers.MaxPooling2D if len(input_shape) == 3 else keras.layers.MaxPooling1D
    x = conv(6, 3, padding="same", activation="relu", name="conv_0")(inputs)
    x = conv(8, 3, padding="same", activation="relu", name="conv_1")(x)
    x = pool(2, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation=activation, name="scores")(x))


def region_model():
    """Two input channels, each lit in one quadrant; class k's score is the mean of channel k.

    Conv 1x1 (identity) -> global average pooling -> Dense (identity): Grad-CAM for
    class k must reproduce channel k, so its map lies in channel k's quadrant.
    """
    keras = _keras()
    inputs = keras.Input((8, 8, 2))
    features = keras.layers.Conv2D(2, 1, activation="relu", name="features")(inputs)
    pooled = keras.layers.GlobalAveragePooling2D(name="gap")(features)
    model = keras.Model(inputs, keras.layers.Dense(2, name="scores")(pooled))
    model.set_weights([np.eye(2, dtype="float32")[None, None], np.zeros(2, "float32"),
                       np.eye(2, dtype="float32"), np.zeros(2, "float32")])
    x = np.zeros((2, 8, 8, 2), "float32")
    rng = np.random.default_rng(0)
    x[:, :4, :4, 0] = rng.uniform(0.5, 1.0, size=(2, 4, 4))  # class 0's evidence: top left
    x[:, 4:, 4:, 1] = rng.uniform(0.5, 1.0, size=(2, 4, 4))  # class 1's evidence: bottom right
    return model, x


# Known answers (run under TensorFlow here and under JAX in a subprocess) ------------


def check_linear_gradients():
    from utils.explain import saliency

    model = linear_model()
    kernel = model.get_weights()[0]
    x = np.random.default_rng(1).normal(size=(5, 3, 4, 1)).astype("float32")
    targets = np.array([0, 1, 2, 1, 0])
    expected = kernel[:, targets].T.reshape(5, 3, 4)
    np.testing.assert_allclose(saliency.vanilla_gradients(model, x, targets), expected, atol=1e-6)
    np.testing.assert_allclose(saliency.smoothgrad(model, x, targets, n_samples=4), expected, atol=1e-5)
    baseline = np.full((3, 4, 1), 0.25, "float32")
    attributions = saliency.integrated_gradients(model, x, targets, baseline=baseline, steps=3)
    np.testing.assert_allclose(attributions, (x - baseline)[..., 0] * expected, atol=1e-5)


def check_gradients_follow_the_current_weights():
    """Gradients use the model's weights at each call (under JAX the compiled gradient takes them as arguments)."""
    from utils.explain import saliency

    for activation in (None, "softmax"):  # softmax: the rebuilt model's copied output layer is refreshed too
        model = linear_model(activation=activation)
        x = np.random.default_rng(3).normal(size=(4, 3, 4, 1)).astype("float32")
        targets = np.array([0, 1, 2, 0])
        before = saliency.vanilla_gradients(model, x, targets)
        kernel, bias = model.get_weights()
        model.set_weights([-2.0 * kernel, bias])
        np.testing.assert_allclose(saliency.vanilla_gradients(model, x, targets), -2.0 * before, atol=1e-5)
        np.testing.assert_allclose(saliency.integrated_gradients(model, x, targets, steps=2),
                                   -2.0 * x[..., 0] * before, atol=1e-5)


def check_sigmoid_head():
    """A single-unit head: target 1 explains +logit, target 0 explains -logit (the sigmoid is dropped)."""
    from utils.explain import saliency

    model = linear_model(n_outputs=1, activation="sigmoid")
    w = model.get_weights()[0][:, 0].reshape(3, 4)
    x = np.random.default_rng(2).normal(size=(2, 3, 4, 1)).astype("float32")
    gradient = saliency.vanilla_gradients(model, x, np.array([1, 0]))
    np.testing.assert_allclose(gradient, np.stack([w, -w]), atol=1e-6)
    attributions = saliency.integrated_gradients(model, x, 1, steps=2)
    np.testing.assert_allclose(attributions, x[..., 0] * w, atol=1e-5)


def check_completeness():
    """sum_i IG_i = F(x) - F(x') within 1% of |F(x) - F(x')| at the chapter's step count."""
    from utils.explain import saliency

    model = small_cnn()
    x = np.random.default_rng(3).uniform(size=(6, 8, 8, 1)).astype("float32")
    targets = np.arange(6) % 4
    attributions = saliency.integrated_gradients(model, x, targets, steps=IG_STEPS)
    gap = saliency.target_scores(model, x, targets) - saliency.target_scores(model, np.zeros_like(x), targets)
    error = np.abs(attributions.reshape(6, -1).sum(axis=1) - gap)
    assert np.all(error <= 0.01 * np.abs(gap) + 1e-6), (error, gap)


def check_gradcam_region():
    from utils.explain import saliency

    model, x = region_model()
    for target, (rows, columns) in enumerate([(slice(0, 4), slice(0, 4)), (slice(4, 8), slice(4, 8))]):
        for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
            cam = method(model, x, np.full(2, target))
            inside = cam[:, rows, columns]
            assert cam.shape == (2, 8, 8)
            assert np.all(inside.reshape(2, -1).max(axis=1) == cam.reshape(2, -1).max(axis=1)), method.__name__
            outside = cam.copy()
            outside[:, rows, columns] = 0.0
            # bilinear upsampling of an 8x8 map to 8x8 is the identity: nothing leaks out of the quadrant
            assert np.abs(outside).max() < 1e-6 * np.abs(cam).max(), method.__name__
    cam = saliency.gradcam(model, x, np.array([0, 1]))
    np.testing.assert_allclose(cam[0], x[0, ..., 0] / 64, atol=1e-7)  # w_0 = 1/64, A_0 = channel 0
    np.testing.assert_allclose(cam[1], x[1, ..., 1] / 64, atol=1e-7)


def check_one_dimensional():
    from utils.explain import saliency

    model = small_cnn(input_shape=(40, 1), n_outputs=3)
    x = np.random.default_rng(4).normal(size=(4, 40, 1)).astype("float32")
    for method in (saliency.vanilla_gradients, saliency.gradcam, saliency.layercam, saliency.integrated_gradients):
        assert method(model, x, np.array([0, 1, 2, 0])).shape == (4, 40), method.__name__
    assert saliency.find_spatial_layer(model) == "conv_1"


def quadratic_model(input_shape=(3, 4, 2), seed=0):
    """Score of class c = sum_i w_ic x_i^2: its gradient 2 w_ic x_i is linear along any straight path."""
    keras = _keras()
    inputs = keras.Input(input_shape)
    squared = keras.layers.Multiply(name="square")([inputs, inputs])
    model = keras.Model(inputs, keras.layers.Dense(2, name="scores")(keras.layers.Flatten(name="flatten")(squared)))
    rng = np.random.default_rng(seed)
    size = int(np.prod(input_shape))
    model.set_weights([rng.normal(size=(size, 2)).astype("float32"), rng.normal(size=2).astype("float32")])
    return model


def check_integrated_gradients_midpoint_rule():
    """The midpoint rule integrates a linear gradient exactly: IG_i = w_i (x_i^2 - x'_i^2) for any step count."""
    from utils.explain import saliency

    model = quadratic_model()
    kernel = model.get_weights()[0]
    rng = np.random.default_rng(5)
    x = rng.normal(size=(4, 3, 4, 2)).astype("float32")
    targets = np.array([0, 1, 1, 0])
    w = kernel[:, targets].T.reshape(x.shape)
    for steps, baseline in [(1, None), (2, rng.normal(size=(3, 4, 2))), (3, rng.normal(size=x.shape))]:
        reference = np.zeros_like(x) if baseline is None else np.broadcast_to(baseline, x.shape)
        expected = w * (x**2 - reference**2)
        attributions = saliency.integrated_gradients(model, x, targets, baseline=baseline, steps=steps,
                                                     keep_channels=True, batch_size=5)
        np.testing.assert_allclose(attributions, expected, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(saliency.integrated_gradients(model, x, targets, baseline=baseline, steps=steps),
                                   expected.sum(axis=-1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(saliency.integrated_gradients(model, x, targets), (w * x**2).sum(axis=-1),  # 32 steps
                               rtol=1e-4, atol=1e-5)


def check_gradients_per_channel_and_in_chunks():
    """keep_channels keeps the channel axis (its sum is the default map); batch_size only chunks the work."""
    from utils.explain import saliency

    model = quadratic_model()
    kernel = model.get_weights()[0]
    x = np.random.default_rng(6).normal(size=(5, 3, 4, 2)).astype("float32")
    targets = np.array([1, 0, 0, 1, 1])
    expected = 2.0 * x * kernel[:, targets].T.reshape(x.shape)
    np.testing.assert_allclose(saliency.vanilla_gradients(model, x, targets, keep_channels=True, batch_size=2), expected,
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(saliency.vanilla_gradients(model, x, targets), expected.sum(axis=-1), rtol=1e-5, atol=1e-6)
    without_noise = saliency.smoothgrad(model, x, targets, noise_level=0.0, n_samples=2, keep_channels=True, batch_size=3)
    np.testing.assert_allclose(without_noise, expected, rtol=1e-5, atol=1e-6)

    def smoothgrad_by_hand(n_samples, noise_level, seed):
        """The mean gradient at the noisy copies: noise of std noise_level * (max - min) per example."""
        noise = np.random.RandomState(seed).standard_normal((n_samples,) + x.shape)
        scale = noise_level * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))[:, None, None, None]
        return (2.0 * (x + noise * scale) * kernel[:, targets].T.reshape(x.shape)).mean(axis=0).sum(axis=-1)

    np.testing.assert_allclose(saliency.smoothgrad(model, x, targets, n_samples=3, noise_level=0.3, seed=4, batch_size=4),
                               smoothgrad_by_hand(3, 0.3, 4), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(saliency.smoothgrad(model, x, targets),  # 25 samples, noise level 0.2, seed 0
                               smoothgrad_by_hand(25, 0.2, 0), rtol=1e-4, atol=1e-5)
    scores = saliency.target_scores(model, x, targets, batch_size=2)
    np.testing.assert_allclose(scores, np.einsum("nc,cn->n", (x**2).reshape(5, -1), kernel[:, targets])
                               + model.get_weights()[1][targets], rtol=1e-5)


def check_dropout_is_off():
    """Maps explain the model in inference mode: a Dropout layer passes everything through."""
    keras = _keras()
    from utils.explain import saliency

    model = keras.Sequential([keras.Input((3, 4, 1)), keras.layers.Flatten(), keras.layers.Dropout(0.5),
                              keras.layers.Dense(3, name="scores")])
    kernel = keras.ops.convert_to_numpy(model.layers[-1].kernel)
    x = np.random.default_rng(7).normal(size=(4, 3, 4, 1)).astype("float32")
    targets = np.array([0, 1, 2, 1])
    expected = kernel[:, targets].T.reshape(4, 3, 4)
    np.testing.assert_allclose(saliency.vanilla_gradients(model, x, targets), expected, atol=1e-6)
    np.testing.assert_allclose(saliency.integrated_gradients(model, x, targets, steps=2), x[..., 0] * expected, atol=1e-5)


def check_dropout_is_off_in_class_activation_maps():
    keras = _keras()
    from utils.explain import saliency

    plain, x = region_model()
    inputs = keras.Input((8, 8, 2))
    features = keras.layers.Dropout(0.5)(plain.get_layer("features")(inputs))
    model = keras.Model(inputs, plain.get_layer("scores")(plain.get_layer("gap")(features)))
    for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        np.testing.assert_allclose(method(model, x, [0, 1]), method(plain, x, [0, 1]), atol=1e-7, err_msg=method.__name__)


KNOWN_ANSWERS = [check_dropout_is_off, check_dropout_is_off_in_class_activation_maps, check_linear_gradients,
                 check_gradients_follow_the_current_weights, check_sigmoid_head,
                 check_completeness, check_gradcam_region, check_one_dimensional,
                 check_integrated_gradients_midpoint_rule, check_gradients_per_channel_and_in_chunks]


@pytest.mark.parametrize("check", KNOWN_ANSWERS, ids=lambda check: check.__name__)
def test_known_answers_tensorflow(check):
    check()


@pytest.mark.slow
def test_known_answers_jax_without_tensorflow():
    code = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "import test_saliency as t\n"
        "import keras; assert keras.backend.backend() == 'jax'\n"
        "for check in t.KNOWN_ANSWERS: check()\n"
        "from utils.explain import saliency\n"
        "model, x = t.region_model()\n"
        "for call in (lambda: saliency.scorecam(model, x, 0), lambda: saliency.gradcam(model, x, 0, implementation='tf-keras-vis')):\n"
        "    try: call()\n"
        "    except RuntimeError as error: assert 'TensorFlow backend' in str(error)\n"
        "    else: raise AssertionError('tf-keras-vis ran without TensorFlow')\n"
        "print('ok')\n"
    )
    result = run_python(["-c", code], {"PYTHONPATH": str(ROOT / "tests" / "without_tensorflow"), "KERAS_BACKEND": "jax"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


# Agreement with tf-keras-vis, and its traps (TensorFlow) -----------------------------


def nested_model(activation="softmax", n_outputs=3):
    """A CNN base model nested inside another model (the case tf-keras-vis's Grad-CAM cannot open)."""
    keras = _keras()
    cnn = small_cnn(n_outputs=n_outputs)
    base = keras.Model(cnn.input, cnn.get_layer("hidden").output, name="base")
    inputs = keras.Input((8, 8, 1), name="outer_image")
    return keras.Model(inputs, keras.layers.Dense(n_outputs, activation=activation, name="outer_scores")(base(inputs)))


def sequential_model():
    keras = _keras()
    keras.utils.set_random_seed(5)
    return keras.Sequential([
        keras.Input((40, 1)), keras.layers.Conv1D(4, 5, padding="same", activation="relu", name="seq_conv_0"),
        keras.layers.MaxPooling1D(2, name="seq_pool"),
        keras.layers.Conv1D(6, 3, padding="same", activation="relu", name="seq_conv_1"),
        keras.layers.GlobalAveragePooling1D(name="seq_gap"), keras.layers.Dense(4, activation="softmax", name="seq_out"),
    ])


MODELS = {
    "functional": lambda: (small_cnn(), np.random.default_rng(6).uniform(size=(5, 8, 8, 1)), np.arange(5) % 4),
    "sequential_1d_softmax": lambda: (sequential_model(), np.random.default_rng(7).normal(size=(5, 40, 1)), np.arange(5) % 4),
    "nested_sigmoid": lambda: (nested_model("sigmoid", 1), np.random.default_rng(8).uniform(size=(5, 8, 8, 1)), np.arange(5) % 2),
}


@pytest.mark.parametrize("kind", MODELS)
def test_agrees_with_tf_keras_vis(kind):
    from utils.explain import saliency

    model, x, targets = MODELS[kind]()
    for method in (saliency.vanilla_gradients, saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        ours = method(model, x, targets)
        theirs = method(model, x, targets, implementation="tf-keras-vis")
        assert np.abs(ours).max() > 0, method.__name__
        np.testing.assert_allclose(ours, theirs, atol=1e-5 * max(1.0, np.abs(theirs).max()), err_msg=method.__name__)
    ours = saliency.smoothgrad(model, x, targets, n_samples=4, seed=3)
    theirs = saliency.smoothgrad(model, x, targets, n_samples=4, seed=3, implementation="tf-keras-vis")
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_softmax_output_is_explained_through_its_logits():
    keras = _keras()
    from utils.explain import saliency

    with_softmax = sequential_model()
    logits_only = keras.Sequential([keras.Input((40, 1))] + [
        type(layer).from_config({**layer.get_config(), "name": f"copy_{layer.name}"}) for layer in with_softmax.layers[:-1]
    ] + [keras.layers.Dense(4, name="copy_logits")])
    logits_only.set_weights(with_softmax.get_weights())
    x = np.random.default_rng(9).normal(size=(3, 40, 1)).astype("float32")
    np.testing.assert_allclose(saliency.vanilla_gradients(with_softmax, x, [0, 1, 2]),
                               saliency.vanilla_gradients(logits_only, x, [0, 1, 2]), atol=1e-6)
    # the original model is left as it was
    assert with_softmax.layers[-1].activation.__name__ == "softmax"


def test_nested_model_gives_the_same_maps_as_the_flat_one():
    keras = _keras()
    from utils.explain import saliency

    nested = nested_model(activation=None)
    flat = saliency.explanation_model(nested)
    assert not any(isinstance(layer, keras.Model) for layer in flat.layers)
    x = np.random.default_rng(10).uniform(size=(3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(flat(x)), keras.ops.convert_to_numpy(nested(x)), atol=1e-6)
    assert saliency.find_spatial_layer(nested) == "conv_1"
    assert saliency.gradcam(nested, x, [0, 1, 2], layer="conv_0").shape == (3, 8, 8)


def two_logit_twin(binary):
    """The single-unit sigmoid model written as two logits [0, z]: softmax gives (1 - p, p)."""
    keras = _keras()
    inputs = keras.Input((8, 8, 1))
    z = binary(inputs)
    zeros = keras.layers.Lambda(lambda t: keras.ops.zeros_like(t))(z)
    return keras.Model(inputs, keras.layers.Concatenate()([zeros, z]))


def test_scorecam_single_unit_sigmoid_head_uses_class_probabilities():
    keras = _keras()
    from tf_keras_vis.scorecam import Scorecam
    from tf_keras_vis.utils.scores import BinaryScore
    from utils.explain import saliency

    binary = small_cnn(n_outputs=1, activation="sigmoid", seed=11)
    x = np.random.default_rng(12).uniform(size=(4, 8, 8, 1)).astype("float32")
    for_class_1 = saliency.scorecam(binary, x, 1)
    for_class_0 = saliency.scorecam(binary, x, 0)
    assert np.abs(for_class_1 - for_class_0).max() > 1e-3 * np.abs(for_class_1).max()
    # the same maps as the equivalent two-logit softmax model
    twin = two_logit_twin(saliency.explanation_model(binary))  # its logit, nested in the twin
    np.testing.assert_allclose(for_class_1, saliency.scorecam(twin, x, 1, layer="conv_1"), atol=1e-5)
    # the trap: on the single logit, tf-keras-vis's softmax is always 1, so every channel gets the
    # weight +1 (class 1: the plain sum of the channels, whatever the evidence) or -1 (class 0: nothing)
    with_features = saliency.explanation_model(binary, features=True)
    trap = Scorecam(saliency._for_tf_keras_vis(with_features), clone=False)
    trap.model.predict = saliency._quiet_predict(trap.model)
    maps = [trap(BinaryScore(bool(t)), x, penultimate_layer=trap.model.get_layer("saliency_features"),
                 seek_penultimate_conv_layer=False, normalize_cam=False) for t in (0, 1)]
    features = keras.ops.convert_to_numpy(with_features(x)[0])
    assert np.all(maps[0] == 0.0)
    np.testing.assert_allclose(maps[1], saliency._upsample(features.sum(axis=-1), x), rtol=1e-5, atol=1e-6)


def test_faster_scorecam_with_every_channel_is_scorecam():
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    full = saliency.scorecam(model, x, targets)
    np.testing.assert_allclose(saliency.scorecam(model, x, targets, max_n=8), full, atol=1e-5)
    faster = saliency.scorecam(model, x, targets, max_n=2)
    assert faster.shape == full.shape == (5, 8, 8) and not np.allclose(faster, full)


def test_activation_maximization_raises_the_class_score():
    from utils.explain import saliency

    model = small_cnn(seed=13)
    images = saliency.activation_maximization(model, [0, 1, 2], steps=30, seed=0)
    assert images.shape == (3, 8, 8, 1) and images.min() >= 0.0 and images.max() <= 1.0
    start = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")
    assert np.all(saliency.target_scores(model, images, [0, 1, 2]) > saliency.target_scores(model, start, [0, 1, 2]))


def test_explanation_model_heads_features_and_offset():
    keras = _keras()
    from utils.explain import saliency

    model = small_cnn(activation="softmax", seed=21)
    x = np.random.default_rng(21).uniform(size=(3, 8, 8, 1)).astype("float32")
    probabilities = keras.ops.convert_to_numpy(model(x))
    logits = keras.ops.convert_to_numpy(saliency.explanation_model(model)(x))
    np.testing.assert_allclose(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), probabilities, rtol=1e-5)
    log_probabilities = saliency.explanation_model(model, head="log_probabilities")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(log_probabilities(x)), np.log(probabilities), atol=1e-5)
    binary = small_cnn(n_outputs=1, activation="sigmoid", seed=22)
    p = keras.ops.convert_to_numpy(binary(x))[:, 0]
    two = keras.ops.convert_to_numpy(saliency.explanation_model(binary, head="log_probabilities")(x))
    np.testing.assert_allclose(two, np.log(np.stack([1 - p, p], axis=1)), atol=1e-5)
    assert saliency.explanation_model(binary).outputs[0].shape[-1] == 1
    assert saliency.explanation_model(model).layers[-1].name == "scores_logits"  # the copied output layer
    assert saliency.explanation_model(model).name == f"{model.name}_explained"
    assert log_probabilities.layers[-1].name == "log_probabilities"
    assert saliency.explanation_model(binary, head="log_probabilities").layers[-1].name == "binary_log_probabilities"

    conv_0 = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], model.get_layer("conv_0").output)(x))
    features, scores = saliency.explanation_model(model, "conv_0", features=True)(x)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(features), conv_0, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), logits, atol=1e-5)
    last_conv = keras.ops.convert_to_numpy(keras.Model(model.inputs[0], model.get_layer("conv_1").output)(x))
    with_offset = saliency.explanation_model(model, feature_offset=True)  # the last convolution by default
    assert [tensor.shape[1:] for tensor in with_offset.inputs] == [(8, 8, 1), (8, 8, 8)]
    zero = np.zeros((3, 8, 8, 8), "float32")
    features, scores = with_offset([x, zero])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(features), last_conv, atol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(scores), logits, atol=1e-5)
    shifted = keras.ops.convert_to_numpy(with_offset([x, zero + 1.0])[1])
    after = keras.Model(model.get_layer("pool").input, model.outputs[0])  # the layers after conv_1
    expected = np.log(keras.ops.convert_to_numpy(after(last_conv + 1.0)))
    np.testing.assert_allclose(shifted - shifted.mean(axis=1, keepdims=True),
                               expected - expected.mean(axis=1, keepdims=True), atol=1e-4)
    # built once per model and request
    assert saliency.explanation_model(model) is saliency.explanation_model(model)
    assert saliency.explanation_model(model, feature_offset=True) is with_offset
    assert saliency.explanation_model(model, "conv_0", feature_offset=True) is not with_offset
    assert saliency.explanation_model(model, head="log_probabilities") is log_probabilities
    assert saliency.explanation_model(model, head="log_probabilities") is not saliency.explanation_model(model)
    assert model.layers[-1].activation.__name__ == "softmax"


@pytest.mark.parametrize("ending", ["Softmax", "Activation"])
def test_an_output_layer_that_only_applies_a_softmax_is_dropped(ending):
    keras = _keras()
    from utils.explain import saliency

    logits_model = small_cnn(seed=23)
    last = keras.layers.Softmax(name="probabilities") if ending == "Softmax" else keras.layers.Activation(
        "softmax", name="probabilities")
    model = keras.Model(logits_model.inputs, last(logits_model.outputs[0]))
    x = np.random.default_rng(23).uniform(size=(2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(saliency.vanilla_gradients(model, x, [1, 3]), saliency.vanilla_gradients(logits_model, x, [1, 3]),
                               atol=1e-6)
    np.testing.assert_allclose(saliency.target_scores(model, x, [1, 3]), saliency.target_scores(logits_model, x, [1, 3]),
                               atol=1e-6)


def test_target_scores_and_n_classes_of_a_single_unit_head():
    keras = _keras()
    from utils.explain import saliency

    binary = small_cnn(n_outputs=1, activation="sigmoid", seed=24)
    x = np.random.default_rng(24).uniform(size=(5, 8, 8, 1)).astype("float32")
    p = keras.ops.convert_to_numpy(binary(x))[:, 0]
    z = np.log(p / (1 - p))
    targets = np.array([1, 0, 0, 1, 1])
    np.testing.assert_allclose(saliency.target_scores(binary, x, targets, batch_size=2), np.where(targets == 1, z, -z),
                               atol=1e-4)
    assert saliency.n_classes(binary) == 2 and saliency.n_classes(small_cnn(n_outputs=3)) == 3


def test_layer_names_that_repeat_across_nested_models_are_refused():
    keras = _keras()
    from utils.explain import saliency

    inner_input = keras.Input((8, 8, 1))
    inner = keras.Model(inner_input, keras.layers.Conv2D(2, 3, name="conv")(inner_input), name="inner")
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(2, 3, name="conv")(inner(inputs))
    model = keras.Model(inputs, keras.layers.Dense(2, name="scores")(keras.layers.Flatten(name="flat")(h)))
    with pytest.raises(Exception, match=exactly("model has layers that share a name across nested models (conv); "
                                                "give them unique names.")):
        saliency.explanation_model(model)


def test_the_last_convolution_of_any_kind_is_the_default_layer():
    keras = _keras()
    from utils.explain import saliency

    for kind, name in [(lambda: keras.layers.DepthwiseConv2D(3, padding="same", name="depthwise"), "depthwise"),
                       (lambda: keras.layers.SeparableConv2D(4, 3, padding="same", name="separable"), "separable"),
                       (lambda: keras.layers.Conv2DTranspose(4, 3, padding="same", name="transpose"), "transpose")]:
        inputs = keras.Input((8, 8, 2))
        h = kind()(keras.layers.Conv2D(2, 3, padding="same", name="first")(inputs))
        h = keras.layers.GlobalAveragePooling2D(name="gap")(keras.layers.ReLU(name="relu")(h))
        model = keras.Model(inputs, keras.layers.Dense(3, name="scores")(h))
        assert saliency.find_spatial_layer(model) == name
    one_d = keras.Sequential([keras.Input((20, 1)), keras.layers.Conv1D(3, 3, name="c1"),
                              keras.layers.SeparableConv1D(3, 3, name="s1"), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert saliency.find_spatial_layer(one_d) == "s1"
    one_d = keras.Sequential([keras.Input((20, 1)), keras.layers.Conv1D(3, 3, name="c1"),
                              keras.layers.DepthwiseConv1D(3, name="d1"), keras.layers.Flatten(), keras.layers.Dense(2)])
    assert saliency.find_spatial_layer(one_d) == "d1"
    volume = keras.Sequential([keras.Input((6, 6, 6, 1)), keras.layers.Conv3D(2, 3, name="c3"), keras.layers.Flatten(),
                               keras.layers.Dense(2)])
    with pytest.raises(Exception, match=exactly(
            "layer 'c3' is not spatial: its output has shape (None, 4, 4, 4, 2), but a class activation map needs "
            "(batch, length, channels) for 1-D signals or (batch, height, width, channels) for images.")):
        saliency.find_spatial_layer(volume)  # a convolution, of three spatial axes
    image_to_signal = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Reshape((64, 1), name="as_signal"),
                                        keras.layers.Conv1D(2, 3, name="c1"), keras.layers.Flatten(), keras.layers.Dense(2)])
    with pytest.raises(Exception, match=exactly(
            "layer 'c1' has 1 spatial axes (output shape (None, 62, 2)) and the input 2: a class activation map "
            "needs a layer with the input's spatial axes.")):
        saliency.find_spatial_layer(image_to_signal)


def test_class_activation_maps_without_relu_and_in_chunks():
    keras = _keras()
    from utils.explain import saliency

    model, x = region_model()
    weights = model.get_weights()
    weights[2] = -np.eye(2, dtype="float32")  # class k's score is minus the mean of channel k
    model.set_weights(weights)
    for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        assert np.all(method(model, x, [0, 1]) == 0.0), method.__name__  # the ReLU removes a negative map
    np.testing.assert_allclose(saliency.gradcam(model, x, [0, 1], relu=False),
                               -np.stack([x[0, ..., 0], x[1, ..., 1]]) / 64, atol=1e-7)
    assert np.all(saliency.layercam(model, x, [0, 1], relu=False) == 0.0)  # no positive gradient anywhere
    cnn, images, targets = MODELS["functional"]()
    for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        np.testing.assert_allclose(method(cnn, images, targets, batch_size=2), method(cnn, images, targets), atol=1e-6)
    for method in (saliency.gradcam, saliency.gradcam_plus_plus):
        assert method(cnn, images, targets, relu=False, layer="conv_0").min() < 0.0, method.__name__
    # LayerCAM weighs features by positive gradients: a negative map needs negative features
    inputs = keras.Input((4, 4, 1))
    features = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="linear_features")(inputs)
    linear = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="ones")(
        keras.layers.GlobalAveragePooling2D()(features)))
    negative = -np.random.default_rng(27).uniform(0.5, 1.0, size=(1, 4, 4, 1)).astype("float32")
    np.testing.assert_allclose(saliency.layercam(linear, negative, 1, relu=False), negative[..., 0] / 16, atol=1e-7)
    assert np.all(saliency.layercam(linear, negative, 1) == 0.0)


def test_model_passes_defaults():
    from utils.explain import saliency

    assert saliency.model_passes("smoothgrad") == {"forward": 25, "backward": 25}
    assert saliency.model_passes("integrated_gradients") == {"forward": 32, "backward": 32}
    assert saliency.model_passes("gradcam++") == saliency.model_passes("layercam") == {"forward": 2, "backward": 1}


def _grid_shown(axis):
    return any(line.get_visible() for line in axis.get_xgridlines() + axis.get_ygridlines())


def test_display_scaling_of_the_overlays():
    import matplotlib.pyplot as plt

    from utils.explain import saliency

    figure, (left, middle, right) = plt.subplots(1, 3)
    image = np.zeros((4, 4))
    image[1:3, 1:3] = 2.0
    saliency_map = np.array([[-4.0, 2.0, 0.0, 1.0]] * 4)
    shown = saliency.overlay_image(left, image[..., None], saliency_map, alpha=0.5)
    np.testing.assert_allclose(shown.get_array(), np.abs(saliency_map) / 4.0)
    assert shown.get_clim() == (0.0, 1.0) and shown.get_cmap().name == "Reds" and shown.get_alpha() == 0.5
    assert len(left.collections) == 1 and list(left.get_xticks()) == [] and list(left.get_yticks()) == []
    assert list(left.collections[0].levels) == [1.0]  # half way between the image's smallest and largest values
    assert shown.get_interpolation() == "nearest" and not _grid_shown(left)
    shown = saliency.overlay_image(middle, np.ones((4, 4)), saliency_map, signed=True)
    np.testing.assert_allclose(shown.get_array(), saliency_map / 4.0)
    assert shown.get_clim() == (-1.0, 1.0) and shown.get_cmap().name == "RdBu_r" and shown.get_alpha() == 1.0
    assert len(middle.collections) == 0  # a flat image has no outline
    zero = saliency.overlay_image(middle, image, np.zeros((4, 4)))
    np.testing.assert_array_equal(zero.get_array(), 0.0)
    signal = np.array([1.0, 3.0, 2.0, 5.0])
    strip = saliency.overlay_signal(right, signal[:, None], np.array([0.0, -1.0, 2.0, 0.5]), signed=True)
    np.testing.assert_allclose(strip.get_array(), [[0.0, -0.5, 1.0, 0.25]])
    assert strip.get_extent() == [-0.5, 3.5, 0.6, 5.4]  # the signal's range, 10% more on each side
    assert right.get_xlim() == (-0.5, 3.5) and right.get_ylim() == (0.6, 5.4)
    np.testing.assert_array_equal(right.lines[0].get_ydata(), signal)
    assert right.lines[0].get_linewidth() == 1.2 and right.lines[0].get_color() == "black"
    assert strip.get_interpolation() == "nearest" and not _grid_shown(right) and list(right.get_yticks()) == []
    plt.close(figure)
    figure, axis = plt.subplots()
    flat = saliency.overlay_signal(axis, np.full(3, 2.0), np.ones(3))
    assert flat.get_extent() == [-0.5, 2.5, 1.9, 2.1] and flat.get_cmap().name == "Reds"
    plt.close(figure)


def test_saliency_grid_layout():
    import matplotlib.pyplot as plt

    from utils.explain import saliency

    images = np.random.default_rng(25).uniform(size=(2, 6, 6, 1))
    figure = saliency.plot_saliency_grid(images, {"plain": images[..., 0], "signed": images[..., 0] - 0.5},
                                         signed=("signed",), column_titles=["first", "second"], cell_size=(2.0, 1.0))
    axes = np.array(figure.axes).reshape(3, 2)
    np.testing.assert_allclose(figure.get_size_inches(), (2.0 * 2 + 1.2, 1.0 * 3))
    assert [axis.get_title() for axis in axes[0]] == ["first", "second"]
    assert [axis.get_ylabel() for axis in axes[:, 0]] == ["input", "plain", "signed"]
    np.testing.assert_array_equal(axes[0, 1].images[0].get_array(), images[1, ..., 0])
    assert axes[1, 0].images[0].get_cmap().name == "Reds" and axes[2, 0].images[0].get_cmap().name == "RdBu_r"
    np.testing.assert_allclose(axes[2, 1].images[0].get_array(), (images[1, ..., 0] - 0.5) / np.abs(images[1, ..., 0] - 0.5).max())
    assert axes[0, 0].images[0].get_interpolation() == "nearest" and not _grid_shown(axes[0, 0])
    assert axes[0, 0].images[0].get_cmap().name == "gray_r" and list(axes[0, 0].get_xticks()) == []
    assert axes[0, 0].title.get_fontsize() == 8 and axes[1, 0].yaxis.label.get_fontsize() == 8
    plt.close(figure)
    figure = saliency.plot_saliency_grid(images[:1], {"plain": images[:1, ..., 0]})  # one input: one column
    assert len(figure.axes) == 2
    plt.close(figure)
    signals = np.random.default_rng(26).normal(size=(3, 30, 1))
    figure = saliency.plot_saliency_grid(signals, {"gradient": signals[..., 0]})
    axes = np.array(figure.axes).reshape(2, 3)
    np.testing.assert_array_equal(axes[0, 2].lines[0].get_ydata(), signals[2, :, 0])
    line = axes[0, 2].lines[0]
    assert line.get_color() == "tab:blue" and line.get_linewidth() == 1.2 and list(axes[0, 2].get_yticks()) == []
    np.testing.assert_array_equal(axes[1, 2].lines[0].get_ydata(), signals[2, :, 0])
    assert all(axis.get_title() == "" for axis in axes[0])
    plt.close(figure)


def test_activation_maximization_starts_from_seeded_noise_and_its_regularizers_act():
    from utils.explain import saliency

    model = small_cnn(seed=13)
    barely_moved = saliency.activation_maximization(model, [0, 1], steps=1, learning_rate=1e-6, input_range=(-1.0, 2.0),
                                                    seed=3)
    start = np.random.default_rng(3).uniform(-1.0, 2.0, size=(2, 8, 8, 1))
    np.testing.assert_allclose(barely_moved, start, atol=1e-4)

    def total_variation(images):
        return np.abs(np.diff(images, axis=1)).sum() + np.abs(np.diff(images, axis=2)).sum()

    free = saliency.activation_maximization(model, [0, 1], steps=40, total_variation=0.0, l2=0.0)
    smooth = saliency.activation_maximization(model, [0, 1], steps=40, total_variation=1.0, l2=0.0)
    small = saliency.activation_maximization(model, [0, 1], steps=40, total_variation=0.0, l2=1.0)
    assert total_variation(smooth) < 0.5 * total_variation(free)  # measured 27 against 103
    assert np.linalg.norm(small) < 0.8 * np.linalg.norm(free)  # measured 4.4 against 7.3


def test_activation_maximization_passes_its_settings_to_tf_keras_vis(monkeypatch):
    import tf_keras_vis.activation_maximization as library
    from tf_keras_vis.activation_maximization.regularizers import Norm, TotalVariation2D
    from tf_keras_vis.utils.scores import BinaryScore, CategoricalScore

    from utils.explain import saliency

    calls = []

    class Recording:  # records what it is given and returns the starting point
        def __init__(self, model, clone):
            calls.append({"model": model, "clone": clone})

        def __call__(self, score, **options):
            calls[-1].update(options, score=score)
            return options["seed_input"]

    monkeypatch.setattr(library, "ActivationMaximization", Recording)
    model = small_cnn(seed=13)
    result = saliency.activation_maximization(model, [0, 2])
    call = calls[-1]
    assert call["clone"] is False and call["steps"] == 200 and call["input_range"] == (0.0, 1.0)
    assert call["input_modifiers"] == [] and abs(float(call["optimizer"].learning_rate) - 0.05) < 1e-9
    assert isinstance(call["score"], CategoricalScore) and call["score"].indices == [0, 2]
    kinds = [(type(r), r.weight) for r in call["regularizers"]]
    assert kinds == [(TotalVariation2D, 0.1), (Norm, 0.01)] and call["regularizers"][1].p == 2
    np.testing.assert_array_equal(result, np.random.default_rng(0).uniform(0.0, 1.0, size=(2, 8, 8, 1)).astype("float32"))
    assert result.dtype == np.float32 and call["seed_input"].dtype == np.float32
    assert [tuple(t.shape[1:]) for t in call["model"].inputs] == [(8, 8, 1)]
    saliency.activation_maximization(model, 3, steps=5, learning_rate=0.5, total_variation=0.0, l2=0.2,
                                     input_range=[-2, 2], seed=4)
    call = calls[-1]
    assert call["steps"] == 5 and call["input_range"] == (-2.0, 2.0) and call["score"].indices == [3]
    assert abs(float(call["optimizer"].learning_rate) - 0.5) < 1e-9
    assert [(type(r), r.weight) for r in call["regularizers"]] == [(Norm, 0.2)]
    np.testing.assert_array_equal(call["seed_input"], np.random.default_rng(4).uniform(-2, 2, (1, 8, 8, 1)).astype("float32"))
    saliency.activation_maximization(sequential_model(), [1], total_variation=5.0)  # 1-D: no total variation
    assert [type(r) for r in calls[-1]["regularizers"]] == [Norm]
    saliency.activation_maximization(linear_model(n_outputs=1, activation="sigmoid"), [1, 0])
    assert isinstance(calls[-1]["score"], BinaryScore) and calls[-1]["score"].target_values == [True, False]


def _recording_library(monkeypatch):
    """Replace tf-keras-vis's explainers by recorders; returns the list of calls they receive."""
    import tf_keras_vis.gradcam
    import tf_keras_vis.gradcam_plus_plus
    import tf_keras_vis.layercam
    import tf_keras_vis.saliency

    calls = []

    def recorder(kind):
        class Recording:
            def __init__(self, model, clone=True):
                calls.append({"kind": kind, "model": model, "clone": clone})

            def __call__(self, score, seed_input, **options):
                calls[-1].update(options, score=score)
                spatial = seed_input.shape if kind == "Saliency" else seed_input.shape[:-1]
                return np.zeros(spatial, np.float32)

        return Recording

    for module, name in [(tf_keras_vis.saliency, "Saliency"), (tf_keras_vis.gradcam, "Gradcam"),
                         (tf_keras_vis.gradcam_plus_plus, "GradcamPlusPlus"), (tf_keras_vis.layercam, "Layercam")]:
        monkeypatch.setattr(module, name, recorder(name))
    return calls


def test_each_implementation_runs_its_own_code(monkeypatch):
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    calls = _recording_library(monkeypatch)
    methods = {"Saliency": saliency.vanilla_gradients, "Gradcam": saliency.gradcam,
               "GradcamPlusPlus": saliency.gradcam_plus_plus, "Layercam": saliency.layercam}
    for method in [*methods.values(), lambda *a: saliency.smoothgrad(*a, n_samples=2)]:
        assert np.abs(method(model, x, targets)).max() > 0  # the keras implementation: tf-keras-vis is not called
    assert calls == []
    for kind, method in methods.items():
        method(model, x, targets, implementation="tf-keras-vis")
        assert [call["kind"] for call in calls] == [kind] and calls[0]["clone"] is False
        if kind == "Saliency":
            assert calls[0]["gradient_modifier"] is None and calls[0]["keepdims"] is True
            assert calls[0]["normalize_map"] is False
        else:
            assert calls[0]["penultimate_layer"].name == "saliency_features" and calls[0]["normalize_cam"] is False
            assert calls[0]["seek_penultimate_conv_layer"] is False
        calls.clear()
    saliency.smoothgrad(model, x, targets, n_samples=3, noise_level=0.1, implementation="tf-keras-vis")
    assert [call["kind"] for call in calls] == ["Saliency"] and calls[0]["clone"] is False
    assert calls[0]["smooth_samples"] == 3 and calls[0]["smooth_noise"] == 0.1 and calls[0]["normalize_map"] is False


def test_tf_keras_vis_needs_the_tensorflow_backend(monkeypatch):
    keras = _keras()
    import utils
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    advice = ("needs tf-keras-vis, which needs the TensorFlow backend; the active backend is 'jax'. Use "
              "implementation='keras' (the gradient methods) or set KERAS_BACKEND=tensorflow.")
    for what, call in [("scorecam", lambda: saliency.scorecam(model, x, targets)),
                       ("activation_maximization", lambda: saliency.activation_maximization(model, [0])),
                       ("implementation='tf-keras-vis'",
                        lambda: saliency.gradcam(model, x, targets, implementation="tf-keras-vis"))]:
        with pytest.raises(RuntimeError, match=exactly(f"{what} {advice}")):
            call()
    with pytest.raises(utils.ArgumentError):  # a bad name is refused first, under any backend
        saliency.gradcam(model, x, targets, implementation="captum")


def test_the_named_layer_reaches_every_class_activation_map():
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        ours = method(model, x, targets, layer="conv_0")
        theirs = method(model, x, targets, layer="conv_0", implementation="tf-keras-vis")
        np.testing.assert_allclose(ours, theirs, atol=1e-5 * max(1.0, np.abs(theirs).max()), err_msg=method.__name__)
        assert not np.allclose(ours, method(model, x, targets)), method.__name__  # conv_1 by default
    first = saliency.scorecam(model, x, targets, layer="conv_0")
    assert not np.allclose(first, saliency.scorecam(model, x, targets))
    np.testing.assert_allclose(saliency.scorecam(model, x, targets, layer="conv_0", max_n=6), first, atol=1e-5)
    import utils

    with pytest.raises(utils.ArgumentError, match=exactly("max_n must be an int in [1, 6]; got 7.")):
        saliency.scorecam(model, x, targets, layer="conv_0", max_n=7)  # conv_0 has 6 channels


def test_maps_are_float32_and_integrated_gradients_takes_32_steps_by_default(capfd):
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    capfd.readouterr()
    for method in (saliency.vanilla_gradients, saliency.smoothgrad, saliency.integrated_gradients, saliency.gradcam,
                   saliency.gradcam_plus_plus, saliency.layercam, saliency.scorecam):
        assert method(model, x, targets).dtype == np.float32, method.__name__
    assert capfd.readouterr().out == ""  # no progress bars (Score-CAM calls predict)
    default = saliency.integrated_gradients(model, x, targets)
    np.testing.assert_array_equal(default, saliency.integrated_gradients(model, x, targets, steps=32))
    assert not np.array_equal(default, saliency.integrated_gradients(model, x, targets, steps=33))


def test_default_batch_sizes(monkeypatch):
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    seen = []
    real_inputs, real_features = saliency._input_gradients, saliency._features_and_gradients

    def inputs(flat, rows, row_targets, batch_size):
        seen.append(batch_size)
        return real_inputs(flat, rows, row_targets, batch_size)

    def features(model, rows, row_targets, layer, batch_size):
        seen.append(batch_size)
        return real_features(model, rows, row_targets, layer, batch_size)

    monkeypatch.setattr(saliency, "_input_gradients", inputs)
    monkeypatch.setattr(saliency, "_features_and_gradients", features)
    for method in (saliency.vanilla_gradients, saliency.smoothgrad, saliency.integrated_gradients, saliency.gradcam,
                   saliency.gradcam_plus_plus, saliency.layercam):
        method(model, x, targets)
    assert seen == [256, 256, 1024, 256, 256, 256]


def test_tf_keras_vis_gradients_keep_their_channels_when_asked():
    from utils.explain import saliency

    model = quadratic_model()
    x = np.random.default_rng(8).normal(size=(3, 3, 4, 2)).astype("float32")
    for method in (saliency.vanilla_gradients, lambda *a, **k: saliency.smoothgrad(*a, n_samples=2, **k)):
        ours = method(model, x, [0, 1, 1], keep_channels=True)
        theirs = method(model, x, [0, 1, 1], keep_channels=True, implementation="tf-keras-vis")
        assert theirs.shape == ours.shape == (3, 3, 4, 2)
        np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-6)


def test_rebuilt_model_names_and_a_nested_model_called_by_keyword():
    keras = _keras()
    from utils.explain import saliency

    cnn = small_cnn(seed=28)
    base = keras.Model(cnn.input, cnn.get_layer("hidden").output, name="base")
    inputs = keras.Input((8, 8, 1))
    model = keras.Model(inputs, keras.layers.Dense(2, name="top")(base(inputs=inputs)))  # the keyword form
    x = np.random.default_rng(28).uniform(size=(2, 8, 8, 1)).astype("float32")
    flat = saliency.explanation_model(model, feature_offset=True)
    assert [tensor.name for tensor in flat.inputs] == ["saliency_input", "feature_offset"]
    assert flat.get_layer("saliency_features_offset") is not None and flat.get_layer("saliency_features") is not None
    np.testing.assert_allclose(keras.ops.convert_to_numpy(saliency.explanation_model(model)(x)),
                               keras.ops.convert_to_numpy(model(x)), atol=1e-6)


def test_a_named_spatial_layer_needs_no_convolution():
    keras = _keras()
    from utils.explain import saliency

    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.MaxPooling2D(2, name="pool"),
                              keras.layers.Flatten(), keras.layers.Dense(2, name="scores")])
    x = np.random.default_rng(29).uniform(size=(2, 8, 8, 1)).astype("float32")
    for method in (saliency.gradcam, saliency.gradcam_plus_plus, saliency.layercam):
        assert method(model, x, [0, 1], layer="pool", relu=False).shape == (2, 8, 8), method.__name__


def test_model_passes():
    from utils.explain import saliency

    assert saliency.model_passes("vanilla") == {"forward": 1, "backward": 1}
    assert saliency.model_passes("smoothgrad", n_samples=10) == {"forward": 10, "backward": 10}
    assert saliency.model_passes("integrated_gradients", steps=32) == {"forward": 32, "backward": 32}
    assert saliency.model_passes("gradcam") == {"forward": 2, "backward": 1}
    assert saliency.model_passes("scorecam", channels=32) == {"forward": 33, "backward": 0}
    assert saliency.model_passes("faster_scorecam", max_n=8) == {"forward": 9, "backward": 0}


def test_plots():
    import matplotlib.pyplot as plt

    from utils.explain import saliency

    images = np.random.default_rng(14).uniform(size=(3, 8, 8, 1))
    figure = saliency.plot_saliency_grid(images, {"a": images[..., 0], "b": -images[..., 0]}, signed=("b",),
                                         column_titles=["x", "y", "z"])
    assert len(figure.axes) == 9
    plt.close(figure)
    signals = np.random.default_rng(15).normal(size=(2, 40, 1))
    figure = saliency.plot_saliency_grid(signals, {"a": signals[..., 0]})
    assert len(figure.axes) == 4
    plt.close(figure)


# Bad input -------------------------------------------------------------------------


def _bad_calls():
    """(call, the whole message) for each kind of bad input."""
    keras = _keras()
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    dense_only = linear_model()
    binary = linear_model(n_outputs=1, activation="sigmoid")
    unbuilt = keras.Sequential([keras.layers.Dense(2)])
    first, second = keras.Input((3,)), keras.Input((3,))
    two_in = keras.Model([first, second], keras.layers.Dense(2)(keras.layers.Concatenate()([first, second])))
    seq_out = keras.Sequential([keras.Input((4, 3)), keras.layers.Dense(2)])
    relu_out = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(),
                                 keras.layers.Dense(2, activation="relu", name="relu_head")])
    return [
        (lambda: saliency.integrated_gradients(model, x, targets, baseline=np.full((8, 8, 1), np.nan)),
         'baseline contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.smoothgrad(model, x, targets, keep_channels="no"), "keep_channels must be True or False; got 'no'."),
        (lambda: saliency.overlay_image(None, np.full((8, 8), np.inf), np.zeros((8, 8))),
         'image contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.full((8, 8), np.nan)),
         'saliency_map contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.overlay_signal(None, np.full(8, np.nan), np.zeros(8)),
         'signal contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.overlay_signal(None, np.zeros(8), np.full(8, np.nan)),
         'saliency_map contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.overlay_signal(None, np.zeros(8), np.zeros((8, 1))), 'saliency_map must be a 1-D array; got shape (8, 1).'),
        (lambda: saliency.plot_saliency_grid(np.full((2, 4, 1), np.nan), {"a": np.zeros((2, 4))}),
         'inputs contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.vanilla_gradients(model, x, np.zeros((5, 1), int)), 'targets must be a 1-D array; got shape (5, 1).'),
        (lambda: saliency.vanilla_gradients(model, x, [0, 5, 1, -1, 1]), 'targets must be class indices in [0, 3]; got 5.'),
        (lambda: saliency.vanilla_gradients("not a model", x, targets),
         'model must be a keras.Model; got str.'),
        (lambda: saliency.vanilla_gradients(unbuilt, x, targets),
         'model has no inputs yet; build it first (give it a keras.Input or call it once).'),
        (lambda: saliency.vanilla_gradients(two_in, x, targets),
         'model must have one input and one output; got 2 inputs and 1 outputs.'),
        (lambda: saliency.vanilla_gradients(seq_out, np.zeros((2, 4, 3)), 0),
         'model must output one vector of scores per example; got output shape (None, 4, 2).'),
        (lambda: saliency.vanilla_gradients(relu_out, np.zeros((2, 4, 4, 1)), 0),
         'model must end in a layer with a linear, softmax or sigmoid output (logits or probabilities); '
         "its output layer 'relu_head' has activation 'relu'."),
        (lambda: saliency.gradcam(model, x, targets, layer="no_such_layer"),
         "layer 'no_such_layer' is not in the model; its layers are 'conv_0', 'conv_1', 'pool', "
         "'flatten', 'hidden', 'scores'."),
        (lambda: saliency.gradcam(model, x, targets, layer="hidden"),
         "layer 'hidden' is not spatial: its output has shape (None, 16), but a class activation map needs "
         "(batch, length, channels) for 1-D signals or (batch, height, width, channels) for images."),
        (lambda: saliency.gradcam(model, x, targets, layer=3),
         'layer must be a non-empty string; got 3.'),
        (lambda: saliency.gradcam(dense_only, np.zeros((2, 3, 4, 1)), [0, 1]),
         'model has no convolutional layer, so a class activation map needs layer=: the name of a layer '
         'whose output has spatial axes (batch, length, channels) or (batch, height, width, channels).'),
        (lambda: saliency.find_spatial_layer(dense_only),
         'model has no convolutional layer, so a class activation map needs layer=: the name of a layer '
         'whose output has spatial axes (batch, length, channels) or (batch, height, width, channels).'),
        (lambda: saliency.gradcam(model, x, np.full(5, 4)),
         'targets must be class indices in [0, 3]; got 4.'),
        (lambda: saliency.vanilla_gradients(model, x, [-1, 0, 0, 0, 0]),
         'targets must be class indices in [0, 3]; got -1.'),
        (lambda: saliency.vanilla_gradients(model, x, [0, 1]),
         'targets must have one class per example (5); got 2.'),
        (lambda: saliency.vanilla_gradients(model, x, np.zeros(5) + 0.5),
         'targets must hold integer class indices; got dtype float64.'),
        (lambda: saliency.vanilla_gradients(binary, np.zeros((1,3,4,1)), 2),
         'targets must be class indices in [0, 1]; got 2.'),
        (lambda: saliency.vanilla_gradients(model, x[0], 0),
         'x must be a batch of inputs of shape (n, 8, 8, 1), one row per example (4-D); got shape (8, 8, '
         '1). For one example, use x[None].'),
        (lambda: saliency.integrated_gradients(model, np.zeros((2, 7, 8, 1)), 0),
         'x must have shape (n, 8, 8, 1); got (2, 7, 8, 1).'),
        (lambda: saliency.vanilla_gradients(model, np.full(x.shape, np.nan), targets),
         'x contains NaN or infinite values; it must hold finite numbers.'),
        (lambda: saliency.vanilla_gradients(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]), np.zeros((3,4)), 0),
         'x must hold 1-D signals (n, length, channels) or images (n, height, width, channels); got shape (3, 4).'),
        (lambda: saliency.gradcam(model, x, targets, implementation="captum"),
         "implementation must be one of 'keras', 'tf-keras-vis'; got 'captum'."),
        (lambda: saliency.vanilla_gradients(model, x, targets, keep_channels=1),
         'keep_channels must be True or False; got 1.'),
        (lambda: saliency.vanilla_gradients(model, x, targets, batch_size=0),
         'batch_size must be a positive int; got 0.'),
        (lambda: saliency.smoothgrad(model, x, targets, n_samples=0),
         'n_samples must be a positive int; got 0.'),
        (lambda: saliency.smoothgrad(model, x, targets, noise_level=-0.1),
         'noise_level must be a finite number >= 0.0; got -0.1.'),
        (lambda: saliency.smoothgrad(model, x, targets, seed=-1),
         'seed must be a non-negative int; got -1.'),
        (lambda: saliency.integrated_gradients(model, x, targets, steps=0),
         'steps must be a positive int; got 0.'),
        (lambda: saliency.integrated_gradients(model, x, targets, baseline=np.zeros((4, 4, 1))),
         'baseline must have the shape of one input (8, 8, 1) or of x (5, 8, 8, 1); got (4, 4, 1).'),
        (lambda: saliency.gradcam(model, x, targets, relu="no"),
         "relu must be True or False; got 'no'."),
        (lambda: saliency.layercam(model, x, targets, batch_size=-1),
         'batch_size must be a positive int; got -1.'),
        (lambda: saliency.scorecam(model, x, targets, max_n=9),
         'max_n must be an int in [1, 8]; got 9.'),
        (lambda: saliency.scorecam(model, x, targets, max_n=0),
         'max_n must be an int in [1, 8]; got 0.'),
        (lambda: saliency.model_passes("occlusion"),
         "method must be one of 'vanilla', 'smoothgrad', 'integrated_gradients', 'gradcam', 'gradcam++', "
         "'layercam', 'scorecam', 'faster_scorecam'; got 'occlusion'."),
        (lambda: saliency.model_passes("scorecam"),
         "channels is required for method='scorecam' (the layer's number of channels)."),
        (lambda: saliency.model_passes("faster_scorecam"),
         "max_n is required for method='faster_scorecam'."),
        (lambda: saliency.model_passes("scorecam", channels=0),
         'channels must be a positive int; got 0.'),
        (lambda: saliency.model_passes("smoothgrad", n_samples=0),
         'n_samples must be a positive int; got 0.'),
        (lambda: saliency.model_passes("vanilla", steps=0),
         'steps must be a positive int; got 0.'),
        (lambda: saliency.activation_maximization(model, [7], steps=1),
         'targets must be class indices in [0, 3]; got 7.'),
        (lambda: saliency.activation_maximization(model, [0], steps=0),
         'steps must be a positive int; got 0.'),
        (lambda: saliency.activation_maximization(model, [0], learning_rate=0),
         'learning_rate must be a finite number > 0; got 0.'),
        (lambda: saliency.activation_maximization(model, [0], total_variation=-1),
         'total_variation must be a finite number >= 0.0; got -1.'),
        (lambda: saliency.activation_maximization(model, [0], l2=-1),
         'l2 must be a finite number >= 0.0; got -1.'),
        (lambda: saliency.activation_maximization(model, [0], seed=-1),
         'seed must be a non-negative int; got -1.'),
        (lambda: saliency.activation_maximization(model, [0], input_range=(0, 1, 2)),
         'input_range must be a pair (low, high); got (0, 1, 2).'),
        (lambda: saliency.activation_maximization(model, [0], input_range=(1, 1)),
         'input_range must have low < high; got (1, 1).'),
        (lambda: saliency.activation_maximization(model, [0], input_range=(0, np.nan)),
         'input_range[1] must be a finite number; got nan.'),
        (lambda: saliency.explanation_model(model, head="probabilities"),
         "head must be one of 'logits', 'log_probabilities'; got 'probabilities'."),
        (lambda: saliency.explanation_model(model, features="yes"),
         "features must be True or False; got 'yes'."),
        (lambda: saliency.explanation_model(model, feature_offset=None),
         'feature_offset must be True or False; got None.'),
        (lambda: saliency.target_scores(model, x, targets, batch_size=0),
         'batch_size must be a positive int; got 0.'),
        (lambda: saliency.n_classes(None),
         'model must be a keras.Model; got NoneType.'),
        (lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.zeros((4, 4))),
         "saliency_map must have the image's shape (8, 8); got (4, 4)."),
        (lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.zeros((8, 8)), signed=2),
         'signed must be True or False; got 2.'),
        (lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.zeros((8, 8)), alpha=1.5),
         'alpha must be a finite number in [0.0, 1.0]; got 1.5.'),
        (lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.zeros((8, 8, 1))),
         'saliency_map must be a 2-D array; got shape (8, 8, 1).'),
        (lambda: saliency.overlay_signal(None, np.zeros(8), np.zeros(4)),
         "saliency_map must have the signal's length (8,); got (4,)."),
        (lambda: saliency.overlay_signal(None, np.zeros(8), np.zeros(8), alpha=-0.1),
         'alpha must be a finite number in [0.0, 1.0]; got -0.1.'),
        (lambda: saliency.overlay_signal(None, np.zeros(8), np.zeros(8), signed=None),
         'signed must be True or False; got None.'),
        (lambda: saliency.plot_saliency_grid(x, {"a": np.zeros((5, 4, 4))}),
         "maps['a'] must have shape (5, 8, 8); got (5, 4, 4)."),
        (lambda: saliency.plot_saliency_grid(x, {}),
         'maps must be a non-empty dict: method name -> array of maps.'),
        (lambda: saliency.plot_saliency_grid(x, [np.zeros((5, 8, 8))]),
         'maps must be a non-empty dict: method name -> array of maps.'),
        (lambda: saliency.plot_saliency_grid(np.zeros((5, 8)), {"a": np.zeros((5,))}),
         'inputs must be (n, length, channels) or (n, height, width, channels); got (5, 8).'),
        (lambda: saliency.plot_saliency_grid(x, {"a": np.zeros((5, 8, 8))}, column_titles=["a"]),
         'column_titles must have one title per input (5); got 1.'),
    ]


def test_bad_input_gets_an_argument_error_with_the_whole_message():
    import utils

    for call, message in _bad_calls():
        with pytest.raises(utils.ArgumentError, match=exactly(message)):
            call()
