"""Helpers shared by every data adapter: (x, y, sample_weight) packing, tensor conversion,
validation splits and class weights.
"""

import math
import warnings

import numpy as np
import torch

from lamina import tree
from lamina.backend.dtypes import floatx_dtype

# numpy kinds a model can consume: bool, signed/unsigned int, float, complex.
_NUMERIC_KINDS = "biufc"


def unpack_x_y_sample_weight(data):
    """Split a batch into `(x, y, sample_weight)`; missing parts are None.

    A tuple or list of length 1, 2 or 3 is `(x,)`, `(x, y)` or `(x, y, sample_weight)`;
    anything else is `x` alone.

    >>> unpack_x_y_sample_weight(([1], [2]))
    ([1], [2], None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if len(data) == 1:
        return data[0], None, None
    if len(data) == 2:
        return data[0], data[1], None
    if len(data) == 3:
        return data[0], data[1], data[2]
    raise ValueError(
        "Data is expected to be in format `x`, `(x,)`, `(x, y)`, or `(x, y, sample_weight)`, "
        f"found a {type(data).__name__} of length {len(data)}: {data!r}"
    )


def unpack_validation_data(data):
    """`(x, y, sample_weight)` from `fit(validation_data=...)`: a tuple `(x, y)` or
    `(x, y, sample_weight)`, or a dataset that yields them.

    >>> unpack_validation_data(([1], [2]))
    ([1], [2], None)
    """
    if isinstance(data, (list, tuple)) and len(data) not in (2, 3):
        raise ValueError(
            "`validation_data` must be a tuple (x, y) or (x, y, sample_weight), or a "
            f"dataset. Received a {type(data).__name__} of length {len(data)}."
        )
    return unpack_x_y_sample_weight(data)


def batch_size_of(x):
    """The leading dimension of the first leaf of `x` that has one (None if none does).

    >>> batch_size_of({"a": 1.0, "b": np.zeros((3, 2))})
    3
    """
    for leaf in tree.flatten(x):
        if hasattr(leaf, "shape") and len(leaf.shape) > 0:
            return int(leaf.shape[0]) or 1
    return None


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """Inverse of `unpack_x_y_sample_weight`: the shortest tuple that holds what is given.

    `x` alone is returned as is unless it is a tuple or list, which is wrapped as `(x,)`
    so it is not mistaken for `(x, y)`.

    >>> pack_x_y_sample_weight(1, 2)
    (1, 2)
    """
    if y is None:
        if isinstance(x, (tuple, list)):
            return (x,)
        return x
    if sample_weight is None:
        return (x, y)
    return (x, y, sample_weight)


def check_numeric_dtype(dtype, name):
    """Raise a clear ValueError when a numpy dtype cannot become a tensor."""
    if np.dtype(dtype).kind not in _NUMERIC_KINDS:
        raise ValueError(
            f"`{name}` must hold numbers (bool, int or float), but it has dtype {dtype}. "
            "Encode strings or Python objects as numbers first."
        )


def numpy_to_tensor(array, name="x"):
    """A tensor that shares memory with `array` whenever torch can (no copy)."""
    check_numeric_dtype(array.dtype, name)
    if array.strides and min(array.strides) < 0:
        array = np.ascontiguousarray(array)
    if not array.dtype.isnative:  # e.g. big-endian data read from a file: torch refuses it
        array = array.astype(array.dtype.newbyteorder("="))
    if not array.flags.writeable:
        # NOTE: lamina never writes into input data, so a read-only buffer is safe to share.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            return torch.from_numpy(array)
    return torch.from_numpy(array)


def is_host_strings(value):
    """Numpy string arrays, which stay on the host for text layers (`TextVectorization`,
    `StringLookup`) to read: torch has no strings."""
    return isinstance(value, np.ndarray) and value.dtype.kind in "US"


def text_array(value):
    """`value` as a numpy `str`/`bytes` array if it is text, else None. Object arrays of
    strings (`tf.string` batches, the text datasets) become fixed-width string arrays,
    the form text layers take.

    >>> text_array(np.array([b"a b", b"c"], dtype=object))
    array([b'a b', b'c'], dtype='|S3')
    """
    if not isinstance(value, np.ndarray):
        return None
    if value.dtype.kind in "US":
        return value
    # NOTE: one element decides: an object array holds text or is not data at all.
    if value.dtype == object and value.size and isinstance(value.flat[0], (str, bytes)):
        return value.astype(str if isinstance(value.flat[0], str) else bytes)
    return None


def strings_as_arrays(x):
    """`x` with each list or tuple of Python strings made a numpy string array, as one
    input of text samples (`model.predict(["a b", "c d"])`); other values are kept.

    >>> strings_as_arrays({"text": ["a b", "c d"], "n": [1, 2]})
    {'text': array(['a b', 'c d'], dtype='<U3'), 'n': [1, 2]}
    """
    if isinstance(x, (list, tuple)):
        if x and all(isinstance(v, str) for v in x) or x and all(
                isinstance(v, bytes) for v in x):
            return np.asarray(x)
        parts = [strings_as_arrays(v) for v in x]
        return type(x)(*parts) if hasattr(x, "_fields") else type(x)(parts)
    if isinstance(x, dict):
        return {k: strings_as_arrays(v) for k, v in x.items()}
    return x


def as_tensor(value, name="x", float_dtype=None):
    """One leaf of user data as a tensor: numpy shares memory, floats become floatx;
    numpy string arrays come back as they are."""
    text = text_array(value)
    if text is not None:
        return text
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    elif isinstance(value, np.ndarray):
        tensor = numpy_to_tensor(value, name)
    elif isinstance(value, (np.generic, bool, int, float)):
        tensor = numpy_to_tensor(np.asarray(value), name)
    elif hasattr(value, "__array__") and not isinstance(value, (str, bytes)):
        tensor = numpy_to_tensor(np.asarray(value), name)
    else:
        raise ValueError(
            f"Unrecognized data type in `{name}`: received {type(value).__name__} ({value!r:.80}). "
            "Expected numpy arrays or torch tensors (or lists, tuples and dicts of them)."
        )
    if tensor.is_floating_point():
        target = float_dtype or floatx_dtype()
        if tensor.dtype != target:
            tensor = tensor.to(target)
    return tensor


def batch_to_device(batch, device, float_dtype=None):
    """Turn one streamed `(x, y, sample_weight)` batch into tensors on `device`."""
    float_dtype = float_dtype or floatx_dtype()

    def to_device(leaf, name):
        if leaf is None:
            return None
        leaf = as_tensor(leaf, name, float_dtype)
        # Text comes back from as_tensor as a numpy array: it stays on the host.
        return leaf if isinstance(leaf, np.ndarray) else leaf.to(device, non_blocking=True)

    def move(value, name):
        return tree.map_structure(lambda leaf: to_device(leaf, name), value)

    x, y, sample_weight = batch
    return move(x, "x"), move(y, "y"), move(sample_weight, "sample_weight")


def _first_dim(value):
    shape = getattr(value, "shape", None)
    if shape is None or len(shape) == 0:
        return None
    return int(shape[0])


def train_validation_split(arrays, validation_split):
    """Split arrays into the first `1 - validation_split` and the last `validation_split`.

    Nothing is shuffled and nothing is copied (the parts are views). `arrays` is any
    structure of numpy arrays or torch tensors (None leaves stay None).

    Returns:
        `(train_arrays, validation_arrays)`, each with the structure of `arrays`.

    >>> import numpy as np
    >>> (xt, yt), (xv, yv) = train_validation_split((np.arange(10), np.arange(10)), 0.2)
    >>> xt.tolist(), xv.tolist()
    ([0, 1, 2, 3, 4, 5, 6, 7], [8, 9])
    """
    if not 0.0 < float(validation_split) < 1.0:
        raise ValueError(
            "`validation_split` must be a float strictly between 0 and 1. "
            f"Received: validation_split={validation_split!r}"
        )
    leaves = tree.flatten(arrays)
    bad = {
        type(leaf).__name__
        for leaf in leaves
        if leaf is not None and not isinstance(leaf, (np.ndarray, torch.Tensor))
    }
    if bad:
        raise ValueError(
            "Argument `validation_split` is only supported for tensors or NumPy arrays. "
            f"Found incompatible type in the input: {sorted(bad)}. Pass `validation_data` "
            "instead, or split your data before calling fit."
        )
    sizes = {_first_dim(leaf) for leaf in leaves if leaf is not None}
    if len(sizes) != 1 or None in sizes:
        raise ValueError(
            "`validation_split` needs arrays that all share the same first (batch) dimension. "
            f"Received first dimensions: {sorted(sizes, key=str)}"
        )
    num_samples = sizes.pop()
    split_at = int(math.floor(num_samples * (1.0 - validation_split)))
    if split_at == 0 or split_at == num_samples:
        raise ValueError(
            f"Training data contains {num_samples} samples, which is not sufficient to split "
            f"it into a validation and training set as specified by "
            f"`validation_split={validation_split}`. Either provide more data, or a "
            "different value for the `validation_split` argument."
        )

    def part(start, stop):
        return tree.map_structure(
            lambda leaf: None if leaf is None else leaf[start:stop], arrays
        )

    return part(0, split_at), part(split_at, num_samples)


def class_weight_table(class_weight, device, dtype=None):
    """A lookup tensor for `class_weight`: entry `c` is class c's weight, the last entry
    (used for classes the dict leaves out and labels past its largest key) is 1."""
    if not isinstance(class_weight, dict) or not class_weight:
        raise ValueError(
            "`class_weight` must be a non-empty dict mapping class indices to weights. "
            f"Received: class_weight={class_weight!r}"
        )
    try:
        keys = [int(k) for k in class_weight]
    except (TypeError, ValueError):
        raise ValueError(
            "`class_weight` keys must be integer class indices. "
            f"Received keys: {list(class_weight)}"
        ) from None
    if min(keys) < 0:
        raise ValueError(f"`class_weight` keys must be >= 0. Received keys: {sorted(keys)}")
    size = max(keys) + 2
    table = [1.0] * size
    for key, weight in class_weight.items():
        table[int(key)] = float(weight)
    return torch.tensor(table, dtype=dtype or floatx_dtype(), device=device)


def class_weights_for(y, table):
    """Per-sample weights for labels `y` (class indices, `(n, 1)` indices or one-hot)."""
    if y.ndim == 2 and y.shape[1] > 1:
        classes = y.argmax(dim=1)
    else:
        classes = y.reshape(y.shape[0], -1)[:, 0] if y.ndim > 1 else y
        if classes.is_floating_point():
            classes = classes.round()
    classes = classes.to(torch.int64).clamp(0, table.shape[0] - 1)
    return table.index_select(0, classes)


def single_target(y):
    """The one label tensor `class_weight` applies to; ValueError for multi-output `y`."""
    leaves = tree.flatten(y)
    if len(leaves) != 1:
        raise ValueError(
            "`class_weight` is only supported for Models with a single output. "
            f"Received targets with {len(leaves)} entries; use `sample_weight` per output."
        )
    return leaves[0]
