"""utils.reference.recurrent: NumPy SimpleRNN/LSTM/GRU cells reproduce Keras's layers."""

import numpy as np
import pytest

from utils.reference import recurrent


@pytest.fixture(scope="module")
def keras():
    import utils

    utils.setup(quiet=True)
    import keras

    return keras


def _inputs(batch=2, time=7, features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, time, features)).astype("float32")


def _keras_run(layer, inputs):
    outputs = layer(inputs)
    return [np.asarray(o) for o in outputs]


def _randomise_biases(layer, seed=1):
    weights = layer.get_weights()
    weights[-1] = np.random.default_rng(seed).normal(scale=0.5, size=weights[-1].shape).astype("float32")
    layer.set_weights(weights)


def test_simple_rnn_matches_keras(keras):
    x = _inputs()
    layer = keras.layers.SimpleRNN(5, return_sequences=True, return_state=True)
    layer.build(x.shape)
    _randomise_biases(layer)
    sequence, final = _keras_run(layer, x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    ours, (h,) = recurrent.run_recurrence(
        recurrent.simple_rnn_step, x, (np.zeros((2, 5)),),
        kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias,
    )
    np.testing.assert_allclose(ours, sequence, atol=1e-5)
    np.testing.assert_allclose(h, final, atol=1e-5)


def test_lstm_matches_keras_including_the_cell_state(keras):
    x = _inputs()
    layer = keras.layers.LSTM(4, return_sequences=True, return_state=True)
    layer.build(x.shape)
    _randomise_biases(layer)
    sequence, final_h, final_c = _keras_run(layer, x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    zeros = np.zeros((2, 4))
    ours, (h, c) = recurrent.run_recurrence(
        recurrent.lstm_step, x, (zeros, zeros), kernel=kernel, recurrent_kernel=recurrent_kernel, bias=bias
    )
    np.testing.assert_allclose(ours, sequence, atol=1e-5)
    np.testing.assert_allclose(h, final_h, atol=1e-5)
    np.testing.assert_allclose(c, final_c, atol=1e-5)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_matches_keras_for_both_reset_conventions(keras, reset_after):
    x = _inputs()
    layer = keras.layers.GRU(4, return_sequences=True, return_state=True, reset_after=reset_after)
    layer.build(x.shape)
    _randomise_biases(layer)
    sequence, final = _keras_run(layer, x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    ours, (h,) = recurrent.run_recurrence(
        recurrent.gru_step, x, (np.zeros((2, 4)),), kernel=kernel, recurrent_kernel=recurrent_kernel,
        bias=bias, reset_after=reset_after,
    )
    np.testing.assert_allclose(ours, sequence, atol=1e-5)
    np.testing.assert_allclose(h, final, atol=1e-5)


def test_the_gru_conventions_differ(keras):
    """The check above could not pass by accident: the two conventions give different outputs."""
    x = _inputs()
    rng = np.random.default_rng(3)
    kernel, recurrent_kernel = rng.normal(size=(3, 12)), rng.normal(size=(4, 12))
    bias = rng.normal(size=(2, 12))
    after, _ = recurrent.run_recurrence(recurrent.gru_step, x, (np.zeros((2, 4)),), kernel=kernel,
                                        recurrent_kernel=recurrent_kernel, bias=bias, reset_after=True)
    before, _ = recurrent.run_recurrence(recurrent.gru_step, x, (np.zeros((2, 4)),), kernel=kernel,
                                         recurrent_kernel=recurrent_kernel, bias=bias[0] + bias[1],
                                         reset_after=False)
    assert np.abs(after - before).max() > 1e-3


def test_split_gates_and_bad_input():
    blocks = recurrent.split_gates(np.arange(12).reshape(1, 12), 4)
    assert len(blocks) == 4 and blocks[1].tolist() == [[3, 4, 5]]
    with pytest.raises(ValueError, match="multiple of n_gates"):
        recurrent.split_gates(np.zeros((2, 10)), 4)
    with pytest.raises(ValueError, match="n_gates"):
        recurrent.split_gates(np.zeros((2, 10)), 0)
    with pytest.raises(ValueError, match=r"\(batch, time, features\)"):
        recurrent.run_recurrence(recurrent.simple_rnn_step, np.zeros((3, 4)), (np.zeros((3, 2)),))
    with pytest.raises(TypeError, match="step must be callable"):
        recurrent.run_recurrence(None, np.zeros((1, 3, 4)), (np.zeros((1, 2)),))
    with pytest.raises(ValueError, match=r"shape \(2, 3u\)"):
        recurrent.gru_step(np.zeros((1, 3)), (np.zeros((1, 2)),), np.zeros((3, 6)), np.zeros((2, 6)), np.zeros(6))
    assert recurrent.sigmoid(np.array(0.0)) == 0.5


def test_sigmoid_is_stable_for_large_inputs():
    x = np.array([-1000.0, -700.0, -50.0, -1.0, 0.0, 1.0, 50.0, 1000.0])
    with np.errstate(over="raise", invalid="raise"):  # the naive 1 / (1 + exp(-x)) overflows at -1000
        values = recurrent.sigmoid(x)
    assert np.all(np.isfinite(values)) and values[0] == 0.0 and values[-1] == 1.0
    np.testing.assert_allclose(values[2:7], 1.0 / (1.0 + np.exp(-x[2:7])), rtol=1e-15)
    np.testing.assert_allclose(values + recurrent.sigmoid(-x), 1.0, rtol=1e-15)  # sigmoid(-x) = 1 - sigmoid(x)
    assert values[1] > 0.0
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        1.0 / (1.0 + np.exp(-x))  # what the stable form avoids
