"""Unit tests of utils/models.py: the builders' architectures are pinned."""

import numpy as np
import pytest

import utils

utils.setup(quiet=True)

import keras  # noqa: E402  (after utils.setup, as in the chapters)

from utils.models import build_mlp  # noqa: E402


def layer_summary(model):
    return [(type(layer).__name__, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_build_mlp_default_architecture():
    model = build_mlp(64, 10)
    assert layer_summary(model) == [
        ("InputLayer", (64,)),
        ("Dense", (64,)),
        ("Dense", (10,)),
    ]
    assert model.count_params() == 64 * 64 + 64 + 64 * 10 + 10
    assert model.get_layer("dense_0").activation is keras.activations.relu
    assert model.get_layer("output").activation is keras.activations.linear  # logits
    assert model.name == "mlp"


def test_build_mlp_flattens_images_and_adds_dropout():
    model = build_mlp((8, 8, 1), 10, hidden_units=(32, 16), dropout=0.25, activation="tanh", name="digits_mlp")
    assert layer_summary(model) == [
        ("InputLayer", (8, 8, 1)),
        ("Flatten", (64,)),
        ("Dense", (32,)),
        ("Dropout", (32,)),
        ("Dense", (16,)),
        ("Dropout", (16,)),
        ("Dense", (10,)),
    ]
    assert model.count_params() == (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10)
    assert model.get_layer("dense_1").activation is keras.activations.tanh
    assert model.get_layer("dropout_0").rate == 0.25
    assert model.name == "digits_mlp"


def test_build_mlp_without_hidden_layers_is_a_linear_model():
    model = build_mlp(40, 10, hidden_units=(), output_activation="softmax")
    assert layer_summary(model) == [("InputLayer", (40,)), ("Dense", (10,))]
    assert model.count_params() == 40 * 10 + 10
    out = np.asarray(model(np.zeros((3, 40), np.float32)))
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)


def test_build_mlp_regression_output_shape():
    model = build_mlp(10, 1, hidden_units=(10,))
    assert model.count_params() == 10 * 10 + 10 + 10 + 1
    assert model(np.zeros((5, 10), np.float32)).shape == (5, 1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": 0}, "input_shape"),
        ({"input_shape": (8, -1)}, "input_shape"),
        ({"input_shape": ()}, "input_shape"),
        ({"input_shape": 4.0}, "input_shape"),
        ({"n_outputs": 0}, "n_outputs"),
        ({"n_outputs": True}, "n_outputs"),
        ({"hidden_units": (16, 0)}, "hidden_units"),
        ({"hidden_units": (16.5,)}, "hidden_units"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"dropout": True}, "dropout"),
    ],
)
def test_build_mlp_rejects_bad_arguments(kwargs, match):
    arguments = {"input_shape": 8, "n_outputs": 2, **kwargs}
    with pytest.raises(utils.ArgumentError, match=f"^{match}"):  # the message starts with the argument's name
        build_mlp(**arguments)
