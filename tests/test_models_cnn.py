"""The convolutional builders of chapter 03_cnn: architecture pinned (types, shapes, parameters)."""

import pytest

from utils import models


from conftest import architecture as _architecture


def test_build_cnn1d_architecture_is_pinned(keras):
    model = models.build_cnn1d()
    assert model.name == "cnn1d"
    assert _architecture(model) == [
        ("InputLayer", (40, 1), 0),
        ("Conv1D", (40, 32), 5 * 1 * 32 + 32),
        ("MaxPooling1D", (20, 32), 0),
        ("Conv1D", (20, 32), 3 * 32 * 32 + 32),
        ("MaxPooling1D", (10, 32), 0),
        ("Conv1D", (10, 32), 3 * 32 * 32 + 32),
        ("MaxPooling1D", (5, 32), 0),
        ("Flatten", (160,), 0),
        ("Dense", (10,), 160 * 10 + 10),
    ]
    assert model.count_params() == 8010
    assert model.layers[-1].activation.__name__ == "linear"  # logits
    assert all(layer.activation.__name__ == "relu" for layer in model.layers if type(layer).__name__ == "Conv1D")


def test_build_cnn2d_architecture_is_pinned(keras):
    model = models.build_cnn2d()
    assert model.name == "cnn2d"
    assert _architecture(model) == [
        ("InputLayer", (8, 8, 1), 0),
        ("Conv2D", (8, 8, 32), 3 * 3 * 1 * 32 + 32),
        ("Conv2D", (8, 8, 32), 3 * 3 * 32 * 32 + 32),
        ("MaxPooling2D", (4, 4, 32), 0),
        ("Flatten", (512,), 0),
        ("Dropout", (512,), 0),
        ("Dense", (10,), 512 * 10 + 10),
    ]
    assert model.count_params() == 14698
    assert model.layers[-2].rate == pytest.approx(0.5)
    assert model.layers[-1].activation.__name__ == "linear"  # logits
    assert all(layer.activation.__name__ == "relu" for layer in model.layers if type(layer).__name__ == "Conv2D")


def test_builders_accept_other_sizes(keras):
    model = models.build_cnn1d(input_length=64, n_outputs=3, filters=(8, 16), kernel_sizes=(7, 5))
    assert tuple(model.output.shape) == (None, 3) and tuple(model.layers[-2].output.shape) == (None, 16 * 16)
    model = models.build_cnn2d((28, 28, 3), 5, filters=(4,), dropout=0.0)
    assert "Dropout" not in [type(layer).__name__ for layer in model.layers]
    assert tuple(model.output.shape) == (None, 5)


def test_builders_retrain_to_the_same_weights_with_the_same_seed(keras):
    keras.utils.set_random_seed(3)
    first = models.build_cnn2d().get_weights()
    keras.utils.set_random_seed(3)
    second = models.build_cnn2d().get_weights()
    assert all((a == b).all() for a, b in zip(first, second))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_length=0), "input_length must be a positive int"),
        (dict(filters=(8, 8), kernel_sizes=(3,)), "same length"),
        (dict(filters=8), "filters must be a non-empty tuple or list"),
        (dict(filters=(8, 0, 8)), r"filters\[1\] must be a positive int"),
        (dict(input_length=6), "too short for 3 pooling steps"),
    ],
)
def test_build_cnn1d_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_cnn1d(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(input_shape=(8, 8)), r"input_shape must be \(height, width, channels\)"),
        (dict(input_shape=(1, 8, 1)), "too small for 2x2 pooling"),
        (dict(dropout=1.0), r"dropout must be a finite number in \[0, 1\)"),
        (dict(kernel_size=0), "kernel_size must be a positive int"),
        (dict(filters=()), "filters must be a non-empty"),
    ],
)
def test_build_cnn2d_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_cnn2d(**kwargs)
