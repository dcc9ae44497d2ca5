"""Scores of predictions: regression errors and classification counts.

* :func:`mae` and :func:`mase` score forecasts (Hyndman & Koehler, 2006);
* :func:`confusion_counts` counts, for every true class, the predicted classes.
"""

from __future__ import annotations

import numpy as np

from ._checks import ArgumentError, check_positive_int, check_series


def mae(y_true, y_pred) -> float:
    """Mean absolute error over all entries (arrays of the same shape)."""
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ArgumentError(
            f"y_true and y_pred must be non-empty and have the same shape; got {y_true.shape} and {y_pred.shape}."
        )
    return float(np.mean(np.abs(y_true - y_pred)))


def mase(y_true, y_pred, y_train, season_length: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006).

    The forecast's MAE divided by the in-sample MAE of the (seasonal) naive
    one-step forecast on the training series,
    ``mean(|y_train[t] - y_train[t - season_length]|)``. Below 1: better than
    that naive forecast on average. Raises ``ValueError`` when the training
    series is too short or constant (the scale would be zero).
    """
    season_length = check_positive_int("season_length", season_length)
    train = check_series("y_train", y_train)
    if len(train) <= season_length:
        raise ArgumentError(
            f"y_train must be longer than season_length ({season_length}); got {len(train)} values."
        )
    scale = float(np.mean(np.abs(train[season_length:] - train[:-season_length])))
    if scale == 0:
        raise ArgumentError("y_train: its naive in-sample error is zero (a constant series), so MASE is undefined.")
    return mae(y_true, y_pred) / scale


def confusion_counts(y_true, y_pred, n_classes: int = None):
    """Confusion matrix as counts: entry (i, j) is the number of examples of class i predicted as j."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.ndim != 1 or y_true.shape != y_pred.shape:
        raise ArgumentError(
            f"y_true and y_pred must be 1-D arrays of class indices of the same length; got {y_true.shape} and {y_pred.shape}."
        )
    if not (np.issubdtype(y_true.dtype, np.integer) and np.issubdtype(y_pred.dtype, np.integer)):
        raise ArgumentError("y_true and y_pred must hold integer class indices (use argmax on scores first).")
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ArgumentError("y_true and y_pred: class indices must be non-negative.")
    if n_classes is None:
        n_classes = int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    elif max(y_true.max(initial=-1), y_pred.max(initial=-1)) >= check_positive_int("n_classes", n_classes):
        raise ArgumentError(f"a class index is >= n_classes ({n_classes}).")
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix
