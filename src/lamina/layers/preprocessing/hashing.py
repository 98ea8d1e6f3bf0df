"""`Hashing`: strings or integers to hash bins, as Keras' TensorFlow ops bin them.

`host_values` is shared with `HashedCrossing`.
"""

import numpy as np
import torch

from lamina.backend.config import floatx
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import KerasTensor, in_symbolic_run
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categories
from lamina.layers.preprocessing.fingerprints import hash_bins
from lamina.layers.preprocessing.string_lookup import host_strings

_OUTPUT_MODES = ("int", "one_hot", "multi_hot", "count")


def host_values(data, what):
    """`data` (strings, bytes, ints, floats: a scalar, nested lists, a numpy array or a
    torch tensor) as a numpy array of str, bytes (kept undecoded) or int64 (floats
    truncated, as Keras casts them)."""
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    if isinstance(data, (str, bytes)):
        return host_values([data], what).reshape(())
    array = np.asarray(data)
    if array.dtype.kind in "biuf":
        return array.astype(np.int64)
    if array.dtype.kind == "S":
        return array
    return host_strings(array, "utf-8", what)


class Hashing(Layer):
    """Hashes strings or integers into `num_bins` bins, with TensorFlow's hashes.

    Each value is hashed with FarmHash Fingerprint64 (integers as their decimal string),
    or, when `salt` is set, with SipHash-2-4 keyed by the salt, then taken modulo the
    number of bins: the bins Keras gives. Values are hashed on the host (numpy); the
    output is a tensor (int64 in `"int"` mode, else floatx).

    Args:
        num_bins: the number of bins, the mask bin included when `mask_value` is set.
        mask_value: a value mapped to bin 0 (the others then hash into bins 1 and up).
        salt: an integer or a pair of integers keying SipHash; None for FarmHash.
        output_mode: `"int"` (bin indices), `"one_hot"`, `"multi_hot"` or `"count"`.
        sparse: only `False` (torch backend).

    >>> Hashing(num_bins=3)([["A"], ["B"], ["C"], ["D"], ["E"]]).tolist()
    [[1], [0], [1], [1], [2]]
    """

    _auto_config = False
    _takes_strings = True

    def __init__(self, num_bins, mask_value=None, salt=None, output_mode="int", sparse=False,
                 **kwargs):
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = "int64" if output_mode == "int" else floatx()
        super().__init__(**kwargs)
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins <= 0:
            raise ValueError(
                "The `num_bins` for `Hashing` cannot be `None` or non-positive values. "
                f"Received: num_bins={num_bins}.")
        if output_mode == "int" and self.dtype_policy.name not in ("int32", "int64"):
            raise ValueError(
                'When `output_mode="int"`, `dtype` should be an integer type, \'int32\' or '
                f"'in64'. Received: dtype={kwargs['dtype']}")
        if output_mode not in _OUTPUT_MODES:
            raise ValueError(
                "Invalid value for argument `output_mode`. Expected one of "
                f"{_OUTPUT_MODES}. Received: output_mode={output_mode}")
        if sparse and output_mode == "int":
            raise ValueError(
                '`sparse` may only be true if `output_mode` is `"one_hot"`, `"multi_hot"`, '
                f'or `"count"`. Received: sparse={sparse} and output_mode={output_mode}')
        if sparse:
            raise ValueError(
                f"Hashing layer '{self.name}': `sparse=True` is not supported (torch backend, "
                "as in Keras). Pass sparse=False.")
        if salt is not None:
            if isinstance(salt, (tuple, list)) and len(salt) == 2 and all(
                    _is_int(s) for s in salt):
                salt = [int(s) for s in salt]
            elif _is_int(salt):
                salt = [int(salt), int(salt)]
            else:
                raise ValueError(
                    "The `salt` argument for `Hashing` can only be a tuple of size 2 "
                    f"integers, or a single integer. Received: salt={salt}.")
        self.num_bins = int(num_bins)
        self.mask_value = mask_value
        self.strong_hash = salt is not None
        self.salt = salt
        self.output_mode = output_mode
        self.sparse = sparse
        self.__dict__["_torch_dtype"] = to_torch_dtype(self.dtype_policy.variable_dtype)

    @property
    def _owner(self):
        return f"Hashing layer '{self.name}'"

    def _convert_inputs(self, inputs):
        return inputs  # strings stay on the host; `call` reads every input form

    def call(self, inputs):
        device = inputs.device if isinstance(inputs, torch.Tensor) else None
        if in_symbolic_run() or (device is not None and device.type == "meta"):
            shape = self.compute_output_shape(tuple(np.shape(inputs)))
            return torch.zeros(shape, dtype=self._torch_dtype, device=device)
        values = host_values(inputs, f"{self._owner}: inputs")
        if self.output_mode == "one_hot" and values.ndim and values.shape[-1] == 1:
            values = values[..., 0]
        bins = self.num_bins
        mask = None
        if self.mask_value is not None and bins > 1:
            bins -= 1
            mask = _equal(values, self.mask_value)
        indices = hash_bins(values, bins, self.salt)
        if mask is not None:
            indices = np.where(mask, 0, indices + 1)
        indices = torch.from_numpy(np.array(indices, np.int64))  # a copy keeps rank 0
        if device is not None:
            indices = indices.to(device)
        return encode_categories(indices, self.output_mode, self.num_bins, self._torch_dtype,
                                 owner=self._owner)

    def compute_output_shape(self, input_shape):
        # As Keras: the non-int modes replace the last axis, one_hot included.
        input_shape = tuple(input_shape)
        if self.output_mode == "int":
            return input_shape
        return input_shape[:-1] + (self.num_bins,)

    def compute_output_spec(self, inputs):
        # As Keras: the layer's dtype (int64 in int mode, floatx otherwise).
        return KerasTensor(self.compute_output_shape(inputs.shape),
                           dtype=self.dtype_policy.variable_dtype)

    def get_config(self):
        config = super().get_config()
        config.update(num_bins=self.num_bins, salt=self.salt, mask_value=self.mask_value,
                      output_mode=self.output_mode, sparse=self.sparse)
        return config


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _equal(values, target):
    """`values == target` elementwise, False where their kinds differ (a string mask
    value against integer inputs)."""
    if values.dtype.kind == "i":
        if isinstance(target, (str, bytes)):
            return np.zeros(values.shape, bool)
        return values == int(target)
    if values.dtype.kind == "S":
        target = target.encode() if isinstance(target, str) else target
    elif isinstance(target, bytes):
        target = target.decode()
    if not isinstance(target, (str, bytes)):
        target = str(target)
    return values == target
