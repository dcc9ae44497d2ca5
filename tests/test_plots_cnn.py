"""Plot helpers of chapter 03_cnn: image grids and confusion matrices."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import metrics, plots


def test_confusion_counts_hand_values():
    matrix = metrics.confusion_counts([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0])
    np.testing.assert_array_equal(matrix, [[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    assert metrics.confusion_counts([0], [0], n_classes=4).shape == (4, 4)


@pytest.mark.parametrize(
    "y_true, y_pred, kwargs, error, match",
    [
        ([0, 1], [0], {}, ValueError, "same length"),
        ([0.0, 1.0], [0.0, 1.0], {}, TypeError, "integer class indices"),
        ([0, -1], [0, 1], {}, ValueError, "non-negative"),
        ([0, 5], [0, 1], {"n_classes": 3}, ValueError, ">= n_classes"),
    ],
)
def test_confusion_counts_rejects_bad_input(y_true, y_pred, kwargs, error, match):
    with pytest.raises(error, match=match):
        metrics.confusion_counts(np.asarray(y_true), np.asarray(y_pred), **kwargs)


def test_plot_confusion_matrix_writes_the_counts():
    ax = plots.plot_confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 0]), class_names=["a", "b"])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "1", "1"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    plt.close("all")


def test_plot_image_grid_lays_out_rows_and_titles():
    fig = plots.plot_image_grid(np.random.default_rng(0).normal(size=(10, 3, 3)), titles=list("abcdefghij"), n_columns=4)
    axes = fig.get_axes()
    assert len(axes) == 12  # 3 rows of 4, the last two left empty
    assert sum(1 for ax in axes if ax.images) == 10
    assert axes[0].get_title() == "a"
    plt.close("all")


@pytest.mark.parametrize(
    "images, kwargs, match",
    [
        (np.zeros((3, 3)), {}, "images must be a 3-D array"),
        (np.zeros((2, 3, 3)), {"titles": ["one"]}, "one entry per image"),
        (np.zeros((2, 3, 3)), {"n_columns": 0}, "n_columns must be a positive int"),
    ],
)
def test_plot_image_grid_rejects_bad_input(images, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plots.plot_image_grid(images, **kwargs)
