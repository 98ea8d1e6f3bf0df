"""`GroupedQueryAttention`: query heads share fewer key/value heads."""

import math
import numbers

import torch

from lamina.layers.attention.multi_head_attention import AttentionBase


class GroupedQueryAttention(AttentionBase):
    """Grouped-query attention (Ainslie et al., 2023), with Keras' weight layout.

    `num_query_heads` query heads attend in groups that share `num_key_value_heads` key
    and value heads (1: multi-query attention; equal counts: multi-head attention).
    Projections are `EinsumDense` layers `query` `(dim, num_query_heads, head_dim)`,
    `key`/`value` `(dim_v, num_key_value_heads, head_dim)` and `attention_output`
    `(num_query_heads, head_dim, dim)`.

    Args:
        head_dim: size of each head.
        num_query_heads: number of query heads.
        num_key_value_heads: number of key/value heads; must divide `num_query_heads`.
        dropout, use_bias, sliding_window, flash_attention, kernel_initializer,
        bias_initializer, kernel_regularizer, bias_regularizer, activity_regularizer,
        kernel_constraint, bias_constraint, use_gate, seed: as in `MultiHeadAttention`.

    Call arguments as in `MultiHeadAttention` (inputs of rank 3 only).

    >>> import torch
    >>> layer = GroupedQueryAttention(head_dim=4, num_query_heads=4, num_key_value_heads=2)
    >>> x = torch.ones(2, 5, 8)
    >>> out, scores = layer(x, x, return_attention_scores=True)
    >>> tuple(out.shape), tuple(scores.shape)
    ((2, 5, 8), (2, 4, 5, 5))
    """

    def __init__(self, head_dim, num_query_heads, num_key_value_heads, dropout=0.0,
                 use_bias=True, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, use_gate=False, seed=None,
                 **kwargs):
        super().__init__(dropout=dropout, use_bias=use_bias, sliding_window=sliding_window,
                         flash_attention=flash_attention, kernel_initializer=kernel_initializer,
                         bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer,
                         bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer,
                         kernel_constraint=kernel_constraint, bias_constraint=bias_constraint,
                         use_gate=use_gate, seed=seed, **kwargs)
        for arg, value in (("head_dim", head_dim), ("num_query_heads", num_query_heads),
                           ("num_key_value_heads", num_key_value_heads)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(f"GroupedQueryAttention: `{arg}` must be a positive integer. "
                                 f"Received: {arg}={value!r}")
        if num_query_heads % num_key_value_heads != 0:
            raise ValueError(
                "`num_query_heads` must be divisible by `num_key_value_heads`. Received: "
                f"num_query_heads={num_query_heads}, num_key_value_heads={num_key_value_heads}"
            )
        self.head_dim = int(head_dim)
        self.num_query_heads = int(num_query_heads)
        self.num_key_value_heads = int(num_key_value_heads)
        self.num_repeats = self.num_query_heads // self.num_key_value_heads
        self._scale = 1.0 / math.sqrt(self.head_dim)
        self._dot_product_equation = "bshd,bthd->bhts"
        self._combine_equation = "bhts,bshd->bthd"
        self._num_attention_axes = 1
        self._can_fuse = True

    def build(self, query_shape, value_shape, key_shape=None):
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = value_shape if key_shape is None else tuple(key_shape)
        for what, shape in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(shape) != 3:
                raise ValueError(
                    f"Layer '{self.name}' (GroupedQueryAttention) expects query, value and "
                    f"key of rank 3 (batch, steps, features). Received: {what}_shape={shape}"
                )
        query_heads = (None, self.num_query_heads, self.head_dim)
        key_value_heads = (None, self.num_key_value_heads, self.head_dim)
        self._query_dense = self._projection("query", "bqm,muh->bquh", query_heads, "uh",
                                             query_shape)
        self._key_dense = self._projection("key", "bkm,mvh->bkvh", key_value_heads, "vh",
                                           key_shape)
        if self._use_gate:
            self._gate_dense = self._projection("gate", "bqm,muh->bquh", query_heads, "uh",
                                                query_shape)
        self._value_dense = self._projection("value", "bkm,mvh->bkvh", key_value_heads, "vh",
                                             value_shape)
        self._output_dense = self._projection(
            "attention_output", "bquh,uhm->bqm", (None, query_shape[-1]), "m",
            query_shape[:-1] + (self.num_query_heads, self.head_dim))
        self.built = True

    def _check_query(self, query):
        if query.ndim != 3:
            raise ValueError(
                f"Layer '{self.name}' (GroupedQueryAttention) expects a query of rank 3 "
                f"(batch, steps, features). Received: query of shape {tuple(query.shape)}"
            )

    def _share_heads(self, key, value):
        if self.num_repeats == 1:
            return key, value
        # Query head i uses key/value head i // num_repeats.
        return (torch.repeat_interleave(key, self.num_repeats, dim=2),
                torch.repeat_interleave(value, self.num_repeats, dim=2))

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        return tuple(query_shape)

    def _own_config(self):
        return dict(
            head_dim=self.head_dim,
            num_query_heads=self.num_query_heads,
            num_key_value_heads=self.num_key_value_heads,
            use_bias=self._use_bias,
            use_gate=self._use_gate,
            sliding_window=self._sliding_window,
            dropout=self._dropout,
        )


GroupQueryAttention = GroupedQueryAttention
