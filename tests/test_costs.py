"""Parameter and MAC accounting (utils.costs), against count_params() and hand values."""

import pytest

from utils import costs


@pytest.fixture(scope="module")
def keras():
    import utils

    utils.setup(quiet=True)
    import keras

    return keras


def test_one_mac_is_two_flops():
    cost = costs.LayerCost("dense", "Dense", (10,), 110, 100)
    assert costs.FLOPS_PER_MAC == 2 and cost.flops == 200


def test_dense_hand_values(keras):
    inputs = keras.Input((20,))
    hidden = keras.layers.Dense(30, name="hidden")(inputs)
    outputs = keras.layers.Dense(4, name="out")(hidden)
    model = keras.Model(inputs, outputs)
    table = {c.name: c for c in costs.layer_costs(model)}
    assert (table["hidden"].params, table["hidden"].macs) == (20 * 30 + 30, 20 * 30)
    assert (table["out"].params, table["out"].macs) == (30 * 4 + 4, 30 * 4)
    assert costs.total_costs(model) == {"params": 754, "macs": 720, "flops": 1440}


def test_dense_on_a_sequence_counts_every_position(keras):
    inputs = keras.Input((5, 4))
    model = keras.Model(inputs, keras.layers.Dense(3, name="d")(inputs))
    (cost,) = costs.layer_costs(model)
    assert cost.output_shape == (5, 3) and cost.macs == 5 * 4 * 3


def test_conv1d_hand_values_with_stride_and_valid_padding(keras):
    inputs = keras.Input((40, 2))
    outputs = keras.layers.Conv1D(8, 5, strides=2, padding="valid", name="c")(inputs)
    (cost,) = costs.layer_costs(keras.Model(inputs, outputs))
    # (40 - 5) // 2 + 1 = 18 positions, 8 filters, 5 taps x 2 channels each
    assert cost.output_shape == (18, 8)
    assert (cost.params, cost.macs) == (5 * 2 * 8 + 8, 18 * 8 * 5 * 2)


def test_conv2d_and_pooling_hand_values(keras):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="c")(inputs)
    x = keras.layers.MaxPooling2D(2, name="p")(x)
    x = keras.layers.GlobalAveragePooling2D(name="g")(x)
    table = {c.name: c for c in costs.layer_costs(keras.Model(inputs, x))}
    assert (table["c"].params, table["c"].macs) == (3 * 3 * 3 * 4 + 4, 8 * 8 * 4 * 27)
    assert (table["p"].output_shape, table["p"].params, table["p"].macs) == ((4, 4, 4), 0, 0)
    assert (table["g"].output_shape, table["g"].macs) == ((4,), 0)


def test_grouped_depthwise_and_separable_convolutions(keras):
    inputs = keras.Input((6, 6, 4))
    grouped = keras.layers.Conv2D(8, 3, padding="same", groups=2, name="grouped")(inputs)
    depthwise = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, name="depthwise")(inputs)
    separable = keras.layers.SeparableConv2D(5, 3, padding="same", name="separable")(inputs)
    model = keras.Model(inputs, [grouped, depthwise, separable])
    table = {c.name: c for c in costs.layer_costs(model)}
    assert table["grouped"].macs == 36 * 8 * 9 * 2
    assert table["depthwise"].macs == 36 * 8 * 9
    assert table["separable"].macs == 36 * (4 * 9 + 4 * 5)
    assert costs.total_costs(model)["params"] == model.count_params()


def test_batch_normalisation_counts_all_parameters_and_no_macs(keras):
    inputs = keras.Input((10,))
    model = keras.Model(inputs, keras.layers.BatchNormalization(name="bn")(inputs))
    (cost,) = costs.layer_costs(model)
    assert (cost.params, cost.macs) == (4 * 10, 0)  # gamma, beta, moving mean and variance


@pytest.mark.parametrize("which", ["cnn1d", "cnn2d", "mlp", "nested"])
def test_totals_equal_count_params(keras, which):
    from utils import models

    if which == "cnn1d":
        model = models.build_cnn1d()
    elif which == "cnn2d":
        model = models.build_cnn2d()
    elif which == "mlp":
        model = models.build_mlp((8, 8, 1), 10, (128,))
    else:
        inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5), keras.layers.Dense(2)], name="inner")
        inputs = keras.Input((6,))
        model = keras.Model(inputs, keras.layers.Dense(3)(inner(inputs)))
    assert costs.total_costs(model)["params"] == model.count_params()


def test_nested_models_are_expanded(keras):
    inner = keras.Sequential([keras.Input((6,)), keras.layers.Dense(5, name="a")], name="inner")
    inputs = keras.Input((6,))
    model = keras.Model(inputs, keras.layers.Dense(3, name="b")(inner(inputs)))
    assert [c.name for c in costs.layer_costs(model)] == ["a", "b"]
    assert costs.total_costs(model)["macs"] == 6 * 5 + 5 * 3


def test_cost_table_lists_every_layer_and_the_total(keras):
    from utils import models

    text = costs.cost_table(models.build_cnn1d())
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["layer", "type", "output"]
    assert lines[-1].split() == ["total", "8,010", "100,160", "200,320"]
    assert len(lines) == 1 + 8 + 1


def test_rejects_something_that_is_not_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        costs.layer_costs("cnn")


def test_rejects_an_unbuilt_model(keras):
    with pytest.raises(ValueError, match="^model is not built"):
        costs.layer_costs(keras.Sequential([keras.layers.Dense(3)]))


def test_rejects_layers_without_a_cost_rule(keras):
    inputs = keras.Input((7, 2))
    model = keras.Model(inputs, keras.layers.LSTM(4, name="recurrent")(inputs))
    with pytest.raises(ValueError, match="^model: no cost rule for layer 'recurrent' of type LSTM"):
        costs.layer_costs(model)


def test_rejects_unknown_dimensions(keras):
    inputs = keras.Input((None, 2))
    model = keras.Model(inputs, keras.layers.Conv1D(3, 3, name="c")(inputs))
    with pytest.raises(ValueError, match="^model: layer 'c' has an unknown dimension"):
        costs.layer_costs(model)
