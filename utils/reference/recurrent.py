"""Recurrent cells written in NumPy from their gate equations (chapter 04_rnn).

The step functions take the weights in the layout of ``keras.layers.SimpleRNN``,
``LSTM`` and ``GRU`` (``layer.get_weights()``), so a Keras layer's outputs can be
reproduced exactly:

* SimpleRNN: ``kernel`` (d, u), ``recurrent_kernel`` (u, u), ``bias`` (u,);
* LSTM: gates stacked along the last axis in the order input, forget, cell
  candidate, output: ``kernel`` (d, 4u), ``recurrent_kernel`` (u, 4u), ``bias`` (4u,);
* GRU: gates in the order update, reset, candidate: ``kernel`` (d, 3u),
  ``recurrent_kernel`` (u, 3u); with ``reset_after=True`` (Keras's default) the
  bias has shape (2, 3u), an input bias and a recurrent bias, and the reset gate
  multiplies the recurrent term *after* the matrix product.

:func:`run_recurrence` runs any step function over a sequence.
"""

from __future__ import annotations

from typing import Callable, Tuple

import numpy as np

from .._checks import ArgumentError, check_bool, check_callable, check_positive_int


def sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), in the form that cannot overflow.

    For each sign of ``x`` it uses the form whose exponential is ``exp(-|x|)``, in
    (0, 1], as the dense chapter does (``np.exp(-x)`` overflows, with a warning,
    for x below about -710). Exact 0 and 1 only where float64 rounds to them.
    """
    x = np.asarray(x, dtype=np.float64)
    exp_minus_abs = np.exp(-np.abs(x))  # always in (0, 1]
    return np.where(x >= 0, 1.0 / (1.0 + exp_minus_abs), exp_minus_abs / (1.0 + exp_minus_abs))


def split_gates(matrix: np.ndarray, n_gates: int) -> Tuple[np.ndarray, ...]:
    """Split Keras's fused gate weights along the last axis into ``n_gates`` blocks."""
    matrix = np.asarray(matrix)
    n_gates = check_positive_int("n_gates", n_gates)
    if matrix.shape[-1] % n_gates:
        raise ArgumentError(
            f"matrix: the last axis ({matrix.shape[-1]}) must be a multiple of n_gates ({n_gates})."
        )
    return tuple(np.split(matrix, n_gates, axis=-1))


def simple_rnn_step(x, state, kernel, recurrent_kernel, bias):
    """h_t = tanh(x_t W + h_{t-1} U + b). ``state`` is (h,); returns (h_t, (h_t,))."""
    (h,) = state
    h_new = np.tanh(x @ kernel + h @ recurrent_kernel + bias)
    return h_new, (h_new,)


def lstm_step(x, state, kernel, recurrent_kernel, bias):
    """One LSTM step (Keras gate order i, f, c, o). ``state`` is (h, c)."""
    h, c = state
    z = x @ kernel + h @ recurrent_kernel + bias
    z_i, z_f, z_c, z_o = split_gates(z, 4)
    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o)
    c_new = f * c + i * np.tanh(z_c)
    h_new = o * np.tanh(c_new)
    return h_new, (h_new, c_new)


def gru_step(x, state, kernel, recurrent_kernel, bias, reset_after: bool = True):
    """One GRU step (Keras gate order z, r, h). ``state`` is (h,).

    ``reset_after=True``: candidate = tanh(x W_h + b_h + r * (h U_h + b'_h));
    ``reset_after=False``: candidate = tanh(x W_h + (r * h) U_h + b_h).
    The new state is z * h + (1 - z) * candidate.
    """
    (h,) = state
    bias = np.asarray(bias)
    if check_bool("reset_after", reset_after):
        if bias.ndim != 2 or bias.shape[0] != 2:
            raise ArgumentError(f"with reset_after=True the bias must have shape (2, 3u); got {bias.shape}.")
        input_bias, recurrent_bias = bias
    else:
        if bias.ndim != 1:
            raise ArgumentError(f"with reset_after=False the bias must have shape (3u,); got {bias.shape}.")
        input_bias, recurrent_bias = bias, np.zeros_like(bias)
    x_z, x_r, x_h = split_gates(x @ kernel + input_bias, 3)
    u_z, u_r, u_h = split_gates(recurrent_kernel, 3)
    b_z, b_r, b_h = split_gates(recurrent_bias, 3)
    z = sigmoid(x_z + h @ u_z + b_z)
    r = sigmoid(x_r + h @ u_r + b_r)
    if reset_after:
        candidate = np.tanh(x_h + r * (h @ u_h + b_h))
    else:
        candidate = np.tanh(x_h + (r * h) @ u_h)
    h_new = z * h + (1.0 - z) * candidate
    return h_new, (h_new,)


def run_recurrence(step: Callable, inputs, initial_state, **weights):
    """Apply ``step`` along axis 1 of ``inputs`` (batch, time, features).

    Returns ``(outputs, final_state)``: outputs of shape (batch, time, units)
    and the tuple of final state arrays.
    """
    inputs = np.asarray(inputs, dtype=np.float64)
    if inputs.ndim != 3:
        raise ArgumentError(f"inputs must have shape (batch, time, features); got {inputs.shape}.")
    check_callable("step", step)  # simple_rnn_step, lstm_step, gru_step or your own
    state = tuple(np.asarray(s, dtype=np.float64) for s in initial_state)
    outputs = []
    for t in range(inputs.shape[1]):
        output, state = step(inputs[:, t], state, **weights)
        outputs.append(output)
    return np.stack(outputs, axis=1), state
