"""Parameter and compute accounting per layer (chapter 03_cnn).

Convention
----------
* Costs are for **one example** (batch size 1) in the forward pass.
* A **multiply-accumulate** (MAC) is one product of a weight and an input value
  added to a running sum. **1 MAC = 2 FLOPs** (one multiplication, one addition).
* Only the products between weights and activations are counted, in
  ``Dense``, ``Conv1D``/``Conv2D``/``Conv3D``, ``DepthwiseConv1D``/``2D`` and
  ``SeparableConv1D``/``2D`` layers. Every kernel tap counts, including taps
  over zero padding.
* Element-wise work is **not** counted: biases, activations, pooling,
  batch normalisation (at inference it folds into the preceding layer),
  additions of residual connections, dropout, reshaping. It is small next to
  the MACs of the layers above and its cost depends on the implementation.
* Parameters are ``layer.count_params()``, so they include non-trainable ones
  (batch-normalisation moving statistics), as ``model.count_params()`` does.

A layer that has weights but no rule here (``LSTM``, ``MultiHeadAttention``...)
raises ``ValueError`` rather than being counted as free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Tuple

import numpy as np

from ._checks import ArgumentError, check_instance

FLOPS_PER_MAC = 2

# Layers with weights whose cost is element-wise or a lookup: no MACs by convention.
_ZERO_MAC_WEIGHTED = {
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "Normalization",
    "Embedding",
    "PReLU",
}


@dataclass(frozen=True)
class LayerCost:
    """Cost of one layer for one example. ``flops = 2 * macs``."""

    name: str
    kind: str
    output_shape: Tuple[int, ...]
    params: int
    macs: int

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs


def _shape(tensor, layer) -> Tuple[int, ...]:
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise ArgumentError(
            f"model: layer {layer.name!r} has an unknown dimension in its shape {tuple(tensor.shape)}; "
            "costs need fixed input shapes (build the model with keras.Input(shape=...) of known sizes)."
        )
    return tuple(int(d) for d in shape)


def _io_shapes(layer) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    try:
        inputs, outputs = layer.input, layer.output
    except (AttributeError, ValueError) as error:
        raise ArgumentError(
            f"model: cannot read the input/output shapes of layer {layer.name!r}: it must be called exactly once "
            f"inside a functional or Sequential model built with keras.Input ({error})."
        ) from None
    if isinstance(inputs, (list, tuple)):
        inputs = inputs[0]
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return _shape(inputs, layer), _shape(outputs, layer)


def _layer_macs(layer) -> int:
    kind = type(layer).__name__
    in_shape, out_shape = _io_shapes(layer)
    positions = int(np.prod(out_shape[:-1], dtype=np.int64)) if len(out_shape) > 1 else 1
    if kind == "Dense":
        return positions * in_shape[-1] * layer.units
    if kind in ("Conv1D", "Conv2D", "Conv3D"):
        if getattr(layer, "data_format", "channels_last") != "channels_last":
            raise ArgumentError(f"model: layer {layer.name!r}: only data_format='channels_last' is supported.")
        in_channels = in_shape[-1]
        groups = getattr(layer, "groups", 1)
        taps = int(np.prod(layer.kernel_size))
        return positions * layer.filters * taps * (in_channels // groups)
    if kind in ("DepthwiseConv1D", "DepthwiseConv2D"):
        taps = int(np.prod(layer.kernel_size))
        return positions * out_shape[-1] * taps
    if kind in ("SeparableConv1D", "SeparableConv2D"):
        taps = int(np.prod(layer.kernel_size))
        depthwise_channels = in_shape[-1] * layer.depth_multiplier
        return positions * (depthwise_channels * taps + depthwise_channels * layer.filters)
    if kind in _ZERO_MAC_WEIGHTED or not layer.weights:
        return 0
    raise ArgumentError(
        f"model: no cost rule for layer {layer.name!r} of type {kind}; utils.costs covers Dense, "
        "convolution, pooling, normalisation and weightless layers."
    )


def _walk(model) -> List:
    import keras

    layers = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if isinstance(layer, keras.Model):
            layers.extend(_walk(layer))
        else:
            layers.append(layer)
    return layers


def layer_costs(model) -> List[LayerCost]:
    """Parameters and MACs of each layer of a built Keras model (nested models expanded).

    Raises ``TypeError`` for something that is not a Keras model and
    ``ValueError`` for a layer without a cost rule or without known shapes.
    """
    import keras

    check_instance("model", model, keras.Model, "a keras.Model")
    if not model.built:
        raise ArgumentError("model is not built; create it from keras.Input(...) or call model.build(input_shape).")
    costs = []
    for layer in _walk(model):
        _, out_shape = _io_shapes(layer)
        costs.append(LayerCost(layer.name, type(layer).__name__, out_shape, int(layer.count_params()), int(_layer_macs(layer))))
    return costs


def total_costs(model) -> dict:
    """``{"params", "macs", "flops"}`` summed over the layers of ``model``."""
    costs = layer_costs(model)
    macs = sum(c.macs for c in costs)
    return {"params": sum(c.params for c in costs), "macs": macs, "flops": FLOPS_PER_MAC * macs}


def cost_table(model) -> str:
    """A plain-text table: one row per layer (output shape, parameters, MACs, FLOPs) and a total."""
    costs = layer_costs(model)
    rows = [(c.name, c.kind, str(c.output_shape), f"{c.params:,}", f"{c.macs:,}", f"{c.flops:,}") for c in costs]
    total = total_costs(model)
    rows.append(("total", "", "", f"{total['params']:,}", f"{total['macs']:,}", f"{total['flops']:,}"))
    header = ("layer", "type", "output shape", "params", "MACs", "FLOPs")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    def line(row):
        return "  ".join(
            cell.ljust(w) if i < 3 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))
        ).rstrip()

    return "\n".join([line(header)] + [line(r) for r in rows])
