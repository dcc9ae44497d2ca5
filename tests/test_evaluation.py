"""Unit tests of utils.explain.evaluation: closed-form cases, the planted-evidence data and bad input."""

import numpy as np
import pytest

from conftest import exactly
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


class Recorder:
    """A model that records every batch it is given; ``scores(batch)`` gives its (n, classes) outputs."""

    def __init__(self, scores=lambda batch: np.zeros((len(batch), 1))):
        self.scores, self.batches = scores, []

    def __call__(self, batch):
        assert batch.dtype == np.float32, batch.dtype  # the model is given float32 inputs
        self.batches.append(np.array(batch))
        return self.scores(np.asarray(batch, np.float64))

    @property
    def seen(self):
        return np.concatenate(self.batches)


def test_deletion_and_insertion_change_the_most_relevant_positions_first_in_every_channel():
    x = np.arange(1, 9, dtype=np.float32).reshape(1, 2, 2, 2)  # 4 positions, 2 channels
    maps = np.array([[[3.0, 1.0], [1.0, 2.0]]])  # order: (0, 0), (1, 1), then the tie (0, 1), (1, 0) in index order
    order = [(0, 0), (1, 1), (0, 1), (1, 0)]
    for mode in ("deletion", "insertion"):
        baseline = np.full(x.shape, -1.0) if mode == "insertion" else -1.0
        model = Recorder()
        fractions, curves = evaluation.perturbation_curves(model, x, 0, maps, mode=mode, n_steps=4, baseline=baseline,
                                                           softmax=False, batch_size=2)
        np.testing.assert_array_equal(fractions, [0.0, 0.25, 0.5, 0.75, 1.0])
        assert curves.shape == (1, 5)
        assert [len(batch) for batch in model.batches] == [2, 2, 1]  # 5 inputs, 2 per call
        for step, seen in enumerate(model.seen):
            expected = x[0].copy() if mode == "deletion" else np.full(x.shape[1:], -1.0)
            for row, column in order[:step]:
                expected[row, column] = -1.0 if mode == "deletion" else x[0, row, column]
            np.testing.assert_array_equal(seen, expected, err_msg=f"{mode}, step {step}")


def test_steps_round_the_number_of_changed_positions():
    model = Recorder()
    x = np.ones((1, 1, 4, 1), np.float32)
    fractions, _ = evaluation.perturbation_curves(model, x, 0, np.arange(4.0)[None, None], n_steps=3, softmax=False)
    np.testing.assert_array_equal(fractions, [0.0, 0.25, 0.75, 1.0])  # round(4/3) = 1, round(8/3) = 3 positions
    np.testing.assert_array_equal((model.seen == 0).sum(axis=(1, 2, 3)), [0, 1, 3, 4])


def test_scores_are_the_targets_column_after_a_softmax_batch_by_batch():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(7, 2, 3, 1)).astype(np.float32)
    weights = rng.normal(size=(6, 3))
    model = Recorder(lambda batch: batch.reshape(len(batch), -1) @ weights)
    targets = np.array([0, 2, 1, 1, 0, 2, 2])
    maps = rng.uniform(size=(7, 2, 3))
    _, raw = evaluation.perturbation_curves(model, x, targets, maps, n_steps=2, softmax=False, batch_size=3)
    _, probabilities = evaluation.perturbation_curves(model, x, targets, maps, n_steps=2, batch_size=5)
    logits = model.seen[:21].reshape(3, 7, -1) @ weights  # (steps + 1, n, classes), in the order they were asked
    expected_raw = logits[:, np.arange(7), targets].T
    np.testing.assert_allclose(raw, expected_raw, rtol=1e-12)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)
    np.testing.assert_allclose(probabilities, softmax[:, np.arange(7), targets].T, rtol=1e-6)
    assert [len(batch) for batch in model.batches] == [3] * 7 + [5, 5, 5, 5, 1]


def test_the_softmax_is_taken_row_by_row_without_overflow():
    x = np.zeros((2, 1, 1, 1), np.float32)
    logits = np.array([[1000.0, 999.0], [0.0, 1.0]])  # rows of very different scale
    _, curves = evaluation.perturbation_curves(lambda batch: np.tile(logits, (len(batch) // 2, 1)), x, [0, 1],
                                               np.zeros((2, 1, 1)), n_steps=1)
    np.testing.assert_allclose(curves, [[1 / (1 + np.exp(-1.0))] * 2] * 2, rtol=1e-12)


def test_a_plain_callable_needs_no_keras(monkeypatch):
    import sys

    model, x, attribution = _linear_problem()
    expected = evaluation.deletion_auc(model, x, 0, attribution, softmax=False)
    monkeypatch.setitem(sys.modules, "keras", None)  # `import keras` now raises ImportError
    np.testing.assert_array_equal(evaluation.deletion_auc(model, x, 0, attribution, softmax=False), expected)


def test_signals_with_one_spatial_axis():
    rng = np.random.default_rng(8)
    x = rng.uniform(size=(3, 10, 2)).astype(np.float32)  # (n, length, channels)
    weights = rng.normal(size=(10, 2))
    model = Recorder(lambda batch: (batch * weights).sum(axis=(1, 2))[:, None])
    attribution = (x * weights).sum(axis=-1)
    fractions, curves = evaluation.perturbation_curves(model, x, 0, attribution, n_steps=10, softmax=False)
    expected = attribution.sum(axis=1)[:, None] - np.concatenate(
        [np.zeros((3, 1)), np.cumsum(-np.sort(-attribution, axis=1), axis=1)], axis=1)
    np.testing.assert_allclose(curves, expected, rtol=1e-5, atol=1e-5)
    faithfulness = evaluation.faithfulness_correlation(model, x, 0, attribution, subset_size=3, softmax=False)
    np.testing.assert_allclose(faithfulness, 1.0, atol=1e-6)


def test_a_keras_model_is_called_in_inference_mode():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    hidden = keras.layers.Dropout(0.9)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    x = np.random.default_rng(0).uniform(size=(2, 4, 4, 1)).astype(np.float32)
    maps = np.random.default_rng(1).uniform(size=(2, 4, 4))
    _, curves = evaluation.perturbation_curves(model, x, [0, 2], maps, n_steps=1, softmax=False)
    expected = keras.ops.convert_to_numpy(model(x, training=False))[[0, 1], [0, 2]]
    np.testing.assert_allclose(curves[:, 0], expected, rtol=1e-5)
    np.testing.assert_allclose(curves[:, 1], keras.ops.convert_to_numpy(model.layers[-1].bias)[[0, 2]], atol=1e-6)


def test_the_areas_are_the_trapezoidal_rule_over_the_curves():
    model, x, attribution = _linear_problem()
    for mode, area in (("deletion", evaluation.deletion_auc), ("insertion", evaluation.insertion_auc)):
        fractions, curves = evaluation.perturbation_curves(model, x, 0, attribution, mode=mode, n_steps=5, baseline=0.3,
                                                           softmax=False)
        np.testing.assert_allclose(area(model, x, 0, attribution, n_steps=5, baseline=0.3, softmax=False),
                                   np.trapezoid(curves, fractions, axis=1), rtol=1e-12)
    # the defaults: 16 steps, a zero baseline, the softmax
    two = Recorder(lambda batch: np.stack([batch.sum(axis=(1, 2, 3)), np.zeros(len(batch))], axis=1))
    fractions, curves = evaluation.perturbation_curves(two, x, 0, attribution)
    assert len(fractions) == 17 and np.all(curves > 0) and np.all(curves < 1)
    np.testing.assert_allclose(curves[:, -1], 0.5)  # all positions at zero: both logits zero
    np.testing.assert_allclose(evaluation.deletion_auc(two, x, 0, attribution), np.trapezoid(curves, fractions, axis=1))
    fractions, curves = evaluation.perturbation_curves(two, x, 0, attribution, mode="insertion")
    np.testing.assert_allclose(evaluation.insertion_auc(two, x, 0, attribution), np.trapezoid(curves, fractions, axis=1))


def test_model_calls_hold_1024_inputs_by_default():
    model, x, attribution = _linear_problem(n=61)  # 17 steps x 61 inputs = 1,037 inputs to score
    calls = [lambda m: evaluation.perturbation_curves(m, x, 0, attribution, softmax=False),
             lambda m: evaluation.deletion_auc(m, x, 0, attribution, softmax=False),
             lambda m: evaluation.insertion_auc(m, x, 0, attribution, softmax=False),
             lambda m: evaluation.faithfulness_correlation(m, x, 0, attribution, n_subsets=17, softmax=False)]
    for call, sizes in zip(calls, [[1024, 13]] * 3 + [[61, 1024, 13]]):
        recorder = Recorder(model)
        call(recorder)
        assert [len(batch) for batch in recorder.batches] == sizes


def test_faithfulness_correlation_removes_subsets_of_the_given_size_and_correlates_their_relevance_with_the_drop():
    rng = np.random.default_rng(2)
    x = rng.uniform(0.5, 1.0, size=(3, 4, 5, 2)).astype(np.float32)
    maps = rng.normal(size=(3, 4, 5))
    weights = rng.normal(size=(40, 2))
    model = Recorder(lambda batch: batch.reshape(len(batch), -1) @ weights)
    result = evaluation.faithfulness_correlation(model, x, [1, 0, 1], maps, subset_size=3, n_subsets=6,
                                                 baseline=-4.0, seed=7, batch_size=4)
    original, perturbed = model.seen[:3], model.seen[3:].reshape(6, 3, 4, 5, 2)
    np.testing.assert_array_equal(original, x)
    removed = perturbed == -4.0
    assert np.all(removed[..., 0] == removed[..., 1])  # every channel of a position
    assert np.all(removed[..., 0].sum(axis=(2, 3)) == 3)
    np.testing.assert_array_equal(perturbed[~removed], np.broadcast_to(x, perturbed.shape)[~removed])
    assert len({removed[k, i].tobytes() for k in range(6) for i in range(3)}) > 12  # drawn per subset and input
    def probability(batch, target):
        logits = batch.reshape(len(batch), -1) @ weights
        return np.exp(logits[:, target]) / np.exp(logits).sum(axis=1)
    for i, target in enumerate([1, 0, 1]):
        relevance = [maps[i][removed[k, i, ..., 0]].sum() for k in range(6)]
        drop = [probability(x[i : i + 1], target)[0] - probability(perturbed[k, i][None], target)[0] for k in range(6)]
        np.testing.assert_allclose(result[i], np.corrcoef(relevance, drop)[0, 1], rtol=1e-6)
    again = evaluation.faithfulness_correlation(model, x, [1, 0, 1], maps, subset_size=3, n_subsets=6, baseline=-4.0,
                                                seed=7)
    np.testing.assert_array_equal(again, result)
    other = evaluation.faithfulness_correlation(model, x, [1, 0, 1], maps, subset_size=3, n_subsets=6, baseline=-4.0,
                                                seed=8)
    assert not np.allclose(other, result)


def test_faithfulness_correlation_defaults():
    model = Recorder(lambda batch: np.stack([batch.sum(axis=(1, 2, 3)), np.zeros(len(batch))], axis=1))
    x = np.random.default_rng(3).uniform(0.5, 1.0, size=(2, 5, 5, 1)).astype(np.float32)
    maps = np.random.default_rng(4).normal(size=(2, 5, 5))
    first = evaluation.faithfulness_correlation(model, x, 0, maps)
    removed = model.seen[2:] == 0.0
    assert len(model.seen) == 2 + 64 * 2 and np.all(removed.sum(axis=(1, 2, 3)) == 16)
    np.testing.assert_array_equal(first, evaluation.faithfulness_correlation(model, x, 0, maps, seed=0, baseline=0.0,
                                                                             subset_size=16, n_subsets=64))


def test_pointing_game_tolerance_is_a_square_and_stays_inside_each_example():
    evidence = [(0, 0), (7, 7), (0, 0), (4, 4), (4, 4)]
    probes = [(2, 2), (1, 1), (6, 6), (6, 4), (4, 2)]  # the maps' maxima
    masks = np.zeros((5, 8, 8), bool)
    maps = np.zeros((5, 8, 8))
    for i, (mask_at, probe_at) in enumerate(zip(evidence, probes)):
        masks[(i, *mask_at)] = True
        maps[(i, *probe_at)] = 1.0
    # 0: a diagonal near miss, two rows and two columns away (Chebyshev distance 2);
    # 1 and 2: next to another example's evidence, far from their own; 3 and 4: two away, below and left
    np.testing.assert_array_equal(evaluation.pointing_game(maps, masks, tolerance=1), [0.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(evaluation.pointing_game(maps, masks, tolerance=2), [1.0, 0.0, 0.0, 1.0, 1.0])
    assert evaluation.pointing_game(maps, masks).dtype == np.float64


def test_relevance_rank_accuracy_counts_ties_at_the_kth_value_by_their_expectation():
    masks = np.zeros((2, 1, 6), bool)
    masks[:, 0, :2] = True  # K = 2
    maps = np.array([[[3.0, 1.0, 1.0, 1.0, 0.0, 0.0]],  # 0 in; one more from three tied, one of them in: 1/3
                     [[1.0, 1.0, 1.0, 1.0, 5.0, 0.0]]])  # 4 out; one more from four tied, two in: 2/4
    np.testing.assert_allclose(evaluation.relevance_rank_accuracy(maps, masks), [(1 + 1 / 3) / 2, (0 + 2 / 4) / 2])


def test_relevance_mass_accuracy_of_negative_or_mixed_maps():
    masks = np.zeros((2, 2, 2), bool)
    masks[:, 0, 0] = True
    maps = np.array([[[-1.0, -2.0], [-3.0, -4.0]], [[3.0, -2.0], [1.0, 0.0]]])
    np.testing.assert_allclose(evaluation.relevance_mass_accuracy(maps, masks), [0.25, 0.75])
    small = np.array([[[0.3, 0.1], [0.0, 0.0]]] * 2)  # a total below 1 is relevance all the same
    np.testing.assert_allclose(evaluation.relevance_mass_accuracy(small, masks), [0.75, 0.75])


def test_rank_correlation_is_nan_when_either_map_is_constant():
    rng = np.random.default_rng(1)
    varied, constant = rng.normal(size=(1, 3, 3)), np.full((1, 3, 3), 2.0)
    assert np.isnan(evaluation.rank_correlation(varied, constant)[0])
    assert np.isnan(evaluation.rank_correlation(constant, varied)[0])
    np.testing.assert_allclose(evaluation.rank_correlation(varied, 5.0 * varied + 1.0), 1.0)


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


def test_cascading_randomisation_draws_each_layer_from_its_initializer_seeded_by_position():
    import keras

    model = _small_cnn()
    model.set_weights([w if w.ndim > 1 else np.full_like(w, 0.5) for w in model.get_weights()])  # "trained" biases
    trained = {layer.name: [w.copy() for w in layer.get_weights()] for layer in model.layers if layer.weights}
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1))  # float64: explained as float32
    seen = []

    def explain(m, inputs, targets):
        assert inputs.dtype == np.float32 and targets == 0
        seen.append({layer.name: [w.copy() for w in layer.get_weights()] for layer in m.layers if layer.weights})
        return inputs[..., 0] * (1.0 + len(seen))

    names, rho = evaluation.cascading_randomisation(model, x, 0, explain, seed=5)
    assert names == ["logits", "conv"] and len(seen) == 3
    np.testing.assert_allclose(rho, 1.0)  # the "maps" are the input, scaled: always the same ranks
    fresh = {name: keras.ops.convert_to_numpy(keras.initializers.GlorotUniform(seed=5 + position)(shape))
             for position, (name, shape) in enumerate([("logits", (4, 2)), ("conv", (3, 3, 1, 4))])}
    for name in trained:  # the original model first
        for old, new in zip(trained[name], seen[0][name]):
            np.testing.assert_array_equal(old, new)
    np.testing.assert_allclose(seen[1]["logits"][0], fresh["logits"], rtol=1e-6)
    np.testing.assert_array_equal(seen[1]["logits"][1], 0.0)  # zeros, the bias initializer
    np.testing.assert_array_equal(seen[1]["conv"][0], trained["conv"][0])  # not yet
    np.testing.assert_array_equal(seen[1]["conv"][1], 0.5)
    np.testing.assert_allclose(seen[2]["logits"][0], fresh["logits"], rtol=1e-6)
    np.testing.assert_allclose(seen[2]["conv"][0], fresh["conv"], rtol=1e-6)
    np.testing.assert_array_equal(seen[2]["conv"][1], 0.0)
    seen.clear()
    evaluation.cascading_randomisation(model, x, 0, explain)  # seed 0 by default
    np.testing.assert_allclose(seen[2]["conv"][0], keras.ops.convert_to_numpy(
        keras.initializers.GlorotUniform(seed=1)((3, 3, 1, 4))), rtol=1e-6)


def test_a_weight_without_an_initializer_is_permuted():
    import keras

    class Scale(keras.layers.Layer):
        def build(self, input_shape):
            self.factors = self.add_weight(shape=(6,), initializer="ones", name="factors")

        def call(self, inputs):
            return inputs[:, :6] * self.factors

    inputs = keras.Input((6,))
    model = keras.Model(inputs, Scale(name="scale")(inputs))
    values = np.arange(1.0, 7.0, dtype=np.float32)
    model.set_weights([values])
    seen = []
    evaluation.cascading_randomisation(model, np.ones((1, 6, 1)), 0,
                                       lambda m, batch, t: seen.append(m.get_weights()[0].copy()) or batch[..., 0])
    np.testing.assert_array_equal(seen[1], np.random.default_rng(0).permutation(values))
    assert not np.array_equal(seen[1], values)


def test_edge_maps_are_the_sobel_magnitude_summed_over_channels():
    rng = np.random.default_rng(6)
    image = rng.uniform(size=(2, 5, 6, 2))
    padded = np.pad(image, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="edge")  # "nearest" at the border

    def shifted(dr, dc):
        return padded[:, 1 + dr : 6 + dr, 1 + dc : 7 + dc]

    smooth_columns = shifted(0, -1) + 2 * shifted(0, 0) + shifted(0, 1)
    smooth_rows = shifted(-1, 0) + 2 * shifted(0, 0) + shifted(1, 0)
    across_rows = (shifted(1, -1) + 2 * shifted(1, 0) + shifted(1, 1)) - (shifted(-1, -1) + 2 * shifted(-1, 0)
                                                                          + shifted(-1, 1))
    across_columns = (shifted(-1, 1) + 2 * shifted(0, 1) + shifted(1, 1)) - (shifted(-1, -1) + 2 * shifted(0, -1)
                                                                             + shifted(1, -1))
    assert smooth_rows.shape == smooth_columns.shape == image.shape
    expected = np.sqrt(across_rows**2 + across_columns**2).sum(axis=-1)
    np.testing.assert_allclose(evaluation.edge_maps(image), expected, rtol=1e-12)


def test_random_maps_are_seeded_uniform_noise():
    maps = evaluation.random_maps((3, 40, 50))
    assert maps.shape == (3, 40, 50) and maps.min() >= 0.0 and maps.max() < 1.0
    assert abs(maps.mean() - 0.5) < 0.01 and abs(maps.var() - 1 / 12) < 0.005
    np.testing.assert_array_equal(maps, evaluation.random_maps([3, 40, 50], seed=0))
    assert not np.array_equal(maps, evaluation.random_maps((3, 40, 50), seed=1))


def _distractor_kinds(data):
    """The names of the distractor patterns found in noise-free planted-evidence images."""
    found = set()
    for image, mask in zip(data.x[..., 0], data.masks):
        ink = (image > 0) & ~mask
        for cell_row, cell_column in {(r // 4, c // 4) for r, c in zip(*np.nonzero(ink))}:
            cell = np.zeros_like(ink)
            cell[4 * cell_row : 4 * cell_row + 4, 4 * cell_column : 4 * cell_column + 4] = True
            for top in (4 * cell_row, 4 * cell_row + 1):
                for left in (4 * cell_column, 4 * cell_column + 1):
                    window = np.zeros_like(ink)
                    window[top : top + 3, left : left + 3] = True
                    if (ink & cell & ~window).any():
                        continue
                    seen = ink[top : top + 3, left : left + 3].astype(int)
                    found |= {name for name, pattern in evaluation.DISTRACTOR_PATTERNS.items()
                              if np.array_equal(seen, pattern)}
    return found


def test_planted_evidence_intensities_offsets_noise_and_defaults():
    data = evaluation.make_planted_evidence(300, size=8, n_distractors=2, noise=0.0, seed=1)
    assert data.x.shape == (300, 8, 8, 1) and data.y.dtype == np.int64
    tops, lefts, levels, counts = set(), set(), [], []
    for image, mask in zip(data.x[..., 0], data.masks):
        rows, columns = np.nonzero(mask)
        tops.add(rows.min() % 4)
        lefts.add(columns.min() % 4)
        assert rows.max() - rows.min() == 2 and columns.max() - columns.min() == 2
        assert rows.min() // 4 == rows.max() // 4 and columns.min() // 4 == columns.max() // 4  # inside one cell
        levels.extend(np.unique(image[image > 0]))
        counts.append(len(np.unique(image[image > 0])))
    assert tops == lefts == {0, 1}
    assert 0.7 <= min(levels) < 0.72 and 0.98 < max(levels) <= 1.0
    assert counts.count(3) > 290  # the pattern and two distractors, each at its own intensity
    assert _distractor_kinds(data) == set(evaluation.DISTRACTOR_PATTERNS)  # every kind is drawn
    alone = evaluation.make_planted_evidence(50, size=8, n_distractors=0, noise=0.0)
    assert np.all((alone.x[..., 0] > 0) == (alone.masks & (alone.x[..., 0] > 0)))
    noisy = evaluation.make_planted_evidence(400, size=8, n_distractors=0, noise=0.2, seed=2)
    clean = evaluation.make_planted_evidence(400, size=8, n_distractors=0, noise=0.0, seed=2)
    assert abs((noisy.x - clean.x).std() - 0.2) < 0.005 and abs((noisy.x - clean.x).mean()) < 0.005
    default = evaluation.make_planted_evidence(20)
    np.testing.assert_array_equal(default.x, evaluation.make_planted_evidence(20, size=16, n_distractors=4, noise=0.05,
                                                                              seed=0).x)
    assert default.x.shape == (20, 16, 16, 1)


# --------------------------------------------------------------------------
# Bad input: a clear ArgumentError that names the argument
# --------------------------------------------------------------------------


def _dense_model(*layers):
    import keras

    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Flatten(), *layers])


def _bad_calls():
    """(call, the whole message) for each kind of bad input, with the arguments of the linear problem."""
    masks = _masks()
    maps = masks.astype(float)
    empty = masks.copy()
    empty[2] = False
    model, x, attribution = _linear_problem()
    one_dimensional = lambda batch: np.asarray(batch).sum(axis=(1, 2, 3))  # noqa: E731
    inputs = lambda m, batch, t: batch[..., 0]  # noqa: E731
    E = evaluation
    return [
        (lambda: E.pointing_game(np.zeros(5), masks), "maps must be a batch of maps, shape (n, *spatial); got shape (5,)."),
        (lambda: E.pointing_game(maps[:, :7], masks), "masks must have the shape of maps (5, 7, 8); got (5, 8, 8)."),
        (lambda: E.pointing_game(np.full(masks.shape, np.nan), masks),
         "maps contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.relevance_mass_accuracy(maps, masks.astype(int)),
         "masks must be a boolean array (True where the evidence is); got dtype int64."),
        (lambda: E.relevance_rank_accuracy(maps, empty),
         "masks must mark at least one position per example; masks[2] is empty."),
        (lambda: E.pointing_game(maps, masks, tolerance=-1), "tolerance must be an int in [0, 7]; got -1."),
        (lambda: E.pointing_game(maps, masks, tolerance=8), "tolerance must be an int in [0, 7]; got 8."),
        (lambda: E.pointing_game(np.zeros((2, 3, 5)), np.ones((2, 3, 5), bool), tolerance=3), "tolerance must be an int in [0, 2]; got 3."),
        (lambda: E.pointing_game(maps, masks, tolerance=1.5), "tolerance must be an int in [0, 7]; got 1.5."),
        (lambda: E.deletion_auc(model, x[..., 0, 0], 0, attribution[:, 0]),
         "x must be a batch of inputs with a channel axis, shape (n, *spatial, channels); got shape (6, 6)."),
        (lambda: E.deletion_auc(model, np.full(x.shape, np.inf), 0, attribution),
         "x contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.deletion_auc(model, x, 0, attribution[:, :5]),
         "maps must have the shape of x without its channel axis, (6, 6, 6); got (6, 5, 6)."),
        (lambda: E.perturbation_curves(model, x, 0, attribution, mode="sideways"),
         "mode must be 'deletion' or 'insertion'; got 'sideways'."),
        (lambda: E.insertion_auc(model, x, 0, attribution, n_steps=0), "n_steps must be a positive int; got 0."),
        (lambda: E.deletion_auc("model", x, 0, attribution), "model must be callable; got str."),
        (lambda: E.deletion_auc(model, x, [0, 1], attribution),
         "targets must have one class index per example (6); got 2."),
        (lambda: E.deletion_auc(model, x, [0, 0, 0, -2, 0, -1], attribution),
         "targets must be non-negative class indices; got -2."),
        (lambda: E.deletion_auc(model, x, np.zeros(6), attribution),
         "targets must hold integer class indices; got dtype float64."),
        (lambda: E.deletion_auc(model, x, np.zeros((6, 1), int), attribution),
         "targets must be a 1-D array; got shape (6, 1)."),
        (lambda: E.deletion_auc(model, x, 1, attribution, softmax=False),
         "targets must be class indices below 1; got 1."),
        (lambda: E.deletion_auc(one_dimensional, x, 0, attribution),
         "model must map a batch to class scores of shape (n, classes); got shape (102,)."),
        (lambda: E.deletion_auc(model, x, 0, attribution, softmax="yes"), "softmax must be True or False; got 'yes'."),
        (lambda: E.deletion_auc(model, x, 0, attribution, batch_size=0), "batch_size must be a positive int; got 0."),
        (lambda: E.deletion_auc(model, x, 0, attribution, baseline=np.zeros((6, 6, 1))),
         "baseline must be a number or an array of the shape of x (6, 6, 6, 1); got shape (6, 6, 1)."),
        (lambda: E.deletion_auc(model, x, 0, attribution, baseline=True),
         "baseline must be a number or an array of the shape of x (6, 6, 6, 1); got shape ()."),
        (lambda: E.deletion_auc(model, x, 0, attribution, baseline=np.inf), "baseline must be a finite number; got inf."),
        (lambda: E.deletion_auc(model, x, 0, attribution, baseline=np.full(x.shape, np.nan)),
         "baseline contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, subset_size=37),
         "subset_size must be an int in [1, 36]; got 37."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, subset_size=0),
         "subset_size must be an int in [1, 36]; got 0."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, n_subsets=1), "n_subsets must be an int >= 2; got 1."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, seed=-1), "seed must be a non-negative int; got -1."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, softmax=1), "softmax must be True or False; got 1."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, batch_size=0),
         "batch_size must be a positive int; got 0."),
        (lambda: E.faithfulness_correlation(None, x, 0, attribution), "model must be callable; got NoneType."),
        (lambda: E.faithfulness_correlation(model, x, [1], attribution),
         "targets must have one class index per example (6); got 1."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution[:, 1:]),
         "maps must have the shape of x without its channel axis, (6, 6, 6); got (6, 5, 6)."),
        (lambda: E.faithfulness_correlation(model, x, 0, attribution, baseline=np.ones((1, 6, 6, 1))),
         "baseline must be a number or an array of the shape of x (6, 6, 6, 1); got shape (1, 6, 6, 1)."),
        (lambda: E.rank_correlation(maps, maps[:2]), "maps_b must have the shape of maps_a (5, 8, 8); got (2, 8, 8)."),
        (lambda: E.rank_correlation(np.zeros(3), maps), "maps_a must be a batch of maps, shape (n, *spatial); got shape (3,)."),
        (lambda: E.rank_correlation(maps, np.full(maps.shape, np.inf)),
         "maps_b contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.cascading_randomisation(model, x, 0, inputs), "model must be a keras.Model with weights; got function."),
        (lambda: E.cascading_randomisation(_dense_model(), x, 0, inputs),
         "model must be a keras.Model with weights; got Sequential."),
        (lambda: E.cascading_randomisation(_dense_model(_dense()), x, 0, "saliency"), "explain must be callable; got str."),
        (lambda: E.cascading_randomisation(_dense_model(_dense()), x, 0, inputs, seed=1.5),
         "seed must be a non-negative int; got 1.5."),
        (lambda: E.cascading_randomisation(_dense_model(_dense()), np.full(x.shape, np.nan), 0, inputs),
         "x contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.random_maps((0, 3)), "shape must be an int >= 1 or a tuple of ints >= 1; got (0, 3)."),
        (lambda: E.random_maps((2, 3), seed=-2), "seed must be a non-negative int; got -2."),
        (lambda: E.edge_maps(np.zeros((2, 6, 6))), "x must be a 4-D array; got shape (2, 6, 6)."),
        (lambda: E.edge_maps(np.full((2, 6, 6, 1), np.nan)), "x contains NaN or infinite values; it must hold finite numbers."),
        (lambda: E.make_planted_evidence(10, size=18), "size must be a multiple of 4 (cells of 4x4 pixels); got 18."),
        (lambda: E.make_planted_evidence(10, size=4), "size must be an int >= 8; got 4."),
        (lambda: E.make_planted_evidence(10, size=8, n_distractors=4), "n_distractors must be an int in [0, 3]; got 4."),
        (lambda: E.make_planted_evidence(10, n_distractors=-1), "n_distractors must be an int in [0, 15]; got -1."),
        (lambda: E.make_planted_evidence(0), "n must be a positive int; got 0."),
        (lambda: E.make_planted_evidence(3, noise=-0.1), "noise must be a finite number >= 0.0; got -0.1."),
        (lambda: E.make_planted_evidence(3, seed="a"), "seed must be a non-negative int; got 'a'."),
    ]


def _dense():
    import keras

    return keras.layers.Dense(2)


def test_bad_input_gets_an_argument_error_with_the_whole_message():
    for call, message in _bad_calls():
        with pytest.raises(ArgumentError, match=exactly(message)):
            call()
    masks = _masks()
    with pytest.raises(ArgumentError, match=exactly(
            "masks must be a boolean array (True where the evidence is); got dtype <U1.")):
        evaluation.pointing_game(masks.astype(float), np.full(masks.shape, "y"))
    with pytest.raises(ArgumentError, match=r"^masks must be an array; it could not be converted \("):
        evaluation.relevance_mass_accuracy(np.zeros((2, 3)), [[True, False, True], [True]])


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
