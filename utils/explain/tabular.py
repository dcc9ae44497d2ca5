"""Model-agnostic explanations of tabular models (chapter 6, *Interpretable models*).

Each function here is first written out in the chapter from its definition and
checked there against a reference implementation (scikit-learn or the ``lime``
package); this module is the tested version that later chapters reuse.

* :func:`permutation_importance`: drop in score when a feature (or a group of
  features) is permuted, repeated, on held-out data (Breiman, 2001; Fisher et
  al., 2019). Permutations are drawn the way
  ``sklearn.inspection.permutation_importance`` draws them, so both give the
  same numbers for the same ``random_state``.
* :func:`partial_dependence`: partial dependence (Friedman, 2001) and ICE curves
  (Goldstein et al., 2015) on a given grid.
* :func:`lime_tabular`: LIME's local surrogate for continuous features
  (Ribeiro et al., 2016), with the sampling and kernel of the ``lime`` package.
* :func:`weighted_ridge` and :func:`weighted_r2`: the weighted least squares
  that LIME fits, and its fidelity.
* :func:`surrogate_fidelity`: how well a global surrogate reproduces a model.
* :class:`KerasBinaryClassifier`: a scikit-learn view of a trained Keras
  binary classifier, so scikit-learn's inspection tools accept it.
* :class:`CountingModel`: counts the rows a model is asked to predict, the
  cost of an explanation in model evaluations.

Models are duck-typed: any object with the method named by ``response``
(``"predict"`` by default, or ``"predict_proba"``). ``output`` picks a column
when that method returns several (for example ``output=1`` for the positive
class of ``predict_proba``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from .._checks import (
    ArgumentError,
    check_bool,
    check_callable,
    check_int,
    check_matrix,
    check_number,
    check_positive_number,
    check_seed,
    check_string,
    check_vector,
    is_int,
)

ScoreFunction = Callable[[np.ndarray, np.ndarray], float]
FeatureSpec = Union[int, Sequence[int]]


# --------------------------------------------------------------------------
# Input checks shared by every helper
# --------------------------------------------------------------------------


def check_model(model: Any, response: str = "predict") -> Callable:
    """Return ``model``'s ``response`` method, or raise :class:`utils.ArgumentError` naming it."""
    check_string("response", response)  # a method name such as 'predict'
    method = getattr(model, response, None)
    if not callable(method):
        raise ArgumentError(
            f"model must have a callable {response!r} method (a fitted scikit-learn estimator, "
            f"a KerasBinaryClassifier, ...); got {type(model).__name__} without one."
        )
    return method


def model_output(model: Any, x: np.ndarray, response: str = "predict", output: Optional[int] = None) -> np.ndarray:
    """The model's output for ``x`` as a 1-D float64 array (one number per example).

    ``output`` selects a column when the response has several (``predict_proba``);
    a single-column response is flattened. Raises ``ValueError`` when the
    response has several columns and ``output`` is None, or has the wrong length.
    """
    method = check_model(model, response)
    values = np.asarray(method(x), dtype=np.float64)
    if values.ndim == 1 and output is not None:
        raise ArgumentError(f"output={output!r} was given, but model.{response} returns one value per example.")
    if values.ndim == 2 and output is not None:
        output = check_int("output", output, 0, values.shape[1] - 1)  # a column index
        values = values[:, output]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim != 1:
        raise ArgumentError(
            f"output: model.{response} returned shape {values.shape}; pass output=<column> to pick one output."
        )
    if values.shape[0] != len(x):
        raise ArgumentError(f"model.{response} returned {values.shape[0]} values for {len(x)} examples.")
    return values


# --------------------------------------------------------------------------
# Permutation feature importance
# --------------------------------------------------------------------------


@dataclass
class PermutationImportance:
    """Result of :func:`permutation_importance`.

    ``importances[j, r]`` is the baseline score minus the score with feature
    (group) ``j`` permuted in repeat ``r``.
    """

    baseline: float
    importances: np.ndarray

    @property
    def importances_mean(self) -> np.ndarray:
        return self.importances.mean(axis=1)

    @property
    def importances_std(self) -> np.ndarray:
        return self.importances.std(axis=1)


def _feature_groups(features: Optional[Sequence[FeatureSpec]], n_features: int) -> list:
    if features is None:
        return [[j] for j in range(n_features)]
    groups = []
    for spec in features:
        columns = [spec] if is_int(spec) else list(spec)
        if not columns or any(not is_int(c) or not 0 <= c < n_features for c in columns):
            raise ArgumentError(
                f"features must hold column indices in [0, {n_features}) or tuples of them; got {spec!r}."
            )
        groups.append([int(c) for c in columns])
    return groups


def permutation_importance(
    model: Any,
    x: Any,
    y: Any,
    score: ScoreFunction,
    n_repeats: int = 5,
    random_state: int = 0,
    features: Optional[Sequence[FeatureSpec]] = None,
    response: str = "predict",
    output: Optional[int] = None,
) -> PermutationImportance:
    """Permutation feature importance: the drop in ``score`` when a feature is shuffled.

    ``score(y_true, model_output)`` must grow with quality (accuracy, negative
    log loss, R^2). ``features`` lists column indices or tuples of indices
    permuted together (default: every column on its own).

    The permutations follow scikit-learn's protocol: one seed drawn from
    ``random_state``, the same sequence of shuffles for every feature, each
    shuffle applied to the already shuffled column. With the same model,
    score and seed, the numbers equal ``sklearn.inspection.permutation_importance``.
    """
    check_model(model, response)
    x = check_matrix("x", x)
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ArgumentError(f"y must be 1-D with one target per row of x ({x.shape[0]}); got shape {y.shape}.")
    check_callable("score", score)  # score(y_true, y_output) -> float
    n_repeats = check_int("n_repeats", n_repeats, 1)
    random_state = check_seed("random_state", random_state)
    groups = _feature_groups(features, x.shape[1])

    baseline = float(score(y, model_output(model, x, response, output)))
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    importances = np.empty((len(groups), n_repeats))
    for g, columns in enumerate(groups):
        generator = np.random.RandomState(seed)
        permuted = x.copy()
        order = np.arange(x.shape[0])
        for r in range(n_repeats):
            generator.shuffle(order)
            permuted[:, columns] = permuted[order][:, columns]
            importances[g, r] = baseline - float(score(y, model_output(model, permuted, response, output)))
    return PermutationImportance(baseline, importances)


# --------------------------------------------------------------------------
# Partial dependence and ICE
# --------------------------------------------------------------------------


def feature_grid(x: Any, feature: int, n_points: int = 20, percentiles: Tuple[float, float] = (0.05, 0.95)) -> np.ndarray:
    """Evenly spaced values of column ``feature`` between two percentiles of ``x``."""
    x = check_matrix("x", x)
    feature = check_int("feature", feature, 0, x.shape[1] - 1)  # a column index of x
    n_points = check_int("n_points", n_points, 2)
    low, high = percentiles
    if not 0 <= low < high <= 1:
        raise ArgumentError(f"percentiles must satisfy 0 <= low < high <= 1; got {percentiles!r}.")
    lo, hi = np.quantile(x[:, feature], [low, high])
    return np.linspace(lo, hi, n_points)


def partial_dependence(
    model: Any,
    x: Any,
    feature: int,
    grid: Any,
    response: str = "predict",
    output: Optional[int] = None,
) -> Tuple[np.ndarray, np.ndarray]:
    """Partial dependence and ICE curves of one feature on ``grid``.

    For each grid value ``v`` every row of ``x`` gets ``x[:, feature] = v``
    (in ``x``'s dtype) and the model predicts. Returns ``(average, individual)``
    with shapes ``(len(grid),)`` and ``(len(x), len(grid))``: the partial
    dependence curve is the mean of the ICE curves.
    """
    check_model(model, response)
    x = check_matrix("x", x)
    feature = check_int("feature", feature, 0, x.shape[1] - 1)  # a column index of x
    grid = check_vector("grid", grid)
    individual = np.empty((x.shape[0], grid.shape[0]))
    for k, value in enumerate(grid):
        x_eval = x.copy()
        x_eval[:, feature] = value
        individual[:, k] = model_output(model, x_eval, response, output)
    return individual.mean(axis=0), individual


# --------------------------------------------------------------------------
# LIME for continuous tabular features
# --------------------------------------------------------------------------


def weighted_ridge(x: Any, y: Any, weights: Any, alpha: float = 1.0) -> Tuple[np.ndarray, float]:
    """Weighted ridge regression with an unpenalised intercept; returns ``(coef, intercept)``.

    Minimises ``sum_i w_i (y_i - b - x_i . beta)^2 + alpha * |beta|^2`` in closed
    form: centre ``x`` and ``y`` on their weighted means, then solve
    ``(Xc^T W Xc + alpha I) beta = Xc^T W yc``.
    """
    x = check_matrix("x", x).astype(np.float64)
    y = check_vector("y", y, x.shape[0]).astype(np.float64)
    weights = check_vector("weights", weights, x.shape[0]).astype(np.float64)
    if np.any(weights < 0) or weights.sum() <= 0:
        raise ArgumentError("weights must be non-negative with a positive sum.")
    alpha = check_number("alpha", alpha, 0)
    x_mean = np.average(x, axis=0, weights=weights)
    y_mean = np.average(y, weights=weights)
    xc, yc = x - x_mean, y - y_mean
    gram = xc.T @ (weights[:, None] * xc) + alpha * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, xc.T @ (weights * yc))
    return coef, float(y_mean - x_mean @ coef)


def weighted_r2(y: Any, y_fit: Any, weights: Any) -> float:
    """Weighted coefficient of determination, ``1 - SSE_w / SST_w`` (scikit-learn's definition)."""
    y = check_vector("y", y).astype(np.float64)
    y_fit = check_vector("y_fit", y_fit, y.shape[0]).astype(np.float64)
    weights = check_vector("weights", weights, y.shape[0]).astype(np.float64)
    residual = np.sum(weights * (y - y_fit) ** 2)
    total = np.sum(weights * (y - np.average(y, weights=weights)) ** 2)
    if total == 0:
        raise ArgumentError("y is constant under the weights, so R^2 is undefined.")
    return float(1.0 - residual / total)


KERNELS = {
    # the lime package (lime_tabular.py): the square root of the paper's kernel
    "lime": lambda d, width: np.sqrt(np.exp(-(d**2) / width**2)),
    # Ribeiro et al. (2016), section 3.4: pi_x(z) = exp(-D(x, z)^2 / sigma^2)
    "paper": lambda d, width: np.exp(-(d**2) / width**2),
}


@dataclass
class LimeExplanation:
    """A LIME surrogate: coefficients per training standard deviation of each feature.

    ``score`` is the weighted R^2 of the surrogate on its own samples (its local
    fidelity); ``local_prediction`` is the surrogate's value at the instance.
    """

    coef: np.ndarray
    intercept: float
    score: float
    local_prediction: float
    model_prediction: float
    kernel_width: float


def lime_tabular(
    model: Any,
    instance: Any,
    training_data: Any,
    num_samples: int = 5000,
    kernel_width: Optional[float] = None,
    kernel: str = "lime",
    alpha: float = 1.0,
    sample_around_instance: bool = False,
    random_state: int = 0,
    response: str = "predict",
    output: Optional[int] = None,
) -> LimeExplanation:
    """LIME's local linear surrogate for continuous features (no discretisation).

    1. Draw ``num_samples`` points ``z = mean + scale * N(0, I)`` (around the
       instance when ``sample_around_instance``), with ``mean``/``scale`` the
       training data's per-feature mean and standard deviation; the first
       sample is the instance itself.
    2. Weigh each sample by the kernel of its Euclidean distance to the
       instance in standardised units (``kernel="lime"``:
       ``sqrt(exp(-d^2 / width^2))``, as the ``lime`` package does;
       ``"paper"``: ``exp(-d^2 / width^2)``). Default width ``0.75 sqrt(n_features)``.
    3. Fit :func:`weighted_ridge` (``alpha``) of the model's output on the
       standardised samples.

    With ``random_state`` an int, the samples are those of
    ``lime.lime_tabular.LimeTabularExplainer(..., discretize_continuous=False,
    random_state=random_state)``.
    """
    check_model(model, response)
    training_data = check_matrix("training_data", training_data)
    n_features = training_data.shape[1]
    instance = check_vector("instance", instance)
    if instance.shape[0] != n_features:
        raise ArgumentError(
            f"instance has {instance.shape[0]} features but training_data has {n_features}."
        )
    num_samples = check_int("num_samples", num_samples, 2)
    if kernel_width is None:
        kernel_width = 0.75 * np.sqrt(n_features)
    kernel_width = check_positive_number("kernel_width", kernel_width)
    if kernel not in KERNELS:
        raise ArgumentError(f"kernel must be one of {sorted(KERNELS)}; got {kernel!r}.")
    sample_around_instance = check_bool("sample_around_instance", sample_around_instance)
    random_state = check_seed("random_state", random_state)

    training = training_data.astype(np.float64)
    mean = training.mean(axis=0)
    scale = training.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    generator = np.random.RandomState(random_state)
    samples = generator.normal(0, 1, num_samples * n_features).reshape(num_samples, n_features)
    samples = samples * scale + (instance if sample_around_instance else mean)
    samples[0] = instance
    scaled = (samples - mean) / scale
    distances = np.sqrt(((scaled - scaled[0]) ** 2).sum(axis=1))
    weights = KERNELS[kernel](distances, kernel_width)
    outputs = model_output(model, samples, response, output)
    coef, intercept = weighted_ridge(scaled, outputs, weights, alpha)
    fitted = scaled @ coef + intercept
    return LimeExplanation(
        coef=coef,
        intercept=intercept,
        score=weighted_r2(outputs, fitted, weights),
        local_prediction=float(fitted[0]),
        model_prediction=float(outputs[0]),
        kernel_width=kernel_width,
    )


# --------------------------------------------------------------------------
# Global surrogates
# --------------------------------------------------------------------------


def surrogate_fidelity(reference: Any, surrogate: Any, task: str = "classification") -> float:
    """How well a surrogate reproduces a model, on the model's own outputs.

    ``task="classification"``: the fraction of examples where the predicted
    classes agree. ``task="regression"``: R^2 of the surrogate's outputs
    against the model's.
    """
    reference = np.asarray(reference)
    surrogate = np.asarray(surrogate)
    if reference.ndim != 1 or reference.shape != surrogate.shape or reference.size == 0:
        raise ArgumentError(
            "reference and surrogate must be non-empty 1-D arrays of the same length; "
            f"got shapes {reference.shape} and {surrogate.shape}."
        )
    if task == "classification":
        return float(np.mean(reference == surrogate))
    if task == "regression":
        ref = check_vector("reference", reference).astype(np.float64)
        sur = check_vector("surrogate", surrogate).astype(np.float64)
        return weighted_r2(ref, sur, np.ones_like(ref))
    raise ArgumentError(f"task must be 'classification' or 'regression'; got {task!r}.")


# --------------------------------------------------------------------------
# Wrappers
# --------------------------------------------------------------------------


class KerasBinaryClassifier(ClassifierMixin, BaseEstimator):
    """A scikit-learn classifier around a Keras model with one sigmoid output.

    ``predict_proba`` returns ``[1 - p, p]`` as float64, ``predict`` thresholds
    ``p`` at ``threshold``. The Keras model is called with ``predict_on_batch``
    (one call per array, no progress bar). A model that is already trained
    counts as fitted; :meth:`fit` trains it further with ``model.fit``.
    """

    def __init__(self, model: Any = None, threshold: float = 0.5):
        self.model = model
        self.threshold = threshold

    def _keras(self):
        if self.model is None or not callable(getattr(self.model, "predict_on_batch", None)):
            raise ArgumentError(
                "model must be a Keras model (with predict_on_batch); got "
                f"{type(self.model).__name__}."
            )
        return self.model

    @property
    def classes_(self) -> np.ndarray:
        return np.array([0, 1])

    @property
    def n_features_in_(self) -> int:
        return int(self._keras().input_shape[-1])

    def __sklearn_is_fitted__(self) -> bool:
        return bool(getattr(self._keras(), "built", False))

    def fit(self, x: Any, y: Any, **fit_kwargs: Any) -> "KerasBinaryClassifier":
        """Train the Keras model on ``(x, y)`` (``verbose=0`` unless given); returns self."""
        x = check_matrix("x", x, self.n_features_in_)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != x.shape[0] or not np.isin(y, (0, 1)).all():
            raise ArgumentError("y must be 1-D labels in {0, 1}, one per row of x.")
        fit_kwargs.setdefault("verbose", 0)
        self._keras().fit(x.astype(np.float32), y, **fit_kwargs)
        return self

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, shape (n, 2), float64."""
        x = check_matrix("x", x, self.n_features_in_)
        p = np.asarray(self._keras().predict_on_batch(x.astype(np.float32)), dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 1:
            raise ArgumentError(f"model: the Keras model must have one sigmoid output; it returned shape {p.shape}.")
        return np.hstack([1.0 - p, p])

    def predict(self, x: Any) -> np.ndarray:
        """Predicted labels (0 or 1)."""
        threshold = check_positive_number("threshold", self.threshold)
        return (self.predict_proba(x)[:, 1] >= threshold).astype(np.int64)


class CountingModel:
    """Forwards ``predict``/``predict_proba`` to ``model`` and counts the rows it sees.

    ``rows`` is the number of examples evaluated so far, ``calls`` the number of
    calls: the cost of an explanation in model evaluations.
    """

    def __init__(self, model: Any):
        if not any(callable(getattr(model, m, None)) for m in ("predict", "predict_proba")):
            raise ArgumentError(f"model must have a predict or predict_proba method; got {type(model).__name__}.")
        self.model = model
        self.rows = 0
        self.calls = 0

    def _forward(self, name: str, x: Any) -> np.ndarray:
        method = check_model(self.model, name)
        self.rows += len(x)
        self.calls += 1
        return method(x)

    def predict(self, x: Any) -> np.ndarray:
        return self._forward("predict", x)

    def predict_proba(self, x: Any) -> np.ndarray:
        return self._forward("predict_proba", x)

    def reset(self) -> None:
        self.rows = 0
        self.calls = 0
