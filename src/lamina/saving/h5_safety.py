"""Read HDF5 weights as data only: nothing outside the file is followed.

HDF5 can make a file read from elsewhere: external links (`other.h5:/x`), soft links,
datasets whose raw bytes live in an external file (`dataset.external`), virtual datasets
mapping other files, and filters loaded as plugins. It can also declare a huge shape while
storing nothing (chunks left unwritten read as the fill value), or hold objects,
references, variable-length or compound values where numbers are expected. Every weights
reader (`.weights.h5`, legacy `.h5`, whole-model `.h5`) walks groups with `group(...)` and
opens datasets with `dataset(...)` / `read(...)`, which refuse all of these with a
`ValueError` naming the path inside the file, before any data is read.

Keras 3 refuses external links, soft links, external storage and virtual datasets too; it
does not check dtypes or filters.

Numbers are bool, int, uint and float (up to 8 bytes) values, plus Keras 3's bfloat16:
2-byte HDF5 opaque values (raw little-endian bfloat16 bits, the upper half of a float32)
in a dataset with the string attribute `dtype="bfloat16"` (`is_bfloat16`). Any other
opaque dataset (another size, no tag or another tag) is refused.
"""

import contextlib
import math

import h5py
import numpy as np

# NOTE: HDF5's own filters and h5py's lzf; any other id would make HDF5 search its
# plugin path and load a shared library named by the file.
_BUILTIN_FILTERS = {
    1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
    32000: "lzf",
}
_LAYOUTS = {h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED}

# A dataset declaring more than this many bytes must store at least 1/_MAX_EXPANSION of
# them (Keras' shape-bomb guard); readers that know the target variable check its shape.
BOMB_FLOOR_BYTES = 2**32
MAX_EXPANSION = 1000

# The `dtype` attribute Keras 3 puts on a dataset of 2-byte opaque bfloat16 values.
BFLOAT16 = "bfloat16"


class UnsafeH5Error(ValueError):
    """A weights file asks to read outside itself or holds non-numeric data.

    Never skipped by `skip_mismatch`: the file is malformed or malicious."""


def _where(source, path):
    return f"'{source}' at '{path}'" if source else f"the weights file at '{path}'"


def _join(parent, name):
    base = parent.name.rstrip("/")
    return f"{base}/{name}"


def _check_name(parent, name, source):
    parts = name.split("/")
    if not name or any(part in ("", ".", "..") for part in parts):
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, _join(parent, name))}: {name!r} is not a plain "
            "relative path inside the file (empty, '.' or '..' parts, or absolute)."
        )
    return parts


def _link(parent, name, source):
    """The hard-linked object `parent/name`, or None when absent; refuses other links."""
    link = parent.get(name, default=None, getlink=True)
    if link is None:
        return None
    if not isinstance(link, h5py.HardLink):
        path = _join(parent, name)
        target = (f" to '{link.filename}:{link.path}'" if isinstance(link, h5py.ExternalLink)
                  else f" to '{link.path}'" if isinstance(link, h5py.SoftLink) else "")
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, path)}: it is an HDF5 "
            f"{type(link).__name__}{target}. Weights files are read as data only; links "
            "are not followed. Re-save the weights from the model that wrote them."
        )
    return parent[name]


def group(parent, name, source=None):
    """The group `parent/name` (a `/`-separated path), walking only hard links; None when
    a part is missing. Refuses links, non-plain paths and a dataset where a group is
    expected."""
    node = parent
    for part in _check_name(parent, name, source):
        child = _link(node, part, source)
        if child is None:
            return None
        if not isinstance(child, h5py.Group):
            raise UnsafeH5Error(
                f"Refusing to read {_where(source, _join(node, part))}: expected an HDF5 "
                f"group, found {type(child).__name__}."
            )
        node = child
    return node


def dataset(parent, name, source=None):
    """The checked dataset `parent/name`, not yet read; None when it is absent.

    Refuses links, external raw storage, virtual datasets, plugin filters, non-numeric
    dtypes, and shape bombs (a huge declared size over almost no stored bytes)."""
    parts = _check_name(parent, name, source)
    if len(parts) > 1:
        parent = group(parent, "/".join(parts[:-1]), source)
        if parent is None:
            return None
    node = _link(parent, parts[-1], source)
    if node is None:
        return None
    path = _join(parent, parts[-1])
    if not isinstance(node, h5py.Dataset):
        raise UnsafeH5Error(f"Refusing to read {_where(source, path)}: expected an HDF5 "
                            f"dataset, found {type(node).__name__}.")
    if node.shape is None:
        raise UnsafeH5Error(f"Refusing to read {_where(source, path)}: it is an empty "
                            "(null) dataset, where an array of weights was expected.")
    _check_storage(node, path, source)
    _check_dtype(node, path, source)
    _check_bomb(node, path, source)
    return node


def _check_storage(node, path, source):
    if node.is_virtual:
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, path)}: it is a virtual dataset (its data "
            "would come from other files). Weights files are read as data only."
        )
    if node.external:
        files = sorted({entry[0] for entry in node.external})
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, path)}: its data is stored in external "
            f"file(s) {files}. Weights files are read as data only."
        )
    plist = node.id.get_create_plist()
    if plist.get_layout() not in _LAYOUTS:
        raise UnsafeH5Error(f"Refusing to read {_where(source, path)}: unsupported HDF5 "
                            "storage layout.")
    for index in range(plist.get_nfilters()):
        code = plist.get_filter(index)[0]
        if code not in _BUILTIN_FILTERS:
            raise UnsafeH5Error(
                f"Refusing to read {_where(source, path)}: it needs HDF5 filter {code}, "
                f"which is not built in (only {sorted(_BUILTIN_FILTERS.values())}); HDF5 "
                "would load it as a plugin."
            )


def _check_dtype(node, path, source):
    try:
        dtype = node.dtype
    except (ValueError, TypeError) as error:  # e.g. a float type with a damaged layout
        raise UnsafeH5Error(f"Refusing to read {_where(source, path)}: its HDF5 datatype has "
                            f"no numpy equivalent ({error}); the file is damaged.") from error
    if dtype.kind == "V" and not dtype.names and dtype.subdtype is None and _is_opaque(node):
        _check_opaque(node, dtype, path, source)
        return
    # NOTE: torch has no float128 (numpy's longdouble), so a float must be 2, 4 or 8 bytes.
    if dtype.kind not in "biuf" or dtype.kind == "f" and dtype.itemsize > 8 or dtype.names or \
            dtype.subdtype or (
            h5py.check_vlen_dtype(dtype) is not None or h5py.check_ref_dtype(dtype)
            is not None or h5py.check_string_dtype(dtype) is not None):
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, path)}: expected a numeric array, found "
            f"dtype {_dtype_name(dtype)}."
        )


def _check_opaque(node, dtype, path, source):
    """Opaque values are data only as Keras' bfloat16 (see `is_bfloat16`)."""
    tag = string_attribute(node, "dtype")
    if tag == BFLOAT16 and dtype.itemsize == 2:
        return
    if tag == BFLOAT16:
        problem = (f"it is tagged dtype='{BFLOAT16}' but holds {dtype.itemsize}-byte opaque "
                   "values")
    else:
        tagged = "no 'dtype' tag" if tag is None and "dtype" not in node.attrs else (
            f"the tag dtype={tag!r}" if tag is not None else "a non-string 'dtype' attribute")
        problem = f"it holds {dtype.itemsize}-byte opaque values with {tagged}"
    raise UnsafeH5Error(
        f"Refusing to read {_where(source, path)}: {problem}. The only opaque values read "
        f"are Keras' bfloat16 weights: 2-byte values tagged dtype='{BFLOAT16}'.")


def is_bfloat16(node):
    """Whether the dataset `node` holds Keras 3's bfloat16 storage: 2-byte HDF5 opaque values
    with the string attribute `dtype="bfloat16"` (numpy and h5py have no bfloat16)."""
    return (_is_opaque(node) and node.dtype.itemsize == 2
            and string_attribute(node, "dtype") == BFLOAT16)


def _is_opaque(node):
    return node.id.get_type().get_class() == h5py.h5t.OPAQUE


def _dtype_name(dtype):
    for check, name in ((h5py.check_ref_dtype, "reference"), (h5py.check_vlen_dtype, "vlen"),
                        (h5py.check_string_dtype, "string")):
        if check(dtype) is not None:
            return f"{name} ({dtype})"
    return "compound" if dtype.names else str(dtype)


def declared_bytes(node):
    """Bytes reading `node` would allocate, from its declared shape (nothing is read)."""
    return math.prod(node.shape or ()) * node.dtype.itemsize


def _check_bomb(node, path, source):
    size = declared_bytes(node)
    if size > BOMB_FLOOR_BYTES and size > MAX_EXPANSION * node.id.get_storage_size():
        raise UnsafeH5Error(
            f"Refusing to read {_where(source, path)}: it declares shape {node.shape} "
            f"({size} bytes) but stores only {node.id.get_storage_size()} bytes; this looks "
            "like a shape bomb."
        )


def string_attribute(node, name):
    """The attribute `name` of `node` when it is a string (bytes are decoded), else None:
    a file may store any type under a name lamina reads as a string."""
    value = node.attrs.get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else None


def read(node):
    """The checked dataset's values as a numpy array (a 0-d array for scalars); Keras'
    bfloat16 values widened to float32, which holds each of them exactly."""
    if is_bfloat16(node):
        return (read_bfloat16_bits(node).astype("<u4") << 16).view("<f4")
    return np.asarray(node[()])


def read_bfloat16_bits(node):
    """The raw bits of a checked `is_bfloat16` dataset, as a writable uint16 array of its
    shape (torch: `torch.from_numpy(bits.view(np.int16)).view(torch.bfloat16)`)."""
    if not is_bfloat16(node):
        raise ValueError(f"'{node.name}' does not hold Keras' bfloat16 values (2-byte opaque "
                         f"values tagged dtype='{BFLOAT16}'); found dtype {node.dtype}.")
    raw = np.asarray(node[()])  # a fresh, writable array (np.void for a scalar)
    if not raw.flags.c_contiguous or not raw.flags.writeable:
        raw = raw.copy(order="C")
    return raw.view("<u2").reshape(node.shape)


def bfloat16_dataset(group, key, bits):
    """Write `bits` (uint16 or int16 bfloat16 bit patterns) as the dataset `group[key]` in
    Keras 3's layout: 2-byte opaque values tagged `dtype="bfloat16"`. Returns the dataset.

    `group` may be anything with h5py's `create_dataset(key, data=...)`."""
    bits = np.asarray(bits)
    if bits.dtype.itemsize != 2 or bits.dtype.kind not in "iu":
        raise TypeError(f"bfloat16 bits must be a 2-byte integer array; received {bits.dtype}.")
    data = np.array(bits, dtype="<u2", order="C").view("V2")
    dataset = group.create_dataset(key, data=data)
    dataset.attrs["dtype"] = BFLOAT16
    return dataset


__all__ = ["BFLOAT16", "UnsafeH5Error", "bfloat16_dataset", "dataset", "declared_bytes",
           "group", "is_bfloat16", "read", "read_bfloat16_bits", "string_attribute"]


@contextlib.contextmanager
def damage_as_oserror(message):
    """Turn the KeyError/RuntimeError/OverflowError that h5py raises for a damaged file's
    structure (a bad heap, an object header out of bounds), from wherever it reads, into
    the `OSError` it raises for a bad header, starting with `message`."""
    try:
        yield
    except (KeyError, RuntimeError, OverflowError) as error:
        tb = error.__traceback__
        while tb is not None and tb.tb_next is not None:
            tb = tb.tb_next
        if tb is None or "h5py" not in tb.tb_frame.f_code.co_filename:
            raise  # lamina's or torch's own error, not the file's
        raise OSError(f"{message}: {type(error).__name__}: {error}") from error
