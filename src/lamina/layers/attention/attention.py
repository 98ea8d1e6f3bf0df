"""`Attention` (dot-product or concat scores) and `AdditiveAttention` (Bahdanau-style).

Both take `inputs=[query, value]` or `[query, value, key]` of shapes `(batch, Tq, dim)`,
`(batch, Tv, dim_v)`, `(batch, Tv, dim)` and return `(batch, Tq, dim_v)`.
"""

import numbers

import torch

from lamina import random
from lamina.backend.convert import convert_to_tensor, tensor_unless_symbolic
from lamina.layers.layer import Layer


def large_negative(dtype):
    """The additive penalty for masked-out scores (finite, so softmax stays defined)."""
    return 65504.0 if dtype is torch.float16 else 1.0e9


def causal_mask(query_len, key_len, device):
    """`(1, query_len, key_len)` booleans, True where key index <= query index."""
    return torch.ones(query_len, key_len, dtype=torch.bool, device=device).tril().unsqueeze(0)


class Attention(Layer):
    """Dot-product (Luong-style) attention over `[query, value]` or `[query, value, key]`.

    Scores are `query @ key^T` (`score_mode="dot"`) or
    `concat_score_weight * sum(tanh(query + key), -1)` (`"concat"`); they are softmaxed
    over the value steps and used to average `value`.

    Args:
        use_scale: learn a scalar `scale` multiplying the scores (inside the tanh for
            `"concat"`).
        score_mode: `"dot"` or `"concat"`.
        dropout: fraction of attention weights dropped in training.
        seed: integer seed for the dropout.

    Call arguments: `inputs` (list), `mask=[query_mask, value_mask]` (booleans
    `(batch, Tq)`, `(batch, Tv)`), `training`, `return_attention_scores` (also return the
    `(batch, Tq, Tv)` weights), `use_causal_mask` (query step i sees value steps <= i).

    >>> import torch
    >>> q, v = torch.ones(2, 3, 4), torch.ones(2, 5, 4)
    >>> out, scores = Attention()([q, v], return_attention_scores=True)
    >>> tuple(out.shape), tuple(scores.shape)
    ((2, 3, 4), (2, 3, 5))
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if score_mode not in ("dot", "concat"):
            raise ValueError(
                "Invalid value for argument score_mode. Expected one of {'dot', 'concat'}. "
                f"Received: score_mode={score_mode}"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not (
                0 <= dropout <= 1):
            raise ValueError(f"{type(self).__name__}: `dropout` must be a float in [0, 1]. "
                             f"Received: dropout={dropout!r}")
        self.use_scale = use_scale
        self.score_mode = score_mode
        self.dropout = dropout
        self.seed = seed
        self.seed_generator = None
        if dropout > 0:
            self.seed_generator = random.SeedGenerator(seed)
        self.supports_masking = True
        self.scale = None
        self.concat_score_weight = None

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(
                name="concat_score_weight", shape=(), initializer="ones")
        self.built = True

    def _calculate_scores(self, query, key):
        """Raw scores `(batch, Tq, Tv)`."""
        if self.score_mode == "dot":
            scores = torch.matmul(query, key.transpose(-1, -2))
            return scores * self.scale if self.scale is not None else scores
        pairs = query.unsqueeze(-2) + key.unsqueeze(-3)
        if self.scale is not None:
            pairs = self.scale * pairs
        return self.concat_score_weight * torch.tanh(pairs).sum(-1)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False,
             use_causal_mask=False):
        self._validate_inputs(inputs, mask)
        query, value = inputs[0], inputs[1]
        key = inputs[2] if len(inputs) > 2 else value
        query_mask, value_mask = (None, None) if mask is None else (
            m if m is None or isinstance(m, torch.Tensor) else convert_to_tensor(m)
            for m in mask[:2])
        scores = self._calculate_scores(query, key)
        keep = None
        if value_mask is not None:
            keep = value_mask.unsqueeze(-2).bool()
        if use_causal_mask:
            causal = causal_mask(scores.shape[-2], scores.shape[-1], scores.device)
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = scores - large_negative(scores.dtype) * (~keep).to(scores.dtype)
        weights = torch.softmax(scores, dim=-1)
        if training and self.dropout > 0:
            weights = random.dropout(weights, self.dropout, seed=self.seed_generator)
        out = torch.matmul(weights, value)
        if query_mask is not None:
            out = out * query_mask.unsqueeze(-1).to(out.dtype)
        if return_attention_scores:
            return out, weights
        return out

    def compute_mask(self, inputs, previous_mask=None):
        if isinstance(inputs, (list, tuple)):
            inputs = [tensor_unless_symbolic(x) for x in inputs]
        self._validate_inputs(inputs, previous_mask)
        if previous_mask is None or previous_mask[0] is None:
            return None
        return tensor_unless_symbolic(previous_mask[0])

    def compute_output_shape(self, input_shape):
        self._validate_inputs(input_shape)
        return (*tuple(input_shape[0])[:-1], tuple(input_shape[1])[-1])

    def _validate_inputs(self, inputs, mask=None):
        name = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or all(
                d is None or isinstance(d, int) for d in inputs):
            shape = tuple(getattr(inputs, "shape", inputs))
            raise ValueError(
                f"{name} layer '{self.name}' must be called on a list of inputs, namely "
                f"[query, value] or [query, value, key]. Received: inputs={shape}."
            )
        if len(inputs) not in (2, 3):
            raise ValueError(
                f"{name} layer '{self.name}' accepts inputs list of length 2 or 3, namely "
                f"[query, value] or [query, value, key]. Received length: {len(inputs)}."
            )
        for what, x in zip(("query", "value", "key"), inputs):
            shape = tuple(getattr(x, "shape", x) or ())
            if len(shape) != 3:
                raise ValueError(
                    f"{name} layer '{self.name}' expects {what} of rank 3 "
                    f"(batch, steps, features). Received: {what} shape {shape}."
                )
        if mask is not None and (not isinstance(mask, (list, tuple))
                                 or len(mask) not in (2, 3)):
            length = len(mask) if isinstance(mask, (list, tuple)) else type(mask).__name__
            raise ValueError(
                f"{name} layer '{self.name}' accepts mask list of length 2 or 3, namely "
                f"[query_mask, value_mask]. Received: mask of length {length}."
            )

    def get_config(self):
        config = super().get_config()
        config.update(use_scale=self.use_scale, score_mode=self.score_mode,
                      dropout=self.dropout, seed=self.seed)
        return config


class AdditiveAttention(Attention):
    """Additive (Bahdanau-style) attention: scores are `sum(scale * tanh(query + key), -1)`.

    Args:
        use_scale: learn a per-feature `scale` vector (else the sum is unscaled).
        dropout: fraction of attention weights dropped in training.

    Call arguments as in `Attention`.

    >>> import torch
    >>> layer = AdditiveAttention()
    >>> layer([torch.ones(2, 3, 4), torch.ones(2, 5, 4)]).shape
    torch.Size([2, 3, 4])
    >>> tuple(layer.scale.shape)
    (4,)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate_inputs(input_shape)
        dim = tuple(input_shape[0])[-1]
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(dim,),
                                         initializer="glorot_uniform")
        self.built = True

    def _calculate_scores(self, query, key):
        pairs = torch.tanh(query.unsqueeze(-2) + key.unsqueeze(-3))
        if self.scale is not None:
            pairs = self.scale * pairs
        return pairs.sum(-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config
