"""The one place where arrays, scalars and nested lists become torch tensors."""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype


def _python_dtype(x):
    """Keras' dtype for Python scalars and (nested) lists of them, or None."""
    if isinstance(x, bool):
        return torch.bool
    if isinstance(x, int):
        return torch.int32
    if isinstance(x, float):
        return to_torch_dtype(config.floatx())
    if isinstance(x, (list, tuple)):
        kinds = {_python_dtype(v) for v in x}
        if not kinds:
            return to_torch_dtype(config.floatx())
        if len(kinds) == 1:
            return kinds.pop()
        if torch.bool in kinds and len(kinds) > 1:
            kinds.discard(torch.bool)
        if len(kinds) == 1:
            return kinds.pop()
        return to_torch_dtype(config.floatx())
    return None


def convert_to_tensor(x, dtype=None, sparse=None, ragged=None):
    """Turn `x` (tensor, Variable, numpy array, Python scalar or list) into a torch tensor.

    Follows Keras: Python ints become int32, Python floats `floatx()`, numpy arrays keep
    their dtype. Tensors already on a device stay there; new ones go to `get_device()`.
    """
    if sparse:
        raise ValueError("lamina does not support sparse tensors: pass sparse=False.")
    if ragged:
        raise ValueError("lamina does not support ragged tensors: pass ragged=False.")
    torch_dtype = None if dtype is None else to_torch_dtype(dtype)
    if isinstance(x, torch.Tensor):
        if torch_dtype is not None and x.dtype != torch_dtype:
            return x.to(torch_dtype)
        return x
    if isinstance(x, np.ndarray) or np.isscalar(x) and isinstance(x, np.generic):
        arr = np.asarray(x)
        if arr.dtype == object or arr.dtype.kind in "SUO":
            raise TypeError(f"Cannot convert an array of dtype {arr.dtype} to a tensor.")
        if not arr.flags.writeable or not arr.flags.c_contiguous:
            # NOTE: np.ascontiguousarray would turn a 0-d array into shape (1,).
            arr = np.array(arr, order="C", copy=True)
        if isinstance(x, np.generic) and arr.dtype == np.float64 and torch_dtype is None:
            torch_dtype = to_torch_dtype(config.floatx())
        tensor = torch.from_numpy(arr)
        device = config.get_device()
        if torch_dtype is not None and tensor.dtype != torch_dtype:
            return tensor.to(device=device, dtype=torch_dtype)
        return tensor.to(device) if device.type != "cpu" else tensor
    if hasattr(x, "__array__") and not isinstance(x, (list, tuple)):
        return convert_to_tensor(np.asarray(x), dtype=dtype)
    if torch_dtype is None:
        torch_dtype = _python_dtype(x)
    if isinstance(x, (list, tuple)) and any(isinstance(v, torch.Tensor) for v in x):
        return torch.stack([convert_to_tensor(v, dtype=torch_dtype) for v in x])
    return torch.as_tensor(x, dtype=torch_dtype, device=config.get_device())


def convert_to_numpy(x):
    """Return `x` as a numpy array (tensors are detached and moved to the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach()
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):
        return np.asarray(x.numpy())
    return np.asarray(x)


def dtype_of(x):
    """Keras dtype name of a tensor, array or Python value."""
    if isinstance(x, torch.Tensor):
        return standardize_dtype(x.dtype)
    if hasattr(x, "dtype"):
        return standardize_dtype(x.dtype)
    return standardize_dtype(_python_dtype(x))
