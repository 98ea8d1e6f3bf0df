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
    "int": "int64",
    "long": "int64",
    "uint": "uint32",
    "boolean": "bool",
}

FLOAT_TYPES = ("bfloat16", "float16", "float32", "float64")
INT_TYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")


def standardize_dtype(dtype):
    """Return the Keras name (a string) of any dtype-like: str, torch/numpy dtype, or
    Python type. `None` means `floatx()`."""
    if dtype is None:
        return config.floatx()
    if isinstance(dtype, str):
        name = _ALIASES.get(dtype, dtype)
        if name in NAME_TO_TORCH:
            return name
        raise ValueError(f"Invalid dtype: {dtype!r}. Expected one of {sorted(NAME_TO_TORCH)}.")
    if isinstance(dtype, torch.dtype):
        try:
            return TORCH_TO_NAME[dtype]
        except KeyError:
            raise ValueError(f"Unsupported torch dtype: {dtype}") from None
    if dtype is bool:
        return "bool"
    if dtype is int:
        return "int64"
    if dtype is float:
        return "float32"
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
    return NAME_TO_TORCH[standardize_dtype(dtype)]


def is_float_dtype(dtype):
    return standardize_dtype(dtype) in FLOAT_TYPES


def is_int_dtype(dtype):
    return standardize_dtype(dtype) in INT_TYPES
