"""`HashedCrossing`: crosses of categorical features hashed into bins, as Keras (on
TensorFlow's `tf.sparse.cross_hashed`) bins them."""

import numpy as np
import torch

from lamina.backend.symbolic import KerasTensor, in_symbolic_run
from lamina.layers.layer import Layer
from lamina.layers.preprocessing.category_encoding import encode_categories
from lamina.layers.preprocessing.fingerprints import fingerprint64, fingerprint_cat64
from lamina.layers.preprocessing.hashing import host_values

# The key `tf.sparse.cross_hashed` starts every cross from.
_CROSS_KEY = 0xDECAFCAFFE


def cross_hashes(features):
    """The crossed hash of each row of `features` (numpy arrays of one shape, int64 or
    str/bytes), as uint64: starting from TensorFlow's key, each feature's hash (its
    FarmHash Fingerprint64 for strings, its own bits for integers) is folded in with
    FingerprintCat64, in order."""
    crossed = np.full(features[0].shape, _CROSS_KEY, np.uint64).reshape(-1)
    for values in features:
        flat = values.reshape(-1)
        if flat.dtype.kind == "i":
            hashed = flat.astype(np.uint64)
        else:
            uniques, inverse = np.unique(flat, return_inverse=True)
            strings = uniques.tolist()
            if uniques.dtype.kind == "U":
                strings = [s.encode() for s in strings]
            hashed = fingerprint64(strings)[inverse.reshape(-1)]
        crossed = fingerprint_cat64(crossed, hashed)
    return crossed.reshape(features[0].shape)


class HashedCrossing(Layer):
    """Crosses categorical features (integers or strings) and hashes each cross into
    `num_bins` bins, the bins Keras gives.

    Called on a list of two or more features of one shape, `()`, `(batch,)` or
    `(batch, 1)`; the crosses are hashed on the host (numpy) and come back as a tensor
    (int64 in `"int"` mode).

    Args:
        num_bins: the number of hash bins.
        output_mode: `"int"` (bin indices) or `"one_hot"`.
        sparse: only `False` (torch backend).

    >>> HashedCrossing(num_bins=5)([[1, 2], ["a", "b"]]).shape
    torch.Size([2])
    """

    _auto_config = False
    _takes_strings = True

    def __init__(self, num_bins, output_mode="int", sparse=False, name=None, dtype=None,
                 **kwargs):
        if output_mode == "int" and dtype is None:
            dtype = "int64"
        del kwargs  # as Keras: other layer arguments (trainable, ...) are ignored
        super().__init__(name=name, dtype=dtype)
        if sparse:
            raise ValueError(
                "`sparse=True` can only be used with the TensorFlow backend. "
                f"(HashedCrossing layer '{self.name}': pass sparse=False.)")
        if output_mode not in ("int", "one_hot"):
            raise ValueError(
                "The `output_mode` argument of layer HashedCrossing received an invalid "
                "value. Allowed values are: ('int', 'one_hot'). Received: "
                f"output_mode={output_mode}")
        if num_bins is None or isinstance(num_bins, bool) or not isinstance(
                num_bins, (int, np.integer)) or num_bins < 1:
            raise ValueError(
                "HashedCrossing: `num_bins` must be a positive integer. Received: "
                f"num_bins={num_bins}")
        self.num_bins = int(num_bins)
        self.output_mode = output_mode
        self.sparse = sparse

    @property
    def _owner(self):
        return f"HashedCrossing layer '{self.name}'"

    def _convert_inputs(self, inputs):
        return inputs  # strings stay on the host; `call` reads every input form

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                "`HashedCrossing` should be called on a list or tuple of inputs. "
                f"Received: inputs={inputs}")
        if len(inputs) < 2:
            raise ValueError(
                "`HashedCrossing` should be called on at least two inputs. Received: "
                f"inputs={inputs}")
        device = next((x.device for x in inputs if isinstance(x, torch.Tensor)), None)
        if in_symbolic_run() or (device is not None and device.type == "meta"):
            out = self.compute_output_shape([tuple(np.shape(x)) for x in inputs])
            return torch.zeros(out, dtype=self.compute_torch_dtype(), device=device)
        features = [host_values(x, f"{self._owner}: inputs") for x in inputs]
        self._check_features(features, inputs)
        bins = (cross_hashes(features) % np.uint64(self.num_bins)).astype(np.int64)
        indices = torch.from_numpy(np.array(bins, np.int64))  # a copy keeps rank 0
        if device is not None:
            indices = indices.to(device)
        dtype = self.compute_torch_dtype()
        return encode_categories(indices, self.output_mode, self.num_bins, dtype,
                                 owner=self._owner)

    def compute_torch_dtype(self):
        return self.dtype_policy.compute_torch_dtype

    def _check_features(self, features, inputs):
        shape = features[0].shape
        if len(shape) > 2 or (len(shape) == 2 and shape[-1] != 1):
            raise ValueError(
                "All `HashedCrossing` inputs should have shape `()`, `(batch_size)` or "
                f"`(batch_size, 1)`. Received: inputs={inputs}")
        if not all(f.shape == shape for f in features[1:]):
            raise ValueError(
                f"All `HashedCrossing` inputs should have equal shape. Received: inputs={inputs}")
        for raw in inputs:
            if (raw.dtype.is_floating_point if isinstance(raw, torch.Tensor)
                    else np.asarray(raw).dtype.kind in "fc"):
                raise ValueError(
                    "All `HashedCrossing` inputs should have an integer or string dtype. "
                    f"Received: inputs={inputs}")

    def compute_output_shape(self, input_shape):
        if (len(input_shape) != 2 or not isinstance(input_shape[0], tuple)
                or not isinstance(input_shape[1], tuple)):
            raise ValueError(
                f"Expected as input a list/tuple of 2 tensors. Received input_shape={input_shape}")
        if input_shape[0][-1:] != input_shape[1][-1:]:
            raise ValueError(
                "Expected the two input tensors to have identical shapes. Received "
                f"input_shape={input_shape}")
        first = tuple(input_shape[0])
        if self.output_mode == "int":
            return first
        if first and first[-1] != 1:
            return first + (self.num_bins,)
        return first[:-1] + (self.num_bins,)

    def compute_output_spec(self, inputs):
        shape = self.compute_output_shape([tuple(x.shape) for x in inputs])
        return KerasTensor(shape, dtype=self.compute_dtype)

    def get_config(self):
        return {"num_bins": self.num_bins, "output_mode": self.output_mode,
                "sparse": self.sparse, "name": self.name, "dtype": self.dtype}
