"""Unit tests of utils.explain.evaluation: closed-form cases, the planted-evidence data and bad input."""

import numpy as np
import pytest

from utils import ArgumentError
from utils.explain import evaluation

# --------------------------------------------------------------------------
# Closed-form cases for the mask metrics
# --------------------------------------------------------------------------

MASK_METRICS = [evaluation.pointing_game, evaluation.relevance_mass_accuracy, evaluation.relevance_rank_accuracy]


def _masks(n=5, size=8, seed=0):
    rng = np.random.default_rng(seed)
    masks = np.zeros((n, size, size), bool)
    for i in range(n):
        top, left = rng.integers(0, size - 3, 2)
        masks[i, top : top + 3, left : left + 2] = True  # 6 positions of 64
    return masks


@pytest.mark.parametrize("metric", MASK_METRICS)
def test_a_map_equal_to_the_mask_scores_perfectly(metric):
    masks = _masks()
    assert np.all(metric(masks.astype(float), masks) == 1.0)


@pytest.mark.parametrize("metric", MASK_METRICS)
def test_an_inverted_map_scores_worst(metric):
    masks = _masks()
    assert np.all(metric((~masks).astype(float), masks) == 0.0)


@pytest.mark.parametrize("metric", MASK_METRICS)
def test_a_constant_map_scores_at_chance(metric):
    masks = _masks()
    chance = masks.reshape(len(masks), -1).mean(axis=1)
    np.testing.assert_allclose(metric(np.full(masks.shape, 0.3), masks), chance)


def test_random_maps_score_near_chance_on_average():
    masks = np.repeat(_masks(1), 4000, axis=0)
    maps = evaluation.random_maps(masks.shape, seed=1)
    chance = masks[0].mean()
    for metric in MASK_METRICS:
        assert abs(metric(maps, masks).mean() - chance) < 0.02, metric.__name__


def test_pointing_game_tolerance_counts_a_near_miss():
    masks = np.zeros((1, 8, 8), bool)
    masks[0, 2:4, 2:4] = True
    maps = np.zeros((1, 8, 8))
    maps[0, 5, 3] = 1.0  # two rows below the mask
    assert evaluation.pointing_game(maps, masks, tolerance=0)[0] == 0.0
    assert evaluation.pointing_game(maps, masks, tolerance=1)[0] == 0.0
    assert evaluation.pointing_game(maps, masks, tolerance=2)[0] == 1.0


def test_pointing_game_shares_ties_and_mass_uses_positive_relevance():
    masks = np.zeros((1, 4, 4), bool)
    masks[0, 0, 0] = True
    maps = np.zeros((1, 4, 4))
    maps[0, 0, 0] = maps[0, 3, 3] = 2.0  # two maxima, one on the mask
    maps[0, 1, 1] = -5.0  # negative relevance is not mass
    assert evaluation.pointing_game(maps, masks)[0] == 0.5
    assert evaluation.relevance_mass_accuracy(maps, masks)[0] == 0.5
    assert evaluation.relevance_mass_accuracy(np.zeros((1, 4, 4)), masks)[0] == 1 / 16  # no mass: chance


def test_relevance_rank_accuracy_counts_the_top_k():
    masks = np.zeros((1, 1, 6), bool)
    masks[0, 0, :2] = True  # K = 2
    maps = np.array([[[5.0, 1.0, 4.0, 0.0, 0.0, 0.0]]])  # top 2: positions 0 (in) and 2 (out)
    assert evaluation.relevance_rank_accuracy(maps, masks)[0] == 0.5


# --------------------------------------------------------------------------
# Closed-form cases for the metrics that query a model
# --------------------------------------------------------------------------


def _linear_problem(n=6, size=6, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(size, size, 1))
    x = rng.uniform(0.0, 1.0, (n, size, size, 1)).astype(np.float32)

    def model(batch):  # one output: the linear score w . x
        return (np.asarray(batch, np.float64) * w).sum(axis=(1, 2, 3))[:, None]

    return model, x, (x * w).sum(axis=-1)  # the exact attribution of each pixel (zero baseline)


def test_deletion_curve_of_a_linear_model_is_the_score_minus_the_sorted_attributions():
    model, x, attribution = _linear_problem()
    positions = attribution[0].size
    fractions, curves = evaluation.perturbation_curves(model, x, 0, attribution, n_steps=positions, softmax=False)
    sorted_attribution = -np.sort(-attribution.reshape(len(x), -1), axis=1)
    expected = attribution.reshape(len(x), -1).sum(axis=1)[:, None] - np.concatenate(
        [np.zeros((len(x), 1)), np.cumsum(sorted_attribution, axis=1)], axis=1)
    np.testing.assert_allclose(fractions, np.arange(positions + 1) / positions)
    np.testing.assert_allclose(curves, expected, rtol=1e-5, atol=1e-5)


def test_exact_attribution_beats_a_random_order_on_deletion_and_insertion():
    model, x, attribution = _linear_problem(n=20)
    random = evaluation.random_maps(attribution.shape, seed=3)
    arguments = dict(softmax=False, n_steps=12)
    exact_deletion = evaluation.deletion_auc(model, x, 0, attribution, **arguments)
    random_deletion = evaluation.deletion_auc(model, x, 0, random, **arguments)
    assert np.all(exact_deletion < random_deletion)
    assert np.all(evaluation.insertion_auc(model, x, 0, attribution, **arguments)
                  > evaluation.insertion_auc(model, x, 0, random, **arguments))


def test_insertion_ends_at_the_full_score_and_deletion_at_the_baseline():
    model, x, attribution = _linear_problem()
    _, deleted = evaluation.perturbation_curves(model, x, 0, attribution, softmax=False)
    _, inserted = evaluation.perturbation_curves(model, x, 0, attribution, mode="insertion", softmax=False)
    full = model(x)[:, 0]
    np.testing.assert_allclose(deleted[:, 0], full, rtol=1e-6)
    np.testing.assert_allclose(inserted[:, -1], full, rtol=1e-6)
    np.testing.assert_allclose(deleted[:, -1], 0.0, atol=1e-9)
    np.testing.assert_allclose(inserted[:, 0], 0.0, atol=1e-9)


def test_softmax_scores_are_probabilities():
    model, x, attribution = _linear_problem()

    def two_logits(batch):
        score = model(batch)
        return np.concatenate([score, -score], axis=1)

    _, curves = evaluation.perturbation_curves(two_logits, x, 1, attribution)
    expected = 1.0 / (1.0 + np.exp(2.0 * model(x)[:, 0]))  # softmax of (s, -s) at class 1
    np.testing.assert_allclose(curves[:, 0], expected, rtol=1e-6)


def test_faithfulness_correlation_is_one_for_the_exact_attribution_of_a_linear_model():
    model, x, attribution = _linear_problem()
    exact = evaluation.faithfulness_correlation(model, x, 0, attribution, softmax=False, subset_size=5, seed=1)
    np.testing.assert_allclose(exact, 1.0, atol=1e-6)
    shuffled = evaluation.random_maps(attribution.shape, seed=2)
    assert np.all(evaluation.faithfulness_correlation(model, x, 0, shuffled, softmax=False, seed=1) < 0.9)
    assert np.all(np.isnan(evaluation.faithfulness_correlation(model, x, 0, np.ones_like(attribution), softmax=False)))


def test_rank_correlation_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(0)
    a = rng.normal(size=(4, 5, 5))
    b = a + rng.normal(size=a.shape)
    b[0, 0] = b[0, 1]  # ties
    expected = [spearmanr(a[i].ravel(), b[i].ravel()).statistic for i in range(4)]
    np.testing.assert_allclose(evaluation.rank_correlation(a, b), expected, rtol=1e-10)
    np.testing.assert_allclose(evaluation.rank_correlation(a, -a), -1.0)
    assert np.isnan(evaluation.rank_correlation(np.ones((1, 3, 3)), a[:1, :3, :3])[0])


# --------------------------------------------------------------------------
# Randomisation, baselines and the data set
# --------------------------------------------------------------------------


def _small_cnn():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(inputs)
    h = keras.layers.GlobalMaxPooling2D(name="pool")(h)
    return keras.Model(inputs, keras.layers.Dense(2, name="logits")(h))


def test_cascading_randomisation_goes_top_down_and_leaves_the_model_alone():
    from utils.explain import saliency

    model = _small_cnn()
    before = [w.copy() for w in model.get_weights()]
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype(np.float32)
    names, rho = evaluation.cascading_randomisation(
        model, x, 0, lambda m, inputs, t: np.abs(saliency.vanilla_gradients(m, inputs, t)), seed=1)
    assert names == ["logits", "conv"]
    assert rho.shape == (2, 4)
    assert np.nanmean(rho[-1]) < 0.9  # a fully random network's gradients are other gradients
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)
    # a "method" that ignores the model (the edge detector) is not changed by randomising it
    _, edges = evaluation.cascading_randomisation(model, x, 0, lambda m, inputs, t: evaluation.edge_maps(inputs))
    np.testing.assert_allclose(edges, 1.0)


def test_edge_maps_are_zero_on_flat_images_and_mark_an_edge():
    assert np.all(evaluation.edge_maps(np.ones((2, 6, 6, 1))) == 0.0)
    image = np.zeros((1, 6, 6, 1))
    image[0, :, 3:] = 1.0
    edges = evaluation.edge_maps(image)
    assert edges.shape == (1, 6, 6)
    assert set(np.flatnonzero(edges[0, 3] == edges[0, 3].max())) == {2, 3}


def test_planted_evidence_is_seeded_and_its_mask_holds_the_deciding_pattern():
    data = evaluation.make_planted_evidence(200, seed=3, noise=0.0)
    again = evaluation.make_planted_evidence(200, seed=3, noise=0.0)
    np.testing.assert_array_equal(data.x, again.x)
    assert not np.array_equal(data.x, evaluation.make_planted_evidence(200, seed=4, noise=0.0).x)
    assert data.x.shape == (200, 16, 16, 1) and data.x.dtype == np.float32
    assert data.masks.shape == (200, 16, 16) and data.masks.dtype == np.bool_
    assert np.all(data.masks.sum(axis=(1, 2)) == 9)
    patterns = list(evaluation.CLASS_PATTERNS.values())
    for image, label, mask in zip(data.x[..., 0], data.y, data.masks):
        inside = (image[mask].reshape(3, 3) > 0).astype(int)
        np.testing.assert_array_equal(inside, patterns[label])
        assert len(np.unique(image[~mask & (image > 0)])) == 4  # four distractors, one intensity each
    assert 0.35 < data.y.mean() < 0.65


# --------------------------------------------------------------------------
# Bad input: a clear ArgumentError that names the argument
# --------------------------------------------------------------------------


def test_bad_input_names_the_argument():
    masks = _masks()
    maps = masks.astype(float)
    model, x, attribution = _linear_problem()
    with pytest.raises(ArgumentError, match="masks must have the shape of maps"):
        evaluation.pointing_game(maps[:, :7], masks)
    with pytest.raises(ArgumentError, match="masks must be a boolean array"):
        evaluation.relevance_mass_accuracy(maps, masks.astype(int))
    empty = masks.copy()
    empty[2] = False
    with pytest.raises(ArgumentError, match=r"masks\[2\] is empty"):
        evaluation.relevance_rank_accuracy(maps, empty)
    for tolerance in (-1, 8, 1.5):
        with pytest.raises(ArgumentError, match="tolerance"):
            evaluation.pointing_game(maps, masks, tolerance=tolerance)
    with pytest.raises(ArgumentError, match="maps must have the shape of x"):
        evaluation.deletion_auc(model, x, 0, attribution[:, :5], softmax=False)
    with pytest.raises(ArgumentError, match="maps contains NaN"):
        evaluation.pointing_game(np.full(masks.shape, np.nan), masks)
    with pytest.raises(ArgumentError, match="mode"):
        evaluation.perturbation_curves(model, x, 0, attribution, mode="sideways")
    with pytest.raises(ArgumentError, match="n_steps"):
        evaluation.insertion_auc(model, x, 0, attribution, n_steps=0)
    with pytest.raises(ArgumentError, match="model must be callable"):
        evaluation.deletion_auc("model", x, 0, attribution)
    with pytest.raises(ArgumentError, match="targets"):
        evaluation.deletion_auc(model, x, [0, 1], attribution, softmax=False)
    with pytest.raises(ArgumentError, match="targets must be class indices below 1"):
        evaluation.deletion_auc(model, x, 1, attribution, softmax=False)
    with pytest.raises(ArgumentError, match="subset_size"):
        evaluation.faithfulness_correlation(model, x, 0, attribution, subset_size=37)
    with pytest.raises(ArgumentError, match="maps_b must have the shape of maps_a"):
        evaluation.rank_correlation(maps, maps[:2])
    with pytest.raises(ArgumentError, match="model must be a keras.Model"):
        evaluation.cascading_randomisation(model, x, 0, lambda m, inputs, t: inputs[..., 0])
    with pytest.raises(ArgumentError, match="size must be a multiple of 4"):
        evaluation.make_planted_evidence(10, size=18)
    with pytest.raises(ArgumentError, match="n_distractors"):
        evaluation.make_planted_evidence(10, size=8, n_distractors=4)
    with pytest.raises(ArgumentError, match="x must be a 4-D array"):
        evaluation.edge_maps(np.zeros((2, 6, 6)))


# --------------------------------------------------------------------------
# Cross-check against Quantus (Hedström et al., 2023) where it is installed
# --------------------------------------------------------------------------


def test_mask_metrics_agree_with_quantus():
    quantus = pytest.importorskip("quantus")
    rng = np.random.default_rng(0)
    masks = _masks(n=12, seed=1)
    maps = rng.uniform(size=masks.shape)  # non-negative, no ties
    maps[:4] += 2.0 * masks[:4]  # some hits in the pointing game
    a, s = maps[:, None], masks[:, None].astype(float)  # Quantus's channel-first layout
    x, y = rng.uniform(size=a.shape), np.zeros(len(a), int)
    common = dict(model=None, x_batch=x, y_batch=y, a_batch=a, s_batch=s)
    theirs = {
        "pointing": quantus.PointingGame(disable_warnings=True)(**common),
        "mass": quantus.RelevanceMassAccuracy(disable_warnings=True)(**common),
        "rank": quantus.RelevanceRankAccuracy(disable_warnings=True)(**common),
    }
    np.testing.assert_array_equal(evaluation.pointing_game(maps, masks), np.asarray(theirs["pointing"], float))
    np.testing.assert_allclose(evaluation.relevance_mass_accuracy(maps, masks), theirs["mass"], rtol=1e-10)
    np.testing.assert_allclose(evaluation.relevance_rank_accuracy(maps, masks), theirs["rank"], rtol=1e-10)
