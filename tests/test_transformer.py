"""Attention and Transformer building blocks (utils.transformer)."""

import numpy as np
import pytest

import utils

utils.setup(quiet=True)

import keras  # noqa: E402

from conftest import exactly  # noqa: E402
from utils import transformer as T  # noqa: E402


def numpy_attention(q, k, v, mask=None):
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = np.exp(scores - scores.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    return weights @ v, weights


def test_attention_matches_the_formula_with_and_without_mask():
    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(2, 5, 8)), rng.normal(size=(2, 7, 8)), rng.normal(size=(2, 7, 3))
    mask = rng.random((2, 5, 7)) > 0.3
    mask[..., 0] = True  # every query sees at least one key
    for m in (None, mask):
        out, weights = T.scaled_dot_product_attention(q.astype("float32"), k.astype("float32"), v.astype("float32"), m)
        ref_out, ref_weights = numpy_attention(q, k, v, m)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out), ref_out, atol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), ref_weights, atol=1e-6)


def test_identical_keys_average_the_values():
    values = np.arange(12, dtype="float32").reshape(4, 3)
    out, weights = T.scaled_dot_product_attention(np.ones((1, 2), "float32"), np.ones((4, 2), "float32"), values)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out)[0], values.mean(0), rtol=1e-6)


def test_attention_with_an_explicit_scale_and_the_checks_of_its_sizes():
    rng = np.random.default_rng(8)
    q, k, v = (rng.normal(size=shape).astype("float32") for shape in ((1, 3, 4), (1, 5, 4), (1, 5, 2)))
    out, weights = T.scaled_dot_product_attention(q, k, v, scale=1.0)
    ref_out, ref_weights = numpy_attention(q * 2.0, k, v)  # scale 1 = the default 1/sqrt(4) on queries doubled
    np.testing.assert_allclose(keras.ops.convert_to_numpy(weights), ref_weights, atol=1e-6)
    with pytest.raises(ValueError, match=exactly("scale must be a finite number > 0; got 0.")):
        T.scaled_dot_product_attention(q, k, v, scale=0)
    with pytest.raises(ValueError, match=exactly(
            "query and key must have the same last (head) dimension d_k; got 4 and 6.")):
        T.scaled_dot_product_attention(q, rng.normal(size=(1, 5, 6)).astype("float32"), v)
    with pytest.raises(ValueError, match=exactly("key_length must be a positive int; got 0.")):
        T.causal_mask(3, 0)
    with pytest.raises(ValueError, match=exactly("depth must be a positive int; got 0.")):
        T.sinusoidal_positional_encoding(4, 0)
    with pytest.raises(ValueError, match=exactly("base must be a finite number > 1; got 1.0.")):
        T.sinusoidal_positional_encoding(4, 4, base=1.0)
    assert T.sinusoidal_positional_encoding(4, 4, base=1.5).shape == (4, 4)  # any base above 1


def test_attention_rejects_mismatched_head_dimensions():
    with pytest.raises(ValueError, match=exactly("query and key must have the same last (head) dimension d_k; got 4 and 5.")):
        T.scaled_dot_product_attention(np.ones((3, 4)), np.ones((3, 5)), np.ones((3, 5)))
    with pytest.raises(ValueError, match=exactly("key and value must have the same length (second-to-last dimension); got 3 and 2.")):
        T.scaled_dot_product_attention(np.ones((3, 4)), np.ones((3, 4)), np.ones((2, 4)))


def test_causal_mask_with_and_without_a_cache():
    np.testing.assert_array_equal(T.causal_mask(3), np.tril(np.ones((3, 3), bool)))
    # two new queries after three cached positions: they sit at positions 3 and 4
    np.testing.assert_array_equal(T.causal_mask(2, 5), [[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    with pytest.raises(ValueError, match=exactly("key_length (2) must be >= query_length (4): queries cannot be ahead of the keys they attend to.")):
        T.causal_mask(4, 2)


def test_sinusoidal_encoding_formula_and_relative_position_property():
    pe = T.sinusoidal_positional_encoding(50, 16)
    assert pe.shape == (50, 16)
    i = np.arange(8)
    np.testing.assert_allclose(pe[7, 0::2], np.sin(7 / 10000 ** (2 * i / 16)), atol=1e-6)
    np.testing.assert_allclose(pe[7, 1::2], np.cos(7 / 10000 ** (2 * i / 16)), atol=1e-6)
    # the dot product depends only on the offset
    dots = [pe[p] @ pe[p + 5] for p in range(40)]
    assert np.ptp(dots) < 1e-4
    with pytest.raises(ValueError, match=exactly("depth must be even (sine and cosine pairs); got 7.")):
        T.sinusoidal_positional_encoding(10, 7)
    with pytest.raises(ValueError, match=exactly("length must be a positive int; got 0.")):
        T.sinusoidal_positional_encoding(0, 8)


def test_transformer_block_rejects_indivisible_heads_and_wrong_width():
    with pytest.raises(ValueError, match=exactly("model_dim (30) must be divisible by num_heads (4) so that every head gets the same dimension.")):
        T.TransformerBlock(30, 4)
    block = T.TransformerBlock(16, 4)
    with pytest.raises(ValueError, match=exactly("inputs must have last dimension model_dim=16; got 8.")):
        block.build((None, 5, 8))


@pytest.mark.parametrize("norm_first, causal", [(True, True), (False, False), (True, False)])
def test_block_parameter_count_matches_the_formula(norm_first, causal):
    d = 24
    block = T.TransformerBlock(d, 3, causal=causal, norm_first=norm_first)
    block.build((None, 6, d))
    assert block.count_params() == 12 * d * d + 13 * d
    out = block(np.zeros((2, 6, d), "float32"))
    assert tuple(out.shape) == (2, 6, d)


def _numpy_layer_norm(x, layer, epsilon=1e-5):  # the block's documented default epsilon
    gamma, beta = (keras.ops.convert_to_numpy(w) for w in (layer.gamma, layer.beta))
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + epsilon) * gamma + beta


def _numpy_dense(x, layer):
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (layer.kernel, layer.bias))
    return x @ kernel + bias


def _numpy_causal_attention(x, layer, heads):
    batch, length, _ = x.shape
    q, k, v = (_numpy_dense(x, dense).reshape(batch, length, heads, -1).transpose(0, 2, 1, 3)
               for dense in (layer.query_dense, layer.key_dense, layer.value_dense))
    context, _ = numpy_attention(q, k, v, np.tril(np.ones((length, length), bool)))
    return _numpy_dense(context.transpose(0, 2, 1, 3).reshape(batch, length, -1), layer.output_dense)


@pytest.mark.parametrize("norm_first", [True, False])
def test_causal_block_with_default_options_equals_the_numpy_forward_pass(norm_first):
    """Defaults: feed-forward width 4 x model_dim, exact GELU, layer norms with epsilon 1e-5, no dropout."""
    from scipy.special import erf

    d, heads = 8, 2
    block = T.TransformerBlock(d, heads, causal=True, norm_first=norm_first)
    block.build((None, 5, d))
    rng = np.random.default_rng(7)
    block.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in block.get_weights()])
    x = (0.01 * rng.normal(size=(2, 5, d))).astype("float32")  # small, so that epsilon matters

    def attention(h):
        return _numpy_causal_attention(h, block.attention, heads)

    def feed_forward(h):
        hidden = _numpy_dense(h, block.ff_hidden)
        return _numpy_dense(0.5 * hidden * (1 + erf(hidden / np.sqrt(2))), block.ff_output)

    x64 = x.astype(np.float64)
    if norm_first:
        h = x64 + attention(_numpy_layer_norm(x64, block.norm_attention))
        expected = h + feed_forward(_numpy_layer_norm(h, block.norm_ff))
    else:
        h = _numpy_layer_norm(x64 + attention(x64), block.norm_attention)
        expected = _numpy_layer_norm(h + feed_forward(h), block.norm_ff)
    assert block.ff_hidden.units == 4 * d
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x)), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(block(x, training=True)), expected, rtol=1e-4, atol=1e-5)


def test_causal_self_attention_equals_numpy_and_its_cache_equals_the_full_pass():
    """Called directly: the causal NumPy reference, then the same sequence written into a cache in two pieces."""
    layer = T.CausalSelfAttention(2, 4)
    assert layer.dropout == 0.0  # the default
    layer.build((None, 6, 8))
    assert [d.name for d in (layer.query_dense, layer.key_dense, layer.value_dense, layer.output_dense)] == [
        "query", "key", "value", "output"]
    rng = np.random.default_rng(11)
    layer.set_weights([rng.normal(scale=0.5, size=w.shape).astype("float32") for w in layer.get_weights()])
    x = rng.normal(size=(2, 6, 8)).astype("float32")
    out, (keys, values), weights = (keras.ops.convert_to_numpy(t) if not isinstance(t, tuple) else t
                                    for t in layer(x))
    np.testing.assert_allclose(out, _numpy_causal_attention(x.astype(np.float64), layer, 2), rtol=1e-4, atol=1e-5)
    assert np.all(np.triu(weights, k=1) == 0) and weights.shape == (2, 2, 6, 6)
    cache = (np.zeros((2, 2, 8, 4), "float32"), np.zeros((2, 2, 8, 4), "float32"))  # room for 8 positions
    first, cache, _ = layer(x[:, :4], cache=cache, cache_index=0)
    second, cache, second_weights = layer(x[:, 4:], cache=cache, cache_index=4)
    np.testing.assert_allclose(np.concatenate([keras.ops.convert_to_numpy(first), keras.ops.convert_to_numpy(second)],
                                              axis=1), out, atol=1e-5)
    for cached, full in zip(cache, (keys, values)):
        cached = keras.ops.convert_to_numpy(cached)
        np.testing.assert_allclose(cached[:, :, :6], keras.ops.convert_to_numpy(full), atol=1e-6)
        assert not np.any(cached[:, :, 6:])  # positions not yet written stay zero
    second_weights = keras.ops.convert_to_numpy(second_weights)  # queries 4, 5 over the 8 cached positions
    assert np.all(second_weights[..., 0, 5:] == 0) and np.all(second_weights[..., 1, 6:] == 0)
    np.testing.assert_allclose(second_weights[..., :6], keras.ops.convert_to_numpy(weights)[..., 4:, :], atol=1e-6)


def test_layers_rebuild_from_their_config():
    block = T.TransformerBlock(8, 2, ff_dim=12, dropout=0.25, causal=True, norm_first=False, activation="relu",
                               epsilon=1e-3, name="b")
    copy = T.TransformerBlock.from_config(block.get_config())
    assert copy.get_config() == block.get_config()
    assert (copy.ff_dim, copy.dropout, copy.causal, copy.norm_first, copy.activation, copy.epsilon) == (
        12, 0.25, True, False, "relu", 1e-3)
    attention = T.CausalSelfAttention(2, 3, dropout=0.5)
    assert T.CausalSelfAttention.from_config(attention.get_config()).get_config() == attention.get_config()
    assert (attention.num_heads, attention.key_dim, attention.dropout) == (2, 3, 0.5)


def test_attention_dropout_acts_only_in_training():
    layer = T.CausalSelfAttention(2, 4, dropout=0.5)
    x = np.random.default_rng(3).normal(size=(1, 6, 8)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x)[0])
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(x, training=False)[0]), out)
    assert np.abs(keras.ops.convert_to_numpy(layer(x, training=True)[0]) - out).max() > 1e-3


def test_padding_mask_makes_padded_positions_irrelevant():
    block = T.TransformerBlock(8, 2, causal=False)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(1, 5, 8)).astype("float32")
    y = x.copy()
    y[0, 3:] = 100.0  # change only the padded positions
    mask = np.array([[1, 1, 1, 0, 0]], bool)
    a = keras.ops.convert_to_numpy(block(x, padding_mask=mask))[0, :3]
    b = keras.ops.convert_to_numpy(block(y, padding_mask=mask))[0, :3]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_position_embedding_adds_one_table_row_per_position():
    layer = T.PositionEmbedding(max_length=7, depth=4)
    x = np.random.default_rng(2).normal(size=(3, 5, 4)).astype("float32")  # shorter than max_length
    out = keras.ops.convert_to_numpy(layer(x))
    table = keras.ops.convert_to_numpy(layer.table.embeddings)
    assert table.shape == (7, 4) and layer.count_params() == 28
    np.testing.assert_allclose(out - x, np.broadcast_to(table[:5], x.shape), atol=1e-6)
    copy = T.PositionEmbedding.from_config(layer.get_config())
    assert (copy.max_length, copy.depth) == (7, 4)


@pytest.mark.parametrize("kwargs, shape, message", [
    ({"max_length": 0, "depth": 4}, None, "max_length must be a positive int; got 0."),
    ({"max_length": 5, "depth": 2.5}, None, "depth must be a positive int; got 2.5."),
    ({"max_length": 5, "depth": 4}, (2, 6, 4), "inputs have 6 positions, more than max_length=5 rows of the table."),
    ({"max_length": 5, "depth": 4}, (2, 5, 3), "inputs must have shape (batch, length, depth=4); got (2, 5, 3)."),
])
def test_position_embedding_rejects_bad_input(kwargs, shape, message):
    with pytest.raises(utils.ArgumentError, match=exactly(message)):
        T.PositionEmbedding(**kwargs)(np.zeros(shape, "float32"))


def test_transformer_classifier_shapes_names_and_parameter_count():
    d, patch, stride, classes = 16, 5, 2, 3
    model = T.build_transformer_classifier(30, classes, width=d, num_heads=2, num_blocks=2, patch_size=patch,
                                           stride=stride)
    tokens = (30 - patch) // stride + 1
    assert tuple(model.output.shape) == (None, classes)
    assert tuple(model.get_layer("position_embedding").output.shape) == (None, tokens, d)
    by_hand = (patch * d + d) + tokens * d + 2 * (12 * d * d + 13 * d) + 2 * d + (d * classes + classes)
    assert model.count_params() == by_hand
    x = np.random.default_rng(0).normal(size=(4, 30, 1)).astype("float32")
    token_model = keras.Model(model.input, model.get_layer("position_embedding").output)
    _, _, weights = model.get_layer("block_0")(token_model(x), return_details=True)
    weights = keras.ops.convert_to_numpy(weights)
    assert weights.shape == (4, 2, tokens, tokens)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-5)  # every row of attention is a distribution


def test_transformer_classifier_sees_order_only_through_the_position_embedding():
    x = np.random.default_rng(1).normal(size=(2, 40, 1)).astype("float32")
    # patches of 6 values, 3 apart, read positions 0-38: reversing them reverses the order of the patches
    # (and of the values in each, which a patch embedding with the same weight at every offset cannot see)
    reversed_patches = np.concatenate([x[:, 38::-1], x[:, 39:]], axis=1)
    for position_embedding, same in ((False, True), (True, False)):
        keras.utils.set_random_seed(0)
        model = T.build_transformer_classifier(position_embedding=position_embedding)
        channel_weights = np.random.default_rng(3).normal(size=32).astype("float32")  # the same at each offset in a patch
        model.get_layer("patch_embedding").set_weights([np.tile(channel_weights, (6, 1, 1)), np.zeros(32, "float32")])
        if position_embedding:  # a table far from its small initial values
            table = model.get_layer("position_embedding").table
            table.embeddings.assign(np.random.default_rng(2).normal(size=(12, 32)).astype("float32"))
        a = keras.ops.convert_to_numpy(model(x))
        b = keras.ops.convert_to_numpy(model(reversed_patches))
        assert np.allclose(a, b, atol=1e-5) == same


@pytest.mark.parametrize("kwargs, message", [
    ({"input_length": 0}, "input_length must be a positive int; got 0."),
    ({"n_classes": 1}, "n_classes must be an int >= 2; got 1."),
    ({"width": 30, "num_heads": 4},
     "width (30) must be divisible by num_heads (4) so that every head gets the same dimension."),
    ({"num_blocks": 0}, "num_blocks must be a positive int; got 0."),
    ({"patch_size": 41}, "patch_size must be an int in [1, 40]; got 41."),
    ({"stride": 0}, "stride must be a positive int; got 0."),
    ({"position_embedding": 1}, "position_embedding must be True or False; got 1."),
])
def test_transformer_classifier_rejects_bad_input(kwargs, message):
    with pytest.raises(utils.ArgumentError, match=exactly(message)):
        T.build_transformer_classifier(**kwargs)


@pytest.fixture  # built for each test, so that mutation testing maps every test that uses it to MiniGPT
def tiny_gpt():
    model = T.MiniGPT(vocab_size=23, context_length=16, model_dim=16, num_heads=2, num_layers=2)
    model.build((None, 16))
    return model


@pytest.mark.parametrize("tie", [True, False])
def test_gpt_parameter_count_formula_matches_keras(tie):
    model = T.MiniGPT(37, 20, 24, 3, 2, tie_embeddings=tie)
    model.build((None, 20))
    assert model.count_params() == T.gpt_parameter_count(2, 24, 37, 20, tie_embeddings=tie)


def test_mini_gpt_defaults_and_config():
    model = T.MiniGPT(23, 16)  # width 64, 4 heads, 2 blocks, feed-forward 4 x 64, no dropout, tied embeddings
    model.build((None, 16))
    assert (model.model_dim, model.num_heads, model.num_layers, model.ff_dim, model.dropout, model.tie_embeddings) == (
        64, 4, 2, 256, 0.0, True)
    assert model.count_params() == T.gpt_parameter_count(2, 64, 23, 16)
    assert [block.num_heads for block in model.blocks] == [4, 4] and model.blocks[0].ff_dim == 256
    config = T.MiniGPT(23, 16, 8, 2, 1, ff_dim=12, dropout=0.1, tie_embeddings=False).get_config()
    copy = T.MiniGPT.from_config(config)
    assert copy.get_config() == config
    assert (copy.model_dim, copy.num_heads, copy.num_layers, copy.ff_dim, copy.dropout, copy.tie_embeddings) == (
        8, 2, 1, 12, 0.1, False)


def test_sublayer_names_are_stable():
    """The names in model.summary() and in saved weight paths."""
    block = T.TransformerBlock(8, 2, causal=True)
    assert [layer.name for layer in (block.attention, block.norm_attention, block.norm_ff, block.ff_hidden,
                                     block.ff_output)] == ["attention", "norm_attention", "norm_ff", "ff_hidden",
                                                           "ff_output"]
    assert T.TransformerBlock(8, 2).attention.name == "attention"
    gpt = T.MiniGPT(11, 6, 8, 2, 2, tie_embeddings=False)
    assert [layer.name for layer in (gpt.token_embedding, gpt.position_embedding, *gpt.blocks, gpt.final_norm,
                                     gpt.head)] == ["token_embedding", "position_embedding", "block_0", "block_1",
                                                    "final_norm", "head"]
    assert T.PositionEmbedding(5, 4).table.name == "table"


def test_without_dropout_training_changes_nothing(tiny_gpt):
    ids = np.random.default_rng(6).integers(0, 23, (2, 9))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tiny_gpt(ids, training=True)),
                               keras.ops.convert_to_numpy(tiny_gpt(ids)), atol=1e-6)
    block = T.TransformerBlock(8, 2, dropout=0.5)  # with dropout, a direct call is still inference
    x = np.random.default_rng(7).normal(size=(1, 4, 8)).astype("float32")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(block(x)), keras.ops.convert_to_numpy(block(x)))


def test_mini_gpt_fills_its_whole_context_and_drops_out_only_in_training():
    model = T.MiniGPT(11, 6, 8, 2, 1, dropout=0.5)
    model.build((None, 6))
    ids = np.arange(6)[None, :] % 11
    logits, _ = model.step(ids)  # all six positions of the context: allowed
    assert tuple(logits.shape) == (1, 6, 11)
    inference = keras.ops.convert_to_numpy(model(ids))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(ids)), inference)  # no dropout by default
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), inference, atol=1e-5)
    assert np.abs(keras.ops.convert_to_numpy(model(ids, training=True)) - inference).max() > 1e-3


def test_mini_gpt_drops_out_its_embeddings_in_training():
    """With every dropout inside the blocks off, training mode still differs: the embedding dropout."""
    model = T.MiniGPT(11, 6, 8, 2, 1, dropout=0.5)
    model.build((None, 6))
    for block in model.blocks:
        for layer in block._flatten_layers():
            if isinstance(layer, keras.layers.Dropout):
                layer.rate = 0.0
    ids = np.arange(6)[None, :] % 11
    inference = keras.ops.convert_to_numpy(model(ids))
    assert np.abs(keras.ops.convert_to_numpy(model(ids, training=True)) - inference).max() > 1e-3
    model.embedding_dropout.rate = 0.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(ids, training=True)), inference, atol=1e-5)


def test_mini_gpt_forward_pass_written_out(tiny_gpt):
    """Token + position embeddings -> the blocks -> final layer norm (epsilon 1e-5) -> tied output projection."""
    ids = np.random.default_rng(5).integers(0, 23, (2, 7))
    tokens = keras.ops.convert_to_numpy(tiny_gpt.token_embedding.embeddings)
    positions = keras.ops.convert_to_numpy(tiny_gpt.position_embedding.embeddings)
    x = (tokens[ids] + positions[:7]).astype("float32")
    for block in tiny_gpt.blocks:
        x = keras.ops.convert_to_numpy(block(x))
    normed = _numpy_layer_norm(x, tiny_gpt.final_norm)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tiny_gpt(ids)), normed @ tokens.T, rtol=1e-4, atol=1e-4)
    maps = [keras.ops.convert_to_numpy(m) for m in tiny_gpt.attention_maps(ids)]
    assert [m.shape for m in maps] == [(2, 2, 7, 7)] * 2
    x = (tokens[ids] + positions[:7]).astype("float32")
    _, _, first = tiny_gpt.blocks[0](x, return_details=True)
    np.testing.assert_allclose(maps[0], keras.ops.convert_to_numpy(first), atol=1e-6)
    for m in maps:
        np.testing.assert_allclose(m.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(m, k=1) == 0)  # no weight on later tokens
    with pytest.raises(utils.ArgumentError, match=exactly(
            "token_ids: sequence of 17 tokens is longer than the context length 16.")):
        tiny_gpt.step(np.zeros((1, 17), "int32"))  # (a call through model(...) adds Keras's context around it)
    caches = tiny_gpt.empty_caches(3)
    assert len(caches) == 2 and all(tuple(k.shape) == tuple(v.shape) == (3, 2, 16, 8) for k, v in caches)
    assert all(not np.any(keras.ops.convert_to_numpy(k)) for k, _ in caches)


def test_transformer_classifier_defaults():
    model = T.build_transformer_classifier()  # 40 values, 10 classes, width 32, 4 heads, 1 block, patches 6 by 3
    assert tuple(model.input.shape) == (None, 40, 1) and tuple(model.output.shape) == (None, 10)
    assert tuple(model.get_layer("position_embedding").output.shape) == (None, (40 - 6) // 3 + 1, 32)
    assert [layer.name for layer in model.layers if isinstance(layer, T.TransformerBlock)] == ["block_0"]
    assert model.get_layer("block_0").num_heads == 4 and model.get_layer("final_norm").epsilon == 1e-5
    patch = model.get_layer("patch_embedding")
    assert (patch.kernel_size, patch.strides) == ((6,), (3,))
    assert model.name == "transformer_classifier" and model.inputs[0].name == "signal"
    assert model.layers[-1].name == "logits"
    without = T.build_transformer_classifier(position_embedding=False)
    assert "position_embedding" not in [layer.name for layer in without.layers]


def test_parameter_count_formulas_name_their_arguments_and_options():
    d = 8
    assert T.bert_parameter_count(2, d, 10, 5) - T.bert_parameter_count(2, d, 10, 5, pooler=False) == d * d + d
    assert T.bert_parameter_count(2, d, 10, 5, ff_dim=4 * d) == T.bert_parameter_count(2, d, 10, 5)
    assert T.gpt_parameter_count(2, d, 10, 5, ff_dim=4 * d) == T.gpt_parameter_count(2, d, 10, 5)
    # a feed-forward width f adds 2 d f + f per block
    assert T.gpt_parameter_count(2, d, 10, 5, ff_dim=10) - T.gpt_parameter_count(2, d, 10, 5, ff_dim=9) == 2 * (2 * d + 1)
    assert T.bert_parameter_count(2, d, 10, 5, type_vocab_size=3) - T.bert_parameter_count(2, d, 10, 5) == d
    for count in (T.gpt_parameter_count, T.bert_parameter_count):
        for name in ("num_layers", "model_dim", "vocab_size", "context_length", "ff_dim"):
            arguments = dict(num_layers=2, model_dim=d, vocab_size=10, context_length=5)
            arguments[name] = 0
            with pytest.raises(ValueError, match=exactly(f"{name} must be a positive int; got 0.")):
                count(**arguments)
    with pytest.raises(ValueError, match=exactly("type_vocab_size must be a positive int; got 0.")):
        T.bert_parameter_count(2, d, 10, 5, type_vocab_size=0)
    with pytest.raises(TypeError, match=exactly("pooler must be True or False; got 'yes'.")):
        T.bert_parameter_count(2, d, 10, 5, pooler="yes")
    with pytest.raises(TypeError, match=exactly("tie_embeddings must be True or False; got 'yes'.")):
        T.gpt_parameter_count(2, d, 10, 5, tie_embeddings="yes")


def test_published_sizes_from_the_formulas():
    # GPT-2 small (12 layers, width 768, 50,257 tokens, 1,024 positions) and BERT-base
    assert T.gpt_parameter_count(12, 768, 50257, 1024) == 124_439_808
    assert T.bert_parameter_count(12, 768, 30522, 512) == 109_482_240
    assert 174e9 < T.gpt_parameter_count(96, 12288, 50257, 2048) < 176e9


def test_causal_model_ignores_the_future(tiny_gpt):
    ids = np.random.default_rng(0).integers(0, 23, (1, 10))
    changed = ids.copy()
    changed[0, 6:] = (changed[0, 6:] + 1) % 23
    a = keras.ops.convert_to_numpy(tiny_gpt(ids))[0, :6]
    b = keras.ops.convert_to_numpy(tiny_gpt(changed))[0, :6]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_cached_steps_equal_full_recomputation(tiny_gpt):
    ids = np.random.default_rng(2).integers(0, 23, (2, 12)).astype("int32")
    full = keras.ops.convert_to_numpy(tiny_gpt(ids))
    logits, caches = tiny_gpt.step(ids[:, :7])
    parts = [keras.ops.convert_to_numpy(logits)]
    for t in range(7, 12):
        logits, caches = tiny_gpt.step(ids[:, t : t + 1], caches, t)
        parts.append(keras.ops.convert_to_numpy(logits))
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)
    assert tuple(caches[0][0].shape) == (2, 2, 16, 8)  # preallocated: the whole context


def test_compiled_step_equals_the_eager_step(tiny_gpt):
    ids = np.random.default_rng(4).integers(0, 23, (1, 9)).astype("int32")
    full = keras.ops.convert_to_numpy(tiny_gpt(ids))
    step = T.compiled_step(tiny_gpt)
    logits, caches = step(ids[:, :5], None, 0)
    parts = [logits]
    for t in range(5, 9):
        logits, caches = step(ids[:, t : t + 1], caches, t)
        parts.append(logits)
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, atol=1e-5)
    assert caches[0].shape == (2, 1, 2, 16, 8)  # (blocks, batch, heads, context, head width)
    with pytest.raises(TypeError, match=exactly("model must be a MiniGPT; got object.")):
        T.compiled_step(object())
    with pytest.raises(ValueError, match=exactly("batch_size must be a positive int; got 0.")):
        tiny_gpt.empty_caches(0)


class FixedLogits(T.MiniGPT):
    """A MiniGPT whose next-token logits are ``LOGITS`` whatever the input."""

    LOGITS = np.array([2.0, 1.0, 0.0, -1.0, 0.5], "float32")

    def call(self, token_ids, training=False):
        batch, length = keras.ops.shape(token_ids)[0], keras.ops.shape(token_ids)[1]
        return keras.ops.broadcast_to(keras.ops.convert_to_tensor(self.LOGITS), (batch, length, 5))


class NextId(T.MiniGPT):
    """A MiniGPT that predicts, at every position, the id after the one it reads (mod 5)."""

    def call(self, token_ids, training=False):
        return 10.0 * keras.ops.one_hot((keras.ops.cast(token_ids, "int32") + 1) % 5, 5)


@pytest.fixture(scope="module")
def fixed_logits():
    model = FixedLogits(vocab_size=5, context_length=8, model_dim=4, num_heads=1, num_layers=1)
    model.build((None, 8))
    return model


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_sampled_frequencies_follow_softmax_of_logits_over_temperature(fixed_logits, temperature):
    draws = T.generate(fixed_logits, [0], 2000, temperature=temperature, use_cache=False, seed=1)
    frequencies = np.bincount(draws, minlength=5) / len(draws)
    expected = np.exp(FixedLogits.LOGITS / temperature) / np.exp(FixedLogits.LOGITS / temperature).sum()
    np.testing.assert_allclose(frequencies, expected, atol=0.035)  # about 4 standard errors
    at_one = np.exp(FixedLogits.LOGITS) / np.exp(FixedLogits.LOGITS).sum()
    assert np.abs(frequencies - at_one).max() > 0.08  # a sampler that ignored T would fail here


def test_top_k_draws_only_from_the_k_most_likely_and_seeds_differ(fixed_logits):
    draws = T.generate(fixed_logits, [0], 600, top_k=2, use_cache=False, seed=2)
    assert set(draws) == {0, 1}  # logits 2.0 and 1.0; both drawn, so sampling is not greedy
    p0 = 1 / (1 + np.exp(-1.0))
    assert abs(np.mean(np.array(draws) == 0) - p0) < 0.06
    other_seed = T.generate(fixed_logits, [0], 600, top_k=2, use_cache=False, seed=3)
    assert other_seed != draws
    assert T.generate(fixed_logits, [0], 600, top_k=2, use_cache=False, seed=2) == draws


def test_top_k_keeps_exactly_the_k_largest_logits_for_every_k():
    # distinct values in a shuffled order, and more of them than NumPy sorts outright when partitioning
    logits = (np.random.default_rng(0).permutation(1000) / 100).astype("float32")
    rng = np.random.default_rng(1)
    for k in (1, 2, 5, 10, 1000):
        draws = {T._next_token(logits, rng, False, 100.0, k) for _ in range(300)}  # a high temperature: all kept appear
        assert draws == set(np.argsort(-logits)[:k].tolist()) if k < 1000 else len(draws) > 100, k


def test_compiled_step_is_built_once_per_model(tiny_gpt):
    T.compiled_step(tiny_gpt)
    wrapper = tiny_gpt.__dict__["_compiled_step_model"]
    T.compiled_step(tiny_gpt)
    assert tiny_gpt.__dict__["_compiled_step_model"] is wrapper and wrapper.name == "compiled_step"


@pytest.mark.parametrize("build, message", [
    (lambda: T.MiniGPT(11, 0), "context_length must be a positive int; got 0."),
    (lambda: T.MiniGPT(11, 6, model_dim=0), "model_dim must be a positive int; got 0."),
    (lambda: T.MiniGPT(11, 6, num_layers=0), "num_layers must be a positive int; got 0."),
    (lambda: T.MiniGPT(11, 6, ff_dim=0), "ff_dim must be a positive int; got 0."),
    (lambda: T.TransformerBlock(8, 0), "num_heads must be a positive int; got 0."),
    (lambda: T.TransformerBlock(8, 2, ff_dim=0), "ff_dim must be a positive int; got 0."),
    (lambda: T.TransformerBlock(8, 2, causal="yes"), "causal must be True or False; got 'yes'."),
    (lambda: T.TransformerBlock(8, 2, norm_first="yes"), "norm_first must be True or False; got 'yes'."),
    (lambda: T.CausalSelfAttention(0, 3), "num_heads must be a positive int; got 0."),
    (lambda: T.CausalSelfAttention(2, 3, dropout=1.5), "dropout must be a finite number in [0, 1); got 1.5."),
    (lambda: T.build_transformer_classifier(num_heads=0), "num_heads must be a positive int; got 0."),
])
def test_layers_name_their_bad_arguments(build, message):
    with pytest.raises(utils.ArgumentError, match=exactly(message)):
        build()


def test_generate_checks_the_prompt_against_vocabulary_and_context(tiny_gpt):
    with pytest.raises(ValueError, match=exactly("prompt token ids must lie in [0, 23); got 23..23.")):
        T.generate(tiny_gpt, [23], 1)
    assert T.generate(tiny_gpt, list(range(16)), 0, use_cache=False) == []  # a prompt that fills the context
    with pytest.raises(TypeError, match=exactly("use_cache must be True or False; got 'no'.")):
        T.generate(tiny_gpt, [1], 1, use_cache="no")


def test_generate_without_cache_reads_the_last_context_tokens():
    model = NextId(vocab_size=5, context_length=6, model_dim=4, num_heads=1, num_layers=1)
    model.build((None, 6))
    # each prediction follows the newest token: 3 -> 4, 0, 1, ... long after the context is full
    assert T.generate(model, [1, 2, 3], 15, greedy=True, use_cache=False) == [(4 + i) % 5 for i in range(15)]


def test_greedy_generation_is_identical_with_and_without_cache(tiny_gpt):
    with_cache = T.generate(tiny_gpt, [1, 2, 3], 10, greedy=True, use_cache=True)
    without = T.generate(tiny_gpt, [1, 2, 3], 10, greedy=True, use_cache=False)
    assert with_cache == without and len(with_cache) == 10


def test_sampling_is_seeded_and_top_k_restricts_the_choice(tiny_gpt):
    a = T.generate(tiny_gpt, [4], 12, temperature=1.0, seed=3)
    assert a == T.generate(tiny_gpt, [4], 12, temperature=1.0, seed=3)
    top1 = T.generate(tiny_gpt, [4], 12, top_k=1, seed=5)
    assert top1 == T.generate(tiny_gpt, [4], 12, greedy=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"prompt": list(range(17)), "max_new_tokens": 1},
         "prompt has 17 tokens, longer than the context length 16; shorten it."),
        ({"prompt": [1], "max_new_tokens": 3, "temperature": 0.0}, "temperature must be a finite number > 0; got 0.0."),
        ({"prompt": [1], "max_new_tokens": 3, "temperature": -1.0},
         "temperature must be a finite number > 0; got -1.0."),
        ({"prompt": [], "max_new_tokens": 3}, "prompt must contain at least one token id."),
        ({"prompt": [99], "max_new_tokens": 3}, "prompt token ids must lie in [0, 23); got 99..99."),
        ({"prompt": [1], "max_new_tokens": 3, "top_k": 0}, "top_k must be a positive int; got 0."),
        ({"prompt": [1] * 10, "max_new_tokens": 10},
         "with use_cache=True the prompt (10) plus max_new_tokens (10) must fit the context length 16; "
         "generate fewer tokens or use use_cache=False."),
    ],
)
def test_generate_rejects_bad_input(tiny_gpt, kwargs, message):
    with pytest.raises(ValueError, match=exactly(message)):
        T.generate(tiny_gpt, **kwargs)


def test_generate_defaults_and_edges(tiny_gpt):
    """Defaults: sampled (not greedy) at temperature 1 with seed 0, through the cache."""
    default = T.generate(tiny_gpt, [3, 4], 6)
    assert default == T.generate(tiny_gpt, [3, 4], 6, greedy=False, temperature=1.0, top_k=None, use_cache=True,
                                 seed=0)
    assert default == T.generate(tiny_gpt, [3, 4], 6, use_cache=False)  # the same logits, the same draws
    assert T.generate(tiny_gpt, [3, 4], 0) == []
    assert T.generate(tiny_gpt, [3, 4], 5, greedy=True, temperature=0.0) == T.generate(tiny_gpt, [3, 4], 5, greedy=True)
    # a top_k that keeps the whole vocabulary changes nothing
    assert T.generate(tiny_gpt, [3], 6, top_k=23, seed=4) == T.generate(tiny_gpt, [3], 6, seed=4)
    assert T.generate(tiny_gpt, np.array([[3, 4]]), 3, seed=1) == T.generate(tiny_gpt, [3, 4], 3, seed=1)
    with pytest.raises(ValueError, match=exactly("prompt must hold integer token ids; got an array of dtype float64.")):
        T.generate(tiny_gpt, [1.0, 2.0], 3)
    with pytest.raises(ValueError, match=exactly("max_new_tokens must be a non-negative int; got -1.")):
        T.generate(tiny_gpt, [1], -1)
    with pytest.raises(TypeError, match=exactly("greedy must be True or False; got 1.")):
        T.generate(tiny_gpt, [1], 2, greedy=1)
    with pytest.raises(ValueError, match=exactly("seed must be a non-negative int; got -2.")):
        T.generate(tiny_gpt, [1], 2, seed=-2)


def test_generate_without_cache_slides_past_the_context(tiny_gpt):
    assert len(T.generate(tiny_gpt, [1] * 10, 10, greedy=True, use_cache=False)) == 10


def test_generate_needs_a_mini_gpt():
    with pytest.raises(TypeError, match=exactly("model must be a MiniGPT; got object.")):
        T.generate(object(), [1], 2)
