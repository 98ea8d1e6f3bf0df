"""Keras dtype names <-> torch dtypes, and Keras' type promotion.

Keras names dtypes with strings ("float32", "int64", "bool"); torch with
`torch.dtype` objects. Both are accepted everywhere; lookups are dict hits.
"""

import numpy as np
import torch

from lamina.backend import config

NAME_TO_TORCH = {
    "bool": torch.bool,
    "uint8": torch.uint8,
    "uint16": torch.uint16,
    "uint32": torch.uint32,
    "uint64": torch.uint64,
    "int8": torch.int8,
    "int16": torch.int16,
    "int32": torch.int32,
    "int64": torch.int64,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
    "float8_e4m3fn": torch.float8_e4m3fn,
    "float8_e5m2": torch.float8_e5m2,
}
TORCH_TO_NAME = {v: k for k, v in NAME_TO_TORCH.items()}
_ALIASES = {
    "float": "float32",
    "double": "float64",
    "half": "float16",
    "int": "int32",
    "long": "int64",
    "uint": "uint32",
    "boolean": "bool",
}

# NOTE: Keras' dtype of text inputs (`Input(dtype="string")`). Torch has no strings:
# string values stay numpy arrays on the host, and the name has no torch dtype.
STRING = "string"

FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")


def standardize_dtype(dtype):
    """Return the Keras name (a string) of any dtype-like: str, torch/numpy dtype, or
    Python type. `None` means `floatx()`."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in NAME_TO_TORCH or name == STRING:
            return name
        raise ValueError(
            f"Invalid dtype: {dtype!r}. Expected one of {sorted([*NAME_TO_TORCH, STRING])}.")
    if isinstance(dtype, torch.dtype):
        try:
            return TORCH_TO_NAME[dtype]
        except KeyError:
            raise ValueError(f"Unsupported torch dtype: {dtype}") from None
    if dtype is bool:
        return "bool"
    if dtype is int:
        return "int32"
    if dtype is float:
        return "float32"
    if dtype is str:
        return STRING
    if hasattr(dtype, "name") and isinstance(dtype.name, str):  # DTypePolicy, KerasTensor dtype
        return standardize_dtype(dtype.name)
    try:
        return standardize_dtype(np.dtype(dtype).name)
    except TypeError:
        raise ValueError(f"Invalid dtype: {dtype!r}") from None


def to_torch_dtype(dtype):
    """The `torch.dtype` for any dtype-like (`None` means `floatx()`)."""
    if isinstance(dtype, torch.dtype):
        return dtype
    name = standardize_dtype(dtype)
    try:
        return NAME_TO_TORCH[name]
    except KeyError:
        raise ValueError(
            f"dtype={name!r} has no torch dtype: torch tensors hold no strings. String "
            "values stay numpy arrays, read by text layers (TextVectorization, StringLookup, "
            "Hashing)."
        ) from None


def floatx_dtype():
    """`config.floatx()` as a `torch.dtype` (read per call: `set_floatx` may change it)."""
    return to_torch_dtype(config.floatx())


def is_float_dtype(dtype):
    return standardize_dtype(dtype) in FLOAT_TYPES


def is_int_dtype(dtype):
    return standardize_dtype(dtype) in INT_TYPES


# --- Keras type promotion -------------------------------------------------------------
# A lattice in the style of JAX: Python ints and floats are "weak" (they adapt to the
# other operand), bool < ints < floats, and a pair without a natural common type goes up
# to the next kind (uint64 with any signed int -> a float). Results are then made
# canonical like JAX without x64: 64-bit types come out as their 32-bit siblings.
_WEAK_INT, _WEAK_FLOAT, _WEAK_COMPLEX = "int", "float", "complex"
_LATTICE_UP = {
    "bool": ("int",),
    "int": ("uint8", "int8"),
    "uint8": ("uint16", "int16"),
    "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"),
    "uint64": ("float",),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": ("float",),
    "float": ("bfloat16", "float16", "complex"),
    "bfloat16": ("float32",),
    "float16": ("float32",),
    "float32": ("float64", "complex64"),
    "float64": ("complex128",),
    "complex": ("complex64",),
    "complex64": ("complex128",),
    "complex128": (),
}
_CANONICAL = {"int64": "int32", "uint64": "uint32", "float64": "float32",
              "complex128": "complex64"}


def _upper_closure(node):
    seen, todo = {node}, [node]
    while todo:
        for up in _LATTICE_UP[todo.pop()]:
            if up not in seen:
                seen.add(up)
                todo.append(up)
    return frozenset(seen)


_UPPER = {node: _upper_closure(node) for node in _LATTICE_UP}


def _least_upper_bound(nodes):
    common = frozenset.intersection(*(_UPPER[n] for n in nodes))
    for node in common:
        if _UPPER[node] == common:
            return node
    raise ValueError(f"No common dtype for {sorted(nodes)}.")  # unreachable: lattice has a top


def _lattice_node(dtype):
    """(lattice node, is_weak) for one argument of `result_type`."""
    if dtype is None:
        return config.floatx(), False
    if dtype is bool:
        return "bool", False
    if dtype is int:
        return _WEAK_INT, True
    if dtype is float:
        return _WEAK_FLOAT, True
    if dtype is complex:
        return _WEAK_COMPLEX, True
    name = standardize_dtype(dtype)
    if name == STRING:
        raise ValueError(f"dtype={name!r} is not a valid dtype for Keras type promotion.")
    if name.startswith("float8"):
        raise ValueError(
            "float8 dtypes do not promote implicitly to other dtypes: cast explicitly. "
            f"Received: dtype={name!r}"
        )
    return name, False


def _resolve(node, weak):
    if weak and node != "bool":
        bits = config.floatx()[-2:]
        node = {"int": f"int{bits}", "float": f"float{bits}", "complex": "complex64"}.get(
            node, node
        )
    return _CANONICAL.get(node, node)


def _result_type_uncached(dtypes):
    nodes = [_lattice_node(d) for d in dtypes]
    names = {n for n, _ in nodes}
    weaks = [w for _, w in nodes]
    if len(names) == 1:
        node = names.pop()
        return _resolve(node, all(weaks))
    node = _least_upper_bound(names)
    return _resolve(node, node in (_WEAK_INT, _WEAK_FLOAT, _WEAK_COMPLEX))


_RESULT_CACHE = {}


def result_type(*dtypes):
    """Keras' dtype for combining values of `dtypes` (its own lattice, not numpy's).

    Accepts dtype names, torch/numpy dtypes and the Python types `bool`, `int`, `float`;
    Python `int` and `float` are weak (they take the other operand's width). With no
    arguments the answer is `floatx()`.

    >>> result_type("int32", "float16"), result_type("uint8", "int8"), result_type("int8", int)
    ('float16', 'int16', 'int8')
    """
    if not dtypes:
        return config.floatx()
    key = (config.floatx(), *dtypes)
    try:
        return _RESULT_CACHE[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable dtype-like
        return _result_type_uncached(dtypes)
    out = _RESULT_CACHE[key] = _result_type_uncached(dtypes)
    return out
