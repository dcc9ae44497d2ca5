"""utils._checks: one kind of error for a bad argument, whose message names it.

Each helper is tested once (Python and NumPy integers accepted, bools,
strings and out-of-range values rejected, the argument named in the message);
then one bad argument is passed to a public function of every module of
``utils``, which must raise :class:`utils.ArgumentError` naming it.
"""

import datetime

import numpy as np
import pytest

import utils
from utils import _checks
from utils._checks import ArgumentError


def test_argument_error_is_both_a_type_error_and_a_value_error():
    assert utils.ArgumentError is ArgumentError
    assert issubclass(ArgumentError, TypeError) and issubclass(ArgumentError, ValueError)
    with pytest.raises(TypeError):
        _checks.check_int("count", "3")
    with pytest.raises(ValueError):
        _checks.check_int("count", -1, minimum=0)


INTEGERS = [3, np.int64(3), np.int32(3), np.uint8(3)]
NOT_INTEGERS = [True, np.bool_(True), "3", 3.0, None, [3]]


@pytest.mark.parametrize("value", INTEGERS)
def test_integer_checks_accept_python_and_numpy_integers(value):
    for check in (_checks.check_int, _checks.check_positive_int, _checks.check_seed):
        result = check("count", value)
        assert result == 3 and type(result) is int
    assert _checks.is_int(value)


@pytest.mark.parametrize("value", NOT_INTEGERS)
def test_integer_checks_reject_bools_strings_floats(value):
    assert not _checks.is_int(value)
    for check in (_checks.check_int, _checks.check_positive_int, _checks.check_seed):
        with pytest.raises(ArgumentError, match="^count must be"):
            check("count", value)


def test_integer_ranges():
    assert _checks.check_int("k", 5, 1, 5) == 5
    with pytest.raises(ArgumentError, match=r"^k must be an int in \[1, 5\]; got 6"):
        _checks.check_int("k", np.int64(6), 1, 5)
    with pytest.raises(ArgumentError, match="^units must be a positive int; got 0"):
        _checks.check_positive_int("units", 0)
    with pytest.raises(ArgumentError, match="^seed must be a non-negative int; got -1"):
        _checks.check_seed("seed", np.int64(-1))
    assert _checks.check_seed("seed", 0) == 0


def test_number_checks():
    for value in (2, np.int64(2), 2.0, np.float32(2.0)):
        assert _checks.check_number("rate", value) == 2.0
        assert _checks.check_positive_number("rate", value) == 2.0
    for value in (True, np.bool_(False), "2", None, float("nan"), float("inf")):
        with pytest.raises(ArgumentError, match="^rate must be a finite number"):
            _checks.check_number("rate", value)
    with pytest.raises(ArgumentError, match="^rate must be a finite number > 0"):
        _checks.check_positive_number("rate", 0)
    with pytest.raises(ArgumentError, match=r"^x must be a finite number in \(1, 2\]"):
        _checks.check_number("x", 1, 1, 2, low_open=True)


def test_check_fraction():
    assert _checks.check_fraction("dropout", 0) == 0.0
    assert _checks.check_fraction("dropout", np.float64(0.5)) == 0.5
    for value in (1, 1.0, -0.1, True, "0.5"):
        with pytest.raises(ArgumentError, match=r"^dropout must be a finite number in \[0, 1\)"):
            _checks.check_fraction("dropout", value)


def test_check_bool():
    assert _checks.check_bool("shuffle", np.bool_(True)) is True
    assert _checks.check_bool("shuffle", False) is False
    for value in (1, 0, np.int64(1), "True", None):
        with pytest.raises(ArgumentError, match="^shuffle must be True or False"):
            _checks.check_bool("shuffle", value)


def test_check_choice():
    assert _checks.check_choice("cell", "gru", ("lstm", "gru")) == "gru"
    for value in ("GRU", 1, None):
        with pytest.raises(ArgumentError, match="^cell must be one of 'lstm', 'gru'"):
            _checks.check_choice("cell", value, ("lstm", "gru"))
    with pytest.raises(ArgumentError, match="^flag must be one of 1, 2"):
        _checks.check_choice("flag", True, (1, 2))  # True == 1, but a bool is not the int 1


def test_check_callable():
    assert _checks.check_callable("score", len) is len
    with pytest.raises(ArgumentError, match="^score must be callable; got str"):
        _checks.check_callable("score", "len")


def test_check_array():
    np.testing.assert_array_equal(_checks.check_array("x", [[1, 2]], 2), [[1, 2]])
    with pytest.raises(ArgumentError, match="^x must hold numbers"):
        _checks.check_array("x", ["a", "b"])
    with pytest.raises(ArgumentError, match="^x must be a 2-D array; got shape \\(3,\\)"):
        _checks.check_array("x", [1, 2, 3], 2)
    with pytest.raises(ArgumentError, match="^x must not be empty"):
        _checks.check_array("x", [])
    with pytest.raises(ArgumentError, match="^x contains NaN"):
        _checks.check_array("x", [1.0, np.nan], finite=True)
    with pytest.raises(ArgumentError, match="^x must be an array; it could not be converted"):
        _checks.check_array("x", [[1, 2], [3]])


def test_check_matrix_and_check_vector():
    assert _checks.check_matrix("x", np.ones((2, 3)), n_columns=3).shape == (2, 3)
    with pytest.raises(ArgumentError, match="^x has 3 features but 4 were expected"):
        _checks.check_matrix("x", np.ones((2, 3)), n_columns=4)
    with pytest.raises(ArgumentError, match="^x must be a 2-D array"):
        _checks.check_matrix("x", np.ones(3))
    assert _checks.check_vector("y", [1, 2], length=2).shape == (2,)
    with pytest.raises(ArgumentError, match="^y has 2 entries but 3 were expected"):
        _checks.check_vector("y", [1, 2], length=3)
    with pytest.raises(ArgumentError, match="^y contains NaN"):
        _checks.check_vector("y", [1.0, np.inf])


def test_check_series():
    series = _checks.check_series("y_train", [1, 2, 3])
    assert series.dtype == np.float64 and series.shape == (3,)
    for bad, message in (("abc", "a string"), (np.ones((2, 2)), "1-D"), ([1.0, np.nan], "NaN"), ([], "empty")):
        with pytest.raises(ArgumentError, match=f"^y_train .*{message}"):
            _checks.check_series("y_train", bad)


def test_check_positive_ints():
    assert _checks.check_positive_ints("filters", [8, np.int64(16)]) == (8, 16)
    assert _checks.check_positive_ints("strides", np.array([1, 2]), length=2) == (1, 2)
    for bad, name in (((), "filters"), (8, "filters"), ((8, 0), r"filters\[1\]"), ((8, True), r"filters\[1\]"),
                      ((8, "16"), r"filters\[1\]")):
        with pytest.raises(ArgumentError, match=f"^{name} must be"):
            _checks.check_positive_ints("filters", bad)
    with pytest.raises(ArgumentError, match="^filters must have 3 entries"):
        _checks.check_positive_ints("filters", (8, 8), length=3)


def test_check_shape():
    assert _checks.check_shape("input_shape", np.int64(4)) == (4,)
    assert _checks.check_shape("input_shape", [8, 8, 1], ndim=3) == (8, 8, 1)
    for bad in (0, True, (8, 0), (8.0,), "8", (), None):
        with pytest.raises(ArgumentError, match="^input_shape must be an int >= 1 or a tuple"):
            _checks.check_shape("input_shape", bad)
    with pytest.raises(ArgumentError, match="^input_shape must have 3 entries"):
        _checks.check_shape("input_shape", (8, 8), ndim=3)


def test_check_string_and_check_instance():
    assert _checks.check_string("name", "loss") == "loss"
    assert _checks.check_string("prefix", "", non_empty=False) == ""
    for bad in ("", "  ", 3, None):
        with pytest.raises(ArgumentError, match="^name must be a non-empty string"):
            _checks.check_string("name", bad)
    day = datetime.date(2021, 3, 3)
    assert _checks.check_instance("date", day, datetime.date, "a datetime.date") is day
    with pytest.raises(ArgumentError, match="^date must be a datetime.date; got str"):
        _checks.check_instance("date", "2021-03-03", datetime.date, "a datetime.date")


# One bad argument to a public function of every module of utils ------------------------


def _data():
    from utils import data

    data.split_indices(10, val_fraction=1.5)


def _models():
    from utils import models

    models.build_mlp(64, 0)


def _training():
    from utils import training

    training.array_dataset(np.ones((4, 2)), np.ones(4), batch_size=0)


def _transformer():
    from utils import transformer

    transformer.causal_mask(0)


def _costs():
    from utils import costs

    costs.layer_costs("not a model")


def _plots():
    from utils import plots

    plots.plot_image_grid(np.zeros((1, 2, 2)), n_columns=True)


def _metrics():
    from utils import metrics

    metrics.mase([1.0], [1.0], [1.0, 2.0, 3.0], season_length=0)


def _sequences():
    from utils import sequences

    sequences.make_windows(np.arange(10.0), window=2.5, horizon=1)


def _devices():
    from utils import devices

    devices.backend_is("theano")


def _runtime():
    from utils import runtime

    runtime.seed_everything(-1)


def _conv():
    from utils.reference import conv

    conv.receptive_field([3, 0])


def _recurrent():
    from utils.reference import recurrent

    recurrent.split_gates(np.ones((2, 4)), True)


def _tabular():
    from utils.explain import tabular

    tabular.feature_grid(np.ones((3, 2)), feature=5)


@pytest.mark.parametrize(
    "call, argument",
    [
        (_data, "val_fraction"), (_models, "n_outputs"), (_training, "batch_size"),
        (_transformer, "query_length"), (_costs, "model"), (_plots, "n_columns"), (_metrics, "season_length"),
        (_sequences, "window"), (_devices, "name"), (_runtime, "seed"), (_conv, r"kernel_sizes\[1\]"),
        (_recurrent, "n_gates"), (_tabular, "feature"),
    ],
    ids=lambda value: value.__name__.strip("_") if callable(value) else None,
)
def test_every_module_raises_argument_error_naming_the_argument(call, argument):
    with pytest.raises(ArgumentError, match=f"^{argument} must"):
        call()


def test_build_mlp_accepts_a_numpy_integer_number_of_outputs():
    from utils.models import build_mlp

    y = np.array([0, 3, 9])
    model = build_mlp(64, y.max() + 1)  # a NumPy integer
    assert model.output.shape[-1] == 10
    model = build_mlp(np.int64(64), np.int64(10), hidden_units=(np.int64(8),))
    assert model.output.shape[-1] == 10 and model.count_params() == 64 * 8 + 8 + 8 * 10 + 10
