"""`ReversibleEmbedding`: an embedding that can also project vectors back to vocabulary logits."""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.layers.core.embedding import Embedding


class ReversibleEmbedding(Embedding):
    """An `Embedding` whose `call(x, reverse=True)` maps vectors to logits over the vocabulary.

    With `tie_weights=True` (the default) the reverse projection is the transposed
    table, as in language models that share input and output embeddings; otherwise a
    separate `(output_dim, input_dim)` `reverse_embeddings` weight is learned.

    Args:
        input_dim, output_dim, embeddings_initializer, embeddings_regularizer,
            embeddings_constraint, mask_zero: as `Embedding`.
        tie_weights: reuse the table for the reverse projection.
        reverse_dtype: dtype the reverse projection computes in (None: the layer's).
        logit_soft_cap: if set, logits become `tanh(logits / cap) * cap`.

    >>> import torch
    >>> layer = ReversibleEmbedding(5, 3)
    >>> tokens = layer(torch.tensor([[1, 4]]))
    >>> tuple(layer(tokens, reverse=True).shape)
    (1, 2, 5)
    """

    def __init__(self, input_dim, output_dim, tie_weights=True, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 reverse_dtype=None, logit_soft_cap=None, **kwargs):
        super().__init__(input_dim, output_dim, embeddings_initializer=embeddings_initializer,
                         embeddings_regularizer=embeddings_regularizer,
                         embeddings_constraint=embeddings_constraint, mask_zero=mask_zero,
                         **kwargs)
        self.tie_weights = tie_weights
        self.reverse_dtype = reverse_dtype
        self.logit_soft_cap = logit_soft_cap

    def build(self, input_shape=None):
        if self.built:
            return
        super().build(input_shape)
        if not self.tie_weights and not self._quantized_mode:
            self.reverse_embeddings = self.add_weight(
                name="reverse_embeddings", shape=(self.output_dim, self.input_dim),
                initializer=self.embeddings_initializer)

    def call(self, inputs, reverse=False):
        if not reverse:
            vectors = super().call(inputs)
            if self.mask_zero:  # set here: `compute_mask` cannot tell the two directions
                vectors._keras_mask = super().compute_mask(inputs)
            return vectors
        kernel = self.embeddings.T if self.tie_weights else self.reverse_embeddings
        if self.reverse_dtype is not None:
            dtype = to_torch_dtype(self.reverse_dtype)
            inputs, kernel = inputs.to(dtype), kernel.to(dtype)
        else:
            kernel = kernel.to(inputs.dtype)
        logits = torch.matmul(inputs, kernel)
        if self.logit_soft_cap is not None:
            logits = torch.tanh(logits / self.logit_soft_cap) * self.logit_soft_cap
        return logits

    def compute_mask(self, inputs, previous_mask=None):
        return None  # the forward direction's mask is attached in `call`, as in Keras

    def compute_output_shape(self, input_shape, reverse=False):
        if reverse:
            return (*tuple(input_shape)[:-1], self.input_dim)
        return super().compute_output_shape(input_shape)

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built and not self.tie_weights and not self._quantized_mode:
            store[str(len(store.keys()))] = self.reverse_embeddings

    def load_own_variables(self, store):
        if self.tie_weights or self._quantized_mode:
            return super().load_own_variables(store)
        self._assign_from_store(store, [self.embeddings, self.reverse_embeddings])

    def get_config(self):
        config = super().get_config()
        config.update(tie_weights=self.tie_weights, reverse_dtype=self.reverse_dtype,
                      logit_soft_cap=self.logit_soft_cap)
        return config


__all__ = ["ReversibleEmbedding"]
