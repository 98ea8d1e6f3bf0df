"""`TextVectorization`: strings to token indices (or multi-hot, count, TF-IDF vectors).

Strings stay on the host: each string is standardized and split in Python, the tokens
(and their n-grams) are padded into a rectangular numpy array with the mask token `""`,
and a `StringLookup` (mask `""`, one OOV slot) maps them to an int64 tensor. No torch
graph is involved, so the layer is cheap to run in `DataLoader` workers.
"""

import collections
import itertools
import re

import numpy as np
import torch

from lamina.backend.config import floatx
from lamina.backend.symbolic import KerasTensor
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.string_lookup import StringLookup
from lamina.serialization.serialization import deserialize_keras_object

_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation")
_SPLIT = ("whitespace", "character")
_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count", "tf_idf")
# NOTE: Keras' punctuation class (all 32 ASCII punctuation characters); its lowercasing
# and whitespace are ASCII-only too ("À" stays "À", a no-break space does not split).
_PUNCTUATION = re.compile(r"""[!"#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']""")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_TOKEN = re.compile(r"[^ \t\n\v\f\r]+")


def _lower(text):
    return text.lower() if text.isascii() else text.translate(_ASCII_UPPER)


_DELETE_PUNCTUATION = str.maketrans("", "", """!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'""")


def _strip_punctuation(text):
    # `translate` has a fast path for ASCII text only.
    return text.translate(_DELETE_PUNCTUATION) if text.isascii() else _PUNCTUATION.sub("", text)


def _lower_and_strip_punctuation(text):
    return _strip_punctuation(_lower(text))


_STANDARDIZERS = {"lower": _lower, "strip_punctuation": _strip_punctuation,
                  "lower_and_strip_punctuation": _lower_and_strip_punctuation}
# The characters `str.split()` splits on beyond Keras' (ASCII) whitespace.
_OTHER_SPACE = re.compile("[\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                          "\u205f\u3000]")


def _standardized(texts, function):
    """`function` applied to each text: once over the batch joined by newlines (which
    the standardizers keep, being per-character), when no text holds one."""
    if len(texts) > 1:
        joined = "\n".join(texts)
        if joined.count("\n") == len(texts) - 1:
            return function(joined).split("\n")
    return [function(text) for text in texts]


def _splits_as_keras(text):
    """Whether `str.split()` splits `text` as Keras does (at ASCII whitespace only)."""
    if text.isascii():
        return not any(separator in text for separator in "\x1c\x1d\x1e\x1f")
    return not _OTHER_SPACE.search(text)


def _split_whitespace(texts):
    # `str.split()` runs in C; it agrees with Keras' split unless a text holds a
    # non-ASCII (or ASCII separator) space.
    if _splits_as_keras("".join(texts)):
        return [text.split() for text in texts]
    return [_TOKEN.findall(text) for text in texts]


def _with_ngrams(tokens, widths):
    """`tokens` followed by their n-grams of each width, joined by a space (as Keras)."""
    out = []
    for width in widths:
        if width == 1:
            out.extend(tokens)
        else:
            out.extend(" ".join(tokens[i:i + width]) for i in range(len(tokens) - width + 1))
    return out


def _check_choice(value, allowed, argument):
    if value is not None and not callable(value) and value not in allowed:
        raise ValueError(
            f"Unknown value for `{argument}` argument of TextVectorization. Allowed values "
            f"are: {allowed}. Received: {argument}={value}")


class TextVectorization(Layer):
    """Turns strings into sequences of token indices or into token-count vectors.

    Each string is standardized, split into tokens, extended with n-grams and looked up
    in a vocabulary (given, read from a file, or learned by `adapt()`: most frequent
    first, ties by the larger token first). In `"int"` mode index 0 is padding (`""`)
    and 1 the out-of-vocabulary token `"[UNK]"`. Inputs are strings, lists of strings or
    numpy string/bytes arrays of shape `(batch,)` or `(batch, 1)`; outputs are tensors.

    Args:
        max_tokens: the most vocabulary entries (padding and `[UNK]` included).
        standardize: `"lower_and_strip_punctuation"`, `"lower"`, `"strip_punctuation"`,
            None, or a callable taking the batch as a numpy array of strings and
            returning an array of the same shape.
        split: `"whitespace"`, `"character"`, None (inputs are already tokens, along
            the last axis), or a callable taking the batch as a 1-D numpy array of strings
            and returning one sequence of tokens per string.
        ngrams: None, an int `n` (all n-grams up to `n`) or a tuple of n-gram widths.
        output_mode: `"int"`, `"multi_hot"`, `"count"` or `"tf_idf"`.
        output_sequence_length: (int mode) pad or cut every sequence to this length.
        pad_to_max_tokens: (other modes) encode over `max_tokens` entries.
        vocabulary: a list of strings or the path of a text file with one token a line.
        idf_weights: (tf_idf mode, with `vocabulary`) one weight per entry.
        ragged, sparse: only False (lamina returns dense torch tensors).
        encoding: the text encoding of bytes inputs and vocabulary files.

    >>> layer = TextVectorization(vocabulary=["the", "cat", "sat"],
    ...                           output_sequence_length=4)
    >>> layer(["The cat sat!", "the dog"])
    tensor([[2, 3, 4, 0],
            [2, 1, 0, 0]])
    """

    _auto_config = False
    _takes_strings = True

    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", name=None,
                 **kwargs):
        _check_choice(standardize, _STANDARDIZE, "standardize")
        _check_choice(split, _SPLIT, "split")
        output_mode = {"binary": "multi_hot", "tf-idf": "tf_idf"}.get(output_mode, output_mode)
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                "Unknown value for `output_mode` argument of TextVectorization. Allowed "
                f"values are: {_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if not (ngrams is None or isinstance(ngrams, int) or (
                isinstance(ngrams, (tuple, list)) and all(isinstance(n, int) for n in ngrams))):
            raise ValueError(
                "`ngrams` must be None, an integer, or a tuple of integers. Received: "
                f"ngrams={ngrams}")
        if output_mode == "int" and not (
                output_sequence_length is None or isinstance(output_sequence_length, int)):
            raise ValueError(
                "`output_sequence_length` must be either None or an integer when "
                f"`output_mode` is 'int'. Received: output_sequence_length="
                f"{output_sequence_length}")
        if output_mode != "int" and output_sequence_length is not None:
            raise ValueError(
                "`output_sequence_length` must not be set if `output_mode` is not 'int'. "
                f"Received output_sequence_length={output_sequence_length}.")
        if ragged:
            raise ValueError(
                "TextVectorization: `ragged=True` is not supported by lamina (torch has no "
                "ragged tensors). Use `ragged=False`, optionally with "
                "`output_sequence_length`, to get padded sequences.")
        vocabulary_size = kwargs.pop("vocabulary_size", None)
        kwargs.pop("dtype", None)  # as Keras: the outputs' dtype follows the output mode
        super().__init__(name=name, **kwargs)
        self.max_tokens = max_tokens
        self.standardize = standardize
        self.split = split
        self.ngrams = tuple(ngrams) if isinstance(ngrams, list) else ngrams
        self.output_mode = output_mode
        self.output_sequence_length = output_sequence_length
        self.pad_to_max_tokens = pad_to_max_tokens
        self.sparse = sparse
        self.ragged = ragged
        self.encoding = encoding
        self.__dict__["_widths"] = (
            None if ngrams is None else tuple(range(1, ngrams + 1)) if isinstance(ngrams, int)
            else tuple(ngrams))
        # NOTE: the attribute name is Keras': `.keras` archives hold the lookup's files
        # under `<layer>/_lookup_layer/`.
        self._lookup_layer = StringLookup(
            max_tokens=max_tokens, vocabulary=vocabulary, idf_weights=idf_weights,
            pad_to_max_tokens=pad_to_max_tokens, mask_token="", output_mode=output_mode,
            sparse=sparse, encoding=encoding, vocabulary_size=vocabulary_size,
            name=f"{self.name}_lookup")

    def build(self, input_shape=None):
        # Nothing to create (the vocabulary lives in the lookup); building records the
        # input shape for the build config, as Keras' first call does.
        pass

    @property
    def _owner(self):
        return f"TextVectorization layer '{self.name}'"

    # -- the vocabulary -----------------------------------------------------------------
    def get_vocabulary(self, include_special_tokens=True):
        """The vocabulary as a list of strings, index `i` holding the token of index `i`."""
        return self._lookup_layer.get_vocabulary(include_special_tokens)

    def vocabulary_size(self):
        """The number of vocabulary entries, padding and `[UNK]` included."""
        return self._lookup_layer.vocabulary_size()

    def set_vocabulary(self, vocabulary, idf_weights=None):
        """Set the vocabulary (a list of strings or a file path) and, in tf_idf mode, the
        IDF weights."""
        self._lookup_layer.set_vocabulary(vocabulary, idf_weights=idf_weights)

    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary (and IDF weights) from `data`: strings as a list or numpy
        array (one document per string), or batches of them (a generator, a `PyDataset`,
        a `DataLoader`; from `(x, y)` batches the `x`). `steps` caps the batches read."""
        self.reset_state()
        if isinstance(data, (str, bytes, np.ndarray, list, tuple, torch.Tensor)):
            self.update_state(data)
        elif hasattr(data, "__iter__") or hasattr(data, "num_batches"):
            batches = iter(data) if hasattr(data, "__iter__") else (
                data[i] for i in range(data.num_batches))
            for i, batch in enumerate(batches):
                if steps is not None and i >= steps:
                    break
                if isinstance(batch, tuple) or (
                        isinstance(batch, list) and batch and not isinstance(batch[0], str)
                        and hasattr(batch[0], "__len__") and not isinstance(batch[0], bytes)):
                    batch = batch[0]
                self.update_state(batch)
        else:
            raise TypeError(
                f"{self._owner}: adapt() takes strings (a list or numpy array) or an "
                f"iterable of batches of them. Received: {type(data).__name__}")
        if not self._num_strings:
            raise ValueError(
                f"{self._owner}: adapt() received no strings (empty data); there is no "
                "vocabulary to learn. Pass at least one string.")
        self.finalize_state()

    def update_state(self, data):
        """Count the tokens of one batch of strings (`adapt` calls it per batch)."""
        if self.split is None:
            tokens = self._tokens(data, "adapt() data", documents=True)
            self._num_strings += np.size(data) if not isinstance(data, torch.Tensor) else 0
            if tokens.size:
                self._lookup_layer.update_state(tokens)
            return
        if (self.split == "whitespace" and self._widths is None
                and self.output_mode != "tf_idf" and not callable(self.standardize)):
            # Counting needs no rows: the batch joined by newlines splits in one call.
            array = self._strings(data, "adapt() data")
            self._check_splittable(array)
            text = "\n".join(array.reshape(-1).tolist())
            if self.standardize is not None:
                text = _STANDARDIZERS[self.standardize](text)
            tokens = text.split() if _splits_as_keras(text) else _TOKEN.findall(text)
            self._num_strings += array.size
            if tokens:
                self._lookup_layer.update_counts(tokens)
            return
        _, sequences = self._sequences(data, "adapt() data")
        self._num_strings += np.size(data)
        counts = collections.Counter(itertools.chain.from_iterable(sequences))
        if counts:
            self._lookup_layer.update_counts(
                counts, sequences if self.output_mode == "tf_idf" else None)

    def finalize_state(self):
        """Set the vocabulary from the counted tokens."""
        self._lookup_layer.finalize_state()

    def reset_state(self):
        """Forget the tokens counted by `update_state`."""
        self._lookup_layer.reset_state()
        self.__dict__["_num_strings"] = 0

    # -- calling --------------------------------------------------------------------------
    def _convert_inputs(self, inputs):
        return inputs  # strings stay on the host; `_strings` checks them

    def _strings(self, data, what):
        """`data` as a numpy array of Python strings (bytes decoded)."""
        if isinstance(data, torch.Tensor):
            raise ValueError(
                f"{self._owner}: {what} must be strings (a str, a list of them or a numpy "
                f"array); torch tensors hold no strings. Received a tensor of dtype "
                f"{data.dtype}.")
        array = np.asarray(data)
        if array.dtype.kind == "S":
            return np.char.decode(array, self.encoding)
        if array.dtype.kind == "O":
            flat = [t.decode(self.encoding) if isinstance(t, bytes) else t
                    for t in array.reshape(-1).tolist()]
            if all(isinstance(t, str) for t in flat):
                return np.array(flat, dtype=str).reshape(array.shape)
        if array.dtype.kind != "U" and array.size:
            raise ValueError(
                f"{self._owner}: {what} must be strings, but received an array of dtype "
                f"{array.dtype}. Convert the data to strings (or use `IntegerLookup` or "
                "`CategoryEncoding` for integer tokens).")
        return np.asarray(array, dtype=str)

    def _tokens(self, data, what, documents=False):
        """Standardize and n-gram `data` for a layer that does not split: a numpy array
        of tokens. `documents=True` (adapt) reads a 1-D input as one document per string."""
        array = self._strings(data, what)
        if documents and array.ndim == 1:
            array = array[:, None]
        standardize = self.standardize
        if callable(standardize):
            array = self._strings(standardize(array), "the output of `standardize`")
        elif standardize is not None:
            texts = _standardized(array.reshape(-1).tolist(), _STANDARDIZERS[standardize])
            array = np.array(texts, dtype=str).reshape(array.shape)
        if self._widths is None or array.ndim == 0:
            return array
        rows = array.reshape(-1, array.shape[-1]).tolist()
        grams = [_with_ngrams(row, self._widths) for row in rows]
        return np.array(grams, dtype=str).reshape(array.shape[:-1] + (-1,))

    def _check_splittable(self, array):
        if array.ndim > 1 and array.shape[-1] != 1:
            raise ValueError(
                f"{self._owner}: when splitting strings into tokens, the input must be "
                "of rank 1 or have a last dimension of 1. Received: inputs.shape="
                f"{array.shape} with rank={array.ndim}")

    def _sequences(self, data, what):
        """Standardize, split and n-gram `data` for a splitting layer: its batch shape
        and one list of tokens per string."""
        array = self._strings(data, what)
        standardize = self.standardize
        if callable(standardize):
            array = self._strings(standardize(array), "the output of `standardize`")
            standardize = None
        self._check_splittable(array)
        if array.ndim > 1:
            array = array[..., 0]
        texts = array.reshape(-1).tolist()
        if standardize is not None:
            texts = _standardized(texts, _STANDARDIZERS[standardize])
        if callable(self.split):
            sequences = [list(tokens) for tokens in self.split(np.asarray(texts, dtype=str))]
        elif self.split == "whitespace":
            sequences = _split_whitespace(texts)
        else:
            sequences = [list(text) for text in texts]
        if self._widths is not None:
            sequences = [_with_ngrams(tokens, self._widths) for tokens in sequences]
        return array.shape, sequences

    def call(self, inputs):
        if self.split is not None:
            shape, sequences = self._sequences(inputs, "inputs")
            length = self.output_sequence_length if self.output_mode == "int" else None
            return self._lookup_layer.lookup_sequences(sequences, length, shape)
        tokens = self._tokens(inputs, "inputs")
        outputs = self._lookup_layer.call(tokens)
        length = self.output_sequence_length
        if self.output_mode == "int" and length is not None and self.split is None:
            outputs = outputs[..., :length]
            if outputs.shape[-1] < length:
                outputs = torch.nn.functional.pad(outputs, (0, length - outputs.shape[-1]))
        return outputs

    def compute_output_shape(self, input_shape):
        if self.output_mode != "int":
            depth = self.max_tokens if self.pad_to_max_tokens else self.vocabulary_size()
            return (input_shape[0], depth) if input_shape else (depth,)
        shape = tuple(input_shape)
        if self.split is not None and len(shape) > 1 and shape[-1] == 1:
            shape = shape[:-1]
        if self.split is not None:
            return shape + (self.output_sequence_length,)
        if self.output_sequence_length is not None:
            return shape[:-1] + (self.output_sequence_length,)
        return shape

    def compute_output_spec(self, inputs):
        # As Keras: int64 indices, or floatx vectors in the other modes.
        dtype = "int64" if self.output_mode == "int" else floatx()
        return KerasTensor(self.compute_output_shape(inputs.shape), dtype=dtype)

    # -- saving ---------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        lookup = self._lookup_layer
        config.update(
            max_tokens=self.max_tokens, standardize=self.standardize, split=self.split,
            ngrams=self.ngrams, output_mode=self.output_mode,
            output_sequence_length=self.output_sequence_length,
            pad_to_max_tokens=self.pad_to_max_tokens, sparse=self.sparse, ragged=self.ragged,
            vocabulary=_listed(lookup.input_vocabulary),
            idf_weights=_listed(lookup.input_idf_weights), encoding=self.encoding,
            vocabulary_size=self.vocabulary_size())
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Callables come back from their registered names (as Keras).
        for key in ("standardize", "split"):
            if isinstance(config.get(key), dict):
                config[key] = deserialize_keras_object(config[key])
        if isinstance(config.get("ngrams"), list):
            config["ngrams"] = tuple(config["ngrams"])
        return cls(**config)

    def get_build_config(self):
        # The input shape it was first called on, as Keras records it; {} if never called.
        return super().get_build_config() or {}

    def build_from_config(self, config):
        self.built = True

    # As Keras, the layer also writes its lookup's state in its own directories.
    def save_own_variables(self, store):
        self._lookup_layer.save_own_variables(store)

    def load_own_variables(self, store):
        self._lookup_layer.load_own_variables(store)

    def save_assets(self, dir_path):
        self._lookup_layer.save_assets(dir_path)

    def load_assets(self, dir_path):
        self._lookup_layer.load_assets(dir_path)


def _listed(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    return value.tolist() if isinstance(value, np.ndarray) else value
