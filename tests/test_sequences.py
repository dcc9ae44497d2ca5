"""utils.sequences: windowing, the CO2 loader, forecasting baselines, metrics, the date task."""

import datetime

import numpy as np
import pytest

from utils import data, metrics
from utils import sequences as seq


# make_windows ------------------------------------------------------------------------


def test_make_windows_pairs_each_window_with_the_values_that_follow():
    series = np.arange(10)
    inputs, targets = seq.make_windows(series, window=3, horizon=2)
    assert inputs.shape == (6, 3) and targets.shape == (6, 2)
    np.testing.assert_array_equal(inputs[0], [0, 1, 2])
    np.testing.assert_array_equal(targets[0], [3, 4])
    np.testing.assert_array_equal(inputs[-1], [5, 6, 7])
    np.testing.assert_array_equal(targets[-1], [8, 9])


def test_make_windows_stride_and_features():
    series = np.stack([np.arange(12), -np.arange(12)], axis=1)
    inputs, targets = seq.make_windows(series, window=4, horizon=1, stride=3)
    assert inputs.shape == (3, 4, 2) and targets.shape == (3, 1, 2)
    np.testing.assert_array_equal(inputs[1, :, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(targets[2, 0], [10, -10])


def test_make_windows_matches_keras_timeseries_dataset():
    import utils

    utils.setup(quiet=True)
    import keras

    series = np.arange(30, dtype="float32")
    inputs, targets = seq.make_windows(series, window=5, horizon=1)
    dataset = keras.utils.timeseries_dataset_from_array(
        series[:-1], series[5:], sequence_length=5, batch_size=100, shuffle=False
    )
    keras_inputs, keras_targets = next(iter(dataset))
    np.testing.assert_array_equal(np.asarray(keras_inputs), inputs)
    np.testing.assert_array_equal(np.asarray(keras_targets), targets[:, 0])


def test_make_windows_rejects_a_window_longer_than_the_series():
    with pytest.raises(ValueError, match=r"window \(11\) is longer than the series \(10"):
        seq.make_windows(np.arange(10), window=11, horizon=1)


@pytest.mark.parametrize("horizon", [0, -3])
def test_make_windows_rejects_a_horizon_that_is_not_positive(horizon):
    with pytest.raises(ValueError, match="horizon must be a positive"):
        seq.make_windows(np.arange(10), window=3, horizon=horizon)


def test_make_windows_rejects_window_plus_horizon_too_long_and_bad_types():
    with pytest.raises(ValueError, match="window \\+ horizon"):
        seq.make_windows(np.arange(10), window=8, horizon=3)
    with pytest.raises(TypeError, match="window must be a positive int"):
        seq.make_windows(np.arange(10), window=2.5, horizon=1)
    with pytest.raises(ValueError, match="^series must be 1-D"):
        seq.make_windows(np.zeros((3, 3, 3)), window=1, horizon=1)
    with pytest.raises(ValueError, match="stride"):
        seq.make_windows(np.arange(10), window=2, horizon=1, stride=0)


# load_co2 ----------------------------------------------------------------------------


def test_load_co2_fills_missing_weeks_by_time_interpolation():
    frame = data.load_co2()
    raw = data.load_co2(missing="keep")
    assert len(frame) == len(raw) == 2284
    assert frame.index.freqstr == "W-SAT"
    assert frame["was_missing"].sum() == raw["co2"].isna().sum() == 59
    assert not frame["co2"].isna().any()
    measured = ~frame["was_missing"]
    np.testing.assert_array_equal(frame.loc[measured, "co2"], raw.loc[measured, "co2"])
    # an interpolated week lies between its measured neighbours
    position = int(np.flatnonzero(frame["was_missing"].to_numpy())[0])
    before, after = frame["co2"].iloc[position - 1], frame["co2"].iloc[position + 1]
    assert min(before, after) - 1e-9 <= frame["co2"].iloc[position] <= max(before, after) + 1e-9


def test_load_co2_rejects_an_unknown_missing_policy():
    with pytest.raises(ValueError, match="missing must be one of 'interpolate', 'keep'"):
        data.load_co2(missing="drop")


# Baselines and metrics ---------------------------------------------------------------


def test_last_value_and_seasonal_naive_forecasts():
    series = np.arange(20, dtype=float)
    np.testing.assert_array_equal(seq.last_value_forecast(series, [5, 9], 3), [[5, 5, 5], [9, 9, 9]])
    forecast = seq.seasonal_naive_forecast(series, np.array([9]), horizon=6, season_length=4)
    # step h predicts series[9 + h - 4 * ceil(h / 4)]
    np.testing.assert_array_equal(forecast, [[6, 7, 8, 9, 6, 7]])


def test_seasonal_naive_is_exact_on_a_periodic_series():
    series = np.tile([1.0, 3.0, 2.0, 5.0], 6)
    forecast = seq.seasonal_naive_forecast(series, np.array([7, 12]), horizon=4, season_length=4)
    truth = np.stack([series[8:12], series[13:17]])
    np.testing.assert_array_equal(forecast, truth)


def test_baselines_reject_bad_input():
    with pytest.raises(ValueError, match="origins must lie"):
        seq.seasonal_naive_forecast(np.arange(20.0), np.array([2]), 2, season_length=4)
    with pytest.raises(TypeError, match="origins"):
        seq.last_value_forecast(np.arange(20.0), np.array([2.5]), 2)
    with pytest.raises(ValueError, match="^series contains NaN"):
        seq.last_value_forecast(np.array([1.0, np.nan, 2.0]), np.array([2]), 1)
    with pytest.raises(ValueError, match="horizon"):
        seq.last_value_forecast(np.arange(20.0), np.array([2]), 0)


def test_trend_seasonal_regression_recovers_a_noise_free_series():
    t = np.arange(300)
    period = 365.25 / 7
    y = 300 + 0.03 * t + 2.0 * np.sin(2 * np.pi * t / period) - 0.5 * np.cos(4 * np.pi * t / period)
    model = seq.TrendSeasonalRegression(period=period, n_harmonics=2).fit(t[:200], y[:200])
    np.testing.assert_allclose(model.predict(t[200:]), y[200:], atol=1e-8)
    assert model.predict(np.array([[1, 2], [3, 4]])).shape == (2, 2)


def test_trend_seasonal_regression_rejects_bad_input():
    with pytest.raises(ValueError, match="period"):
        seq.TrendSeasonalRegression(period=1)
    with pytest.raises(RuntimeError, match="fit"):
        seq.TrendSeasonalRegression(period=12).predict([1, 2])
    with pytest.raises(ValueError, match="^t and y must have the same length"):
        seq.TrendSeasonalRegression(period=12).fit(np.arange(10), np.arange(11.0))


def test_mae_and_mase():
    assert metrics.mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    train = np.array([0.0, 1.0, 3.0, 6.0])  # one-step naive errors 1, 2, 3: scale 2
    assert metrics.mase([10.0], [13.0], train) == pytest.approx(1.5)
    assert metrics.mase([10.0], [13.0], train, season_length=2) == pytest.approx(3 / 4)  # errors 3, 5


def test_mae_and_mase_reject_bad_input():
    with pytest.raises(ValueError, match="^y_true and y_pred must .* same shape"):
        metrics.mae([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="^y_train: its naive in-sample error is zero"):
        metrics.mase([1.0], [2.0], np.ones(10))
    with pytest.raises(ValueError, match="longer than season_length"):
        metrics.mase([1.0], [2.0], np.arange(3.0), season_length=3)


# Dates -------------------------------------------------------------------------------


def test_format_date_styles():
    date = datetime.date(2021, 3, 3)
    assert data.format_date(date, "ordinal_of") == "3rd of March 2021"
    assert data.format_date(date, "month_day_year") == "March 3, 2021"
    assert data.format_date(date, "day_mon_year") == "3 Mar 2021"
    assert data.format_date(date, "dotted") == "03.03.2021"
    assert data.format_date(date, "iso_slash") == "2021/3/3"
    assert data.format_date(datetime.date(2000, 1, 11), "ordinal_of") == "11th of January 2000"
    assert data.format_date(datetime.date(2000, 1, 22), "ordinal_of") == "22nd of January 2000"
    with pytest.raises(ValueError, match="style must be one of"):
        data.format_date(date, "roman")
    with pytest.raises(TypeError, match="datetime.date"):
        data.format_date("2021-03-03", "dotted")


def test_make_date_pairs_is_deterministic_and_correct():
    sources, targets = data.make_date_pairs(200, seed=1)
    assert (sources, targets) == data.make_date_pairs(200, seed=1)
    assert sources != data.make_date_pairs(200, seed=2)[0]
    for source, target in zip(sources, targets):
        date = datetime.date.fromisoformat(target)
        assert 1950 <= date.year <= 2049
        assert source in {data.format_date(date, style) for style in data.DATE_FORMATS}
    used = {style for style in data.DATE_FORMATS for s, t in zip(sources, targets)
            if data.format_date(datetime.date.fromisoformat(t), style) == s}
    assert used == set(data.DATE_FORMATS)


def test_make_date_pairs_rejects_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        data.make_date_pairs(0)
    with pytest.raises(ValueError, match="start_year <= end_year"):
        data.make_date_pairs(5, start_year=2000, end_year=1990)
    with pytest.raises(ValueError, match="styles"):
        data.make_date_pairs(5, styles=("roman",))


def test_char_vocabulary_round_trip_and_errors():
    vocabulary = seq.CharVocabulary(["2021-03-03", "1999-12-31"])
    assert len(vocabulary) == 2 + len(set("2021-03-031999-12-31"))
    ids = vocabulary.encode(["2021-03-03"], length=12)
    assert ids.shape == (1, 12) and ids[0, -1] == 0 and ids.min() == 0
    assert vocabulary.decode(ids) == ["2021-03-03"]
    with_start = vocabulary.encode(["12"], length=4, start=True)
    assert with_start[0, 0] == vocabulary.START and vocabulary.decode(with_start) == ["12"]
    with pytest.raises(ValueError, match="needs 11 positions"):
        vocabulary.encode(["2021-03-03"], length=10, start=True)
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocabulary.encode(["x"], length=3)
    with pytest.raises(TypeError, match="sequence of strings"):
        seq.CharVocabulary("abc")
