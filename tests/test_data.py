"""Unit tests of utils/data.py: offline loaders with deterministic splits."""

import numpy as np
import pytest

from conftest import exactly
from utils import data


# split_indices -----------------------------------------------------------------------


def test_split_indices_are_deterministic_disjoint_and_complete():
    first = data.split_indices(100, 0.15, 0.2, split_seed=3)
    second = data.split_indices(100, 0.15, 0.2, split_seed=3)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    train, val, test = first
    assert (len(train), len(val), len(test)) == (65, 15, 20)
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    np.testing.assert_array_equal(np.sort(np.concatenate(first)), np.arange(100))


def test_split_seed_changes_the_split():
    a = data.split_indices(100, 0.15, 0.2, split_seed=0)[2]
    b = data.split_indices(100, 0.15, 0.2, split_seed=1)[2]
    assert not np.array_equal(a, b)


def test_split_does_not_depend_on_numpy_global_state():
    np.random.seed(123)
    a = data.split_indices(50, 0.2, 0.2, split_seed=0)
    np.random.seed(456)
    b = data.split_indices(50, 0.2, 0.2, split_seed=0)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_stratified_split_keeps_class_proportions():
    labels = np.repeat([0, 1, 2, 3], [40, 40, 20, 100])
    train, val, test = data.split_indices(len(labels), 0.1, 0.2, split_seed=0, stratify=labels)
    for part, fraction in ((test, 0.2), (val, 0.1)):
        counts = np.bincount(labels[part], minlength=4)
        np.testing.assert_array_equal(counts, np.round(fraction * np.array([40, 40, 20, 100])))
    assert len(train) + len(val) + len(test) == len(labels)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"val_fraction": -0.1}, "val_fraction"),
        ({"val_fraction": 1.0}, "val_fraction"),
        ({"test_fraction": 1.5}, "test_fraction"),
        ({"test_fraction": float("nan")}, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.5}, "below 1"),
        ({"split_seed": -1}, "split_seed"),
        ({"split_seed": 1.5}, "split_seed"),
        ({"split_seed": True}, "split_seed"),
    ],
)
def test_bad_fractions_and_seeds_raise_value_errors_naming_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.split_indices(100, **kwargs)


def test_non_numeric_fraction_raises_type_error():
    with pytest.raises(TypeError, match="val_fraction"):
        data.split_indices(100, val_fraction="0.1")


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_bad_n_raises(n):
    with pytest.raises(ValueError, match="n must be a positive int"):
        data.split_indices(n)


def test_stratify_of_wrong_length_raises():
    with pytest.raises(ValueError, match="one label per example"):
        data.split_indices(10, stratify=[0, 1, 0])


# standardize -------------------------------------------------------------------------


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    x_train = rng.normal(3.0, 2.0, size=(200, 3))
    x_other = rng.normal(-10.0, 5.0, size=(50, 3))
    (train_std, other_std), mean, scale = data.standardize(x_train, x_other)
    np.testing.assert_allclose(mean, x_train.mean(axis=0))
    np.testing.assert_allclose(scale, x_train.std(axis=0))
    np.testing.assert_allclose(train_std.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(train_std.std(axis=0), 1.0, atol=1e-5)
    np.testing.assert_allclose(other_std, (x_other - mean) / scale, rtol=1e-5, atol=1e-5)
    assert train_std.dtype == np.float32


def test_standardize_keeps_constant_features_finite():
    x = np.column_stack([np.ones(10), np.arange(10.0)])
    (x_std,), _, scale = data.standardize(x)
    assert scale[0] == 1.0 and np.all(x_std[:, 0] == 0.0)


def test_standardize_rejects_bad_input():
    with pytest.raises(ValueError, match="^x_train must be a 2-D array"):
        data.standardize(np.zeros(5))
    with pytest.raises(ValueError, match="^x_train contains NaN"):
        data.standardize(np.array([[1.0], [np.nan]]))
    with pytest.raises(ValueError, match=r"^others\[0\] must have shape \(n, 2\)"):
        data.standardize(np.zeros((4, 2)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=exactly(
            "x_train must have at least one row to take the statistics from; got shape (0, 3).")):
        data.standardize(np.zeros((0, 3)), np.zeros((2, 3)))


def test_standardize_accepts_tables_without_columns_and_empty_other_parts():
    (train, other), mean, scale = data.standardize(np.zeros((4, 0)), np.zeros((2, 0)))
    assert train.shape == (4, 0) and other.shape == (2, 0) and mean.shape == scale.shape == (0,)
    (train, empty), _, _ = data.standardize(np.ones((3, 2)), np.zeros((0, 2)))
    assert empty.shape == (0, 2) and empty.dtype == np.float32


# loaders -----------------------------------------------------------------------------


def _assert_disjoint_rows(split):
    rows = [set(map(bytes, np.ascontiguousarray(p))) for p in (split.x_train, split.x_val, split.x_test)]
    # digits contains a few exact duplicate images; allow those, but no wholesale overlap
    assert len(rows[0] & rows[2]) <= 3 and len(rows[0] & rows[1]) <= 3


def test_load_digits_shapes_range_and_stratification():
    split = data.load_digits()
    assert split.sizes() == (1169, 269, 359)
    assert split.x_train.shape[1:] == (64,) and split.x_train.dtype == np.float32
    assert 0.0 <= split.x_train.min() and split.x_train.max() <= 1.0
    assert split.mean is None  # images are scaled, not standardised
    counts = np.bincount(split.y_test, minlength=10)
    assert counts.min() >= 35 and counts.max() <= 37  # about 20% of each class
    assert split.y_train.dtype == np.int64
    _assert_disjoint_rows(split)


def test_load_digits_is_deterministic_and_split_seed_matters():
    a, b, c = data.load_digits(), data.load_digits(), data.load_digits(split_seed=1)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_train, b.y_train)
    assert not np.array_equal(a.y_test, c.y_test)


def test_load_digits_as_images():
    split = data.load_digits(as_images=True)
    assert split.x_train.shape[1:] == (8, 8, 1) and split.x_test.shape[1:] == (8, 8, 1)
    with pytest.raises(TypeError, match="as_images"):
        data.load_digits(as_images="yes")


def test_load_diabetes_standardises_on_train_only():
    split = data.load_diabetes()
    assert split.sizes() == (288, 66, 88)
    np.testing.assert_allclose(split.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(split.x_train.std(axis=0), 1.0, atol=1e-4)
    assert np.abs(split.x_test.mean(axis=0)).max() > 1e-3  # test data was not refitted
    from sklearn.datasets import load_diabetes

    raw = load_diabetes()
    train, _, test = data.split_indices(442, 0.15, 0.2, 0)
    np.testing.assert_allclose(split.mean, raw.data[train].mean(axis=0))
    np.testing.assert_allclose(split.x_test, (raw.data[test] - split.mean) / split.scale, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(split.y_test, raw.target[test])  # target keeps its units
    _assert_disjoint_rows(split)


@pytest.mark.parametrize("loader", [data.load_digits, data.load_diabetes, data.load_breast_cancer])
def test_loaders_reject_bad_fractions(loader):
    with pytest.raises(ValueError, match="val_fraction"):
        loader(val_fraction=1.2)
    with pytest.raises(ValueError, match=r"^val_fraction \+ test_fraction must be below 1"):
        loader(val_fraction=0.5, test_fraction=0.6)
    with pytest.raises(ValueError, match="split_seed"):
        loader(split_seed=-3)


def test_load_breast_cancer_is_binary_and_stratified():
    split = data.load_breast_cancer()
    assert set(np.unique(split.y_train)) == {0, 1}
    assert abs(split.y_test.mean() - split.y_train.mean()) < 0.02


def test_load_mnist1d_defaults_and_determinism():
    split = data.load_mnist1d()
    n_train, n_val, n_test = split.sizes()
    assert n_train + n_val == 4000 and n_test == 1000
    assert n_val == 399 or n_val == 400
    assert split.x_train.shape[1:] == (40,) and split.x_train.dtype == np.float32
    np.testing.assert_array_equal(np.unique(split.y_test), np.arange(10))
    again = data.load_mnist1d()
    np.testing.assert_array_equal(split.x_val, again.x_val)
    _assert_disjoint_rows(split)


def test_load_mnist1d_does_not_disturb_numpy_global_rng():
    data._mnist1d_arrays.cache_clear()  # force the generator to run again
    np.random.seed(2024)
    expected = np.random.random(5)
    np.random.seed(2024)
    data.load_mnist1d()
    np.testing.assert_array_equal(np.random.random(5), expected)


def test_load_mnist1d_as_sequence_and_bad_arguments():
    split = data.load_mnist1d(as_sequence=True)
    assert split.x_train.shape[1:] == (40, 1)
    with pytest.raises(TypeError, match="as_sequence"):
        data.load_mnist1d(as_sequence=1)
    with pytest.raises(ValueError, match="val_fraction"):
        data.load_mnist1d(val_fraction=1.0)


def test_permute_positions_applies_one_permutation_everywhere():
    split = data.load_mnist1d()
    permuted, perm = data.permute_positions(split, seed=0)
    np.testing.assert_array_equal(permuted.x_test, split.x_test[:, perm])
    np.testing.assert_array_equal(permuted.x_train, split.x_train[:, perm])
    assert sorted(perm) == list(range(40)) and not np.array_equal(perm, np.arange(40))
    with pytest.raises(TypeError, match="DataSplit"):
        data.permute_positions(split.x_train)
    with pytest.raises(ValueError, match="seed"):
        data.permute_positions(split, seed=-1)


def test_datasplit_repr_and_n_features():
    split = data.load_digits(as_images=True)
    assert split.n_features == 64
    assert "digits" in repr(split) and "train 1169" in repr(split)


def test_mnist1d_published_baselines_are_the_papers_numbers():
    published = data.MNIST1D_PUBLISHED
    assert published["logistic_regression"] == 0.32 and published["mlp"] == 0.68
    assert published["cnn"] == 0.94 and published["gru"] == 0.91
    assert all(0.0 < value < 1.0 for value in published.values())


def test_loaders_name_their_parts_and_standardise_only_the_tables():
    cancer = data.load_breast_cancer()
    assert cancer.name == "breast_cancer" and cancer.target_names == ("malignant", "benign")
    assert cancer.feature_names[0] == "mean radius" and cancer.y_train.dtype == np.int64
    np.testing.assert_allclose(cancer.x_train.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(cancer.x_train.std(axis=0), 1.0, atol=1e-4)
    assert cancer.mean.shape == cancer.scale.shape == (30,)
    diabetes = data.load_diabetes()
    assert diabetes.name == "diabetes" and diabetes.target_names == ("progression",)
    assert diabetes.y_train.dtype == np.float32
    digits = data.load_digits()
    assert digits.name == "digits" and digits.target_names == tuple("0123456789")
    assert digits.feature_names[:2] == ("pixel_0_0", "pixel_0_1") and digits.feature_names[-1] == "pixel_7_7"


@pytest.mark.parametrize("loader", [data.load_digits, data.load_diabetes, data.load_breast_cancer])
def test_loaders_default_split_seed_is_zero(loader):
    np.testing.assert_array_equal(loader().y_test, loader(split_seed=0).y_test)
    np.testing.assert_array_equal(loader().x_val, loader(0.15, 0.2, 0).x_val)


def test_datasplit_repr_in_full():
    assert repr(data.load_digits()) == "DataSplit('digits': train 1169, val 269, test 359, x shape (64,))"


def test_standardize_scales_features_whose_spread_is_below_one():
    x = np.column_stack([np.linspace(0.0, 0.5, 20), np.linspace(0.0, 50.0, 20)])
    (x_std,), _, scale = data.standardize(x)
    np.testing.assert_allclose(scale, x.std(axis=0))
    np.testing.assert_allclose(x_std.std(axis=0), 1.0, atol=1e-5)


def test_permute_positions_keeps_labels_and_permutes_everything_positional():
    split = data.load_mnist1d()
    permuted, perm = data.permute_positions(split)
    again, same = data.permute_positions(split, seed=0)
    np.testing.assert_array_equal(perm, same)  # the default seed is 0
    np.testing.assert_array_equal(permuted.x_val, again.x_val)
    np.testing.assert_array_equal(permuted.x_val, split.x_val[:, perm])
    for part in ("y_train", "y_val", "y_test"):
        np.testing.assert_array_equal(getattr(permuted, part), getattr(split, part))
    assert permuted.feature_names == tuple(split.feature_names[i] for i in perm)
    assert permuted.target_names == split.target_names
    assert permuted.name == "mnist1d (positions permuted)"
    assert not np.array_equal(data.permute_positions(split, seed=1)[1], perm)
    bare = data.DataSplit(*(np.zeros((2, 3)) for _ in range(6)))  # no feature names
    assert data.permute_positions(bare)[0].feature_names == ()
    with pytest.raises(TypeError, match="^data must be a DataSplit; got ndarray"):
        data.permute_positions(split.x_train)
    with pytest.raises(ValueError, match="^seed must be"):
        data.permute_positions(split, seed=-1)


def test_split_indices_defaults_and_messages_name_the_argument():
    for a, b in zip(data.split_indices(50), data.split_indices(50, 0.15, 0.2, split_seed=0)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="^test_fraction must be"):
        data.split_indices(100, test_fraction=1.5)
    with pytest.raises(ValueError, match="^split_seed must be a non-negative int"):
        data.split_indices(100, split_seed=-1)
    with pytest.raises(ValueError, match="^val_fraction \\+ test_fraction must be below 1 so that training "
                                         "data remains; got 0.5 \\+ 0.6"):
        data.split_indices(100, 0.5, 0.6)


def test_split_indices_refuses_a_split_that_rounds_training_away():
    with pytest.raises(ValueError, match="^the split leaves no training examples; lower val_fraction or "
                                         "test_fraction.$"):
        data.split_indices(2, 0.45, 0.45)  # one validation and one test example, none to train on
    train, val, test = data.split_indices(3, 1 / 3, 1 / 3)  # one of each is fine
    assert (len(train), len(val), len(test)) == (1, 1, 1)


def test_table_loaders_target_dtypes_in_every_part():
    for split, dtype in ((data.load_digits(), np.int64), (data.load_diabetes(), np.float32)):
        assert split.y_train.dtype == split.y_val.dtype == split.y_test.dtype == dtype


def test_load_digits_pixels_span_zero_to_one_and_bad_flag_is_named():
    split = data.load_digits()
    assert split.x_train.min() == 0.0 and split.x_train.max() == 1.0  # 16 is the brightest pixel
    with pytest.raises(TypeError, match="^as_images must be True or False"):
        data.load_digits(as_images="yes")


def test_load_mnist1d_is_the_generators_data_with_a_stratified_validation_part():
    split = data.load_mnist1d()
    x, y, x_test, y_test = data._mnist1d_arrays(False)
    np.testing.assert_array_equal(split.x_test, x_test)
    np.testing.assert_array_equal(split.y_test, y_test)
    assert split.x_train.shape == (len(split.y_train), 40) and split.y_val.shape == (len(split.x_val),)
    expected = np.round(0.1 * np.bincount(y, minlength=10))
    np.testing.assert_array_equal(np.bincount(split.y_val, minlength=10), expected)
    assert split.feature_names == tuple(f"t{i}" for i in range(40))
    assert split.target_names == tuple("0123456789") and split.name == "mnist1d"
    np.testing.assert_array_equal(split.x_val, data.load_mnist1d(split_seed=0).x_val)  # the default seed
    other = data.load_mnist1d(split_seed=1)
    assert other.sizes() == split.sizes() and not np.array_equal(other.y_val, split.y_val)
    with pytest.raises(TypeError, match="^as_sequence must be True or False"):
        data.load_mnist1d(as_sequence=1)


def test_load_co2_is_indexed_by_date():
    assert data.load_co2().index.name == "date"


def test_ordinals_of_every_day_of_a_month():
    expected = ["1st", "2nd", "3rd"] + [f"{d}th" for d in range(4, 21)] + ["21st", "22nd", "23rd"] + [
        f"{d}th" for d in range(24, 31)] + ["31st"]
    import datetime

    days = [data.format_date(datetime.date(2021, 1, d), "ordinal_of").split(" ")[0] for d in range(1, 32)]
    assert days == expected
    with pytest.raises(TypeError, match="^date must be a datetime.date; got str"):
        data.format_date("2021-03-03", "dotted")


def test_make_date_pairs_covers_the_whole_year_range_and_checks_its_bounds():
    _, targets = data.make_date_pairs(3000, start_year=2000, end_year=2000)
    assert min(targets) == "2000-01-01" and max(targets) == "2000-12-31"
    assert data.make_date_pairs(5) == data.make_date_pairs(5, seed=0)
    _, targets = data.make_date_pairs(2000)
    assert min(targets)[:4] == "1950" and max(targets)[:4] == "2049"  # the default years
    assert data.make_date_pairs(2, start_year=1, end_year=1)[1][0].startswith("0001-")
    assert data.make_date_pairs(2, start_year=9999, end_year=9999)[1][0].startswith("9999-")
    with pytest.raises(ValueError, match="^start_year must be a positive int"):
        data.make_date_pairs(2, start_year=0)
    with pytest.raises(ValueError, match="^end_year must be a positive int"):
        data.make_date_pairs(2, start_year=1, end_year=0)
    with pytest.raises(ValueError, match="^need start_year <= end_year <= 9999; got 2000 and 10000"):
        data.make_date_pairs(2, start_year=2000, end_year=10000)
    with pytest.raises(ValueError, match="^seed must be a non-negative int"):
        data.make_date_pairs(2, seed=-1)
