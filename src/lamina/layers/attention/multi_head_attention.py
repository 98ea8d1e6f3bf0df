"""`MultiHeadAttention`, plus the mask and softmax helpers shared with
`GroupedQueryAttention`."""

import math
import numbers
import string

import torch
import torch.nn.functional as F

from lamina import config as keras_config
from lamina import constraints, initializers, random, regularizers
from lamina.backend.convert import convert_to_tensor
from lamina.layers.attention.attention import causal_mask
from lamina.layers.core.einsum_dense import EinsumDense
from lamina.layers.layer import Layer

_LETTERS = string.ascii_lowercase


def sliding_window_mask(query_len, key_len, window, device):
    """`(1, query_len, key_len)` booleans, True where `|query index - key index| < window`."""
    rows = torch.arange(query_len, device=device).unsqueeze(-1)
    cols = torch.arange(key_len, device=device)
    return ((rows - cols).abs() < window).unsqueeze(0)


def combine_masks(query, value, query_mask, value_mask, key_mask, attention_mask,
                  use_causal_mask, sliding_window):
    """Keras' rule: `attention_mask & query_mask[:, :, None] & value_mask[:, None, :] &
    key_mask[:, None, :] & causal & window`, from whichever are given (None if none)."""
    mask = None

    def both(a, b):
        return b if a is None else a & b

    if query_mask is not None:
        mask = query_mask.bool()[:, :, None]
    if value_mask is not None:
        mask = both(mask, value_mask.bool()[:, None, :])
    if key_mask is not None:
        mask = both(mask, key_mask.bool()[:, None, :])
    if use_causal_mask:
        mask = both(mask, causal_mask(query.shape[1], value.shape[1], query.device))
    if sliding_window is not None:
        mask = both(mask, sliding_window_mask(query.shape[1], value.shape[1], sliding_window,
                                              query.device))
    if attention_mask is not None:
        attention_mask = attention_mask.bool()
        mask = attention_mask if mask is None else attention_mask & mask
    return mask


def expand_mask(layer, mask, scores_shape, num_attention_axes):
    """Insert head axes into `mask` until it has the scores' rank, and check it broadcasts."""
    while mask.ndim < len(scores_shape):
        mask = mask.unsqueeze(-2 * num_attention_axes - 1)
    shape = tuple(mask.shape)
    if len(shape) != len(scores_shape) or any(
            m != 1 and m != s for m, s in zip(shape, scores_shape)):
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}): the attention mask (combined "
            f"from `attention_mask`, input masks and causal masks) must broadcast to the "
            f"attention scores of shape {tuple(scores_shape)} (batch, heads, query steps, "
            f"key steps). Received: mask of shape {shape} (after inserting head axes)."
        )
    return mask


def masked_softmax(scores, mask, num_axes):
    """Softmax over the last `num_axes` axes; masked entries (and fully masked rows) get 0."""
    if mask is not None:
        scores = scores.masked_fill(~mask, -65504.0 if scores.dtype is torch.float16
                                    else -1.0e9)
    if num_axes == 1:
        probs = torch.softmax(scores, dim=-1)
    else:
        flat = scores.flatten(-num_axes)
        probs = torch.softmax(flat, dim=-1).view(scores.shape)
    if mask is not None:
        probs = probs.masked_fill(~mask, 0.0)
    return probs


def additive_mask(mask, dtype):
    """A boolean mask as an additive one: 0 where kept, the dtype's minimum elsewhere.

    NOTE: torch's SDPA outputs zeros for a fully masked query row given a boolean mask;
    Keras' fused path averages all values there (a finite penalty). This keeps Keras'."""
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
        ~mask, torch.finfo(dtype).min)


def _unmasked(x):
    """`x` without the Keras mask it carries: the layer applies masks itself, and its
    projections (which do not support masking) would warn that they drop it."""
    if getattr(x, "_keras_mask", None) is None:
        return x
    return x.view_as(x)


def check_dropout(layer, dropout):
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
            0 <= dropout <= 1):
        raise ValueError(f"{type(layer).__name__}: `dropout` must be a float in [0, 1]. "
                         f"Received: dropout={dropout!r}")
    return float(dropout)


def projection_equation(free_dims, bound_dims, output_dims):
    """(equation, bias axes, output rank) of a projection contracting `bound_dims` input
    axes into `output_dims` new axes, keeping `free_dims` leading axes."""
    free = _LETTERS[:free_dims]
    bound = _LETTERS[free_dims:free_dims + bound_dims]
    out = _LETTERS[free_dims + bound_dims:free_dims + bound_dims + output_dims]
    return f"{free}{bound},{bound}{out}->{free}{out}", out, len(free) + len(out)


class AttentionBase(Layer):
    """What MHA and GQA share: the projections, the call, masks, dropout and config.

    Subclasses build `_query_dense`, `_key_dense`, `_value_dense`, `_output_dense` (and
    `_gate_dense` with `use_gate`), and set `_scale`, the einsum equations and `_can_fuse`.
    """

    def __init__(self, dropout=0.0, use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.supports_masking = True
        self._dropout = check_dropout(self, dropout)
        self._use_bias = use_bias
        if sliding_window is not None and (isinstance(sliding_window, bool) or not isinstance(
                sliding_window, numbers.Integral) or sliding_window <= 0):
            raise ValueError(f"{type(self).__name__}: `sliding_window` must be a positive "
                             f"integer or None. Received: sliding_window={sliding_window!r}")
        self._sliding_window = sliding_window
        # None follows the global switch (`keras.config.disable_flash_attention`).
        self._flash_attention = (keras_config.is_flash_attention_enabled()
                                 if flash_attention is None else flash_attention)
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = regularizers.get(kernel_regularizer)
        self._bias_regularizer = regularizers.get(bias_regularizer)
        self._kernel_constraint = constraints.get(kernel_constraint)
        self._bias_constraint = constraints.get(bias_constraint)
        self._use_gate = use_gate
        self.seed = seed
        self.seed_generator = None
        if self._dropout > 0:
            self.seed_generator = random.SeedGenerator(seed)
        # NOTE: torch's fused attention cannot take a generator, so a seeded dropout runs
        # the explicit path in training.
        self._fused_dropout = seed is None

    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)

    def _projection(self, name, equation, output_shape, bias_axes, input_shape):
        """An `EinsumDense` projection named `name`, built for `input_shape`."""
        def fresh(initializer):
            return initializer.__class__.from_config(initializer.get_config())

        layer = EinsumDense(
            equation, output_shape=output_shape, bias_axes=bias_axes if self._use_bias else None,
            kernel_initializer=fresh(self._kernel_initializer),
            bias_initializer=fresh(self._bias_initializer),
            kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
            dtype=self.dtype_policy, name=name)
        self._build_child(layer, input_shape)
        return layer

    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None,
             use_causal_mask=False):
        value, key_in = self._as_input(value), self._as_input(key)
        key = value if key_in is None else key_in
        self._check_query(query)
        self._check_flash(return_attention_scores)
        mask, causal_only = self._gather_mask(query, value, key_in, value_mask, key_mask,
                                              attention_mask, use_causal_mask)
        query, key, value = _unmasked(query), _unmasked(key), _unmasked(value)
        q = self._query_dense(query)
        k, v = self._share_heads(self._key_dense(key), self._value_dense(value))
        out, scores = self._attend(q, k, v, mask, causal_only, training,
                                   return_attention_scores)
        if self._use_gate:
            out = out * torch.sigmoid(self._gate_dense(query))
        out = self._output_dense(out)
        if return_attention_scores:
            return out, scores
        return out

    def _check_query(self, query):
        """Raise if `query`'s rank differs from the one the layer was built for."""

    def _share_heads(self, key, value):
        """Projected key and value as one head per query head (GQA repeats them)."""
        return key, value

    def _as_input(self, x):
        if x is None:
            return None
        if not isinstance(x, torch.Tensor):
            x = convert_to_tensor(x)
        dtype = self.dtype_policy.compute_torch_dtype
        if self.autocast and x.is_floating_point() and x.dtype is not dtype:
            mask = getattr(x, "_keras_mask", None)
            x = x.to(dtype)
            if mask is not None:
                x._keras_mask = mask
        return x

    def _gather_mask(self, query, value, key, value_mask, key_mask, attention_mask,
                     use_causal_mask):
        # As Keras: the query mask is the one carried by the query tensor; value/key masks
        # come from the arguments, else from the tensors.
        query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key is not None:
            key_mask = getattr(key, "_keras_mask", None)
        value_mask, key_mask, attention_mask = (
            m if m is None or isinstance(m, torch.Tensor) else convert_to_tensor(m)
            for m in (value_mask, key_mask, attention_mask))
        if use_causal_mask and self._sliding_window is None and (
                query_mask is None and value_mask is None and key_mask is None
                and attention_mask is None):
            # Causal alone: the fused kernel builds it (`is_causal`), the einsum path here.
            return None, True
        return combine_masks(query, value, query_mask, value_mask, key_mask, attention_mask,
                             use_causal_mask, self._sliding_window), False

    def _check_flash(self, return_attention_scores):
        if self._flash_attention and return_attention_scores:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}): returning attention scores is "
                "not supported when flash attention is enabled. Please disable flash "
                "attention (flash_attention=False or None) to access attention scores."
            )

    def _fused(self, query, key, value, mask, causal_only, training):
        """SDPA on `(batch, heads, steps, dim)` tensors; `mask` is `(batch, T, S)`-like."""
        dropout_p = self._dropout if training else 0.0
        if causal_only:
            return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p,
                                                  is_causal=True, scale=self._scale)
        if mask is not None:
            mask = expand_mask(self, mask, (query.shape[0], query.shape[1], query.shape[2],
                                            key.shape[2]), 1)
            if self._dropout == 0:
                mask = additive_mask(mask, query.dtype)
        return F.scaled_dot_product_attention(query, key, value, attn_mask=mask,
                                              dropout_p=dropout_p, scale=self._scale)

    def _attend(self, q, k, v, mask, causal_only, training, return_attention_scores):
        """Attention of projected `(batch, ..., heads, dim)` tensors: (output, scores)."""
        fuse = (self._can_fuse and not return_attention_scores
                and self._flash_attention is not False
                and (self._dropout == 0 or self._fused_dropout or not training))
        if fuse:
            out = self._fused(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), mask,
                              causal_only, training)
            return out.transpose(1, 2), None
        scores = torch.einsum(self._dot_product_equation, k, q * self._scale)
        if causal_only:
            mask = causal_mask(q.shape[1], k.shape[1], q.device)
        if mask is not None:
            mask = expand_mask(self, mask, scores.shape, self._num_attention_axes)
        scores = masked_softmax(scores, mask, self._num_attention_axes)
        if mask is not None and return_attention_scores:
            scores._keras_mask = mask  # Keras' scores carry the attention mask
        return torch.einsum(self._combine_equation, self._drop(scores, training), v), scores

    def _drop(self, probs, training):
        if not training or self._dropout == 0:
            return probs
        if self.seed is None:
            return F.dropout(probs, p=self._dropout, training=True)
        return random.dropout(probs, self._dropout, seed=self.seed_generator)

    def compute_mask(self, inputs, previous_mask=None):
        return previous_mask

    def get_build_config(self):
        shapes = self._build_shapes
        if shapes is None:
            return None
        config = {"query_shape": shapes["input_shape"], "value_shape": shapes["value_shape"]}
        if shapes.get("key_shape") is not None:
            config["key_shape"] = shapes["key_shape"]
        return {"shapes_dict": config}

    def build_from_config(self, config):
        shapes = (config or {}).get("shapes_dict")
        if shapes and not self.built:
            def as_shape(s):
                return None if s is None else tuple(s)

            query, value = as_shape(shapes["query_shape"]), as_shape(shapes["value_shape"])
            key = as_shape(shapes.get("key_shape"))
            self.build(query, value, key)  # `build` is scoped by name (`Layer.__init_subclass__`)
            self._build_shapes = {"input_shape": query, "value_shape": value, "key_shape": key}

    def get_config(self):
        config = super().get_config()
        config.update(self._own_config())
        config.update(
            kernel_initializer=initializers.serialize(self._kernel_initializer),
            bias_initializer=initializers.serialize(self._bias_initializer),
            kernel_regularizer=regularizers.serialize(self._kernel_regularizer),
            bias_regularizer=regularizers.serialize(self._bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self._kernel_constraint),
            bias_constraint=constraints.serialize(self._bias_constraint),
            seed=self.seed,
        )
        return config

    def _own_config(self):
        """The subclass's config entries before the shared ones, in Keras' key order."""
        raise NotImplementedError


class MultiHeadAttention(AttentionBase):
    """Multi-head attention ("Attention is all you need"), with Keras' weight layout.

    `query`, `key` and `value` are projected by `EinsumDense` layers (`query`, `key`,
    `value`, kernels `(dim, num_heads, key_dim)`), attended with scaled dot products over
    `attention_axes`, and projected back by `attention_output` (kernel
    `(num_heads, value_dim, *output_shape)`).

    Args:
        num_heads: number of heads.
        key_dim: size of each head of query and key.
        value_dim: size of each head of value (default: `key_dim`).
        dropout: dropout rate on the attention weights (training only).
        use_bias: whether the projections have biases.
        output_shape: output feature shape (default: the query's last dimension).
        attention_axes: axes attended over (default: every axis but batch and features).
        sliding_window: if set, query step i only sees key steps j with |i - j| < window.
        flash_attention: None (use the fused kernel when possible), True (require it) or
            False (always the explicit einsum path).
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint, activity_regularizer: for the projections.
        use_gate: gate each head's output by `sigmoid(gate(query))` (a fourth projection).
        seed: integer seed for the dropout.

    Call arguments: `query` `(B, T, dim)`, `value` `(B, S, dim_v)`, `key` (default: value),
    `value_mask`/`key_mask` (`(B, S)` booleans; default: the tensors' masks),
    `attention_mask` (`(B, T, S)` booleans, True = attend), `return_attention_scores`,
    `training`, `use_causal_mask`. As in Keras, the query mask is the one carried by
    `query` (its `_keras_mask`); the `query_mask` argument is accepted and ignored.

    >>> import torch
    >>> layer = MultiHeadAttention(num_heads=2, key_dim=4)
    >>> x = torch.ones(3, 5, 8)
    >>> out, scores = layer(x, x, return_attention_scores=True)
    >>> tuple(out.shape), tuple(scores.shape)
    ((3, 5, 8), (3, 2, 5, 5))
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, sliding_window=None,
                 flash_attention=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, seed=None, **kwargs):
        super().__init__(dropout=dropout, use_bias=use_bias, sliding_window=sliding_window,
                         flash_attention=flash_attention, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         use_gate=use_gate, seed=seed, **kwargs)
        for arg, value in (("num_heads", num_heads), ("key_dim", key_dim),
                           ("value_dim", key_dim if value_dim is None else value_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"MultiHeadAttention: `{arg}` must be a positive integer. "
                                 f"Received: {arg}={value!r}")
        self._num_heads = int(num_heads)
        self._key_dim = int(key_dim)
        self._value_dim = int(value_dim) if value_dim is not None else self._key_dim
        if isinstance(output_shape, numbers.Integral):
            output_shape = (int(output_shape),)
        self._output_shape = tuple(output_shape) if output_shape is not None else None
        if isinstance(attention_axes, numbers.Integral):
            attention_axes = (int(attention_axes),)
        self._attention_axes = attention_axes
        self._scale = 1.0 / math.sqrt(self._key_dim)

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self._modules.get("_query_dense"))
    key_dense = property(lambda self: self._modules.get("_key_dense"))
    value_dense = property(lambda self: self._modules.get("_value_dense"))
    output_dense = property(lambda self: self._modules.get("_output_dense"))

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        rank = len(query_shape)
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != rank or rank < 3:
                raise ValueError(
                    f"Layer '{self.name}' (MultiHeadAttention) expects query, value and key "
                    "of the same rank >= 3 (batch, ..., features). Received: "
                    f"query_shape={query_shape}, {what}_shape={shape}"
                )
        free = rank - 1
        heads = (None,) * (free - 1)
        eq, bias, _ = projection_equation(free, 1, 2)
        key_heads = heads + (self._num_heads, self._key_dim)
        value_heads = heads + (self._num_heads, self._value_dim)
        self._query_dense = self._projection("query", eq, key_heads, bias, query_shape)
        self._key_dense = self._projection("key", eq, key_heads, bias, key_shape)
        if self._use_gate:
            self._gate_dense = self._projection("gate", eq, value_heads, bias, query_shape)
        self._value_dense = self._projection("value", eq, value_heads, bias, value_shape)
        out_shape = self._output_shape or (query_shape[-1],)
        eq, bias, _ = projection_equation(free, 2, len(out_shape))
        self._output_dense = self._projection(
            "attention_output", eq, heads + tuple(out_shape), bias,
            query_shape[:-1] + (self._num_heads, self._value_dim))
        self._build_attention(rank + 1)
        self._query_rank = rank
        self.built = True

    def _build_attention(self, rank):
        """Einsum equations for scores and combination, for projected tensors of `rank`
        (batch, ..., heads, head_dim)."""
        axes = self._attention_axes
        if axes is None:
            axes = range(1, rank - 2)
        # Negative axes count from the end of the query (rank - 1 axes).
        axes = tuple(a % (rank - 1) if a < 0 else a for a in axes)
        self._attention_axes = axes
        batch_axes = [i for i in range(rank) if i not in axes and i != rank - 1]
        target = _LETTERS[:rank]
        source = list(target)
        spare = iter(_LETTERS[rank:])
        for i in axes:
            source[i] = next(spare)
        source = "".join(source)
        product = ("".join(target[i] for i in batch_axes) + "".join(target[i] for i in axes)
                   + "".join(source[i] for i in axes))
        self._dot_product_equation = f"{source},{target}->{product}"
        self._combine_equation = f"{product},{source}->{target}"
        self._num_attention_axes = len(axes)
        # NOTE: only (batch, steps, heads, dim) tensors map onto torch's fused kernel.
        self._can_fuse = rank == 4 and axes == (1,)

    def _check_query(self, query):
        if query.ndim != self._query_rank:
            raise ValueError(
                f"Layer '{self.name}' (MultiHeadAttention) was built for queries of rank "
                f"{self._query_rank}. Received: query of shape {tuple(query.shape)}"
            )

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        query_shape = tuple(query_shape)
        if self._output_shape is not None:
            return query_shape[:-1] + tuple(self._output_shape)
        return query_shape

    def _own_config(self):
        return dict(
            num_heads=self._num_heads,
            key_dim=self._key_dim,
            value_dim=self._value_dim,
            dropout=self._dropout,
            use_bias=self._use_bias,
            use_gate=self._use_gate,
            output_shape=self._output_shape,
            attention_axes=self._attention_axes,
            sliding_window=self._sliding_window,
        )
