"""Argument checks shared by every module of ``utils`` (private).

One bad input gets the same kind of error everywhere: an :class:`ArgumentError`,
whose message names the argument, says what was expected and shows what was
given. ``ArgumentError`` subclasses both ``TypeError`` and ``ValueError`` (the
choice scikit-learn makes for its ``InvalidParameterError``), so callers may
catch either; the message says which it is ("must be an int" for a wrong type,
"must be >= 1" for a wrong value).

Integers may be Python or NumPy integers (``y.max() + 1`` is a NumPy integer);
``True`` and ``False`` are never accepted as numbers.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterable, Optional

import numpy as np


class ArgumentError(TypeError, ValueError):
    """A ``utils`` function was given an argument of the wrong type or value."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools and everything else."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``value`` as a Python int, if it is an integer in [minimum, maximum]."""
    bounds = _bounds_text(minimum, maximum)
    if not is_int(value):
        raise ArgumentError(f"{name} must be an int{bounds}; got {_shown(value)}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"{name} must be an int{bounds}; got {int(value)}.")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as a Python int, if it is an integer >= 1."""
    return check_int(name, value, minimum=1)


def check_seed(name: str, value: Any) -> int:
    """``value`` as a Python int, if it is an integer >= 0 (a seed)."""
    return check_int(name, value, minimum=0)


def _bounds_text(minimum: Any, maximum: Any, low_open: bool = False, high_open: bool = False) -> str:
    if minimum is not None and maximum is not None:
        return f" in {'(' if low_open else '['}{minimum}, {maximum}{')' if high_open else ']'}"
    if minimum is not None:
        return f" {'>' if low_open else '>='} {minimum}"
    if maximum is not None:
        return f" {'<' if high_open else '<='} {maximum}"
    return ""


def check_number(
    name: str,
    value: Any,
    minimum: Optional[float] = None,
    maximum: Optional[float] = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a finite float in the given range (open ends where asked)."""
    bounds = _bounds_text(minimum, maximum, low_open, high_open)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ArgumentError(f"{name} must be a finite number{bounds}; got {_shown(value)}.")
    number = float(value)
    too_low = minimum is not None and (number <= minimum if low_open else number < minimum)
    too_high = maximum is not None and (number >= maximum if high_open else number > maximum)
    if not math.isfinite(number) or too_low or too_high:
        raise ArgumentError(f"{name} must be a finite number{bounds}; got {_shown(value)}.")
    return number


def check_positive_number(name: str, value: Any) -> float:
    """``value`` as a finite float > 0."""
    return check_number(name, value, 0, low_open=True)


def check_fraction(name: str, value: Any) -> float:
    """``value`` as a float in [0, 1)."""
    return check_number(name, value, 0, 1, high_open=True)


def check_bool(name: str, value: Any) -> bool:
    """``value``, if it is ``True`` or ``False``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentError(f"{name} must be True or False; got {_shown(value)}.")
    return bool(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """``value``, if it is one of ``choices``."""
    options = tuple(choices)
    if not any(value == option and type(value) is type(option) for option in options):
        listed = ", ".join(repr(option) for option in options)
        raise ArgumentError(f"{name} must be one of {listed}; got {_shown(value)}.")
    return value


def check_callable(name: str, value: Any) -> Callable:
    """``value``, if it can be called."""
    if not callable(value):
        raise ArgumentError(f"{name} must be callable; got {type(value).__name__}.")
    return value


def check_array(
    name: str,
    value: Any,
    ndim: Optional[int] = None,
    *,
    numeric: bool = True,
    non_empty: bool = True,
    finite: bool = False,
) -> np.ndarray:
    """``value`` as a NumPy array with the given number of dimensions.

    ``numeric`` asks for booleans, integers or floats; ``finite`` for no NaN or
    infinity; ``non_empty`` for at least one element.
    """
    array = np.asarray(value)
    if numeric and array.dtype.kind not in "biuf":
        raise ArgumentError(f"{name} must hold numbers; got an array of dtype {array.dtype}.")
    if ndim is not None and array.ndim != ndim:
        raise ArgumentError(f"{name} must be a {ndim}-D array; got shape {array.shape}.")
    if non_empty and array.size == 0:
        raise ArgumentError(f"{name} must not be empty; got shape {array.shape}.")
    if finite and numeric and not np.all(np.isfinite(array)):
        raise ArgumentError(f"{name} must hold finite numbers; it contains NaN or infinity.")
    return array
