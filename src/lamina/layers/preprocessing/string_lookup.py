"""`StringLookup`: strings to vocabulary indices, on the host (numpy), and back."""

import itertools

import numpy as np
import torch

from lamina.layers.preprocessing.index_lookup import MASK, OOV, IndexLookup


class StringLookup(IndexLookup):
    """Maps strings to integer indices from a vocabulary (or indices back to strings
    with `invert=True`).

    Strings stay on the host: inputs are strings, lists of strings or numpy string (or
    bytes) arrays, and the indices come back as an int64 tensor (on the CPU). Index 0 is
    the mask token when `mask_token` is set (in `"int"` mode), then the OOV slot, then the
    vocabulary. The vocabulary is given, read from a file (one token a line) or learned by
    `adapt()` (most frequent first, ties by the larger string first).

    Args:
        max_tokens: the most indices in all (special slots included); None for no limit.
        num_oov_indices: OOV slots; 0 makes OOV inputs raise; OOV strings go to slot
            `fingerprint64(token) % num_oov_indices` (SipHash-2-4 with `salt`), as Keras.
        mask_token: the token that marks padding (index 0), or None.
        oov_token: the token `invert=True` returns for OOV indices (`"[UNK]"`).
        vocabulary: a list or array of strings, or a text file's path.
        idf_weights: (tf_idf mode) the inverse document frequency of each entry.
        invert: map indices to strings.
        output_mode: `"int"`, `"one_hot"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
        pad_to_max_tokens: encode over `max_tokens` indices rather than the vocabulary
            size (non-int modes).
        sparse: only `False` (torch backend).
        encoding: the text encoding of bytes inputs and vocabulary files.
        salt: an integer or two keying SipHash for the OOV slots; None for FarmHash.

    >>> layer = StringLookup(vocabulary=["a", "b", "c"])
    >>> layer([["a", "c"], ["d", "b"]])
    tensor([[1, 3],
            [0, 2]])
    >>> StringLookup(vocabulary=["a", "b", "c"], invert=True)([[1, 3], [0, 2]])
    array([['a', 'c'],
           ['[UNK]', 'b']], dtype='<U5')
    """

    _takes_strings = True  # numpy string arrays reach `call` as they are

    def __init__(self, max_tokens=None, num_oov_indices=1, mask_token=None, oov_token="[UNK]",
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 pad_to_max_tokens=False, sparse=False, encoding="utf-8", name=None, salt=None,
                 **kwargs):
        self.__dict__["encoding"] = encoding  # read while the vocabulary is set
        super().__init__(max_tokens=max_tokens, num_oov_indices=num_oov_indices,
                         mask_token=mask_token, oov_token=oov_token, vocabulary=vocabulary,
                         idf_weights=idf_weights, invert=invert, output_mode=output_mode,
                         pad_to_max_tokens=pad_to_max_tokens, sparse=sparse, name=name,
                         salt=salt, vocabulary_dtype="string", **kwargs)

    def _tokens_of(self, data, what):
        return host_strings(data, self.encoding, f"{self._owner}: {what}")

    def _convert_inputs(self, inputs):
        if self.invert:
            return super()._convert_inputs(inputs)
        return self._tokens_of(inputs, "inputs")

    def _on_vocabulary_change(self):
        start = self._token_start_index()
        table = dict(zip(self._tokens.tolist(), range(start, start + len(self._tokens))))
        if self.mask_token is not None:
            table[self.mask_token] = MASK
        self.__dict__["_table"] = table
        sorted_table = None, None, None
        # numpy cuts trailing NULs, and two tokens may share a key: then the dict serves.
        if not any(token.endswith("\x00") for token in table):
            tokens = np.array(list(table), dtype=str)
            keys = _string_keys(tokens)
            order = np.argsort(keys)
            if not np.any(np.diff(keys[order]) == 0):
                sorted_table = (keys[order], tokens[order],
                                np.fromiter(table.values(), np.int64, len(table))[order])
        self.__dict__["_sorted_table"] = sorted_table
        self.__dict__["_inverse_table"] = np.asarray(
            self.get_vocabulary() + [self.oov_token])

    def _lookup(self, inputs):
        # Each input's key (a hash of its code points, computed in numpy) is searched
        # among the sorted keys of the table; no Python string per input.
        keys, tokens, ids = self.__dict__.get("_sorted_table", (None, None, None))
        if keys is None:
            get = self.__dict__.get("_table", {}).get
            flat = inputs.reshape(-1).tolist()
            found = np.fromiter(map(get, flat, itertools.repeat(OOV)), np.int64, len(flat))
            return torch.from_numpy(found.reshape(inputs.shape)), inputs
        if not len(keys) or not inputs.size:
            return torch.full(inputs.shape, OOV, dtype=torch.int64), inputs
        wanted = _string_keys(inputs).reshape(inputs.shape)
        at = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        found = np.where((keys[at] == wanted) & (tokens[at] == inputs), ids[at], OOV)
        return torch.from_numpy(np.asarray(found, np.int64)), inputs

    def lookup_sequences(self, sequences, length, shape=None):
        """The output for token sequences of any lengths, each cut or padded with the
        mask token to `length` (the longest when None): what calling the layer on the
        padded `(len(sequences), length)` string array gives, without building it.
        `shape` (default `(len(sequences),)`) is the batch shape the rows fill."""
        self._check_callable()
        lengths = np.fromiter(map(len, sequences), np.int64, len(sequences))
        if length is None:
            length = int(lengths.max()) if len(sequences) else 0
        get = self.__dict__.get("_table", {}).get
        tokens = list(itertools.chain.from_iterable(sequences))
        ids = np.fromiter(map(get, tokens, itertools.repeat(OOV)), np.int64, len(tokens))
        rows = np.repeat(np.arange(len(sequences)), lengths)
        columns = np.arange(len(tokens)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        kept = columns < length
        found = np.full((len(sequences), length), self._table_mark(self.mask_token), np.int64)
        found[rows[kept], columns[kept]] = ids[kept]
        shape = (len(sequences),) if shape is None else tuple(shape)
        found = torch.from_numpy(found.reshape(shape + (length,)))
        if self.num_oov_indices > 1 or self.num_oov_indices == 0:
            # OOV slots hash (or report) the strings themselves.
            padded = np.array([list(s[:length]) + [self.mask_token] * (length - len(s))
                               for s in sequences], dtype=str).reshape(shape + (length,))
            return self._encode(found, padded)
        return self._encode(found, None)

    def _table_mark(self, token):
        return self.__dict__.get("_table", {}).get(token, OOV)

    def _invert(self, indices):
        table = self.__dict__.get("_inverse_table")
        if table is None:
            table = np.asarray([self.oov_token])
        indices = np.asarray(indices.detach().cpu() if isinstance(indices, torch.Tensor)
                             else indices).astype(np.int64)
        size = len(table) - 1
        return table[np.where((indices >= 0) & (indices < size), indices, size)]

    def get_config(self):
        config = super().get_config()
        del config["vocabulary_dtype"]  # always strings (as Keras)
        config["encoding"] = self.encoding
        return config


def _string_keys(strings):
    """A uint64 key per string of a numpy str array: its code points dotted with fixed
    odd multipliers, wrapping modulo 2**64 (padding zeros add nothing, so the key of a
    string does not depend on the array's width)."""
    width = strings.dtype.itemsize // 4
    if not width:
        return np.zeros(strings.size, np.uint64)
    codes = np.ascontiguousarray(strings).reshape(-1).view(np.uint32)
    codes = codes.reshape(-1, width).astype(np.uint64)
    with np.errstate(over="ignore"):
        mix = (np.arange(1, width + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15))
        mix = (mix ^ (mix >> np.uint64(31))) * np.uint64(0xBF58476D1CE4E5B9)
        return codes @ ((mix ^ (mix >> np.uint64(29))) | np.uint64(1))


def host_strings(data, encoding, what):
    """`data` (a str, bytes, a nested list or a numpy array of them) as a numpy array of
    Python strings, bytes decoded with `encoding`. Raises a ValueError starting with
    `what` for tensors and non-string arrays."""
    if isinstance(data, torch.Tensor):
        raise ValueError(
            f"{what} must be strings (a str, a list of them or a numpy array); torch "
            f"tensors hold no strings. Received a tensor of dtype {data.dtype}.")
    if isinstance(data, (str, bytes)):
        return host_strings([data], encoding, what).reshape(())
    array = np.asarray(data)
    if array.size == 0:
        return np.array([], dtype=str).reshape(array.shape)
    if array.dtype.kind == "S":
        return np.char.decode(array, encoding)
    if array.dtype.kind == "O":
        flat = [t.decode(encoding) if isinstance(t, bytes) else t
                for t in array.reshape(-1).tolist()]
        if all(isinstance(t, str) for t in flat):
            return np.array(flat, dtype=str).reshape(array.shape)
    if array.dtype.kind != "U":
        raise ValueError(
            f"{what} must be strings, but received an array of dtype {array.dtype}. Use "
            "IntegerLookup (or CategoryEncoding) for integer tokens.")
    return array
