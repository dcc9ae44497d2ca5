"""The book's plotting style and shared plotting helpers."""

from __future__ import annotations

BOOK_STYLE = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.autolayout": True,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": "medium",
    "legend.frameon": False,
    "font.size": 10,
}


def use_book_style() -> None:
    """Apply the book's single matplotlib style (and PNG output in notebooks)."""
    import matplotlib

    matplotlib.rcParams.update(BOOK_STYLE)
    try:  # inside IPython: store figures as PNG only, which keeps notebooks small
        from IPython import get_ipython
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        if get_ipython() is not None:
            set_matplotlib_formats("png")
    except ImportError:  # plain Python: nothing to configure
        pass


def plot_history(history, metrics=("loss",), ax=None, title: str = ""):
    """Plot training and validation curves from a Keras ``History`` (or its dict).

    One line per metric and split (``loss`` and ``val_loss``...). Returns the axes.
    Raises ``ValueError`` naming a metric the history does not contain.
    """
    import matplotlib.pyplot as plt

    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise TypeError("history must be a keras History or a non-empty dict of metric lists.")
    if isinstance(metrics, str):
        metrics = (metrics,)
    if ax is None:
        _, ax = plt.subplots()
    for metric in metrics:
        if metric not in logs:
            raise ValueError(f"metric {metric!r} not in history; available: {sorted(logs)}.")
        epochs = range(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], label=f"train {metric}")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], "--", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.set_ylabel(", ".join(metrics))
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
