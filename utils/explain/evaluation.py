"""Evaluating explanations against ground truth (chapter 8, *Evaluating explanations*).

Every metric takes a batch of **maps** (one per input, with the input's spatial
shape, as :mod:`utils.explain.saliency` returns them) and returns one score per
input, so that a chapter can average them, plot their spread or test them. Maps
are used as given: pass magnitudes (``np.abs``) when the sign is not evidence.

Against a ground-truth mask (a boolean array per input, ``True`` where the
evidence is):

* :func:`pointing_game`: does the map's largest value fall on the evidence,
  within a tolerance of ``tolerance`` pixels (Zhang et al., 2018)?
* :func:`relevance_mass_accuracy`: the share of the positive relevance that
  lies inside the mask (Arras, Osman and Samek, 2022);
* :func:`relevance_rank_accuracy`: the share of the ``K`` most relevant
  pixels that lie inside a mask of ``K`` pixels (the same paper).

Against the model (no mask needed):

* :func:`deletion_auc` and :func:`insertion_auc`: the area under the class
  score as pixels are removed from (or added to) the input, most relevant
  first (Petsiuk, Das and Saenko, 2018, RISE);
* :func:`faithfulness_correlation`: the correlation between the relevance of
  random pixel subsets and the drop in score when they are removed (Bhatt,
  Weller and Moura, 2020);
* :func:`cascading_randomisation`: the rank correlation between a method's
  maps for the trained model and for copies whose layers are re-initialised,
  from the top layer down (Adebayo et al., 2018), and
  :func:`rank_correlation`, which also scores the data-randomisation test (the
  same method on a model trained on shuffled labels).

Ties are scored by their expectation: a constant map scores exactly the chance
level ``|mask| / size`` on the three mask metrics, which is the score of a map
drawn at random. The planted-evidence data set (:func:`make_planted_evidence`)
and two baseline explanations that look at the input only (:func:`random_maps`,
:func:`edge_maps`) complete the module. Everything here is NumPy and SciPy
except the model calls, which go through the Keras model (any backend) or any
callable that maps a batch to class scores.
"""

from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Sequence, Tuple

import numpy as np

from .._checks import (
    ArgumentError,
    check_array,
    check_bool,
    check_callable,
    check_int,
    check_number,
    check_positive_int,
    check_seed,
    is_int,
)

# --------------------------------------------------------------------------
# Argument checks shared by the metrics
# --------------------------------------------------------------------------


def _check_maps(maps: Any, name: str = "maps") -> np.ndarray:
    array = check_array(name, maps, finite=True)
    if array.ndim < 2:
        raise ArgumentError(f"{name} must be a batch of maps, shape (n, *spatial); got shape {array.shape}.")
    return array.astype(np.float64)


def _check_masks(masks: Any, maps: np.ndarray) -> np.ndarray:
    array = check_array("masks", masks, numeric=False)
    if array.dtype != np.bool_:
        raise ArgumentError(f"masks must be a boolean array (True where the evidence is); got dtype {array.dtype}.")
    if array.shape != maps.shape:
        raise ArgumentError(f"masks must have the shape of maps {maps.shape}; got {array.shape}.")
    empty = np.flatnonzero(~array.reshape(len(array), -1).any(axis=1))
    if len(empty):
        raise ArgumentError(f"masks must mark at least one position per example; masks[{int(empty[0])}] is empty.")
    return array


def _check_inputs_and_maps(x: Any, maps: Any) -> Tuple[np.ndarray, np.ndarray]:
    x = check_array("x", x, finite=True).astype(np.float32)
    if x.ndim < 3:
        raise ArgumentError(f"x must be a batch of inputs with a channel axis, shape (n, *spatial, channels); "
                            f"got shape {x.shape}.")
    maps = _check_maps(maps)
    if maps.shape != x.shape[:-1]:
        raise ArgumentError(f"maps must have the shape of x without its channel axis, {x.shape[:-1]}; "
                            f"got {maps.shape}.")
    return x, maps


def _check_targets(targets: Any, n: int) -> np.ndarray:
    if is_int(targets):
        targets = np.full(n, int(targets))
    array = check_array("targets", targets, 1)
    if array.dtype.kind not in "iu":
        raise ArgumentError(f"targets must hold integer class indices; got dtype {array.dtype}.")
    if len(array) != n:
        raise ArgumentError(f"targets must have one class index per example ({n}); got {len(array)}.")
    if array.min() < 0:
        raise ArgumentError(f"targets must be non-negative class indices; got {int(array.min())}.")
    return array.astype(np.int64)


def _flat(array: np.ndarray) -> np.ndarray:
    return array.reshape(len(array), -1)


# --------------------------------------------------------------------------
# Metrics against a ground-truth mask
# --------------------------------------------------------------------------


def _dilate(masks: np.ndarray, tolerance: int) -> np.ndarray:
    if tolerance == 0:
        return masks
    from scipy.ndimage import binary_dilation

    structure = np.ones((1,) + (2 * tolerance + 1,) * (masks.ndim - 1), dtype=bool)  # no growth across examples
    return binary_dilation(masks, structure=structure)


def pointing_game(maps: Any, masks: Any, *, tolerance: int = 0) -> np.ndarray:
    """Pointing game (Zhang et al., 2018): 1 where the map's maximum falls on the evidence, else 0.

    A hit is a maximum within ``tolerance`` pixels of the mask (Chebyshev
    distance: the mask is dilated by a square of side ``2 * tolerance + 1``; the
    paper uses 15 pixels on 224-pixel images). When several positions share the
    maximum, the score is the share of them that hit, the expected score of
    pointing at one of them at random; a constant map therefore scores the
    chance level ``|dilated mask| / size``.

    Raises :class:`utils.ArgumentError` for maps that are not a finite numeric
    batch, masks that are not boolean, not of the maps' shape or empty, and a
    ``tolerance`` that is not an int in ``[0, smallest spatial size - 1]``.
    """
    maps = _check_maps(maps)
    masks = _check_masks(masks, maps)
    tolerance = check_int("tolerance", tolerance, 0, min(maps.shape[1:]) - 1)
    flat, hits = _flat(maps), _flat(_dilate(masks, tolerance))
    at_maximum = flat == flat.max(axis=1, keepdims=True)
    return (at_maximum & hits).sum(axis=1) / at_maximum.sum(axis=1)


def relevance_mass_accuracy(maps: Any, masks: Any) -> np.ndarray:
    """Relevance mass accuracy (Arras et al., 2022): the share of positive relevance inside the mask.

    ``sum(R+ inside the mask) / sum(R+)`` with ``R+ = max(R, 0)``, in [0, 1]. A
    map with no positive relevance (all zero, say) is scored as a constant map,
    at the chance level ``|mask| / size``.

    Raises :class:`utils.ArgumentError` as :func:`pointing_game` does.
    """
    maps = _check_maps(maps)
    masks = _flat(_check_masks(masks, maps))
    positive = np.maximum(_flat(maps), 0.0)
    total = positive.sum(axis=1)
    inside = (positive * masks).sum(axis=1)
    chance = masks.mean(axis=1)
    return np.where(total > 0, inside / np.where(total > 0, total, 1.0), chance)


def relevance_rank_accuracy(maps: Any, masks: Any) -> np.ndarray:
    """Relevance rank accuracy (Arras et al., 2022): the share of the top-K positions inside the mask.

    With ``K = |mask|``, the ``K`` positions of largest relevance are compared
    with the mask: the score is ``|top K inside the mask| / K``, in [0, 1].
    Positions tied at the ``K``-th value are counted by their expectation (as if
    the tie were broken at random), so a constant map scores ``K / size``.

    Raises :class:`utils.ArgumentError` as :func:`pointing_game` does.
    """
    maps = _check_maps(maps)
    masks = _flat(_check_masks(masks, maps))
    flat = _flat(maps)
    k = masks.sum(axis=1)
    threshold = -np.sort(-flat, axis=1)[np.arange(len(flat)), k - 1][:, None]
    above, tied = flat > threshold, flat == threshold
    still_needed = k - above.sum(axis=1)
    inside = (above & masks).sum(axis=1) + still_needed * (tied & masks).sum(axis=1) / tied.sum(axis=1)
    return inside / k


# --------------------------------------------------------------------------
# Metrics against the model
# --------------------------------------------------------------------------


def _class_scores(model: Callable, x: np.ndarray, targets: np.ndarray, softmax: bool, batch_size: int) -> np.ndarray:
    """``model(x)[i, targets[i]]`` (after a softmax over the outputs when asked), batch by batch."""
    try:
        import keras

        is_keras = isinstance(model, keras.Model)
    except ImportError:  # a plain callable needs no Keras
        is_keras = False
    scores = []
    for start in range(0, len(x), batch_size):
        part = x[start : start + batch_size]
        outputs = model(part, training=False) if is_keras else model(part)
        outputs = np.asarray(keras.ops.convert_to_numpy(outputs) if is_keras else outputs, dtype=np.float64)
        if outputs.ndim != 2:
            raise ArgumentError(f"model must map a batch to class scores of shape (n, classes); got shape {outputs.shape}.")
        if softmax:
            outputs = np.exp(outputs - outputs.max(axis=1, keepdims=True))
            outputs = outputs / outputs.sum(axis=1, keepdims=True)
        rows = targets[start : start + batch_size]
        if rows.max() >= outputs.shape[1]:
            raise ArgumentError(f"targets must be class indices below {outputs.shape[1]}; got {int(rows.max())}.")
        scores.append(outputs[np.arange(len(part)), rows])
    return np.concatenate(scores)


def _check_baseline_value(baseline: Any, x: np.ndarray) -> np.ndarray:
    if isinstance(baseline, (int, float, np.integer, np.floating)) and not isinstance(baseline, (bool, np.bool_)):
        return np.full_like(x, check_number("baseline", baseline))
    array = check_array("baseline", baseline, finite=True).astype(np.float32)
    if array.shape != x.shape:
        raise ArgumentError(f"baseline must be a number or an array of the shape of x {x.shape}; got shape {array.shape}.")
    return array


def perturbation_curves(model: Callable, x: Any, targets: Any, maps: Any, *, mode: str = "deletion",
                        n_steps: int = 16, baseline: Any = 0.0, softmax: bool = True,
                        batch_size: int = 1024) -> Tuple[np.ndarray, np.ndarray]:
    """Class score as the most relevant positions are deleted (or inserted) step by step (Petsiuk et al., 2018).

    The positions of each input are ordered by decreasing map value (ties in
    index order). ``mode="deletion"`` starts from the input and, at step ``k``
    of ``n_steps``, replaces the first ``round(k P / n_steps)`` of its ``P``
    positions (every channel) by ``baseline``; ``mode="insertion"`` starts from
    the baseline and puts them back. The score is the target's output of
    ``model`` (a Keras model or any callable from a batch to ``(n, classes)``
    scores; it is given float32 batches of at most ``batch_size`` inputs), after
    a softmax over the outputs unless ``softmax=False``.

    Returns ``(fractions, curves)``: the ``n_steps + 1`` fractions of positions
    changed (0 to 1) and the ``(n, n_steps + 1)`` scores. RISE uses a blurred
    input as the insertion baseline; the default here is zero (a blank image).

    Raises :class:`utils.ArgumentError` for a non-callable model, maps whose
    shape is not ``x``'s without the channel axis, bad targets, a bad
    ``mode``, ``n_steps`` or ``baseline``, or model outputs that are not
    ``(n, classes)``.
    """
    check_callable("model", model)
    x, maps = _check_inputs_and_maps(x, maps)
    targets = _check_targets(targets, len(x))
    if mode not in ("deletion", "insertion"):
        raise ArgumentError(f"mode must be 'deletion' or 'insertion'; got {mode!r}.")
    n_steps = check_positive_int("n_steps", n_steps)
    softmax = check_bool("softmax", softmax)
    batch_size = check_positive_int("batch_size", batch_size)
    fill = _check_baseline_value(baseline, x)
    n, positions = len(x), int(np.prod(maps.shape[1:]))
    order = np.argsort(-_flat(maps), axis=1, kind="stable")
    rank = np.empty_like(order)
    rank[np.arange(n)[:, None], order] = np.arange(positions)[None, :]  # rank of each position, 0 = most relevant
    counts = np.round(np.arange(n_steps + 1) * positions / n_steps).astype(int)
    changed = (rank[None, :, :] < counts[:, None, None]).reshape((n_steps + 1,) + x.shape[:-1] + (1,))
    start, end = (x, fill) if mode == "deletion" else (fill, x)
    batches = np.where(changed, end[None], start[None]).astype(np.float32)  # (steps + 1, n, ...)
    scores = _class_scores(model, batches.reshape((-1,) + x.shape[1:]), np.tile(targets, n_steps + 1), softmax,
                           batch_size)
    return counts / positions, scores.reshape(n_steps + 1, n).T


def _auc(fractions: np.ndarray, curves: np.ndarray) -> np.ndarray:
    return ((curves[:, 1:] + curves[:, :-1]) / 2 * np.diff(fractions)).sum(axis=1)  # the trapezoidal rule


def deletion_auc(model: Callable, x: Any, targets: Any, maps: Any, *, n_steps: int = 16, baseline: Any = 0.0,
                 softmax: bool = True, batch_size: int = 1024) -> np.ndarray:
    """Deletion AUC (Petsiuk et al., 2018): area under :func:`perturbation_curves` in deletion mode, per input.

    Lower is better: a faithful map names the positions whose removal makes
    the score fall fastest. The trapezoidal rule over the fractions 0 to 1.
    Same arguments and errors as :func:`perturbation_curves`.
    """
    return _auc(*perturbation_curves(model, x, targets, maps, mode="deletion", n_steps=n_steps, baseline=baseline,
                                     softmax=softmax, batch_size=batch_size))


def insertion_auc(model: Callable, x: Any, targets: Any, maps: Any, *, n_steps: int = 16, baseline: Any = 0.0,
                  softmax: bool = True, batch_size: int = 1024) -> np.ndarray:
    """Insertion AUC (Petsiuk et al., 2018): area under :func:`perturbation_curves` in insertion mode, per input.

    Higher is better: a faithful map names the positions that restore the
    score fastest. Same arguments and errors as :func:`perturbation_curves`.
    """
    return _auc(*perturbation_curves(model, x, targets, maps, mode="insertion", n_steps=n_steps, baseline=baseline,
                                     softmax=softmax, batch_size=batch_size))


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(axis=1) / np.where(norms > 0, norms, 1.0), np.nan)


def faithfulness_correlation(model: Callable, x: Any, targets: Any, maps: Any, *, subset_size: int = 16,
                             n_subsets: int = 64, baseline: Any = 0.0, softmax: bool = True, seed: int = 0,
                             batch_size: int = 1024) -> np.ndarray:
    """Faithfulness correlation (Bhatt, Weller and Moura, 2020), one value in [-1, 1] per input.

    For each input, ``n_subsets`` random sets ``S`` of ``subset_size``
    positions are drawn (NumPy's generator seeded with ``seed``); each gives the
    total relevance ``sum_{i in S} R_i`` and the drop in score
    ``f(x) - f(x with S set to the baseline)``. The result is the Pearson
    correlation of the two over the subsets: 1 when the map predicts exactly how
    much each removal costs. NaN for a constant map (no correlation is defined).
    The score is as in :func:`perturbation_curves`.

    Raises :class:`utils.ArgumentError` as :func:`perturbation_curves` does,
    and for a bad ``subset_size`` (1 to the number of positions), ``n_subsets``
    (>= 2) or ``seed``.
    """
    check_callable("model", model)
    x, maps = _check_inputs_and_maps(x, maps)
    targets = _check_targets(targets, len(x))
    positions = int(np.prod(maps.shape[1:]))
    subset_size = check_int("subset_size", subset_size, 1, positions)
    n_subsets = check_int("n_subsets", n_subsets, 2)
    seed = check_seed("seed", seed)
    softmax = check_bool("softmax", softmax)
    batch_size = check_positive_int("batch_size", batch_size)
    fill = _check_baseline_value(baseline, x)
    n = len(x)
    rng = np.random.default_rng(seed)
    chosen = np.argsort(rng.random((n_subsets, n, positions)), axis=2)[:, :, :subset_size]
    removed = np.zeros((n_subsets, n, positions), dtype=bool)
    np.put_along_axis(removed, chosen, True, axis=2)
    relevance = (removed * _flat(maps)[None]).sum(axis=2).T  # (n, n_subsets)
    removed = removed.reshape((n_subsets,) + x.shape[:-1] + (1,))
    perturbed = np.where(removed, fill[None], x[None]).astype(np.float32)
    original = _class_scores(model, x, targets, softmax, batch_size)
    scores = _class_scores(model, perturbed.reshape((-1,) + x.shape[1:]), np.tile(targets, n_subsets), softmax,
                           batch_size).reshape(n_subsets, n).T
    return _pearson_rows(relevance, original[:, None] - scores)


# --------------------------------------------------------------------------
# Randomisation tests
# --------------------------------------------------------------------------


def rank_correlation(maps_a: Any, maps_b: Any) -> np.ndarray:
    """Spearman rank correlation between ``maps_a[i]`` and ``maps_b[i]``, one value per input.

    The Pearson correlation of the ranks (ties get their average rank, as in
    ``scipy.stats.spearmanr``); NaN where either map is constant, since a
    constant map has no order. Adebayo et al. (2018) compare maps this way
    (usually of magnitudes) in the model- and data-randomisation tests.

    Raises :class:`utils.ArgumentError` for maps that are not finite numeric
    batches or whose shapes differ.
    """
    from scipy.stats import rankdata

    a, b = _check_maps(maps_a, "maps_a"), _check_maps(maps_b, "maps_b")
    if a.shape != b.shape:
        raise ArgumentError(f"maps_b must have the shape of maps_a {a.shape}; got {b.shape}.")
    return _pearson_rows(rankdata(_flat(a), axis=1), rankdata(_flat(b), axis=1))


def _weighted_layers(model: Any) -> List[Any]:
    return [layer for layer in model.layers if layer.weights]


def _fresh_value(layer: Any, variable: Any, seed: int) -> np.ndarray:
    """A new value for ``variable`` drawn from its layer's initializer (seeded), else a permutation of it."""
    import keras

    name = variable.path.split("/")[-1]
    initializer = getattr(layer, f"{name}_initializer", None)
    shape = tuple(variable.shape)
    if initializer is not None:
        config = dict(initializer.get_config())
        if "seed" in config:
            config["seed"] = seed
        fresh = type(initializer).from_config(config)
        return keras.ops.convert_to_numpy(fresh(shape, dtype="float32"))
    value = keras.ops.convert_to_numpy(variable)
    return np.random.default_rng(seed).permutation(value.ravel()).reshape(shape)


def cascading_randomisation(model: Any, x: Any, targets: Any, explain: Callable, *, seed: int = 0,
                            ) -> Tuple[List[str], np.ndarray]:
    """Cascading model-parameter randomisation (Adebayo et al., 2018).

    ``explain(model, x, targets)`` returns a batch of maps (e.g. ``lambda m, x,
    t: np.abs(saliency.vanilla_gradients(m, x, t))``). The function explains
    ``x`` with the trained ``model``, then with a copy
    (``keras.models.clone_model`` with the trained weights) whose layers with
    weights are re-initialised one by one from the top (the output layer) down,
    cumulatively, each from its own initializer (seeded with ``seed`` plus the
    layer's position), and compares every randomised map with the original
    one by :func:`rank_correlation`. The trained model is not changed.

    Returns ``(layer names, correlations)``: the names in the order they were
    randomised and an array of shape ``(layers, n)``. A method whose maps keep
    a high correlation while the weights that produce the prediction are
    replaced by noise is not explaining the model.

    Raises :class:`utils.ArgumentError` when ``model`` is not a ``keras.Model``
    with weights, ``explain`` is not callable, or ``seed`` is bad.
    """
    import keras

    if not isinstance(model, keras.Model) or not _weighted_layers(model):
        raise ArgumentError(f"model must be a keras.Model with weights; got {type(model).__name__}.")
    check_callable("explain", explain)
    seed = check_seed("seed", seed)
    x = check_array("x", x, finite=True).astype(np.float32)
    original = explain(model, x, targets)
    randomised = keras.models.clone_model(model)
    randomised.set_weights(model.get_weights())
    names, correlations = [], []
    for position, layer in enumerate(reversed(_weighted_layers(randomised))):
        for variable in layer.weights:
            variable.assign(_fresh_value(layer, variable, seed + position))
        names.append(layer.name)
        correlations.append(rank_correlation(original, explain(randomised, x, targets)))
    return names, np.stack(correlations)


# --------------------------------------------------------------------------
# Baseline explanations and the planted-evidence data set
# --------------------------------------------------------------------------


def random_maps(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Maps of independent uniform noise in [0, 1) of ``shape``, ``(n, *spatial)``: a baseline that knows nothing.

    Raises :class:`utils.ArgumentError` for a bad ``shape`` or ``seed``.
    """
    from .._checks import check_shape

    shape = check_shape("shape", shape)
    return np.random.default_rng(check_seed("seed", seed)).random(shape)


def edge_maps(x: Any) -> np.ndarray:
    """The magnitude of the Sobel gradient of each input image, summed over channels: a baseline map.

    For images ``x`` of shape ``(n, height, width, channels)``, returns
    ``sqrt(sobel_rows^2 + sobel_columns^2)`` of shape ``(n, height, width)``:
    large on every edge in the image, whatever the model does with it.

    Raises :class:`utils.ArgumentError` for ``x`` that is not a 4-D batch of images.
    """
    from scipy.ndimage import correlate1d

    x = check_array("x", x, 4, finite=True).astype(np.float64)

    def sobel(axis: int, across: int) -> np.ndarray:
        # a difference along `axis`, smoothed along `across` only: scipy.ndimage.sobel would also
        # smooth over the batch and channel axes, mixing neighbouring images
        difference = correlate1d(x, [-1.0, 0.0, 1.0], axis=axis, mode="nearest")
        return correlate1d(difference, [1.0, 2.0, 1.0], axis=across, mode="nearest")

    rows, columns = sobel(1, 2), sobel(2, 1)
    return np.sqrt(rows**2 + columns**2).sum(axis=-1)


#: The two 3x3 patterns that decide the class of a planted-evidence image, plus for 0 and cross for 1.
CLASS_PATTERNS = {
    "plus": np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]]),
    "cross": np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]]),
}
#: The five 3x3 distractor patterns, which both classes share.
DISTRACTOR_PATTERNS = {
    "T": np.array([[1, 1, 1], [0, 1, 0], [0, 1, 0]]),
    "L": np.array([[1, 0, 0], [1, 0, 0], [1, 1, 1]]),
    "corner": np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1]]),
    "bars": np.array([[1, 0, 1], [1, 0, 1], [0, 0, 0]]),
    "zigzag": np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1]]),
}


class PlantedEvidence(NamedTuple):
    """Images, labels and ground-truth masks made by :func:`make_planted_evidence`."""

    x: np.ndarray  # (n, size, size, 1) float32
    y: np.ndarray  # (n,) int64: 0 for a plus, 1 for a cross
    masks: np.ndarray  # (n, size, size) bool: the 3x3 square of the deciding pattern


def make_planted_evidence(n: int, *, size: int = 16, n_distractors: int = 4, noise: float = 0.05,
                          seed: int = 0) -> PlantedEvidence:
    """Images whose label is decided by one small pattern, planted among distractors, with its mask.

    The image is cut into cells of 4x4 pixels (``size`` must be a multiple of
    4, at least 8). One cell gets the deciding pattern, a 3x3 *plus* (label 0)
    or *cross* (label 1), each class with probability 1/2; ``n_distractors``
    other cells get patterns drawn from ``DISTRACTOR_PATTERNS``, which both
    classes share. Each pattern sits at a random offset inside its cell, with
    an intensity drawn from [0.7, 1]; Gaussian noise of standard deviation
    ``noise`` is added everywhere. The mask is the deciding pattern's 3x3
    square. Offline and deterministic: NumPy's generator seeded with ``seed``.

    Raises :class:`utils.ArgumentError` for a bad ``n``, ``size``,
    ``n_distractors`` (0 to the number of cells - 1), ``noise`` (>= 0) or ``seed``.
    """
    n = check_positive_int("n", n)
    size = check_int("size", size, 8)
    if size % 4:
        raise ArgumentError(f"size must be a multiple of 4 (cells of 4x4 pixels); got {size}.")
    cells_per_side = size // 4
    n_distractors = check_int("n_distractors", n_distractors, 0, cells_per_side**2 - 1)
    noise = check_number("noise", noise, 0.0)
    rng = np.random.default_rng(check_seed("seed", seed))
    classes = np.stack(list(CLASS_PATTERNS.values())).astype(np.float32)
    distractors = np.stack(list(DISTRACTOR_PATTERNS.values())).astype(np.float32)
    x = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), bool)
    y = rng.integers(0, 2, n)
    for i in range(n):
        cells = rng.permutation(cells_per_side**2)[: 1 + n_distractors]
        kinds = [classes[y[i]]] + list(distractors[rng.integers(0, len(distractors), n_distractors)])
        for number, (cell, pattern) in enumerate(zip(cells, kinds)):
            top = 4 * (cell // cells_per_side) + rng.integers(0, 2)
            left = 4 * (cell % cells_per_side) + rng.integers(0, 2)
            x[i, top : top + 3, left : left + 3] = pattern * rng.uniform(0.7, 1.0)
            if number == 0:
                masks[i, top : top + 3, left : left + 3] = True
    x += noise * rng.standard_normal(x.shape).astype(np.float32)
    return PlantedEvidence(x[..., None], y.astype(np.int64), masks)
