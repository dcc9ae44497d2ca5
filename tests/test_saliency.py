"""Unit tests of utils.explain.saliency: known answers, agreement with tf-keras-vis, bad input.

The known-answer checks are plain functions (``check_*``) so that the JAX test
can run them in a fresh interpreter where TensorFlow cannot be imported
(tests/without_tensorflow), as on a Colab TPU.
"""

import numpy as np
import pytest

from conftest import ROOT, run_python

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


KNOWN_ANSWERS = [check_linear_gradients, check_gradients_follow_the_current_weights, check_sigmoid_head,
                 check_completeness, check_gradcam_region, check_one_dimensional]


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
    assert saliency.scorecam(model, x, targets, max_n=2).shape == full.shape == (5, 8, 8)


def test_activation_maximization_raises_the_class_score():
    from utils.explain import saliency

    model = small_cnn(seed=13)
    images = saliency.activation_maximization(model, [0, 1, 2], steps=30, seed=0)
    assert images.shape == (3, 8, 8, 1) and images.min() >= 0.0 and images.max() <= 1.0
    start = np.random.default_rng(0).uniform(size=(3, 8, 8, 1)).astype("float32")
    assert np.all(saliency.target_scores(model, images, [0, 1, 2]) > saliency.target_scores(model, start, [0, 1, 2]))


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


def _argument_error(argument, call):
    import utils

    with pytest.raises(utils.ArgumentError) as caught:
        call()
    assert argument in str(caught.value), str(caught.value)


def test_bad_input_names_the_argument():
    from utils.explain import saliency

    model, x, targets = MODELS["functional"]()
    dense_only = linear_model()
    cases = [
        ("model", lambda: saliency.vanilla_gradients("not a model", x, targets)),
        ("layer", lambda: saliency.gradcam(model, x, targets, layer="no_such_layer")),
        ("layer", lambda: saliency.gradcam(model, x, targets, layer="hidden")),  # a Dense layer: not spatial
        ("layer", lambda: saliency.gradcam(dense_only, np.zeros((2, 3, 4, 1)), [0, 1])),  # no convolution
        ("targets", lambda: saliency.gradcam(model, x, np.full(5, 4))),  # 4 classes: 0..3
        ("targets", lambda: saliency.vanilla_gradients(model, x, [-1, 0, 0, 0, 0])),
        ("targets", lambda: saliency.vanilla_gradients(model, x, [0, 1])),
        ("targets", lambda: saliency.vanilla_gradients(model, x, np.zeros(5) + 0.5)),
        ("x", lambda: saliency.vanilla_gradients(model, x[0], 0)),  # one image, not a batch
        ("x", lambda: saliency.integrated_gradients(model, np.zeros((2, 7, 8, 1)), 0)),
        ("implementation", lambda: saliency.gradcam(model, x, targets, implementation="captum")),
        ("n_samples", lambda: saliency.smoothgrad(model, x, targets, n_samples=0)),
        ("noise_level", lambda: saliency.smoothgrad(model, x, targets, noise_level=-0.1)),
        ("steps", lambda: saliency.integrated_gradients(model, x, targets, steps=0)),
        ("baseline", lambda: saliency.integrated_gradients(model, x, targets, baseline=np.zeros((4, 4, 1)))),
        ("max_n", lambda: saliency.scorecam(model, x, targets, max_n=9)),  # conv_1 has 8 channels
        ("method", lambda: saliency.model_passes("occlusion")),
        ("channels", lambda: saliency.model_passes("scorecam")),
        ("targets", lambda: saliency.activation_maximization(model, [7], steps=1)),
        ("saliency_map", lambda: saliency.overlay_image(None, np.zeros((8, 8)), np.zeros((4, 4)))),
        ("maps", lambda: saliency.plot_saliency_grid(x, {"a": np.zeros((5, 4, 4))})),
    ]
    for argument, call in cases:
        _argument_error(argument, call)
