"""NumPy reference convolution and pooling (utils.reference.conv), checked against Keras."""

import numpy as np
import pytest

from utils.reference import conv


# Output-size formula and padding rules -------------------------------------------------
@pytest.mark.parametrize(
    "length, k, s, padding, d, expected",
    [
        (40, 5, 1, "valid", 1, 36),
        (40, 5, 1, "same", 1, 40),
        (40, 5, 2, "same", 1, 20),
        (41, 5, 2, "same", 1, 21),
        (40, 5, 2, 1, 1, 19),  # floor((40 + 2 - 5) / 2) + 1
        (40, 3, 1, "valid", 4, 32),  # extent (3 - 1) * 4 + 1 = 9
        (40, 3, 1, "causal", 2, 40),
        (8, 3, 3, "valid", 1, 2),
    ],
)
def test_conv_output_length_matches_hand_values(length, k, s, padding, d, expected):
    assert conv.conv_output_length(length, k, s, padding, d) == expected


def test_padding_amounts_put_the_odd_zero_at_the_end_like_tensorflow():
    assert conv.padding_amounts(8, 4, 1, "same") == (1, 2)
    assert conv.padding_amounts(8, 3, 1, "causal", 2) == (4, 0)
    assert conv.padding_amounts(8, 3, 1, 2) == (2, 2)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(length=0, kernel_size=3), "length must be a positive int"),
        (dict(length=8, kernel_size=3, padding="full"), "padding must be one of"),
        (dict(length=8, kernel_size=3, padding=-1), "padding must be one of"),
        (dict(length=8, kernel_size=3, stride=0), "stride must be a positive int"),
        (dict(length=4, kernel_size=5), "longer than the padded input"),
    ],
)
def test_conv_output_length_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv.conv_output_length(**kwargs)


@pytest.mark.parametrize(
    "kernels, strides, dilations, expected",
    [
        ([3], None, None, 3),
        ([3, 3, 3], None, None, 7),
        ([5, 2, 3, 2, 3, 2], [1, 2, 1, 2, 1, 2], None, 1 + 4 + 1 + 2 * 2 + 1 * 2 + 2 * 4 + 1 * 4),
        ([3, 3], None, [1, 2], 7),
    ],
)
def test_receptive_field_hand_values(kernels, strides, dilations, expected):
    assert conv.receptive_field(kernels, strides, dilations) == expected


def test_receptive_field_rejects_mismatched_lists():
    with pytest.raises(ValueError, match="one entry per layer"):
        conv.receptive_field([3, 3], strides=[1])
    with pytest.raises(ValueError, match="kernel_sizes must be a non-empty"):
        conv.receptive_field([])


# Loops and vectorised versions agree ---------------------------------------------------
CASES_1D = [(1, "valid", 1), (2, "valid", 1), (1, "same", 1), (3, "same", 1), (1, "valid", 2), (1, "same", 3), (1, "causal", 2), (2, 1, 1)]
CASES_2D = [(1, "valid", 1), (2, "valid", 1), (1, "same", 1), (2, "same", 1), (1, "valid", 2), (1, "same", 2), (2, 1, 1)]


@pytest.mark.parametrize("stride, padding, dilation", CASES_1D)
def test_conv1d_loops_and_vectorised_agree(stride, padding, dilation):
    rng = np.random.default_rng(0)
    x, kernel, bias = rng.normal(size=(2, 13, 3)), rng.normal(size=(3, 3, 4)), rng.normal(size=4)
    expected = conv.conv1d_loops(x, kernel, bias, stride, padding, dilation)
    np.testing.assert_allclose(conv.conv1d(x, kernel, bias, stride, padding, dilation), expected, atol=1e-12)


@pytest.mark.parametrize("stride, padding, dilation", CASES_2D)
def test_conv2d_loops_and_vectorised_agree(stride, padding, dilation):
    rng = np.random.default_rng(1)
    x, kernel, bias = rng.normal(size=(2, 7, 6, 2)), rng.normal(size=(3, 2, 2, 3)), rng.normal(size=3)
    expected = conv.conv2d_loops(x, kernel, bias, stride, padding, dilation)
    np.testing.assert_allclose(conv.conv2d(x, kernel, bias, stride, padding, dilation), expected, atol=1e-12)


def test_conv1d_of_a_delta_returns_the_kernel_reversed_in_time():
    # cross-correlation, not flipped convolution: a unit impulse reads the kernel backwards
    x = np.zeros((1, 5, 1))
    x[0, 2, 0] = 1.0
    kernel = np.array([1.0, 2.0, 3.0]).reshape(3, 1, 1)
    np.testing.assert_allclose(conv.conv1d(x, kernel)[0, :, 0], [3.0, 2.0, 1.0])


@pytest.mark.parametrize(
    "x_shape, k_shape, b_shape, match",
    [
        ((5, 3), (3, 3, 4), None, "x must have shape"),
        ((1, 5, 3), (3, 4), None, "kernel must have shape"),
        ((1, 5, 3), (3, 2, 4), None, "input channels"),
        ((1, 5, 3), (3, 3, 4), (3,), "bias must have shape"),
    ],
)
def test_conv1d_rejects_bad_shapes(x_shape, k_shape, b_shape, match):
    bias = None if b_shape is None else np.zeros(b_shape)
    with pytest.raises(ValueError, match=match):
        conv.conv1d(np.zeros(x_shape), np.zeros(k_shape), bias)


def test_conv2d_rejects_causal_padding_and_bad_strides():
    with pytest.raises(ValueError, match="causal"):
        conv.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)), padding="causal")
    with pytest.raises(ValueError, match="strides must have 2 entries"):
        conv.conv2d(np.zeros((1, 4, 4, 1)), np.zeros((2, 2, 1, 1)), strides=(1, 1, 1))


def test_pooling_hand_values():
    x = np.arange(8.0).reshape(1, 8, 1)
    np.testing.assert_allclose(conv.pool1d(x, 2)[0, :, 0], [1, 3, 5, 7])
    np.testing.assert_allclose(conv.pool1d(x, 2, mode="average")[0, :, 0], [0.5, 2.5, 4.5, 6.5])
    # 'same' with an odd length: the last window holds one real value, padding is ignored
    np.testing.assert_allclose(conv.pool1d(x[:, :7], 2, padding="same", mode="average")[0, :, 0], [0.5, 2.5, 4.5, 6.0])
    image = np.arange(16.0).reshape(1, 4, 4, 1)
    np.testing.assert_allclose(conv.pool2d(image, 2)[0, :, :, 0], [[5, 7], [13, 15]])


def test_pooling_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode must be"):
        conv.pool1d(np.zeros((1, 4, 1)), mode="min")
    with pytest.raises(ValueError, match="padding must be 'valid' or 'same'"):
        conv.pool2d(np.zeros((1, 4, 4, 1)), padding=1)
    with pytest.raises(ValueError, match="x must have shape"):
        conv.pool2d(np.zeros((4, 4, 1)))


# Against Keras ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def keras():
    import utils

    utils.setup(quiet=True)
    import keras

    return keras


@pytest.mark.parametrize("stride, padding, dilation", [c for c in CASES_1D if not isinstance(c[1], int)])
def test_conv1d_matches_keras_conv1d(keras, stride, padding, dilation):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 13, 3)).astype("float32")
    layer = keras.layers.Conv1D(4, 3, strides=stride, padding=padding, dilation_rate=dilation)
    expected = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (w.numpy() if hasattr(w, "numpy") else keras.ops.convert_to_numpy(w) for w in layer.weights)
    np.testing.assert_allclose(conv.conv1d(x, kernel, bias, stride, padding, dilation), expected, atol=1e-5)


@pytest.mark.parametrize("stride, padding, dilation", [c for c in CASES_2D if not isinstance(c[1], int)])
def test_conv2d_matches_keras_conv2d(keras, stride, padding, dilation):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 6, 2)).astype("float32")
    layer = keras.layers.Conv2D(3, (3, 2), strides=stride, padding=padding, dilation_rate=dilation)
    expected = keras.ops.convert_to_numpy(layer(x))
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in layer.weights)
    np.testing.assert_allclose(conv.conv2d(x, kernel, bias, stride, padding, dilation), expected, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("mode", ["max", "average"])
def test_pool2d_matches_keras(keras, padding, mode):
    x = np.random.default_rng(4).normal(size=(2, 7, 5, 3)).astype("float32")
    layer_class = keras.layers.MaxPooling2D if mode == "max" else keras.layers.AveragePooling2D
    expected = keras.ops.convert_to_numpy(layer_class(2, padding=padding)(x))
    np.testing.assert_allclose(conv.pool2d(x, 2, padding=padding, mode=mode), expected, atol=1e-6)
