"""Attention and Transformer building blocks, written with Keras layers and ``keras.ops``.

Everything here runs under the TensorFlow and the JAX backends:

* :func:`scaled_dot_product_attention` — $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})V$ with
  optional padding and causal masks;
* :func:`sinusoidal_positional_encoding` — the fixed encoding of Vaswani et al. (2017);
* :class:`CausalSelfAttention` — multi-head self-attention that can reuse a
  key/value cache, so that generation computes each position once;
* :class:`TransformerBlock` — attention + residual + layer norm + feed-forward,
  in the pre-norm (GPT-2) or post-norm (original, BERT) arrangement;
* :class:`PositionEmbedding` and :func:`build_transformer_classifier` — a learned
  position embedding and the patch-token Transformer classifier of 1-D signals (MNIST-1D);
* :class:`MiniGPT` — a decoder-only language model, and :func:`generate` to sample
  from it (greedy, temperature, top-k) with or without the cache, through
  :func:`compiled_step` (the cached step compiled once: its shapes never change);
* :func:`gpt_parameter_count` / :func:`bert_parameter_count` — parameter counts
  as formulas, for models too large to train here.
"""

from __future__ import annotations

import math
import warnings
from typing import List, Optional, Sequence, Tuple

import numpy as np

import keras
from keras import ops

from ._checks import (
    ArgumentError,
    check_bool,
    check_fraction,
    check_instance,
    check_int,
    check_number,
    check_positive_int,
    check_positive_number,
    check_seed,
)

NEG_INF = -1e9  # added to masked attention scores; exp() of it is exactly 0 in float32


def causal_mask(query_length: int, key_length: Optional[int] = None) -> np.ndarray:
    """Boolean (query_length, key_length) mask, True where attention is allowed.

    With ``key_length > query_length`` the queries are the *last* positions
    (the case of incremental decoding with a cache): query i sits at absolute
    position ``key_length - query_length + i`` and sees keys up to there.
    """
    query_length = check_positive_int("query_length", query_length)
    key_length = query_length if key_length is None else check_positive_int("key_length", key_length)
    if key_length < query_length:
        raise ArgumentError(
            f"key_length ({key_length}) must be >= query_length ({query_length}): "
            "queries cannot be ahead of the keys they attend to."
        )
    offset = key_length - query_length
    return np.arange(key_length)[None, :] <= (np.arange(query_length)[:, None] + offset)


def scaled_dot_product_attention(query, key, value, mask=None, scale: Optional[float] = None):
    """Return ``(output, weights)`` of $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})V$.

    Shapes: ``query`` (..., Tq, d_k), ``key`` (..., Tk, d_k), ``value`` (..., Tk, d_v).
    ``mask`` broadcasts to (..., Tq, Tk) and is True where attention is allowed.
    ``scale`` defaults to $1/\\sqrt{d_k}$.
    """
    # static shapes: a dimension is None while a compiled function is traced for any length
    q_shape, k_shape, v_shape = (
        tuple(np.shape(t) if isinstance(t, (np.ndarray, list)) else t.shape) for t in (query, key, value)
    )
    if len(q_shape) < 2 or len(k_shape) < 2 or len(v_shape) < 2:
        raise ArgumentError("query, key and value must have at least 2 dimensions (length, depth).")
    if q_shape[-1] != k_shape[-1]:
        raise ArgumentError(
            f"query and key must have the same last (head) dimension d_k; got {q_shape[-1]} and {k_shape[-1]}."
        )
    if None not in (k_shape[-2], v_shape[-2]) and k_shape[-2] != v_shape[-2]:
        raise ArgumentError(
            f"key and value must have the same length (second-to-last dimension); got {k_shape[-2]} and {v_shape[-2]}."
        )
    if scale is None:
        scale = 1.0 / math.sqrt(q_shape[-1])
    else:
        scale = check_positive_number("scale", scale)
    scores = ops.matmul(query, ops.swapaxes(key, -1, -2)) * scale
    if mask is not None:
        scores = ops.where(ops.cast(mask, "bool"), scores, ops.cast(NEG_INF, scores.dtype))
    with warnings.catch_warnings():  # one key (first cached step): softmax is exactly 1, as intended
        warnings.filterwarnings("ignore", message="You are using a softmax over axis")
        weights = ops.softmax(scores, axis=-1)
    return ops.matmul(weights, value), weights


def sinusoidal_positional_encoding(length: int, depth: int, base: float = 10000.0) -> np.ndarray:
    """The (length, depth) matrix $PE(p, 2i)=\\sin(p/b^{2i/d})$, $PE(p, 2i+1)=\\cos(p/b^{2i/d})$."""
    length = check_positive_int("length", length)
    depth = check_positive_int("depth", depth)
    if depth % 2:
        raise ArgumentError(f"depth must be even (sine and cosine pairs); got {depth}.")
    base = check_number("base", base, 1, low_open=True)
    positions = np.arange(length)[:, None]
    frequencies = base ** (-np.arange(0, depth, 2) / depth)
    angles = positions * frequencies[None, :]
    encoding = np.empty((length, depth))
    encoding[:, 0::2] = np.sin(angles)
    encoding[:, 1::2] = np.cos(angles)
    return encoding.astype("float32")


@keras.saving.register_keras_serializable(package="build_and_explain")
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head causal self-attention with an optional key/value cache.

    ``call(x, cache=None, cache_index=None)`` returns ``(output, (keys, values), weights)``.
    Without a cache, ``x`` attends causally to itself and the keys and values of
    ``x`` come back. With a cache, a preallocated ``(keys, values)`` pair of shape
    (batch, heads, max_length, key_dim), the keys and values of ``x`` are written
    at positions ``cache_index``, ``cache_index + 1``, ... (a tensor or an int),
    each query attends to the cached positions up to its own, and the updated
    cache comes back. Its shape never changes, so a compiled step is traced once.
    """

    def __init__(self, num_heads: int, key_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.key_dim = check_positive_int("key_dim", key_dim)
        self.dropout = dropout = check_fraction("dropout", dropout)
        inner = self.num_heads * self.key_dim
        self.query_dense = keras.layers.Dense(inner, name="query")
        self.key_dense = keras.layers.Dense(inner, name="key")
        self.value_dense = keras.layers.Dense(inner, name="value")
        self.output_dense = None
        self.attention_dropout = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        model_dim = input_shape[-1]
        for dense in (self.query_dense, self.key_dense, self.value_dense):
            dense.build(input_shape)
        self.output_dense = keras.layers.Dense(model_dim, name="output")
        self.output_dense.build(tuple(input_shape[:-1]) + (self.num_heads * self.key_dim,))
        super().build(input_shape)

    def _split_heads(self, x):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        x = ops.reshape(x, (batch, length, self.num_heads, self.key_dim))
        return ops.transpose(x, (0, 2, 1, 3))  # (batch, heads, length, key_dim)

    def call(self, x, cache=None, cache_index=None, training=False):
        query = self._split_heads(self.query_dense(x))
        key = self._split_heads(self.key_dense(x))
        value = self._split_heads(self.value_dense(x))
        length = ops.shape(query)[2]  # an int, or a tensor in a step compiled for any length
        start = ops.cast(0 if cache_index is None else cache_index, "int32")  # position of the first token of x
        if cache is not None:  # write the new keys and values into the cache
            key = ops.slice_update(cache[0], (0, 0, start, 0), ops.cast(key, cache[0].dtype))
            value = ops.slice_update(cache[1], (0, 0, start, 0), ops.cast(value, cache[1].dtype))
        positions = start + ops.arange(length, dtype="int32")  # each query attends up to its own position
        mask = ops.arange(ops.shape(key)[2], dtype="int32")[None, :] <= positions[:, None]
        context, weights = scaled_dot_product_attention(query, key, value, mask=mask)
        weights_dropped = self.attention_dropout(weights, training=training)
        if self.dropout > 0 and training:
            context = ops.matmul(weights_dropped, value)
        batch, length = ops.shape(context)[0], ops.shape(context)[2]
        context = ops.reshape(ops.transpose(context, (0, 2, 1, 3)), (batch, length, -1))
        return self.output_dense(context), (key, value), weights

    def get_config(self):
        return {**super().get_config(), "num_heads": self.num_heads, "key_dim": self.key_dim,
                "dropout": self.dropout}


@keras.saving.register_keras_serializable(package="build_and_explain")
class TransformerBlock(keras.layers.Layer):
    """Self-attention and a feed-forward network, each with a residual and a layer norm.

    ``norm_first=True`` is the pre-norm arrangement of GPT-2
    ($x + \\mathrm{Attn}(\\mathrm{LN}(x))$); ``False`` is the post-norm arrangement
    of the original Transformer and BERT ($\\mathrm{LN}(x + \\mathrm{Attn}(x))$).
    ``causal=True`` uses :class:`CausalSelfAttention` (and supports a cache);
    otherwise ``keras.layers.MultiHeadAttention`` with an optional padding mask.
    """

    def __init__(self, model_dim: int, num_heads: int, ff_dim: Optional[int] = None,
                 dropout: float = 0.0, causal: bool = False, norm_first: bool = True,
                 activation: str = "gelu", epsilon: float = 1e-5, **kwargs):
        super().__init__(**kwargs)
        self.model_dim = check_positive_int("model_dim", model_dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        if self.model_dim % self.num_heads:
            raise ArgumentError(
                f"model_dim ({model_dim}) must be divisible by num_heads ({num_heads}) "
                "so that every head gets the same dimension."
            )
        self.ff_dim = check_positive_int("ff_dim", ff_dim if ff_dim is not None else 4 * model_dim)
        dropout = check_fraction("dropout", dropout)
        self.dropout, self.causal, self.norm_first = dropout, check_bool("causal", causal), check_bool("norm_first", norm_first)
        self.activation, self.epsilon = activation, epsilon
        head_dim = self.model_dim // self.num_heads
        if causal:
            self.attention = CausalSelfAttention(self.num_heads, head_dim, dropout, name="attention")
        else:
            self.attention = keras.layers.MultiHeadAttention(
                self.num_heads, head_dim, dropout=dropout, name="attention"
            )
        self.norm_attention = keras.layers.LayerNormalization(epsilon=epsilon, name="norm_attention")
        self.norm_ff = keras.layers.LayerNormalization(epsilon=epsilon, name="norm_ff")
        self.ff_hidden = keras.layers.Dense(self.ff_dim, activation=activation, name="ff_hidden")
        self.ff_output = keras.layers.Dense(self.model_dim, name="ff_output")
        self.dropout_attention = keras.layers.Dropout(dropout)
        self.dropout_ff = keras.layers.Dropout(dropout)

    def build(self, input_shape):
        if input_shape[-1] != self.model_dim:
            raise ArgumentError(f"inputs must have last dimension model_dim={self.model_dim}; got {input_shape[-1]}.")
        self.norm_attention.build(input_shape)
        self.norm_ff.build(input_shape)
        if self.causal:
            self.attention.build(input_shape)
        else:
            self.attention.build(input_shape, input_shape)
        self.ff_hidden.build(input_shape)
        self.ff_output.build(tuple(input_shape[:-1]) + (self.ff_dim,))
        super().build(input_shape)

    def _attend(self, x, padding_mask, cache, cache_index, training):
        if self.causal:
            return self.attention(x, cache=cache, cache_index=cache_index, training=training)
        mask = None
        if padding_mask is not None:  # (batch, length) True for real tokens
            keep = ops.cast(padding_mask, "bool")
            mask = ops.logical_and(keep[:, :, None], keep[:, None, :])
        out, weights = self.attention(x, x, attention_mask=mask, training=training,
                                      return_attention_scores=True)
        return out, None, weights

    def call(self, x, padding_mask=None, cache=None, cache_index=None, training=False, return_details=False):
        if self.norm_first:
            attended, new_cache, weights = self._attend(self.norm_attention(x), padding_mask, cache, cache_index, training)
            x = x + self.dropout_attention(attended, training=training)
            x = x + self.dropout_ff(self.ff_output(self.ff_hidden(self.norm_ff(x))), training=training)
        else:
            attended, new_cache, weights = self._attend(x, padding_mask, cache, cache_index, training)
            x = self.norm_attention(x + self.dropout_attention(attended, training=training))
            x = self.norm_ff(x + self.dropout_ff(self.ff_output(self.ff_hidden(x)), training=training))
        if return_details:
            return x, new_cache, weights
        return x

    def get_config(self):
        return {**super().get_config(), "model_dim": self.model_dim, "num_heads": self.num_heads,
                "ff_dim": self.ff_dim, "dropout": self.dropout, "causal": self.causal,
                "norm_first": self.norm_first, "activation": self.activation, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="build_and_explain")
class PositionEmbedding(keras.layers.Layer):
    """Adds a learned vector per position: ``x[:, p] + P[p]`` for ``p = 0 .. length - 1``.

    ``P`` is a trainable (``max_length``, ``depth``) table, a
    ``keras.layers.Embedding`` named ``"table"`` looked up at the positions
    0, 1, ..., n - 1 of an input of shape (batch, n, ``depth``), n <= ``max_length``.
    A learned table has no row beyond ``max_length``: a longer input raises an error.
    """

    def __init__(self, max_length: int, depth: int, **kwargs):
        super().__init__(**kwargs)
        self.max_length = check_positive_int("max_length", max_length)
        self.depth = check_positive_int("depth", depth)
        self.table = keras.layers.Embedding(self.max_length, self.depth, name="table")

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] != self.depth:
            raise ArgumentError(
                f"inputs must have shape (batch, length, depth={self.depth}); got {tuple(input_shape)}.")
        if input_shape[1] is not None and input_shape[1] > self.max_length:
            raise ArgumentError(
                f"inputs have {input_shape[1]} positions, more than max_length={self.max_length} rows of the table.")
        self.table.build((self.max_length,))
        super().build(input_shape)

    def call(self, x):
        positions = ops.arange(ops.shape(x)[1])
        return x + self.table(positions)[None, :, :]

    def get_config(self):
        return {**super().get_config(), "max_length": self.max_length, "depth": self.depth}


def build_transformer_classifier(input_length: int = 40, n_classes: int = 10, *, width: int = 32,
                                 num_heads: int = 4, num_blocks: int = 1, patch_size: int = 6, stride: int = 3,
                                 position_embedding: bool = True) -> keras.Model:
    """The Transformer classifier of chapter 5 for 1-D signals (MNIST-1D), as a functional model.

    Input (batch, ``input_length``, 1) -> ``Conv1D(width, patch_size, strides=stride)``
    (named ``"patch_embedding"``: every patch of ``patch_size`` values mapped
    linearly to a token of ``width`` numbers: ``(input_length - patch_size) // stride + 1``
    tokens) ->
    :class:`PositionEmbedding` (``"position_embedding"``, unless
    ``position_embedding=False``) -> ``num_blocks`` pre-norm
    :class:`TransformerBlock` layers (``"block_0"``, ...) -> layer norm
    (``"final_norm"``) -> mean over the tokens (``"mean_over_tokens"``) ->
    ``n_classes`` logits (``"logits"``). Call ``model.get_layer("block_0")(tokens,
    return_details=True)`` for the block's attention weights.

    Raises :class:`utils.ArgumentError` for non-positive sizes, a ``width`` not
    divisible by ``num_heads``, or a ``patch_size`` longer than the signal.
    """
    input_length = check_positive_int("input_length", input_length)
    n_classes = check_int("n_classes", n_classes, 2)
    width = check_positive_int("width", width)
    num_heads = check_positive_int("num_heads", num_heads)
    num_blocks = check_positive_int("num_blocks", num_blocks)
    patch_size = check_int("patch_size", patch_size, 1, input_length)
    stride = check_positive_int("stride", stride)
    position_embedding = check_bool("position_embedding", position_embedding)
    if width % num_heads:
        raise ArgumentError(f"width ({width}) must be divisible by num_heads ({num_heads}) "
                            "so that every head gets the same dimension.")
    n_tokens = (input_length - patch_size) // stride + 1
    signal = keras.Input(shape=(input_length, 1), name="signal")
    x = keras.layers.Conv1D(width, patch_size, strides=stride, name="patch_embedding")(signal)
    if position_embedding:
        x = PositionEmbedding(n_tokens, width, name="position_embedding")(x)
    for i in range(num_blocks):
        x = TransformerBlock(width, num_heads, name=f"block_{i}")(x)
    x = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")(x)
    x = keras.layers.GlobalAveragePooling1D(name="mean_over_tokens")(x)
    logits = keras.layers.Dense(n_classes, name="logits")(x)
    return keras.Model(signal, logits, name="transformer_classifier")


@keras.saving.register_keras_serializable(package="build_and_explain")
class MiniGPT(keras.Model):
    """A decoder-only Transformer language model (GPT-2 arrangement).

    Token embedding + learned position embedding -> ``num_layers`` pre-norm
    causal blocks -> final layer norm -> logits over the vocabulary. With
    ``tie_embeddings`` the output projection reuses the token embedding matrix
    (as GPT-2 does). ``call(token_ids)`` returns logits (batch, length, vocab);
    :meth:`step` extends a sequence by reusing each block's key/value cache.
    """

    def __init__(self, vocab_size: int, context_length: int, model_dim: int = 64,
                 num_heads: int = 4, num_layers: int = 2, ff_dim: Optional[int] = None,
                 dropout: float = 0.0, tie_embeddings: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.context_length = check_positive_int("context_length", context_length)
        self.model_dim = check_positive_int("model_dim", model_dim)
        self.num_heads = check_positive_int("num_heads", num_heads)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.ff_dim = check_positive_int("ff_dim", ff_dim) if ff_dim is not None else 4 * self.model_dim
        dropout = check_fraction("dropout", dropout)
        self.dropout, self.tie_embeddings = dropout, check_bool("tie_embeddings", tie_embeddings)
        vocab_size, context_length, model_dim = self.vocab_size, self.context_length, self.model_dim
        num_heads, num_layers = self.num_heads, self.num_layers
        self.token_embedding = keras.layers.Embedding(vocab_size, model_dim, name="token_embedding")
        self.position_embedding = keras.layers.Embedding(context_length, model_dim, name="position_embedding")
        self.embedding_dropout = keras.layers.Dropout(dropout)
        self.blocks = [
            TransformerBlock(model_dim, num_heads, self.ff_dim, dropout, causal=True, norm_first=True,
                             name=f"block_{i}")
            for i in range(num_layers)
        ]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = None if tie_embeddings else keras.layers.Dense(vocab_size, use_bias=False, name="head")

    def build(self, input_shape):
        self.token_embedding.build(input_shape)
        self.position_embedding.build(input_shape)
        hidden = tuple(input_shape) + (self.model_dim,)
        for block in self.blocks:
            block.build(hidden)
        self.final_norm.build(hidden)
        if self.head is not None:
            self.head.build(hidden)
        super().build(input_shape)

    def _logits(self, x):
        x = self.final_norm(x)
        if self.head is None:
            return ops.matmul(x, ops.transpose(self.token_embedding.embeddings))
        return self.head(x)

    def _embed(self, token_ids, start=0, training=False):
        length = ops.shape(token_ids)[1]
        if isinstance(start, (int, np.integer)) and isinstance(length, int) and start + length > self.context_length:
            raise ArgumentError(
                f"token_ids: sequence of {start + length} tokens is longer than the context length {self.context_length}."
            )
        positions = ops.arange(length, dtype="int32") + ops.cast(start, "int32")
        x = self.token_embedding(token_ids) + self.position_embedding(positions)[None, :, :]
        return self.embedding_dropout(x, training=training)

    def call(self, token_ids, training=False):
        x = self._embed(token_ids, 0, training)
        for block in self.blocks:
            x = block(x, training=training)
        return self._logits(x)

    def attention_maps(self, token_ids) -> List:
        """Attention weights of every block, each (batch, heads, length, length)."""
        x = self._embed(token_ids, 0)
        maps = []
        for block in self.blocks:
            x, _, weights = block(x, return_details=True)
            maps.append(weights)
        return maps

    def empty_caches(self, batch_size: int) -> List[Tuple]:
        """Zero caches for :meth:`step`: one ``(keys, values)`` pair per block, each
        of shape (batch_size, heads, context_length, head width)."""
        batch_size = check_positive_int("batch_size", batch_size)
        shape = (batch_size, self.num_heads, self.context_length, self.model_dim // self.num_heads)
        return [(ops.zeros(shape), ops.zeros(shape)) for _ in self.blocks]

    def step(self, token_ids, caches=None, start=0):
        """Logits for ``token_ids`` at positions ``start``, ``start + 1``, ...; returns ``(logits, caches)``.

        ``caches`` holds the keys and values of positions 0 .. start - 1, one
        ``(keys, values)`` pair per block of shape (batch, heads, context_length,
        head width); None (with ``start=0``) begins with :meth:`empty_caches`.
        Pass the returned caches, and the next position, to the next call.
        ``start`` may be a tensor, so that a compiled step is traced once.
        """
        if caches is None:
            caches = self.empty_caches(int(ops.shape(token_ids)[0]))
        x = self._embed(token_ids, start)
        new_caches = []
        for block, cache in zip(self.blocks, caches):
            x, cache, _ = block(x, cache=cache, cache_index=start, return_details=True)
            new_caches.append(cache)
        return self._logits(x), new_caches

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "context_length": self.context_length,
                "model_dim": self.model_dim, "num_heads": self.num_heads, "num_layers": self.num_layers,
                "ff_dim": self.ff_dim, "dropout": self.dropout, "tie_embeddings": self.tie_embeddings}


def _next_token(logits: np.ndarray, rng: np.random.Generator, greedy: bool,
                temperature: float, top_k: Optional[int]) -> int:
    if greedy:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < scaled.size:
        cutoff = np.partition(scaled, -top_k)[-top_k]
        scaled = np.where(scaled >= cutoff, scaled, -np.inf)
    probabilities = np.exp(scaled - scaled.max())
    probabilities /= probabilities.sum()
    return int(rng.choice(scaled.size, p=probabilities))


def generate(model: MiniGPT, prompt: Sequence[int], max_new_tokens: int, greedy: bool = False,
             temperature: float = 1.0, top_k: Optional[int] = None, use_cache: bool = True,
             seed: int = 0) -> List[int]:
    """Extend ``prompt`` (token ids) by ``max_new_tokens`` tokens; return the new ids.

    ``greedy`` takes the most likely token; otherwise tokens are sampled from
    $\\mathrm{softmax}(z/T)$, restricted to the ``top_k`` most likely when given.
    With ``use_cache`` each step feeds only the newest token and reuses the
    key/value cache (prompt + new tokens must fit the context); without it the
    whole sequence is recomputed at every step (cropped to the last
    ``context_length`` tokens when it grows longer).
    """
    check_instance("model", model, MiniGPT, "a MiniGPT")
    prompt_array = np.asarray(prompt)
    if prompt_array.size and prompt_array.dtype.kind not in "iu":
        raise ArgumentError(f"prompt must hold integer token ids; got an array of dtype {prompt_array.dtype}.")
    ids = [int(t) for t in prompt_array.reshape(-1)]
    if not ids:
        raise ArgumentError("prompt must contain at least one token id.")
    if min(ids) < 0 or max(ids) >= model.vocab_size:
        raise ArgumentError(f"prompt token ids must lie in [0, {model.vocab_size}); got {min(ids)}..{max(ids)}.")
    if len(ids) > model.context_length:
        raise ArgumentError(
            f"prompt has {len(ids)} tokens, longer than the context length {model.context_length}; shorten it."
        )
    max_new_tokens = check_int("max_new_tokens", max_new_tokens, 0)
    greedy = check_bool("greedy", greedy)
    use_cache = check_bool("use_cache", use_cache)
    seed = check_seed("seed", seed)
    if not greedy:
        temperature = check_positive_number("temperature", temperature)  # greedy=True takes the most likely token
    if top_k is not None:
        top_k = check_positive_int("top_k", top_k)
    if use_cache and len(ids) + max_new_tokens > model.context_length:
        raise ArgumentError(
            f"with use_cache=True the prompt ({len(ids)}) plus max_new_tokens ({max_new_tokens}) must fit "
            f"the context length {model.context_length}; generate fewer tokens or use use_cache=False."
        )
    rng = np.random.default_rng(seed)
    new: List[int] = []
    step = compiled_step(model) if use_cache else None
    caches = None
    for _ in range(max_new_tokens):
        if use_cache:  # the prompt first, then one token at a time at the next free position
            pending = ids if caches is None else new[-1:]
            logits, caches = step(np.asarray([pending], dtype="int32"), caches, len(ids) + len(new) - len(pending))
            last = logits[0, -1]
        else:  # the last context_length tokens, padded on the right to a fixed shape (compiled once)
            window = (ids + new)[-model.context_length:]
            padded = np.zeros((1, model.context_length), dtype="int32")
            padded[0, : len(window)] = window
            last = np.asarray(model.predict_on_batch(padded))[0, len(window) - 1]  # causal: padding is never read
        token = _next_token(last, rng, greedy, temperature, top_k)
        new.append(token)
    return new


class _StepModel(keras.Model):
    """Wraps ``MiniGPT.step`` as a model call, so that ``predict_on_batch`` compiles it."""

    def __init__(self, gpt: MiniGPT, **kwargs):
        super().__init__(**kwargs)
        self.gpt = gpt

    def call(self, inputs):
        token_ids, start, keys, values = inputs  # keys, values: (blocks, batch, heads, context, head width)
        caches = [(keys[i], values[i]) for i in range(self.gpt.num_layers)]
        logits, caches = self.gpt.step(token_ids, caches, start[0])
        return logits, ops.stack([k for k, _ in caches]), ops.stack([v for _, v in caches])


def compiled_step(model: MiniGPT):
    """``MiniGPT.step`` compiled: a function ``step(token_ids, caches, start) -> (logits, caches)``.

    The same computation as ``model.step``, run through ``predict_on_batch`` of a
    small wrapper model, so that it is compiled (``tf.function`` or ``jax.jit``)
    once per shape of ``token_ids`` instead of running operation by operation:
    the caches have a fixed shape and ``start`` is an input, not a constant.
    ``caches`` is None for the first call (``start`` = 0) and then the value
    returned by the previous call (NumPy arrays); ``logits`` is a NumPy array.
    """
    check_instance("model", model, MiniGPT, "a MiniGPT")
    wrapper = model.__dict__.get("_compiled_step_model")
    if wrapper is None:
        wrapper = _StepModel(model, name="compiled_step")
        object.__setattr__(model, "_compiled_step_model", wrapper)  # reused, not tracked as a sub-layer

    def step(token_ids, caches, start: int):
        token_ids = np.asarray(token_ids, dtype="int32")
        if caches is None:
            empty = [ops.convert_to_numpy(k) for k, _ in model.empty_caches(token_ids.shape[0])]
            caches = (np.stack(empty), np.stack(empty))
        logits, keys, values = wrapper.predict_on_batch(
            (token_ids, np.asarray([start], dtype="int32"), caches[0], caches[1]))
        return np.asarray(logits), (np.asarray(keys), np.asarray(values))

    return step


def gpt_parameter_count(num_layers: int, model_dim: int, vocab_size: int, context_length: int,
                        ff_dim: Optional[int] = None, tie_embeddings: bool = True) -> int:
    """Parameters of a GPT-2-style decoder, as a formula.

    Per block: attention $4(d^2 + d)$ (query, key, value, output projections with
    biases), feed-forward $2 d f + f + d$, two layer norms $4d$. Plus token and
    position embeddings $(V + C)d$, the final layer norm $2d$, and an untied output
    matrix $Vd$ when ``tie_embeddings`` is False. With $f = 4d$ a block is
    $12d^2 + 13d$.
    """
    num_layers = check_positive_int("num_layers", num_layers)
    d = model_dim = check_positive_int("model_dim", model_dim)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    context_length = check_positive_int("context_length", context_length)
    tie_embeddings = check_bool("tie_embeddings", tie_embeddings)
    f = 4 * d if ff_dim is None else check_positive_int("ff_dim", ff_dim)
    block = 4 * (d * d + d) + (2 * d * f + f + d) + 4 * d
    total = (vocab_size + context_length) * d + num_layers * block + 2 * d
    return total if tie_embeddings else total + vocab_size * d


def bert_parameter_count(num_layers: int, model_dim: int, vocab_size: int, context_length: int,
                         ff_dim: Optional[int] = None, type_vocab_size: int = 2,
                         pooler: bool = True) -> int:
    """Parameters of a BERT-style encoder (post-norm blocks), as a formula.

    Embeddings $(V + C + \\text{types})d$ plus their layer norm $2d$; each block
    has the same count as in :func:`gpt_parameter_count`; the pooler adds $d^2 + d$.
    """
    num_layers = check_positive_int("num_layers", num_layers)
    d = model_dim = check_positive_int("model_dim", model_dim)
    vocab_size = check_positive_int("vocab_size", vocab_size)
    context_length = check_positive_int("context_length", context_length)
    type_vocab_size = check_positive_int("type_vocab_size", type_vocab_size)
    pooler = check_bool("pooler", pooler)
    f = 4 * d if ff_dim is None else check_positive_int("ff_dim", ff_dim)
    block = 4 * (d * d + d) + (2 * d * f + f + d) + 4 * d
    total = (vocab_size + context_length + type_vocab_size) * d + 2 * d + num_layers * block
    return total + (d * d + d if pooler else 0)
