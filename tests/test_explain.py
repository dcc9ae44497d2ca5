"""Unit tests of utils.explain: known answers, agreement with references, bad input."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge
from sklearn.metrics import r2_score

from conftest import exactly
from utils.explain import tabular as explain


class LinearModel:
    """f(x) = w . x + b, with a predict method (float64)."""

    def __init__(self, w, b=0.0):
        self.w = np.asarray(w, dtype=np.float64)
        self.b = b

    def predict(self, x):
        return np.asarray(x, dtype=np.float64) @ self.w + self.b


class SineModel(LinearModel):
    """f(x) = sum_j w_j sin(x_j): its gradient at x is w * cos(x)."""

    def predict(self, x):
        return np.sin(np.asarray(x, dtype=np.float64)) @ self.w


class ProbaModel:
    """Two class probabilities from a logistic function of w . x, and no predict method."""

    def __init__(self, w):
        self.w = np.asarray(w, dtype=np.float64)

    def predict_proba(self, x):
        p = 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) @ self.w)))
        return np.column_stack([1.0 - p, p])


def r2(y, p):
    return r2_score(y, p)


@pytest.fixture
def regression_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    w = np.array([2.0, -1.0, 0.0, 0.5])
    return x, x @ w, w


# ---------------------------------------------------------------- permutation


def test_permutation_importance_of_an_unused_feature_is_exactly_zero(regression_data):
    x, y, w = regression_data
    result = explain.permutation_importance(LinearModel(w), x, y, r2, n_repeats=7, random_state=3)
    assert result.importances.shape == (4, 7)
    assert np.all(result.importances[2] == 0.0)  # exactly, not approximately
    assert np.all(result.importances[[0, 1, 3]] > 0)
    assert result.baseline == pytest.approx(1.0)


def test_permutation_importance_orders_features_by_effect_size(regression_data):
    x, y, w = regression_data
    mean = explain.permutation_importance(LinearModel(w), x, y, r2, n_repeats=20).importances_mean
    assert list(np.argsort(-mean)) == [0, 1, 3, 2]


def test_permutation_importance_equals_scikit_learn():
    from sklearn.datasets import load_breast_cancer
    from sklearn.inspection import permutation_importance as sk_permutation_importance
    from sklearn.metrics import log_loss

    data = load_breast_cancer()
    x = (data.data - data.data.mean(0)) / data.data.std(0)
    model = LogisticRegression(max_iter=500).fit(x[:400], data.target[:400])
    for seed in (0, 4):
        ours = explain.permutation_importance(
            model, x[400:], data.target[400:], lambda y, p: -log_loss(y, p), n_repeats=4,
            random_state=seed, response="predict_proba", output=1,
        )
        theirs = sk_permutation_importance(
            model, x[400:], data.target[400:], scoring="neg_log_loss", n_repeats=4, random_state=seed
        )
        np.testing.assert_allclose(ours.importances, theirs.importances, rtol=0, atol=1e-12)


def test_permuting_a_group_permutes_the_columns_together(regression_data):
    x, y, w = regression_data
    x_dup = np.hstack([x, x[:, :1]])  # column 4 duplicates column 0
    model = LinearModel(np.r_[w[0] / 2, w[1:], w[0] / 2])
    result = explain.permutation_importance(model, x_dup, y, r2, n_repeats=10, features=[0, 4, (0, 4)])
    single = explain.permutation_importance(LinearModel(w), x, y, r2, n_repeats=10, features=[0])
    np.testing.assert_allclose(result.importances[2], single.importances[0], atol=1e-12)
    assert result.importances_mean[0] < 0.5 * result.importances_mean[2]


# ---------------------------------------------------------------- PDP / ICE


def test_partial_dependence_of_a_linear_model_is_a_line_with_slope_w(regression_data):
    x, _, w = regression_data
    grid = explain.feature_grid(x, 1, n_points=5)
    average, individual = explain.partial_dependence(LinearModel(w), x, 1, grid)
    assert individual.shape == (200, 5)
    np.testing.assert_allclose(np.diff(average) / np.diff(grid), w[1], atol=1e-12)
    np.testing.assert_allclose(average, individual.mean(axis=0))


def test_partial_dependence_equals_scikit_learn(regression_data):
    from sklearn.inspection import partial_dependence as sk_partial_dependence

    x, y, _ = regression_data
    model = LinearRegression().fit(x, y + 0.3 * x[:, 0] ** 2)
    grid = explain.feature_grid(x, 0, n_points=7)
    average, individual = explain.partial_dependence(model, x, 0, grid)
    ref = sk_partial_dependence(model, x, [0], custom_values={0: grid}, kind="both", method="brute")
    np.testing.assert_allclose(average, ref["average"][0], atol=1e-12)
    np.testing.assert_allclose(individual, ref["individual"][0], atol=1e-12)


# ---------------------------------------------------------------- LIME


def test_weighted_ridge_equals_scikit_learn_ridge():
    rng = np.random.default_rng(1)
    x, y, weights = rng.normal(size=(50, 3)), rng.normal(size=50), rng.uniform(0.1, 1, 50)
    coef, intercept = explain.weighted_ridge(x, y, weights, alpha=1.0)
    ref = Ridge(alpha=1.0).fit(x, y, sample_weight=weights)
    np.testing.assert_allclose(coef, ref.coef_, atol=1e-12)
    assert intercept == pytest.approx(ref.intercept_, abs=1e-12)
    assert explain.weighted_r2(y, x @ coef + intercept, weights) == pytest.approx(
        ref.score(x, y, sample_weight=weights), abs=1e-12
    )


def test_lime_recovers_the_weights_of_a_linear_model(regression_data):
    x, _, w = regression_data
    instance = x[5]
    result = explain.lime_tabular(
        LinearModel(w, b=1.0), instance, x, num_samples=2000, kernel_width=0.5, alpha=1e-9,
        sample_around_instance=True, random_state=0,
    )
    scale = x.std(axis=0)  # LIME's coefficients are per training standard deviation
    np.testing.assert_allclose(result.coef / scale, w, atol=1e-6)
    assert result.score == pytest.approx(1.0, abs=1e-9)
    assert result.local_prediction == pytest.approx(result.model_prediction, abs=1e-6)


def test_lime_with_a_small_kernel_recovers_the_local_gradient(regression_data):
    x, _, w = regression_data
    instance = x[7]
    model = SineModel(w)
    gradient = w * np.cos(instance) * x.std(axis=0)  # per training standard deviation
    small, wide = (
        explain.lime_tabular(
            model, instance, x, num_samples=5000, kernel_width=width, alpha=1e-6,
            sample_around_instance=True, random_state=1,
        )
        for width in (0.2, 5.0)
    )
    assert np.abs(small.coef - gradient).max() < 0.06
    assert np.abs(wide.coef - gradient).max() > 0.3  # a wide kernel averages the curvature in
    assert small.score > 0.99 > 0.9 > wide.score


def lime_package(x, model, instance, num_samples, random_state, **options):
    """The lime package's surrogate for P(class 1), continuous features: (coef, intercept, score)."""
    from lime.lime_tabular import LimeTabularExplainer

    package = LimeTabularExplainer(
        x, mode="classification", discretize_continuous=False, feature_selection="none",
        random_state=random_state, **options,
    ).explain_instance(instance, model.predict_proba, labels=(1,), num_features=x.shape[1], num_samples=num_samples)
    coef = np.zeros(x.shape[1])
    for j, value in package.local_exp[1]:
        coef[j] = value
    return coef, package.intercept[1], package.score


def test_lime_equals_the_lime_package():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 5)) * [1, 2, 3, 4, 5] + 1
    model = LogisticRegression().fit(x, (x[:, 0] + x[:, 1] > 2).astype(int))
    for width, around in ((None, False), (1.5, True)):
        ours = explain.lime_tabular(
            model, x[3], x, num_samples=500, kernel_width=width, sample_around_instance=around,
            random_state=7, response="predict_proba", output=1,
        )
        coef, intercept, score = lime_package(x, model, x[3], 500, 7, kernel_width=width,
                                              sample_around_instance=around)
        np.testing.assert_allclose(ours.coef, coef, atol=1e-10)
        assert ours.intercept == pytest.approx(intercept, abs=1e-10)
        assert ours.score == pytest.approx(score, abs=1e-10)


# ---------------------------------------------------------------- surrogates, wrappers


def test_surrogate_fidelity():
    assert explain.surrogate_fidelity(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == 0.75
    y = np.array([1.0, 2.0, 3.0])
    assert explain.surrogate_fidelity(y, y, task="regression") == 1.0
    with pytest.raises(ValueError, match=exactly("task must be 'classification' or 'regression'; got 'ranking'.")):
        explain.surrogate_fidelity(y, y, task="ranking")
    with pytest.raises(ValueError, match=exactly("reference and surrogate must be non-empty 1-D arrays of the same length; got shapes (3,) and (2,).")):
        explain.surrogate_fidelity(y, y[:2])


def test_surrogate_fidelity_for_regression_is_r2_against_the_model():
    # R^2 is not symmetric: 1 - sum((ref - sur)^2) / sum((ref - mean(ref))^2) = 1 - 2/5 here,
    # while the swapped call would divide by the surrogate's spread: 1 - 2/1 = -1.
    reference, surrogate = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 3.0])
    assert explain.surrogate_fidelity(reference, surrogate, task="regression") == pytest.approx(0.6)
    assert explain.surrogate_fidelity(surrogate, reference, task="regression") == pytest.approx(-1.0)


def test_lime_kernels_follow_the_paper_and_the_package():
    d, width = np.array([0.0, 1.0, 2.0, 3.0]), 1.5
    np.testing.assert_allclose(explain.KERNELS["paper"](d, width), np.exp(-(d**2) / width**2))
    np.testing.assert_allclose(explain.KERNELS["lime"](d, width), np.exp(-(d**2) / (2 * width**2)))


def test_lime_paper_kernel_equals_the_package_kernel_at_width_over_sqrt_2(regression_data):
    # exp(-d^2 / w^2) = sqrt(exp(-d^2 / (w / sqrt 2)^2)): the same weights, so the same surrogate.
    x, _, w = regression_data
    model = SineModel(w)
    paper = explain.lime_tabular(model, x[3], x, num_samples=500, kernel_width=1.2, kernel="paper", random_state=0)
    package = explain.lime_tabular(model, x[3], x, num_samples=500, kernel_width=1.2 / np.sqrt(2), random_state=0)
    np.testing.assert_allclose(paper.coef, package.coef, rtol=1e-10, atol=1e-12)
    other = explain.lime_tabular(model, x[3], x, num_samples=500, kernel_width=1.2, random_state=0)
    assert np.abs(other.coef - paper.coef).max() > 1e-3


def test_counting_model_counts_rows(regression_data):
    x, y, w = regression_data
    counter = explain.CountingModel(LinearModel(w))
    explain.permutation_importance(counter, x, y, r2, n_repeats=3)
    assert counter.rows == 200 * (1 + 4 * 3) and counter.calls == 13


@pytest.fixture(scope="module")
def keras_classifier():
    import utils

    utils.setup(quiet=True)
    from utils.models import build_mlp

    model = build_mlp(3, 1, hidden_units=(4,), output_activation="sigmoid")
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return explain.KerasBinaryClassifier(model)


def test_keras_wrapper_is_a_scikit_learn_classifier(keras_classifier):
    from sklearn.base import is_classifier
    from sklearn.inspection import permutation_importance as sk_permutation_importance

    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(int)
    assert is_classifier(keras_classifier)
    proba = keras_classifier.predict_proba(x)
    assert proba.shape == (20, 2) and proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(keras_classifier.predict(x), (proba[:, 1] >= 0.5).astype(int))
    result = sk_permutation_importance(keras_classifier, x, y, scoring="neg_log_loss", n_repeats=2)
    assert result.importances.shape == (3, 2)
    keras_classifier.fit(x, y, epochs=1)


def test_keras_wrapper_is_fitted_once_its_model_is_built():
    import keras
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    model = keras.Sequential([keras.layers.Dense(1, activation="sigmoid")])  # no input shape: not built yet
    wrapper = explain.KerasBinaryClassifier(model)
    with pytest.raises(NotFittedError):
        check_is_fitted(wrapper)
    model.build((None, 3))
    check_is_fitted(wrapper)


def test_keras_wrapper_predicts_with_its_threshold(keras_classifier):
    x = np.random.default_rng(1).normal(size=(40, 3)).astype(np.float32)
    p = keras_classifier.predict_proba(x)[:, 1]
    counts = []
    for quantile in (0.25, 0.75):  # two thresholds that label different numbers of rows positive
        threshold = float(np.quantile(p, quantile))
        labels = explain.KerasBinaryClassifier(keras_classifier.model, threshold=threshold).predict(x)
        np.testing.assert_array_equal(labels, (p >= threshold).astype(int))
        counts.append(int(labels.sum()))
    assert counts[0] > counts[1]  # a predict that ignored the threshold would give equal counts


# ---------------------------------------------------------------- bad input


def test_feature_count_mismatch_is_rejected(regression_data, keras_classifier):
    x, y, w = regression_data
    with pytest.raises(ValueError, match=exactly("instance has 3 features but training_data has 4.")):
        explain.lime_tabular(LinearModel(w), x[0, :3], x)
    with pytest.raises(ValueError, match=exactly("x has 4 features but 3 were expected (one per column); got shape (200, 4).")):
        keras_classifier.predict_proba(x)
    with pytest.raises(ValueError, match=exactly("features must hold column indices in [0, 4) or tuples of them; got 4.")):
        explain.permutation_importance(LinearModel(w), x, y, r2, features=[4])
    with pytest.raises(ValueError, match=exactly("feature must be an int in [0, 3]; got 4.")):
        explain.partial_dependence(LinearModel(w), x, 4, [0.0, 1.0])
    with pytest.raises(ValueError, match=exactly("y must be 1-D with one target per row of x (200); got shape (10,).")):
        explain.permutation_importance(LinearModel(w), x, y[:10], r2)


def test_model_without_predict_is_rejected(regression_data):
    x, y, _ = regression_data
    with pytest.raises(TypeError, match=exactly("model must have a callable 'predict' method (a fitted scikit-learn estimator, a KerasBinaryClassifier, ...); got object without one.")):
        explain.permutation_importance(object(), x, y, r2)
    with pytest.raises(TypeError, match=exactly("model must have a callable 'predict_proba' method (a fitted scikit-learn estimator, a KerasBinaryClassifier, ...); got LinearModel without one.")):
        explain.partial_dependence(LinearModel([1, 2, 3, 4]), x, 0, [0.0], response="predict_proba")
    with pytest.raises(TypeError, match=exactly("model must have a callable 'predict' method (a fitted scikit-learn estimator, a KerasBinaryClassifier, ...); got str without one.")):
        explain.lime_tabular("not a model", x[0], x)
    with pytest.raises(TypeError, match=exactly("model must have a predict or predict_proba method; got int.")):
        explain.CountingModel(42)
    with pytest.raises(TypeError, match=exactly("model must be a Keras model (with predict_on_batch); got LinearModel.")):
        explain.KerasBinaryClassifier(LinearModel([1.0])).predict_proba(x)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_rejected(regression_data, bad):
    x, y, w = regression_data
    broken = x.copy()
    broken[3, 1] = bad
    with pytest.raises(ValueError, match=exactly("x contains NaN or infinite values; it must hold finite numbers.")):
        explain.permutation_importance(LinearModel(w), broken, y, r2)
    with pytest.raises(ValueError, match=exactly("x contains NaN or infinite values; it must hold finite numbers.")):
        explain.partial_dependence(LinearModel(w), broken, 0, [0.0])
    with pytest.raises(ValueError, match=exactly("training_data contains NaN or infinite values; it must hold finite numbers.")):
        explain.lime_tabular(LinearModel(w), x[0], broken)
    with pytest.raises(ValueError, match=exactly("instance contains NaN or infinite values; it must hold finite numbers.")):
        explain.lime_tabular(LinearModel(w), broken[3], x)
    with pytest.raises(ValueError, match=exactly("grid contains NaN or infinite values; it must hold finite numbers.")):
        explain.partial_dependence(LinearModel(w), x, 0, [0.0, bad])


def test_other_bad_arguments_are_named(regression_data):
    x, y, w = regression_data
    model = LinearModel(w)
    with pytest.raises(ValueError, match=exactly("n_repeats must be a positive int; got 0.")):
        explain.permutation_importance(model, x, y, r2, n_repeats=0)
    with pytest.raises(TypeError, match=exactly("score must be callable; got str.")):
        explain.permutation_importance(model, x, y, "r2")
    with pytest.raises(ValueError, match=exactly("kernel_width must be a finite number > 0; got 0.")):
        explain.lime_tabular(model, x[0], x, kernel_width=0)
    with pytest.raises(ValueError, match=exactly("kernel must be one of ['lime', 'paper']; got 'gaussian'.")):
        explain.lime_tabular(model, x[0], x, kernel="gaussian")
    with pytest.raises(ValueError, match=exactly("x must be a 2-D array; got shape (4,).")):
        explain.permutation_importance(model, x[0], y, r2)
    with pytest.raises(TypeError, match=exactly("x must hold numbers; got an array of dtype <U1.")):
        explain.permutation_importance(model, np.array([["a", "b"]]), y, r2)
    with pytest.raises(ValueError, match=exactly("output=1 was given, but model.predict returns one value per example.")):
        explain.model_output(model, x, output=1)
    with pytest.raises(ValueError, match=exactly("output: model.predict_proba returned shape (200, 2); pass output=<column> to pick one output.")):
        explain.model_output(explain.CountingModel(LogisticRegression().fit(x, y > 0)), x, "predict_proba")


def test_feature_grid_defaults_and_bounds(regression_data):
    x, _, _ = regression_data
    grid = explain.feature_grid(x, 3)  # 20 points from the 5th to the 95th percentile
    np.testing.assert_allclose(grid, np.linspace(*np.quantile(x[:, 3], [0.05, 0.95]), 20))
    whole = explain.feature_grid(x, 1, n_points=3, percentiles=(0, 1))  # the end points are allowed
    np.testing.assert_allclose(whole, [x[:, 1].min(), (x[:, 1].min() + x[:, 1].max()) / 2, x[:, 1].max()])
    for percentiles in ((0.5, 0.5), (-0.1, 0.9), (0.1, 1.5)):
        with pytest.raises(ValueError, match=exactly(
                f"percentiles must satisfy 0 <= low < high <= 1; got {percentiles!r}.")):
            explain.feature_grid(x, 0, percentiles=percentiles)
    for feature in (-1, 4):
        with pytest.raises(ValueError, match=exactly(f"feature must be an int in [0, 3]; got {feature}.")):
            explain.feature_grid(x, feature)
    with pytest.raises(ValueError, match=exactly("x must be a 2-D array; got shape (200,).")):
        explain.feature_grid(x[:, 0], 0)


def test_partial_dependence_and_lime_of_one_probability_column(regression_data):
    """A model with predict_proba only: response="predict_proba", output=1 picks P(class 1)."""
    x, _, w = regression_data
    model = ProbaModel(w)
    grid = np.array([-1.0, 0.0, 1.0])
    average, individual = explain.partial_dependence(model, x, 0, grid, response="predict_proba", output=1)
    for k, value in enumerate(grid):
        x_eval = x.copy()
        x_eval[:, 0] = value
        np.testing.assert_allclose(individual[:, k], model.predict_proba(x_eval)[:, 1])
    np.testing.assert_allclose(average, individual.mean(axis=0))
    result = explain.lime_tabular(model, x[0], x, num_samples=50, response="predict_proba", output=1)
    assert result.model_prediction == pytest.approx(model.predict_proba(x[:1])[0, 1])


def test_lime_defaults():
    """5,000 samples from the training distribution (not around the instance), seed 0, width 0.75 sqrt(p)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(60, 3)) * [1.0, 2.0, 0.5]
    model = SineModel([1.0, -2.0, 0.5])
    default = explain.lime_tabular(model, x[0], x)
    spelled = explain.lime_tabular(model, x[0], x, num_samples=5000, kernel_width=0.75 * np.sqrt(3),
                                   sample_around_instance=False, random_state=0)
    np.testing.assert_array_equal(default.coef, spelled.coef)
    assert default.kernel_width == spelled.kernel_width == pytest.approx(0.75 * np.sqrt(3))
    other = explain.lime_tabular(model, x[0], x, num_samples=5000, sample_around_instance=True, random_state=0)
    assert np.abs(other.coef - default.coef).max() > 1e-3
    two = explain.lime_tabular(model, x[0], x, num_samples=2)  # the fewest samples allowed
    assert two.coef.shape == (3,)
    with pytest.raises(ValueError, match=exactly("num_samples must be an int >= 2; got 1.")):
        explain.lime_tabular(model, x[0], x, num_samples=1)
    with pytest.raises(TypeError, match=exactly("sample_around_instance must be True or False; got 'no'.")):
        explain.lime_tabular(model, x[0], x, sample_around_instance="no")
    with pytest.raises(ValueError, match=exactly("random_state must be a non-negative int; got -1.")):
        explain.lime_tabular(model, x[0], x, random_state=-1)


def test_lime_equals_the_lime_package_with_a_constant_feature():
    """A constant training column has standard deviation 0: both use a scale of 1 for it."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(80, 3)) * [1.0, 3.0, 1.0]
    x[:, 2] = 4.0
    model = ProbaModel([1.0, -0.5, 0.2])
    ours = explain.lime_tabular(model, x[3], x, num_samples=300, random_state=2, response="predict_proba", output=1)
    coef, intercept, _ = lime_package(x, model, x[3], 300, 2)
    np.testing.assert_allclose(ours.coef, coef, atol=1e-10)
    assert ours.intercept == pytest.approx(intercept, abs=1e-10)


def test_surrogate_fidelity_edges():
    assert explain.surrogate_fidelity(np.array([1]), np.array([1])) == 1.0  # one example is enough
    with pytest.raises(ValueError, match=exactly(
            "reference and surrogate must be non-empty 1-D arrays of the same length; got shapes (0,) and (0,).")):
        explain.surrogate_fidelity(np.array([]), np.array([]))
    for name, reference, surrogate in (("reference", [1.0, np.nan], [1.0, 2.0]),
                                       ("surrogate", [1.0, 2.0], [np.inf, 2.0])):
        with pytest.raises(ValueError, match=exactly(f"{name} contains NaN or infinite values; it must hold finite numbers.")):
            explain.surrogate_fidelity(np.array(reference), np.array(surrogate), task="regression")


def test_counting_model_forwards_and_counts_each_method_and_resets():
    model = ProbaModel([1.0, 2.0])
    counter = explain.CountingModel(model)
    x = np.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
    np.testing.assert_array_equal(counter.predict_proba(x), model.predict_proba(x))
    np.testing.assert_array_equal(counter.predict_proba(x[:1]), model.predict_proba(x[:1]))
    assert (counter.rows, counter.calls) == (4, 2)
    counter.reset()
    assert (counter.rows, counter.calls) == (0, 0)
    linear = explain.CountingModel(LinearModel([1.0, 1.0]))
    np.testing.assert_array_equal(linear.predict(x), x.sum(axis=1))
    assert (linear.rows, linear.calls) == (3, 1)
    with pytest.raises(TypeError, match=exactly(
            "model must have a callable 'predict' method (a fitted scikit-learn estimator, a KerasBinaryClassifier, "
            "...); got ProbaModel without one.")):
        counter.predict(x)


class FixedOutput:
    """A model whose predict returns a fixed array, whatever it is given."""

    def __init__(self, values):
        self.values = np.asarray(values)

    def predict(self, x):
        return self.values


def test_model_output_shapes_columns_and_lengths():
    x = np.zeros((3, 2))
    column = explain.model_output(FixedOutput([[1], [2], [3]]), x)  # one column: flattened
    np.testing.assert_array_equal(column, [1.0, 2.0, 3.0])
    assert column.dtype == np.float64  # integers come back as float64
    two = FixedOutput([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]])
    np.testing.assert_array_equal(explain.model_output(two, x, output=0), [0.1, 0.2, 0.3])
    np.testing.assert_array_equal(explain.model_output(two, x, output=1), [0.9, 0.8, 0.7])
    for output in (-1, 2):
        with pytest.raises(ValueError, match=exactly(f"output must be an int in [0, 1]; got {output}.")):
            explain.model_output(two, x, output=output)
    with pytest.raises(ValueError, match=exactly(
            "output: model.predict returned shape (3, 1, 2); pass output=<column> to pick one output.")):
        explain.model_output(FixedOutput(np.zeros((3, 1, 2))), x)
    with pytest.raises(ValueError, match=exactly("model.predict returned 2 values for 3 examples.")):
        explain.model_output(FixedOutput([1.0, 2.0]), x)
    with pytest.raises(ValueError, match=exactly("model.predict returned 2 values for 3 examples.")):
        explain.model_output(FixedOutput([[1.0, 5.0], [2.0, 5.0]]), x, output=0)


def test_check_model_looks_for_predict_unless_told():
    model = LinearModel([1.0])
    assert explain.check_model(model) == model.predict
    proba = ProbaModel([1.0])
    assert explain.check_model(proba, "predict_proba") == proba.predict_proba
    with pytest.raises(TypeError, match=exactly(
            "model must have a callable 'predict' method (a fitted scikit-learn estimator, a KerasBinaryClassifier, "
            "...); got ProbaModel without one.")):
        explain.check_model(proba)
    with pytest.raises(TypeError, match=exactly("response must be a non-empty string; got 3.")):
        explain.check_model(model, 3)


def test_permutation_importance_defaults_and_a_probability_column(regression_data):
    x, y, w = regression_data
    default = explain.permutation_importance(LinearModel(w), x, y, r2)  # 5 repeats, random_state 0
    spelled = explain.permutation_importance(LinearModel(w), x, y, r2, n_repeats=5, random_state=0)
    assert default.importances.shape == (4, 5)
    np.testing.assert_array_equal(default.importances, spelled.importances)
    labels = (x @ w > 0).astype(int)
    proba = explain.permutation_importance(ProbaModel(w), x, labels, lambda t, p: -np.mean((t - p) ** 2),
                                           response="predict_proba", output=1, n_repeats=2)
    assert proba.importances.shape == (4, 2) and proba.importances_mean[2] == 0.0  # w[2] = 0: an unused feature
    with pytest.raises(ValueError, match=exactly("random_state must be a non-negative int; got -1.")):
        explain.permutation_importance(LinearModel(w), x, y, r2, random_state=-1)


def test_keras_wrapper_checks_its_model_and_labels_and_passes_fit_arguments(keras_classifier, capsys):
    import keras

    x = np.random.default_rng(2).normal(size=(40, 3)).astype(np.float32)
    for model, name in ((None, "NoneType"), ("not a model", "str"), (LinearModel([1.0]), "LinearModel")):
        with pytest.raises(TypeError, match=exactly(f"model must be a Keras model (with predict_on_batch); got {name}.")):
            explain.KerasBinaryClassifier(model).predict_proba(x)
    two_outputs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="sigmoid")])
    with pytest.raises(ValueError, match=exactly(
            "model: the Keras model must have one sigmoid output; it returned shape (40, 2).")):
        explain.KerasBinaryClassifier(two_outputs).predict_proba(x)
    with pytest.raises(ValueError, match=exactly("x has 2 features but 3 were expected (one per column); got shape (40, 2).")):
        keras_classifier.fit(x[:, :2], np.zeros(40))
    for labels in (np.zeros(39), np.full(40, 2), np.zeros((40, 1))):
        with pytest.raises(ValueError, match=exactly("y must be 1-D labels in {0, 1}, one per row of x.")):
            keras_classifier.fit(x, labels)
    iterations = int(keras_classifier.model.optimizer.iterations)
    assert keras_classifier.fit(x, (x[:, 0] > 0).astype(int), epochs=2, batch_size=10) is keras_classifier
    assert int(keras_classifier.model.optimizer.iterations) == iterations + 2 * 4  # the fit arguments reach fit
    assert capsys.readouterr().out == ""  # verbose=0 unless given


def test_keras_wrapper_threshold_is_inclusive_and_labels_are_integers(keras_classifier):
    x = np.random.default_rng(3).normal(size=(10, 3)).astype(np.float32)
    p = keras_classifier.predict_proba(x)[:, 1]
    labels = explain.KerasBinaryClassifier(keras_classifier.model, threshold=float(p[0])).predict(x)
    assert labels[0] == 1 and labels.dtype == np.int64  # p >= threshold is class 1
    with pytest.raises(ValueError, match=exactly("threshold must be a finite number > 0; got 0.0.")):
        explain.KerasBinaryClassifier(keras_classifier.model, threshold=0.0).predict(x)


def test_grid_and_ridge_arguments_are_checked(regression_data):
    x, y, _ = regression_data
    grid = explain.feature_grid(x, 0, n_points=4, percentiles=(0.1, 0.9))
    np.testing.assert_allclose(grid[[0, -1]], np.quantile(x[:, 0], [0.1, 0.9]))
    with pytest.raises(ValueError, match=exactly("percentiles must satisfy 0 <= low < high <= 1; got (0.9, 0.1).")):
        explain.feature_grid(x, 0, percentiles=(0.9, 0.1))
    with pytest.raises(ValueError, match=exactly("n_points must be an int >= 2; got 1.")):
        explain.feature_grid(x, 0, n_points=1)
    with pytest.raises(ValueError, match=exactly("weights must be non-negative with a positive sum.")):
        explain.weighted_ridge(x, y, -np.ones(len(y)))
    with pytest.raises(ValueError, match=exactly("weights has 3 entries but 200 were expected.")):
        explain.weighted_ridge(x, y, np.ones(3))
    with pytest.raises(ValueError, match=exactly("alpha must be a finite number >= 0; got -1.0.")):
        explain.weighted_ridge(x, y, np.ones(len(y)), alpha=-1.0)


def test_weighted_fits_name_bad_arguments_and_ignore_zero_weights():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    weights = np.r_[np.zeros(5), np.ones(25)]
    coef, intercept = explain.weighted_ridge(x, y, weights)
    coef_rest, intercept_rest = explain.weighted_ridge(x[5:], y[5:], np.ones(25), alpha=1.0)  # default alpha
    np.testing.assert_allclose(coef, coef_rest, atol=1e-12)
    assert intercept == pytest.approx(intercept_rest, abs=1e-12)
    assert np.all(np.isfinite(explain.weighted_ridge(x, y, np.full(30, 0.01))[0]))  # a sum below 1 is fine
    for bad in (np.r_[-1.0, np.ones(29)], np.zeros(30)):
        with pytest.raises(ValueError, match=exactly("weights must be non-negative with a positive sum.")):
            explain.weighted_ridge(x, y, bad)
    with pytest.raises(ValueError, match=exactly("x must be a 2-D array; got shape (3,).")):
        explain.weighted_ridge(np.ones(3), y, weights)
    with pytest.raises(ValueError, match=exactly("y has 2 entries but 30 were expected.")):
        explain.weighted_ridge(x, y[:2], weights)
    with pytest.raises(ValueError, match=exactly("y_fit has 2 entries but 3 were expected.")):
        explain.weighted_r2(np.arange(3.0), np.zeros(2), np.ones(3))
    with pytest.raises(ValueError, match=exactly("weights has 2 entries but 3 were expected.")):
        explain.weighted_r2(np.arange(3.0), np.zeros(3), np.ones(2))
    with pytest.raises(ValueError, match=exactly("y must be a 1-D array; got shape (3, 2).")):
        explain.weighted_r2(np.zeros((3, 2)), np.zeros(3), np.ones(3))
    with pytest.raises(ValueError, match=exactly("y is constant under the weights, so R^2 is undefined.")):
        explain.weighted_r2(np.r_[1.0, 1.0, 5.0], np.zeros(3), np.r_[1.0, 1.0, 0.0])
