"""Argument checks shared by every module of ``utils`` (private).

One bad input gets the same kind of error everywhere: an :class:`ArgumentError`,
whose message names the argument, says what was expected and shows what was
given. ``ArgumentError`` subclasses both ``TypeError`` and ``ValueError`` (the
choice scikit-learn makes for its ``InvalidParameterError``), so callers may
catch either; the message says which it is ("must be an int" for a wrong type,
"must be >= 1" for a wrong value).

Integers may be Python or NumPy integers (``y.max() + 1`` is a NumPy integer);
``True`` and ``False`` are never accepted as numbers.

The one choice of exception type: every check of an argument a caller passed
(its type, its range, its shape, its agreement with another argument) raises
``ArgumentError``, never a bare ``TypeError`` or ``ValueError``. Other errors keep
their own types: ``RuntimeError`` for a wrong order of calls (``predict`` before
``fit``), ``KeyError``/``IndexError`` where a container protocol asks for them,
and the library's own errors (``TPUUnavailableError``) for the machine.
Modules call these helpers instead of keeping private copies; a check that none
of them covers raises ``ArgumentError`` itself, with the argument's name first.
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
    if maximum is None and minimum in (0, 1):
        expected = "a positive int" if minimum == 1 else "a non-negative int"
    else:
        expected = f"an int{_bounds_text(minimum, maximum)}"
    if not is_int(value):
        raise ArgumentError(f"{name} must be {expected}; got {_shown(value)}.")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ArgumentError(f"{name} must be {expected}; got {int(value)}.")
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
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:  # ragged lists and the like
        raise ArgumentError(f"{name} must be an array; it could not be converted ({error}).") from None
    if numeric and array.dtype.kind not in "biuf":
        raise ArgumentError(f"{name} must hold numbers; got an array of dtype {array.dtype}.")
    if ndim is not None and array.ndim != ndim:
        raise ArgumentError(f"{name} must be a {ndim}-D array; got shape {array.shape}.")
    if non_empty and array.size == 0:
        raise ArgumentError(f"{name} must not be empty; got shape {array.shape}.")
    if finite and numeric and not np.all(np.isfinite(array)):
        raise ArgumentError(f"{name} contains NaN or infinite values; it must hold finite numbers.")
    return array


def check_matrix(name: str, value: Any, n_columns: Optional[int] = None) -> np.ndarray:
    """``value`` as a non-empty 2-D array of finite numbers (examples, features), with
    ``n_columns`` columns when given."""
    array = check_array(name, value, 2, finite=True)
    if n_columns is not None and array.shape[1] != n_columns:
        raise ArgumentError(
            f"{name} has {array.shape[1]} features but {n_columns} were expected (one per column); got shape {array.shape}."
        )
    return array


def check_vector(name: str, value: Any, length: Optional[int] = None) -> np.ndarray:
    """``value`` as a non-empty 1-D array of finite numbers, with ``length`` entries when given."""
    array = check_array(name, value, 1, finite=True)
    if length is not None and array.shape[0] != length:
        raise ArgumentError(f"{name} has {array.shape[0]} entries but {length} were expected.")
    return array


def check_positive_ints(name: str, values: Any, length: Optional[int] = None) -> tuple:
    """``values`` as a tuple of Python ints, if it is a non-empty tuple or list (or 1-D array) of
    integers >= 1, with ``length`` entries when given."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = list(values)
    if not isinstance(values, (tuple, list)) or not values:
        raise ArgumentError(f"{name} must be a non-empty tuple or list of ints >= 1; got {_shown(values)}.")
    if length is not None and len(values) != length:
        raise ArgumentError(f"{name} must have {length} entries; got {_shown(values)}.")
    for i, value in enumerate(values):
        check_int(f"{name}[{i}]", value, minimum=1)
    return tuple(int(value) for value in values)


def check_shape(name: str, value: Any, ndim: Optional[int] = None) -> tuple:
    """``value`` as a shape (a tuple of ints >= 1); a single int ``n`` means ``(n,)``."""
    shape = (value,) if is_int(value) else value
    if not isinstance(shape, (tuple, list)) or not shape or not all(is_int(d) and d >= 1 for d in shape):
        raise ArgumentError(f"{name} must be an int >= 1 or a tuple of ints >= 1; got {_shown(value)}.")
    if ndim is not None and len(shape) != ndim:
        raise ArgumentError(f"{name} must have {ndim} entries; got {_shown(value)}.")
    return tuple(int(d) for d in shape)


def check_series(name: str, value: Any) -> np.ndarray:
    """``value`` as a 1-D float array of finite numbers (a time series)."""
    if isinstance(value, (str, bytes)):
        raise ArgumentError(f"{name} must be a 1-D array of numbers; got a string.")
    return check_array(name, value, 1, finite=True).astype(np.float64)


def check_string(name: str, value: Any, *, non_empty: bool = True) -> str:
    """``value``, if it is a string (a non-empty one unless ``non_empty=False``)."""
    if not isinstance(value, str) or (non_empty and not value.strip()):
        kind = "a non-empty string" if non_empty else "a string"
        raise ArgumentError(f"{name} must be {kind}; got {_shown(value)}.")
    return value


def check_instance(name: str, value: Any, kind: Any, described: str) -> Any:
    """``value``, if it is an instance of ``kind`` (``described`` says what that is, e.g. "a keras.Model")."""
    if not isinstance(value, kind):
        raise ArgumentError(f"{name} must be {described}; got {type(value).__name__}.")
    return value
