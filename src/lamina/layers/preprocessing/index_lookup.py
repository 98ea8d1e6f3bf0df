"""`IndexLookup`: the vocabulary machinery shared by `StringLookup` and `IntegerLookup`.

A vocabulary maps tokens to indices laid out as Keras lays them: the mask token at 0 (in
`"int"` mode, when set), then `num_oov_indices` out-of-vocabulary slots, then the tokens.
Subclasses say how tokens are held (`_tokens_of`) and looked up (`_lookup`); this base
holds the vocabulary, `adapt`, the output modes, the config and the `.keras` assets.
"""

import collections
import operator
import os

import numpy as np
import torch

from lamina.backend.config import floatx
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import KerasTensor, in_symbolic_run
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categories, encoded_shape
from lamina.layers.preprocessing.fingerprints import hash_bins

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")

# What `_lookup` returns for a token outside the vocabulary and for the mask token, before
# `_resolve` maps them to their indices (which depend on the output mode).
OOV = -1
MASK = -2


class IndexLookup(Layer):
    """Maps tokens to vocabulary indices (or back, with `invert=True`).

    The base of `StringLookup` and `IntegerLookup`; see them for the arguments.
    """

    _auto_config = False

    def __init__(self, max_tokens, num_oov_indices, mask_token, oov_token, vocabulary_dtype,
                 vocabulary=None, idf_weights=None, invert=False, output_mode="int",
                 sparse=False, pad_to_max_tokens=False, oov_method="floormod", salt=None,
                 name=None, **kwargs):
        if max_tokens is not None and max_tokens <= 1:
            raise ValueError(
                f"If set, `max_tokens` must be greater than 1. Received: max_tokens={max_tokens}")
        if pad_to_max_tokens and max_tokens is None:
            raise ValueError(
                "If pad_to_max_tokens is True, must set `max_tokens`. Received: "
                f"max_tokens={max_tokens}")
        if num_oov_indices < 0:
            raise ValueError(
                "`num_oov_indices` must be greater than or equal to 0. Received: "
                f"num_oov_indices={num_oov_indices}")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                f"Unknown value for argument output_mode of {type(self).__name__}: "
                f"{output_mode}. Allowed values are: {_OUTPUT_MODES}")
        if invert and output_mode != "int":
            raise ValueError(
                "`output_mode` must be `'int'` when `invert` is true. Received: "
                f"output_mode={output_mode}")
        if sparse:
            raise ValueError("`sparse=True` can only be used with the TensorFlow backend.")
        if idf_weights is not None and output_mode != "tf_idf":
            raise ValueError(
                "`idf_weights` should only be set if `output_mode` is `'tf_idf'`. Received: "
                f"idf_weights={idf_weights} and output_mode={output_mode}")
        if oov_method not in ("floormod", "farmhash"):
            raise ValueError(
                f"Unknown value for argument oov_method of {type(self).__name__}: "
                f"{oov_method}. Allowed values are: ('floormod', 'farmhash')")
        if salt is not None:
            if vocabulary_dtype != "string" and oov_method != "farmhash":
                raise ValueError(
                    "`salt` can only be used when `oov_method='farmhash'`. Received: "
                    f"oov_method={oov_method}")
            if isinstance(salt, (tuple, list)) and len(salt) == 2:
                salt = list(salt)
            elif isinstance(salt, int):
                salt = [salt, salt]
            else:
                raise ValueError(
                    "The `salt` argument for `IndexLookup` can only be a tuple of 2 integers, "
                    f"or a single integer. Received: salt={salt}.")
        self.__dict__["_frozen_vocab_size"] = kwargs.pop("vocabulary_size", None)
        has_input_vocabulary = kwargs.pop("has_input_vocabulary", vocabulary is not None)
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)  # as Keras: the layer's dtype is its vocabulary's
        super().__init__(name=name, **kwargs)
        self.invert = invert
        self.max_tokens = max_tokens
        self.num_oov_indices = num_oov_indices
        self.mask_token = mask_token
        self.oov_token = oov_token
        self.output_mode = output_mode
        self.sparse = sparse
        self.pad_to_max_tokens = pad_to_max_tokens
        self.vocabulary_dtype = vocabulary_dtype
        self.oov_method = oov_method
        self.salt = salt
        # A vocabulary file is saved as an asset, not by its path (as Keras).
        self.input_vocabulary = None if isinstance(vocabulary, str) else vocabulary
        self.input_idf_weights = idf_weights
        self._has_input_vocabulary = has_input_vocabulary
        if output_mode == "tf_idf" and has_input_vocabulary and idf_weights is None:
            raise ValueError(
                "When specifying the `vocabulary` argument, in TF-IDF output mode, the "
                "`idf_weights` argument must also be provided.")
        # the learned tokens in index order (special tokens excluded), None until set
        self.__dict__["_tokens"] = None
        self.__dict__["_idf"] = None if idf_weights is None else _float_tensor(idf_weights)
        self.reset_state()
        if vocabulary is not None:
            self.set_vocabulary(vocabulary, idf_weights)

    @property
    def _owner(self):
        return f"{type(self).__name__} layer '{self.name}'"

    def _oov_start_index(self):
        return 1 if self.mask_token is not None and self.output_mode == "int" else 0

    def _token_start_index(self):
        return self._oov_start_index() + self.num_oov_indices

    # -- the vocabulary -----------------------------------------------------------------
    def vocabulary_size(self):
        """The number of indices: tokens plus the mask and OOV slots."""
        tokens = self._tokens
        return (0 if tokens is None else len(tokens)) + self._token_start_index()

    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary as a list, index `i` holding the token that maps to `i` (the
        mask token, then the OOV token per OOV slot, first); without the special tokens
        when `include_special_tokens=False`."""
        tokens = [] if self._tokens is None else self._python_tokens(self._tokens)
        if not include_special_tokens:
            return tokens
        special = [self.oov_token] * self._token_start_index()
        if self.mask_token is not None and self.output_mode == "int":
            special[0] = self.mask_token
        return special + tokens

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (replacing any): a list or array of tokens, or the path of
        a text file with one token per line. The mask and OOV tokens may lead the list
        (as `get_vocabulary()` returns it). `idf_weights` (tf_idf mode only) give one
        weight per entry."""
        if self.output_mode == "tf_idf":
            if idf_weights is None:
                raise ValueError(
                    f"{self._owner}: `idf_weights` must be set if output_mode is 'tf_idf'.")
        elif idf_weights is not None:
            raise ValueError(
                f"{self._owner}: `idf_weights` should only be set if output_mode is "
                f"`'tf_idf'`. Received: output_mode={self.output_mode} and "
                f"idf_weights={idf_weights}")
        if isinstance(vocabulary, (str, os.PathLike)):
            if self.output_mode == "tf_idf":
                raise ValueError(
                    f"{self._owner}: output_mode `'tf_idf'` does not support loading a "
                    "vocabulary from file.")
            # NOTE: as Keras' text-file table: every line is a token, special tokens too.
            tokens = self._tokens_of(self._read_vocabulary_file(vocabulary), "vocabulary")
            self._check_repeated(tokens)
            self._install(tokens)
            return
        if isinstance(vocabulary, torch.Tensor):
            vocabulary = vocabulary.detach().cpu().numpy()
        vocabulary = self._tokens_of(vocabulary, "vocabulary")
        if vocabulary.size == 0:
            raise ValueError(f"{self._owner}: Cannot set an empty vocabulary. Received: "
                             f"vocabulary={vocabulary.tolist()}")
        if vocabulary.ndim != 1:
            raise ValueError(f"{self._owner}: `vocabulary` must be a flat list of tokens; "
                             f"received an array of shape {vocabulary.shape}.")
        token_start = self._token_start_index()
        special = ([self.mask_token] * self._oov_start_index()
                   + [self.oov_token] * self.num_oov_indices)
        found_special = token_start <= len(vocabulary) and (
            list(self._python_tokens(vocabulary[:token_start])) == special)
        tokens = vocabulary[token_start:] if found_special else vocabulary
        self._check_repeated(tokens)
        listed = self._python_tokens(tokens)
        # The OOV token only matters as a token when inverting (as Keras).
        for label, role, token in (("mask", "mask_token", self.mask_token),
                                   ("OOV", "oov_token", self.oov_token if self.invert else None)):
            if token is not None and token in listed:
                raise ValueError(
                    f"{self._owner}: Found reserved {label} token at unexpected location in "
                    "`vocabulary`. Note that passed `vocabulary` does not need to include "
                    "the OOV and mask tokens. Either remove all mask and OOV tokens, or "
                    "include them only at the start of the vocabulary in precisely this "
                    f"order: {special}. Received: {role}={token!r} at vocabulary index "
                    f"{listed.index(token) + (token_start if found_special else 0)}")
        new_size = token_start + len(tokens)
        if self.max_tokens is not None and new_size > self.max_tokens:
            raise ValueError(
                f"{self._owner}: Attempted to set a vocabulary larger than the maximum vocab "
                f"size. Received vocabulary size is {new_size}; `max_tokens` is "
                f"{self.max_tokens}. Raise `max_tokens` or pass fewer tokens.")
        self._install(tokens)
        if self.output_mode == "tf_idf":
            idf_weights = np.asarray(
                idf_weights.detach().cpu() if isinstance(idf_weights, torch.Tensor)
                else idf_weights, dtype="float64")
            if len(vocabulary) != len(idf_weights):
                raise ValueError(
                    f"{self._owner}: `idf_weights` must be the same length as vocabulary. "
                    f"len(idf_weights) is {len(idf_weights)}; len(vocabulary) is "
                    f"{len(vocabulary)}")
            if idf_weights.ndim != 1:
                raise ValueError(
                    f"{self._owner}: TF-IDF data must be a 1-index array. Received: "
                    f"idf_weights of shape {idf_weights.shape}")
            # The special slots have no document frequency of their own: they get the mean
            # weight (as Keras), and padding to `max_tokens` gets zeros.
            front = 0 if found_special else token_start
            front_value = 0 if found_special else np.average(idf_weights)
            back = (self.max_tokens - front - len(idf_weights)
                    if self.pad_to_max_tokens else 0)
            self._idf = _float_tensor(np.pad(idf_weights, (front, back), "constant",
                                             constant_values=(front_value, 0)))

    def _install(self, tokens):
        self._tokens = tokens
        self._on_vocabulary_change()
        size = self.vocabulary_size()
        frozen = self._frozen_vocab_size
        if (self.output_mode != "int" and not self.pad_to_max_tokens
                and frozen is not None and size != frozen):
            raise RuntimeError(
                f"{self._owner}: When using `output_mode={self.output_mode}` and "
                "`pad_to_max_tokens=False`, the vocabulary size cannot be changed after the "
                f"layer is called. Old vocab size is {frozen}, new vocab size is {size}")
        self._frozen_vocab_size = size

    @staticmethod
    def _python_tokens(tokens):
        return np.asarray(tokens).tolist()

    @staticmethod
    def _oov_values(oov, inputs):
        if isinstance(inputs, np.ndarray):
            return inputs[oov.cpu().numpy()].tolist()
        return inputs[oov].tolist()

    def _check_repeated(self, tokens):
        counts = collections.Counter(self._python_tokens(tokens))
        repeated = [token for token, count in counts.items() if count > 1]
        if repeated:
            raise ValueError(
                f"{self._owner}: The passed vocabulary has at least one repeated term. "
                f"Please uniquify your dataset. The repeated terms are: {repeated}")

    def _read_vocabulary_file(self, path):
        if not os.path.exists(path):
            raise ValueError(f"{self._owner}: Vocabulary file {path} does not exist.")
        with open(path, encoding=getattr(self, "encoding", "utf-8")) as f:
            lines = f.read().splitlines()
        return self._parsed(lines)

    def _parsed(self, lines):
        while lines and lines[-1] == "":
            lines.pop()
        return lines if self.vocabulary_dtype == "string" else [int(line) for line in lines]

    # -- adapt ----------------------------------------------------------------------------
    def adapt(self, data, steps=None):
        """Learn the vocabulary from `data`: every token seen, most frequent first, ties
        broken by the larger token first; at most `max_tokens` indices in all. In
        `"tf_idf"` mode each sample (row) is a document and the IDF weights are learned too.

        Args:
            data: an array, tensor or list of tokens (a 1-D one holds one token per
                sample), or batches of them (a generator, a `PyDataset`, a `DataLoader`;
                from `(x, y)` tuples the `x`).
            steps: read at most this many batches.
        """
        self.reset_state()
        if isinstance(data, (np.ndarray, torch.Tensor, list, tuple)):
            batch = self._tokens_of(data, "adapt() data")
            self.update_state(batch[:, None] if batch.ndim == 1 else batch)
        elif hasattr(data, "__iter__") or hasattr(data, "num_batches"):
            if hasattr(data, "__iter__"):
                batches = iter(data)
            else:  # a PyDataset: batches by index
                count = data.num_batches if steps is None else steps
                if count is None:
                    raise ValueError(f"{self._owner}: adapt() cannot read an endless "
                                     "PyDataset to its end; pass `steps`.")
                batches = (data[i] for i in range(count))
            for i, batch in enumerate(batches):
                if steps is not None and i >= steps:
                    break
                if isinstance(batch, (tuple, list)) and batch and hasattr(batch[0], "shape"):
                    batch = batch[0]
                self.update_state(batch)
        else:
            raise TypeError(
                f"{self._owner}: adapt() takes an array, a tensor, a list of tokens or an "
                f"iterable of batches. Received: {type(data).__name__}")
        if not self._token_counts:
            raise ValueError(
                f"{self._owner}: adapt() received no tokens (empty data); there is no "
                "vocabulary to learn. Pass data with at least one token.")
        self.finalize_state()

    def update_state(self, data):
        """Count the tokens of a batch (`adapt` calls it per batch): an array (each row a
        document; a 1-D one is one document) or a list of rows of any lengths (ragged)."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method.")
        if _is_ragged(data):
            documents = [self._tokens_of(row, "adapt() data").reshape(-1) for row in data]
            flat = np.concatenate(documents)
        else:
            data = self._tokens_of(data, "adapt() data")
            rows = data.shape[0] if data.ndim >= 2 else 1
            documents = data.reshape(rows, data.size // max(rows, 1))
            flat = data.reshape(-1)
        if flat.dtype.kind in "UO":
            # Hashing Python strings beats sorting numpy ones (np.unique).
            counts = collections.Counter(flat.tolist())
        else:
            tokens, counts = np.unique(flat, return_counts=True)
            counts = dict(zip(self._python_tokens(tokens), counts.tolist()))
        self.update_counts(counts, (self._python_tokens(row) for row in documents)
                           if self.output_mode == "tf_idf" else None)

    def update_counts(self, counts, documents=None):
        """Add `counts` (a token -> count mapping, or a list of tokens to count) to
        `adapt`'s tally and, in tf_idf mode, `documents` (an iterable of token collections,
        one per document): callers that tokenize themselves (`TextVectorization`) count
        without building arrays."""
        if self._has_input_vocabulary:
            raise ValueError(
                f"Cannot adapt layer '{self.name}' after setting a static vocabulary via "
                "`vocabulary` argument or `set_vocabulary()` method.")
        self._token_counts.update(counts)  # a Counter counts a list of tokens in C
        if documents is not None:
            seen = self._document_counts
            for row in documents:
                seen.update(set(row))
                self._num_documents += 1

    def finalize_state(self):
        """Set the vocabulary from the counted tokens."""
        counts = self._token_counts
        if self._has_input_vocabulary or not counts:
            return
        for special in (self.mask_token, self.oov_token):
            counts.pop(special, None)
        # NOTE: Keras' order: by count, ties by token, both descending.
        ranked = [token for token, _ in sorted(counts.items(), key=operator.itemgetter(1, 0),
                                               reverse=True)]
        if self.max_tokens:
            ranked = ranked[:self.max_tokens - self._token_start_index()]
        tokens = self._tokens_of(ranked, "adapt() data")
        self._install(tokens)
        if self.output_mode == "tf_idf":
            documents = np.array([self._document_counts[t] for t in ranked], dtype="float64")
            idf = np.log(1 + self._num_documents / (1 + documents)).astype("float32")
            mean = idf.mean() if idf.size else 0.0
            idf = np.concatenate([np.full(self._token_start_index(), mean, "float32"), idf])
            if self.pad_to_max_tokens:
                idf = np.pad(idf, (0, self.max_tokens - idf.size))
            self._idf = _float_tensor(idf)
        self.reset_state()

    def reset_state(self):
        """Forget the tokens counted by `update_state`."""
        self.__dict__.update(_token_counts=collections.Counter(),
                             _document_counts=collections.Counter(), _num_documents=0)

    # -- calling --------------------------------------------------------------------------
    def call(self, inputs):
        self._check_callable()
        if self.invert:
            return self._invert(inputs)
        return self._encode(*self._lookup(inputs))

    def _check_callable(self):
        if self.output_mode != "int" and not self.pad_to_max_tokens and (
                self._frozen_vocab_size is None):
            raise RuntimeError(
                f"{self._owner}: When using `output_mode={self.output_mode}` and "
                "`pad_to_max_tokens=False`, you must set the layer's vocabulary before "
                "calling it. Either pass a `vocabulary` argument to the layer, or call "
                "`adapt` with some sample data.")

    def _encode(self, found, inputs):
        """The layer's output from `_lookup`'s marks (see `_resolve`)."""
        indices = self._resolve(found, inputs)
        if self.output_mode == "int":
            return indices
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        mode = "count" if self.output_mode == "tf_idf" else self.output_mode
        encoded = encode_categories(indices, mode, depth, torch.int64, owner=self._owner)
        if self.output_mode != "tf_idf":
            return encoded
        if self._idf is None:
            if in_symbolic_run() or encoded.device.type == "meta":
                # rebuilding a saved model: the weights are loaded after the graph
                return encoded.to(to_torch_dtype("float32"))
            raise ValueError(f"{self._owner}: When `output_mode` is `'tf_idf'`, "
                             "`idf_weights` must be provided.")
        return encoded.to(self._idf.dtype) * self._idf.to(encoded.device)

    def _resolve(self, found, inputs):
        """Map the `OOV` and `MASK` marks of `found` (an int64 tensor from `_lookup`) to
        their indices; `inputs` are the integer tokens behind them (None for strings)."""
        oov = found == OOV
        if self.num_oov_indices == 0:
            if not in_symbolic_run() and found.device.type != "meta" and bool(oov.any()):
                raise ValueError(
                    f"{self._owner}: When `num_oov_indices=0` all inputs should be in "
                    f"vocabulary, found OOV values {self._oov_values(oov, inputs)}, consider "
                    "setting `num_oov_indices=1`.")
        elif self.num_oov_indices == 1:
            found = torch.where(oov, self._oov_start_index(), found)
        elif self.vocabulary_dtype != "string" and self.oov_method != "farmhash":
            bucket = torch.remainder(inputs, self.num_oov_indices) + self._oov_start_index()
            found = torch.where(oov, bucket, found)
        else:  # as Keras: FarmHash (SipHash with a salt) of the token, integers as decimals
            tokens = inputs.cpu().numpy() if isinstance(inputs, torch.Tensor) else inputs
            bucket = torch.from_numpy(np.array(
                hash_bins(tokens, self.num_oov_indices, self.salt), np.int64))
            found = torch.where(oov, bucket.to(found.device) + self._oov_start_index(), found)
        if self.mask_token is not None:
            # Masked tokens are index 0 in int mode and encode as nothing otherwise.
            found = torch.where(found == MASK, 0 if self.output_mode == "int" else -1, found)
        return found

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return tuple(input_shape)
        depth = self.max_tokens if self.pad_to_max_tokens else self._frozen_vocab_size
        return encoded_shape(input_shape, self.output_mode, depth)

    def compute_output_spec(self, inputs):
        if self.output_mode != "int":
            dtype = floatx()
        elif self.invert and self.vocabulary_dtype == "string":
            dtype = "string"  # inverted string lookups give numpy strings back
        else:
            dtype = "int64"
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    # -- saving ---------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            invert=self.invert, max_tokens=self.max_tokens,
            num_oov_indices=self.num_oov_indices, oov_token=self.oov_token,
            mask_token=self.mask_token, output_mode=self.output_mode, sparse=self.sparse,
            pad_to_max_tokens=self.pad_to_max_tokens, vocabulary_dtype=self.vocabulary_dtype,
            idf_weights=_listed(self.input_idf_weights),
            vocabulary=_listed(self.input_vocabulary),
            vocabulary_size=self._frozen_vocab_size, oov_method=self.oov_method,
            salt=self.salt)
        return config

    def get_build_config(self):
        return {}

    def build_from_config(self, config):
        self.built = True

    def save_own_variables(self, store):
        if self.output_mode == "tf_idf" and self._idf is not None:
            store["idf_weights"] = self._idf.numpy()

    def load_own_variables(self, store):
        if self.output_mode == "tf_idf":
            self._idf = _float_tensor(np.asarray(store["idf_weights"]))

    def save_assets(self, dir_path):
        """Write an adapted (or file-given) vocabulary as `vocabulary.txt`, one token a
        line, special tokens first: Keras' asset. A listed vocabulary lives in the config."""
        if self.input_vocabulary is not None:
            return
        with open(os.path.join(dir_path, "vocabulary.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(str(token) for token in self.get_vocabulary()))

    def load_assets(self, dir_path):
        if self.input_vocabulary is not None or dir_path is None:
            return
        path = os.path.join(dir_path, "vocabulary.txt")
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            lines = self._parsed(f.read().splitlines())
        if lines:
            idf = self._idf[:len(lines)] if self.output_mode == "tf_idf" else None
            self.set_vocabulary(self._tokens_of(lines, "vocabulary.txt"), idf_weights=idf)


def _is_ragged(data):
    """Whether `data` is a list of rows of different lengths."""
    return (isinstance(data, (list, tuple)) and len(data) > 1
            and all(isinstance(row, (list, tuple, np.ndarray)) for row in data)
            and len({len(row) for row in data}) > 1)


def _float_tensor(values):
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    return torch.tensor(np.asarray(values), dtype=to_torch_dtype("float32"))


def _listed(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.tolist() if isinstance(value, np.ndarray) else value
