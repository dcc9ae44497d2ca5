"""Working with sequences: windows, forecasting baselines, character vocabularies.

* :func:`make_windows` cuts a series into (past window, future horizon) pairs;
* :func:`last_value_forecast`, :func:`seasonal_naive_forecast` and
  :class:`TrendSeasonalRegression` are the forecasting baselines (scored with
  :func:`utils.metrics.mae` and :func:`utils.metrics.mase`);
* :class:`CharVocabulary` turns strings into integer sequences and back.

The series and tasks themselves (the CO2 record, the date-translation pairs) are
loaded by :mod:`utils.data`.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

import numpy as np

from ._checks import ArgumentError, check_int, check_number, check_positive_int, check_series




# Windowing -------------------------------------------------------------------------


def make_windows(
    series, window: int, horizon: int, stride: int = 1
) -> Tuple[np.ndarray, np.ndarray]:
    """Cut a series into overlapping (input window, target horizon) pairs.

    ``series`` has shape (time,) or (time, features). Pair ``i`` has the inputs
    ``series[i*stride : i*stride + window]`` and the targets, the ``horizon``
    values that follow them. Returns ``(inputs, targets)`` with shapes
    (n, window[, features]) and (n, horizon[, features]), where
    ``n = (len(series) - window - horizon) // stride + 1``.

    Raises ``ValueError`` for a window longer than the series, a horizon <= 0,
    a window and horizon that do not fit together in the series, or a series
    that is not 1-D or 2-D; ``TypeError`` for non-integer sizes.
    """
    values = np.asarray(series)
    if values.ndim not in (1, 2):
        raise ArgumentError(f"series must be 1-D (time,) or 2-D (time, features); got shape {values.shape}.")
    window = check_positive_int("window", window)
    horizon = check_positive_int("horizon", horizon)
    stride = check_positive_int("stride", stride)
    length = len(values)
    if window > length:
        raise ArgumentError(
            f"window ({window}) is longer than the series ({length} steps); use a shorter window."
        )
    if window + horizon > length:
        raise ArgumentError(
            f"window + horizon ({window} + {horizon}) exceeds the series length ({length}): "
            "no complete pair fits; shorten the window or the horizon."
        )
    n = (length - window - horizon) // stride + 1
    starts = np.arange(n) * stride
    input_index = starts[:, None] + np.arange(window)[None, :]
    target_index = starts[:, None] + window + np.arange(horizon)[None, :]
    return values[input_index], values[target_index]


# Forecasting baselines -------------------------------------------------


def _check_origins(series: np.ndarray, origins, horizon: int, history: int) -> np.ndarray:
    origins = np.asarray(origins)
    if origins.ndim != 1 or not np.issubdtype(origins.dtype, np.integer):
        raise ArgumentError("origins must be a 1-D array of integer positions (the last observed step).")
    if origins.size and (origins.min() < history - 1 or origins.max() >= len(series)):
        raise ArgumentError(
            f"origins must lie in [{history - 1}, {len(series) - 1}] so that enough history exists; "
            f"got values from {origins.min()} to {origins.max()}."
        )
    return origins


def last_value_forecast(series, origins, horizon: int) -> np.ndarray:
    """Naive forecast: every future step equals the last observed value.

    ``origins`` are the positions of the last observed step; the result has
    shape (len(origins), horizon).
    """
    values = check_series("series", series)
    horizon = check_positive_int("horizon", horizon)
    origins = _check_origins(values, origins, horizon, 1)
    return np.repeat(values[origins][:, None], horizon, axis=1)


def seasonal_naive_forecast(series, origins, horizon: int, season_length: int) -> np.ndarray:
    """Seasonal naive forecast: step ``h`` equals the value one season before it.

    For ``h <= season_length`` the forecast of ``series[o + h]`` is
    ``series[o + h - season_length]``; longer horizons repeat the last observed
    season. Result shape: (len(origins), horizon).
    """
    values = check_series("series", series)
    horizon = check_positive_int("horizon", horizon)
    season_length = check_positive_int("season_length", season_length)
    origins = _check_origins(values, origins, horizon, season_length)
    steps = np.arange(1, horizon + 1)
    lag = season_length * np.ceil(steps / season_length).astype(int)
    return values[origins[:, None] + steps[None, :] - lag[None, :]]


class TrendSeasonalRegression:
    """Least-squares fit of a linear trend plus Fourier seasonality.

    ``y(t) = a + b t + sum_k [c_k cos(2 pi k t / period) + d_k sin(2 pi k t / period)]``,
    ``k = 1..n_harmonics``. Fit it on the training part only, then predict at
    any time step ``t`` (an index on the series' regular grid).
    """

    def __init__(self, period: float, n_harmonics: int = 3):
        self.period = check_number("period", period, 1, low_open=True)  # steps per season
        self.n_harmonics = check_int("n_harmonics", n_harmonics, 0)
        self.coefficients: Optional[np.ndarray] = None

    def design(self, t) -> np.ndarray:
        """The regression's design matrix at time steps ``t``."""
        t = np.asarray(t, dtype=np.float64)
        if t.ndim != 1:
            raise ArgumentError(f"t must be 1-D; got shape {t.shape}.")
        columns = [np.ones_like(t), t]
        for k in range(1, self.n_harmonics + 1):
            angle = 2 * np.pi * k * t / self.period
            columns += [np.cos(angle), np.sin(angle)]
        return np.stack(columns, axis=1)

    def fit(self, t, y) -> "TrendSeasonalRegression":
        """Fit on time steps ``t`` and values ``y`` (1-D, same length, finite)."""
        y = check_series("y", y)
        design = self.design(t)
        if len(design) != len(y):
            raise ArgumentError(f"t and y must have the same length; got {len(design)} and {len(y)}.")
        if len(y) < design.shape[1]:
            raise ArgumentError(f"y: need at least {design.shape[1]} points to fit; got {len(y)}.")
        self.coefficients = np.linalg.lstsq(design, y, rcond=None)[0]
        return self

    def predict(self, t) -> np.ndarray:
        """Predictions at time steps ``t`` (any shape of integer or float steps)."""
        if self.coefficients is None:
            raise RuntimeError("call fit() before predict().")
        t = np.asarray(t, dtype=np.float64)
        return (self.design(t.ravel()) @ self.coefficients).reshape(t.shape)


class CharVocabulary:
    """Characters <-> integer ids, with id 0 for padding and id 1 for "start".

    Built from the characters of ``texts`` (sorted, so the same texts always
    give the same ids).
    """

    PAD = 0
    START = 1

    def __init__(self, texts: Sequence[str]):
        if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
            raise ArgumentError("texts must be a sequence of strings (not a single string).")
        self.characters = sorted(set("".join(texts)))
        if not self.characters:
            raise ArgumentError("texts must contain at least one character.")
        self.index = {c: i + 2 for i, c in enumerate(self.characters)}

    def __len__(self) -> int:
        return len(self.characters) + 2

    def encode(self, texts: Sequence[str], length: int, start: bool = False) -> np.ndarray:
        """Integer array (len(texts), length): ids, then padding zeros.

        ``start=True`` puts the start id first (the decoder's input in teacher
        forcing). Raises ``ValueError`` for a text that does not fit or that
        holds a character outside the vocabulary.
        """
        length = check_positive_int("length", length)
        out = np.zeros((len(texts), length), dtype=np.int32)
        for row, text in enumerate(texts):
            ids = ([self.START] if start else []) + [self._id(c) for c in text]
            if len(ids) > length:
                raise ArgumentError(f"texts: text {text!r} needs {len(ids)} positions; length is {length}.")
            out[row, : len(ids)] = ids
        return out

    def _id(self, character: str) -> int:
        try:
            return self.index[character]
        except KeyError:
            raise ArgumentError(f"texts: character {character!r} is not in the vocabulary.") from None

    def decode(self, ids) -> List[str]:
        """Strings from an integer array (n, length); stops at the first padding id."""
        ids = np.asarray(ids)
        if ids.ndim != 2:
            raise ArgumentError(f"ids must be 2-D (texts, positions); got shape {ids.shape}.")
        texts = []
        for row in ids:
            chars = []
            for i in row:
                if i == self.PAD:
                    break
                if i >= 2:
                    chars.append(self.characters[int(i) - 2])
            texts.append("".join(chars))
        return texts
