"""`IntegerLookup`: integer tokens to vocabulary indices, and back, as tensor ops."""

import numpy as np
import torch

from lamina.layers.preprocessing.index_lookup import MASK, OOV, IndexLookup

_CPU = torch.device("cpu")


class IntegerLookup(IndexLookup):
    """Maps integer tokens to contiguous indices from a vocabulary (or indices back to
    tokens with `invert=True`).

    Lookups are tensor ops (a sorted search), on the inputs' device and inside models.
    Index 0 is the mask token when `mask_token` is set (in `"int"` mode), then the
    `num_oov_indices` OOV slots (an OOV token `t` goes to slot `t mod num_oov_indices`),
    then the vocabulary: given, read from a file (one token a line) or learned by
    `adapt()` (most frequent first, ties by the larger token first).

    Args:
        max_tokens: the most indices in all (special slots included); None for no limit.
        num_oov_indices: OOV slots; 0 makes OOV inputs raise.
        mask_token: the token that marks padding (index 0), or None.
        oov_token: the token `invert=True` returns for OOV indices (-1).
        vocabulary: a list or array of integers, or a text file's path.
        vocabulary_dtype: only `"int64"` (as Keras).
        idf_weights: (tf_idf mode) the inverse document frequency of each entry.
        invert: map indices to tokens.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
        sparse: only `False` (torch backend).
        pad_to_max_tokens: encode over `max_tokens` indices rather than the vocabulary
            size (non-int modes).

    >>> layer = IntegerLookup(vocabulary=[12, 36, 1138, 42])
    >>> layer([[12, 1138, 42], [42, 1000, 36]])
    tensor([[1, 3, 4],
            [4, 0, 2]])
    """

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token=-1,
                 vocabulary=None, vocabulary_dtype="int64", idf_weights=None, invert=False,
                 output_mode="int", sparse=False, pad_to_max_tokens=False,
                 oov_method="floormod", salt=None, name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(
                "If `max_tokens` is set for `IntegerLookup`, it must be greater than 1. "
                f"Received: max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(
                "The value of `num_oov_indices` argument for `IntegerLookup` must >= 0. "
                f"Received: num_oov_indices={num_oov_indices}")
        if vocabulary_dtype != "int64":
            raise ValueError(
                "Only `vocabulary_dtype='int64'` is supported at this time. Received: "
                f"vocabulary_dtype={vocabulary_dtype}")
        super().__init__(
            max_tokens=max_tokens, num_oov_indices=num_oov_indices,
            mask_token=None if mask_token is None else int(mask_token),
            oov_token=None if oov_token is None else int(oov_token), vocabulary=vocabulary,
            vocabulary_dtype=vocabulary_dtype, idf_weights=idf_weights, invert=invert,
            output_mode=output_mode, sparse=sparse, pad_to_max_tokens=pad_to_max_tokens,
            oov_method=oov_method, salt=salt, name=name, **kwargs)

    def _tokens_of(self, data, what):
        """`data` as a numpy int64 array."""
        if isinstance(data, torch.Tensor):
            data = data.detach().cpu().numpy()
        array = np.asarray(data)
        if array.size and array.dtype.kind not in "iufb":
            raise ValueError(
                f"{self._owner}: {what} must be integers, but received an array of dtype "
                f"{array.dtype}. Use StringLookup for string tokens.")
        return array.astype(np.int64)

    def _on_vocabulary_change(self):
        tokens = self._tokens
        order = np.argsort(tokens, kind="stable")
        inverse = self.get_vocabulary() + [-1 if self.oov_token is None else self.oov_token]
        # device -> (sorted tokens, their indices, index -> token table)
        self.__dict__["_tables"] = {_CPU: (
            torch.from_numpy(tokens[order]),
            torch.from_numpy(order.astype(np.int64) + self._token_start_index()),
            torch.tensor(inverse, dtype=torch.int64))}

    def _tables_on(self, device):
        tables = self.__dict__.get("_tables")
        if tables is None:
            self._tokens = np.zeros(0, np.int64)
            self._on_vocabulary_change()
            self._tokens = None
            tables = self._tables
        found = tables.get(device)
        if found is None:
            found = tables[device] = tuple(t.to(device) for t in tables[_CPU])
        return found

    def _lookup(self, inputs):
        tokens = inputs if inputs.dtype == torch.int64 else inputs.long()
        keys, values, _ = self._tables_on(tokens.device)
        if keys.numel():
            at = torch.searchsorted(keys, tokens).clamp_max(keys.numel() - 1)
            found = torch.where(keys[at] == tokens, values[at], OOV)
        else:
            found = torch.full_like(tokens, OOV)
        if self.mask_token is not None:
            found = torch.where(tokens == self.mask_token, MASK, found)
        return found, tokens

    def _invert(self, indices):
        indices = indices if indices.dtype == torch.int64 else indices.long()
        table = self._tables_on(indices.device)[2]
        size = table.numel() - 1
        return table[torch.where((indices >= 0) & (indices < size), indices, size)]

    def get_config(self):
        config = super().get_config()
        if config["vocabulary"] is not None:
            config["vocabulary"] = [int(v) for v in config["vocabulary"]]
        return config
