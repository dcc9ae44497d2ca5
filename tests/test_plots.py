"""Unit tests of utils/plots.py: the book style and the shared plotting helpers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_use_book_style_sets_modest_dpi():
    plots.use_book_style()
    assert matplotlib.rcParams["figure.dpi"] == 100
    assert matplotlib.rcParams["savefig.dpi"] == 100
    assert matplotlib.rcParams["axes.grid"] is True


class FakeHistory:
    """Stands in for keras.callbacks.History: only the .history dict is used."""

    def __init__(self, logs):
        self.history = logs


def test_plot_history_draws_train_and_validation_curves():
    logs = {"loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0], "accuracy": [0.1, 0.5, 0.9]}
    ax = plots.plot_history(FakeHistory(logs), metrics=("loss", "accuracy"), title="run")
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train loss", "validation loss", "train accuracy"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), logs["val_loss"])
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_title() == "run" and ax.get_xlabel() == "epoch"


def test_plot_history_accepts_a_dict_a_single_metric_and_an_axes():
    _, ax = plt.subplots()
    out = plots.plot_history({"loss": [1.0, 0.5]}, metrics="loss", ax=ax)
    assert out is ax and len(ax.get_lines()) == 1


def test_plot_history_rejects_bad_input():
    with pytest.raises(ValueError, match="'accuracy' not in history"):
        plots.plot_history({"loss": [1.0]}, metrics=("accuracy",))
    with pytest.raises(TypeError, match="history"):
        plots.plot_history({})
    with pytest.raises(TypeError, match="history"):
        plots.plot_history([1.0, 2.0])


def test_plot_histories_draws_one_line_per_run():
    runs = {0.1: {"val_loss": [1.0, 0.5]}, 0.01: FakeHistory({"val_loss": [1.0, 0.9, 0.8]})}
    ax = plots.plot_histories(runs, metric="val_loss", log_y=True, title="sweep")
    assert [line.get_label() for line in ax.get_lines()] == ["0.1", "0.01"]
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [1.0, 0.9, 0.8])
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "val_loss" and ax.get_title() == "sweep"


def test_plot_histories_rejects_bad_input():
    with pytest.raises(TypeError, match="non-empty dict"):
        plots.plot_histories({})
    with pytest.raises(TypeError, match="non-empty dict"):
        plots.plot_histories([{"loss": [1.0]}])
    with pytest.raises(ValueError, match="run 'a' has no metric 'val_loss'"):
        plots.plot_histories({"a": {"loss": [1.0]}})
    with pytest.raises(TypeError, match="metric"):
        plots.plot_histories({"a": {"loss": [1.0]}}, metric=1)


def test_history_plots_mark_whole_epochs_only():
    import matplotlib.pyplot as plt

    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.6, 0.4]}
    ax_one = plots.plot_history(history)
    ax_many = plots.plot_histories({"a": history, "b": history})
    for ax in (ax_one, ax_many):
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close("all")
