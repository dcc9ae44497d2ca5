"""NumPy reference implementations of convolution and pooling (chapter 03_cnn).

The convolution chapter writes these operations from their definition and
checks them against Keras with copied weights. The functions here are the
tested versions of that code, so that later chapters can reuse them:

* :func:`conv_output_length` and :func:`padding_amounts`: the output-size
  formula and Keras' padding rules (``"valid"``, ``"same"``, ``"causal"`` or an
  explicit number of zeros on each side);
* :func:`conv1d_loops`, :func:`conv2d_loops`: convolution (strictly,
  cross-correlation, as in every deep-learning library) written as loops;
* :func:`conv1d`, :func:`conv2d`: the same, vectorised with
  ``sliding_window_view`` and ``einsum``;
* :func:`pool1d`, :func:`pool2d`: max and average pooling;
* :func:`receptive_field`: the receptive field of a stack of layers.

Arrays use Keras' layout: inputs ``(batch, *spatial, channels)`` and kernels
``(*kernel_size, in_channels, out_channels)``.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .._checks import ArgumentError, check_choice, check_positive_int, check_positive_ints, is_int

Padding = Union[str, int]
IntOrTuple = Union[int, Sequence[int]]

_PADDINGS = ("valid", "same", "causal")


def _tuple(name: str, value: IntOrTuple, n: int) -> Tuple[int, ...]:
    """An int (the same on every spatial axis) or ``n`` ints (one per spatial axis), all >= 1."""
    if is_int(value):
        return (check_positive_int(name, value),) * n
    return check_positive_ints(name, value, length=n)


def padding_amounts(
    length: int, kernel_size: int, stride: int = 1, padding: Padding = "valid", dilation: int = 1
) -> Tuple[int, int]:
    """Zeros added before and after one spatial axis, following Keras' rules.

    ``"valid"`` adds none; ``"same"`` adds just enough for
    ``ceil(length / stride)`` outputs, the odd one (if any) at the end, as
    TensorFlow does; ``"causal"`` (1-D only in Keras) puts them all in front;
    an int ``p`` adds ``p`` on each side.
    """
    length = check_positive_int("length", length)
    kernel_size = check_positive_int("kernel_size", kernel_size)
    stride = check_positive_int("stride", stride)
    dilation = check_positive_int("dilation", dilation)
    extent = (kernel_size - 1) * dilation + 1
    if isinstance(padding, str):
        if padding not in _PADDINGS:
            raise ArgumentError(f"padding must be one of {_PADDINGS} or a non-negative int; got {padding!r}.")
        if padding == "valid":
            return 0, 0
        if padding == "causal":
            return extent - 1, 0
        total = max((math.ceil(length / stride) - 1) * stride + extent - length, 0)
        return total // 2, total - total // 2
    if not is_int(padding) or padding < 0:
        raise ArgumentError(f"padding must be one of {_PADDINGS} or a non-negative int; got {padding!r}.")
    return int(padding), int(padding)


def conv_output_length(
    length: int, kernel_size: int, stride: int = 1, padding: Padding = "valid", dilation: int = 1
) -> int:
    r"""Output length of a convolution or pooling along one axis.

    .. math:: n_\text{out} = \left\lfloor \frac{n + p_\text{before} + p_\text{after} - d(k-1) - 1}{s} \right\rfloor + 1

    Raises ``ValueError`` when the (dilated) kernel does not fit in the padded input.
    """
    before, after = padding_amounts(length, kernel_size, stride, padding, dilation)
    extent = (kernel_size - 1) * dilation + 1
    padded = length + before + after
    if padded < extent:
        raise ArgumentError(
            f"the kernel (extent {extent} with dilation {dilation}) is longer than the padded input "
            f"({padded}); use a smaller kernel_size or dilation, or padding='same'."
        )
    return (padded - extent) // stride + 1


def receptive_field(
    kernel_sizes: Sequence[int],
    strides: Optional[Sequence[int]] = None,
    dilations: Optional[Sequence[int]] = None,
) -> int:
    r"""Receptive field (in input positions) of one output of a stack of layers.

    Layer :math:`l` with kernel :math:`k_l`, dilation :math:`d_l` and the product
    :math:`J_{l-1} = \prod_{i<l} s_i` of the strides below it adds
    :math:`(k_l - 1)\, d_l\, J_{l-1}` positions:

    .. math:: r = 1 + \sum_l (k_l - 1)\, d_l \prod_{i<l} s_i

    Pooling layers count as layers with ``kernel = pool size``.
    """
    kernels = check_positive_ints("kernel_sizes", kernel_sizes)  # at least one layer
    n = len(kernels)
    strides = (1,) * n if strides is None else check_positive_ints("strides", strides)
    dilations = (1,) * n if dilations is None else check_positive_ints("dilations", dilations)
    if len(strides) != n or len(dilations) != n:
        raise ArgumentError(
            f"strides and dilations must have one entry per layer ({n}); got {len(strides)} and {len(dilations)}."
        )
    field, jump = 1, 1
    for k, s, d in zip(kernels, strides, dilations):
        field += (k - 1) * d * jump
        jump *= s
    return field


def _check_conv_arrays(x, kernel, bias, n_spatial: int):
    x = np.asarray(x)
    kernel = np.asarray(kernel)
    if x.ndim != n_spatial + 2:
        raise ArgumentError(
            f"x must have shape (batch, {'length' if n_spatial == 1 else 'height, width'}, channels); "
            f"got shape {x.shape}."
        )
    if kernel.ndim != n_spatial + 2:
        raise ArgumentError(
            f"kernel must have shape ({'k' if n_spatial == 1 else 'kh, kw'}, in_channels, out_channels) "
            f"like a Keras Conv{n_spatial}D kernel; got shape {kernel.shape}."
        )
    if kernel.shape[-2] != x.shape[-1]:
        raise ArgumentError(
            f"kernel expects {kernel.shape[-2]} input channels but x has {x.shape[-1]}."
        )
    if bias is not None:
        bias = np.asarray(bias)
        if bias.shape != (kernel.shape[-1],):
            raise ArgumentError(f"bias must have shape ({kernel.shape[-1]},); got {bias.shape}.")
    return x, kernel, bias


def _pad(x: np.ndarray, pads, value: float = 0.0) -> np.ndarray:
    return np.pad(x, [(0, 0), *pads, (0, 0)], constant_values=value)


def _conv_nd(x, kernel, bias, strides, padding, dilations, n_spatial: int) -> np.ndarray:
    x, kernel, bias = _check_conv_arrays(x, kernel, bias, n_spatial)
    ksize = kernel.shape[:n_spatial]
    strides = _tuple("strides", strides, n_spatial)
    dilations = _tuple("dilation_rate", dilations, n_spatial)
    pads = [padding_amounts(x.shape[1 + i], ksize[i], strides[i], padding, dilations[i]) for i in range(n_spatial)]
    for i in range(n_spatial):  # raises a clear error when the kernel does not fit
        conv_output_length(x.shape[1 + i], ksize[i], strides[i], padding, dilations[i])
    xp = _pad(x, pads)
    extents = [(k - 1) * d + 1 for k, d in zip(ksize, dilations)]
    axes = tuple(range(1, 1 + n_spatial))
    windows = np.lib.stride_tricks.sliding_window_view(xp, extents, axis=axes)
    # windows: (batch, *positions, channels, *extents); keep every stride-th position
    # and every dilation-th tap inside each window.
    index = (slice(None),) + tuple(slice(None, None, s) for s in strides) + (slice(None),)
    index += tuple(slice(None, None, d) for d in dilations)
    windows = windows[index]
    letters = "hwd"[:n_spatial]
    taps = "ijk"[:n_spatial]
    out = np.einsum(f"b{letters}c{taps},{taps}co->b{letters}o", windows, kernel)
    if bias is not None:
        out = out + bias
    return out


def conv1d(x, kernel, bias=None, strides: IntOrTuple = 1, padding: Padding = "valid", dilation_rate: IntOrTuple = 1):
    """Vectorised 1-D cross-correlation, the operation of ``keras.layers.Conv1D``.

    ``x``: (batch, length, in_channels); ``kernel``: (k, in_channels, out_channels);
    ``bias``: (out_channels,) or None. No activation is applied.
    """
    return _conv_nd(x, kernel, bias, strides, padding, dilation_rate, 1)


def conv2d(x, kernel, bias=None, strides: IntOrTuple = 1, padding: Padding = "valid", dilation_rate: IntOrTuple = 1):
    """Vectorised 2-D cross-correlation, the operation of ``keras.layers.Conv2D``.

    ``x``: (batch, height, width, in_channels); ``kernel``: (kh, kw, in_channels,
    out_channels); ``bias``: (out_channels,) or None. No activation is applied.
    """
    if padding == "causal":
        raise ArgumentError("padding='causal' exists for 1-D convolutions only; use 'valid', 'same' or an int.")
    return _conv_nd(x, kernel, bias, strides, padding, dilation_rate, 2)


def conv1d_loops(x, kernel, bias=None, strides: int = 1, padding: Padding = "valid", dilation_rate: int = 1):
    r"""1-D cross-correlation written from its definition, with loops.

    .. math:: y[b, t, o] = \text{bias}[o] + \sum_{j=0}^{k-1} \sum_c x_\text{pad}[b, t s + j d, c]\, w[j, c, o]
    """
    x, kernel, bias = _check_conv_arrays(x, kernel, bias, 1)
    (stride,), (dilation,) = _tuple("strides", strides, 1), _tuple("dilation_rate", dilation_rate, 1)
    k, _, n_out = kernel.shape
    n = conv_output_length(x.shape[1], k, stride, padding, dilation)
    xp = _pad(x, [padding_amounts(x.shape[1], k, stride, padding, dilation)])
    y = np.zeros((x.shape[0], n, n_out), dtype=np.result_type(x, kernel))
    for b in range(x.shape[0]):
        for t in range(n):
            for o in range(n_out):
                total = 0.0 if bias is None else bias[o]
                for j in range(k):
                    total += xp[b, t * stride + j * dilation, :] @ kernel[j, :, o]
                y[b, t, o] = total
    return y


def conv2d_loops(x, kernel, bias=None, strides: IntOrTuple = 1, padding: Padding = "valid", dilation_rate: IntOrTuple = 1):
    r"""2-D cross-correlation written from its definition, with loops.

    .. math:: y[b, r, q, o] = \text{bias}[o] + \sum_{i,j} \sum_c x_\text{pad}[b, r s_h + i d_h, q s_w + j d_w, c]\, w[i, j, c, o]
    """
    if padding == "causal":
        raise ArgumentError("padding='causal' exists for 1-D convolutions only; use 'valid', 'same' or an int.")
    x, kernel, bias = _check_conv_arrays(x, kernel, bias, 2)
    sh, sw = _tuple("strides", strides, 2)
    dh, dw = _tuple("dilation_rate", dilation_rate, 2)
    kh, kw, _, n_out = kernel.shape
    out_h = conv_output_length(x.shape[1], kh, sh, padding, dh)
    out_w = conv_output_length(x.shape[2], kw, sw, padding, dw)
    xp = _pad(x, [padding_amounts(x.shape[1], kh, sh, padding, dh), padding_amounts(x.shape[2], kw, sw, padding, dw)])
    y = np.zeros((x.shape[0], out_h, out_w, n_out), dtype=np.result_type(x, kernel))
    for b in range(x.shape[0]):
        for r in range(out_h):
            for q in range(out_w):
                for o in range(n_out):
                    total = 0.0 if bias is None else bias[o]
                    for i in range(kh):
                        for j in range(kw):
                            total += xp[b, r * sh + i * dh, q * sw + j * dw, :] @ kernel[i, j, :, o]
                    y[b, r, q, o] = total
    return y


def _pool_nd(x, pool_size, strides, padding, mode: str, n_spatial: int) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != n_spatial + 2:
        raise ArgumentError(f"x must have shape (batch, {n_spatial} spatial axes, channels); got shape {x.shape}.")
    check_choice("mode", mode, ("max", "average"))
    if padding not in ("valid", "same"):
        raise ArgumentError(f"padding must be 'valid' or 'same' for pooling; got {padding!r}.")
    size = _tuple("pool_size", pool_size, n_spatial)
    strides = size if strides is None else _tuple("strides", strides, n_spatial)
    pads = []
    for i in range(n_spatial):
        conv_output_length(x.shape[1 + i], size[i], strides[i], padding)
        pads.append(padding_amounts(x.shape[1 + i], size[i], strides[i], padding))
    # Padded positions are NaN and ignored, as in Keras: max pooling never picks
    # them and average pooling divides by the number of real values.
    xp = _pad(x, pads, value=np.nan)
    axes = tuple(range(1, 1 + n_spatial))
    windows = np.lib.stride_tricks.sliding_window_view(xp, size, axis=axes)
    windows = windows[(slice(None),) + tuple(slice(None, None, s) for s in strides)]
    reduce_axes = tuple(range(-n_spatial, 0))
    reducer = np.nanmax if mode == "max" else np.nanmean
    return reducer(windows, axis=reduce_axes)


def pool1d(x, pool_size: int = 2, strides: Optional[int] = None, padding: str = "valid", mode: str = "max"):
    """1-D max or average pooling like ``keras.layers.MaxPooling1D``/``AveragePooling1D``.

    ``strides=None`` means ``strides = pool_size`` (Keras' default).
    """
    return _pool_nd(x, pool_size, strides, padding, mode, 1)


def pool2d(x, pool_size: IntOrTuple = 2, strides: Optional[IntOrTuple] = None, padding: str = "valid", mode: str = "max"):
    """2-D max or average pooling like ``keras.layers.MaxPooling2D``/``AveragePooling2D``."""
    return _pool_nd(x, pool_size, strides, padding, mode, 2)
