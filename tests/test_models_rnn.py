"""The recurrent builders of chapter 04_rnn: architecture pinned (types, shapes, parameters)."""

import numpy as np
import pytest

from utils import models


from conftest import architecture as _architecture


def gru_parameters(inputs, units):
    """Keras GRU (reset_after=True): three gates, each with W, U and two biases."""
    return 3 * (inputs * units + units * units + 2 * units)


def test_build_rnn_classifier_architecture_is_pinned(keras):
    model = models.build_rnn_classifier()
    assert model.name == "gru_classifier"
    assert _architecture(model) == [
        ("InputLayer", (40, 1), 0),
        ("GRU", (64,), gru_parameters(1, 64)),
        ("Dense", (10,), 64 * 10 + 10),
    ]
    assert model.count_params() == 13514
    assert model.layers[-1].activation.__name__ == "linear"  # logits


@pytest.mark.parametrize(
    "cell, layer_type, parameters",
    [("simple_rnn", "SimpleRNN", 3 * 8 + 8 * 8 + 8), ("lstm", "LSTM", 4 * (3 * 8 + 8 * 8 + 8)),
     ("gru", "GRU", gru_parameters(3, 8))],
)
def test_build_rnn_classifier_cells(keras, cell, layer_type, parameters):
    model = models.build_rnn_classifier(input_length=12, n_features=3, n_outputs=4, units=8, cell=cell)
    assert _architecture(model) == [
        ("InputLayer", (12, 3), 0), (layer_type, (8,), parameters), ("Dense", (4,), 8 * 4 + 4)
    ]


def test_build_rnn_forecaster_architecture_is_pinned(keras):
    model = models.build_rnn_forecaster(window=52, horizon=13)
    assert _architecture(model) == [
        ("InputLayer", (52, 1), 0),
        ("GRU", (32,), gru_parameters(1, 32)),
        ("Dense", (13,), 32 * 13 + 13),
    ]
    assert model.count_params() == 3789
    lstm = models.build_rnn_forecaster(window=10, horizon=2, units=4, cell="lstm")
    assert type(lstm.get_layer("recurrent")).__name__ == "LSTM"


def test_build_seq2seq_attention_architecture_is_pinned(keras):
    model = models.build_seq2seq_attention(30, 14, source_length=22, target_length=10)
    expected = {
        "source_embedding": ("Embedding", 30 * 16),
        "encoder": ("Bidirectional", 2 * gru_parameters(16, 64)),
        "target_embedding": ("Embedding", 14 * 16),
        "decoder": ("GRU", gru_parameters(16, 128)),
        "attention": ("AdditiveAttention", 128),
        "logits": ("Dense", 256 * 14 + 14),
    }
    for name, (layer_type, parameters) in expected.items():
        layer = model.get_layer(name)
        assert (type(layer).__name__, layer.count_params()) == (layer_type, parameters), name
    assert model.count_params() == sum(p for _, p in expected.values()) == 91982
    assert tuple(model.output.shape[1:]) == (10, 14)
    assert [tuple(i.shape[1:]) for i in model.inputs] == [(22,), (10,)]


def test_attention_model_weights_sum_to_one_and_ignore_padding(keras):
    model = models.build_seq2seq_attention(12, 8, source_length=6, target_length=4, embedding_dim=4, units=5)
    weights = models.attention_model(model).predict(
        [np.array([[3, 4, 5, 0, 0, 0]]), np.array([[1, 2, 3, 4]])], verbose=0
    )
    assert weights.shape == (1, 4, 6)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(weights[..., 3:], 0.0, atol=1e-6)  # padded source positions


def test_recurrent_builders_reject_bad_input(keras):
    with pytest.raises(ValueError, match="cell must be one of"):
        models.build_rnn_classifier(cell="transformer")
    with pytest.raises(ValueError, match="units must be a positive int"):
        models.build_rnn_classifier(units=0)
    with pytest.raises(ValueError, match="horizon must be a positive int"):
        models.build_rnn_forecaster(window=10, horizon=0)
    with pytest.raises(ValueError, match="source_length"):
        models.build_seq2seq_attention(10, 10, source_length=-1, target_length=3)
    with pytest.raises(ValueError, match="no layer named 'attention'"):
        models.attention_model(models.build_rnn_classifier())


def test_build_rnn_classifier_passes_layer_options(keras):
    model = models.build_rnn_classifier(
        input_length=5, n_features=2, n_outputs=3, units=4, cell="lstm",
        layer_options={"unit_forget_bias": False, "bias_initializer": "ones"},
    )
    np.testing.assert_array_equal(model.get_layer("recurrent").get_weights()[-1], np.ones(16))
    with pytest.raises(TypeError, match="layer_options must be a dict"):
        models.build_rnn_classifier(layer_options=["bias_initializer"])
