"""The book's plotting style and shared plotting helpers."""

from __future__ import annotations

from ._checks import ArgumentError, check_array, check_bool, check_positive_int, check_string

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

    One line per metric and split (``loss`` and ``val_loss``...), whole epochs on the
    x-axis. Returns the axes.
    Raises ``ValueError`` naming a metric the history does not contain.
    """
    import matplotlib.pyplot as plt

    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or not logs:
        raise ArgumentError("history must be a keras History or a non-empty dict of metric lists.")
    if isinstance(metrics, str):
        metrics = (metrics,)
    if not isinstance(metrics, (tuple, list)) or not metrics:
        raise ArgumentError(f"metrics must be a metric name or a non-empty tuple of names; got {metrics!r}.")
    if ax is None:
        _, ax = plt.subplots()
    for metric in metrics:
        if metric not in logs:
            raise ArgumentError(f"metrics: metric {metric!r} not in history; available: {sorted(logs)}.")
        epochs = range(1, len(logs[metric]) + 1)
        ax.plot(epochs, logs[metric], label=f"train {metric}")
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], "--", label=f"validation {metric}")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # whole epochs only
    ax.set_ylabel(", ".join(metrics))
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_histories(histories, metric="val_loss", ax=None, title: str = "", log_y: bool = False):
    """Compare runs: one line of ``metric`` per run, against the epoch.

    ``histories`` maps a label (a learning rate, a batch size, a name...) to a
    Keras ``History`` or its ``history`` dict, for example the result of
    :func:`utils.training.learning_rate_sweep`. Returns the axes. Raises
    ``TypeError`` for an empty or non-mapping argument and ``ValueError``
    naming a run that lacks ``metric``.
    """
    import matplotlib.pyplot as plt

    if not isinstance(histories, dict) or not histories:
        raise ArgumentError("histories must be a non-empty dict mapping a label to a History or its dict.")
    metric = check_string("metric", metric)
    log_y = check_bool("log_y", log_y)
    if ax is None:
        _, ax = plt.subplots()
    for label, history in histories.items():
        logs = getattr(history, "history", history)
        if not isinstance(logs, dict) or metric not in logs:
            available = sorted(logs) if isinstance(logs, dict) else type(logs).__name__
            raise ArgumentError(f"histories: run {label!r} has no metric {metric!r}; available: {available}.")
        values = logs[metric]
        ax.plot(range(1, len(values) + 1), values, label=str(label))
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))  # whole epochs only
    ax.set_ylabel(metric)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_image_grid(images, titles=None, n_columns: int = 8, cmap: str = "gray", cell_size: float = 0.9, title: str = ""):
    """Show a stack of 2-D arrays (filters, feature maps, digits) as a grid of small images.

    ``images`` has shape (n, height, width). Each image gets its own colour
    scale (symmetric around zero when it has negative values, as filters do).
    Returns the figure. Raises ``ValueError`` for a wrong shape or a ``titles``
    list of the wrong length.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    images = check_array("images", images, 3).astype(float)  # (n, height, width), n >= 1
    n_columns = check_positive_int("n_columns", n_columns)
    if titles is not None and len(titles) != len(images):
        raise ArgumentError(f"titles must have one entry per image ({len(images)}); got {len(titles)}.")
    n_columns = min(n_columns, len(images))
    n_rows = int(np.ceil(len(images) / n_columns))
    fig, axes = plt.subplots(
        n_rows, n_columns, figsize=(cell_size * n_columns, cell_size * n_rows + (0.3 if title else 0)),
        squeeze=False, constrained_layout=True,
    )
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= len(images):
            continue
        image = images[i]
        if image.min() < 0:
            limit = float(np.abs(image).max()) or 1.0
            ax.imshow(image, cmap="RdBu_r" if cmap == "gray" else cmap, vmin=-limit, vmax=limit)
        else:
            ax.imshow(image, cmap=cmap)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    return fig


def plot_confusion_matrix(y_true, y_pred, class_names=None, ax=None, title: str = ""):
    """Plot the confusion matrix of integer labels with counts written in the cells. Returns the axes."""
    import matplotlib.pyplot as plt
    import numpy as np

    n_classes = None if class_names is None else len(class_names)
    from .metrics import confusion_counts

    matrix = confusion_counts(y_true, y_pred, n_classes)
    names = [str(i) for i in range(len(matrix))] if class_names is None else [str(c) for c in class_names]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 3.8))
    ax.imshow(matrix, cmap="Blues")
    ax.grid(False)
    for i in range(len(matrix)):
        for j in range(len(matrix)):
            if matrix[i, j]:
                color = "white" if matrix[i, j] > matrix.max() / 2 else "black"
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(np.arange(len(names)), names)
    ax.set_yticks(np.arange(len(names)), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    if title:
        ax.set_title(title)
    return ax
