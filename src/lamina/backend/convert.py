"""The one place where arrays, scalars and nested lists become torch tensors."""

import functools
import reprlib
import sys

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import KerasTensor


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
            raise _conversion_error(x, f"an array of dtype {arr.dtype}", TypeError)
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
    try:
        return torch.as_tensor(x, dtype=torch_dtype, device=config.get_device())
    except (TypeError, ValueError, RuntimeError) as error:
        raise _explain(x, error) from None


_EXPECTED = "a tensor, a numpy array, a number or a (nested) list of numbers"


def _ragged(x, depth=0):
    """Where nested list `x` stops being rectangular (a phrase), or None."""
    if not isinstance(x, (list, tuple)):
        return None
    nested = {isinstance(v, (list, tuple)) for v in x}
    if len(nested) > 1:
        return f"it mixes lists and numbers at depth {depth + 1}"
    if nested == {True}:
        lengths = sorted({len(v) for v in x})
        if len(lengths) > 1:
            return f"its rows at depth {depth + 1} have lengths {lengths}"
        for v in x:
            found = _ragged(v, depth + 1)
            if found:
                return found
    return None


def _leaf_types(x):
    if isinstance(x, (list, tuple)):
        return {t for v in x for t in _leaf_types(v)}
    return {type(x).__name__}


def _explain(x, error):
    """The error for a value `torch.as_tensor` refused, saying what was received."""
    ragged = _ragged(x)
    if ragged:
        return _conversion_error(x, f"a ragged nested list: {ragged}", ValueError)
    if isinstance(x, (list, tuple)):
        kinds = ", ".join(sorted(_leaf_types(x) - {"int", "float", "bool"}))
        if not kinds:
            return type(error)(str(error))
        return _conversion_error(x, f"a {type(x).__name__} holding {kinds}", TypeError)
    return _conversion_error(x, f"a {type(x).__name__}", TypeError)


def _conversion_error(x, what, error_type):
    """`error_type` naming the lamina function the user called and the argument that
    could not become a tensor: "relu: `x` must be ... Received: x='abc', a str"."""
    where, argument = _entry_point(x)
    label = f"`{argument}`" if argument else "the input"
    shown = f"{argument}={reprlib.repr(x)}" if argument else reprlib.repr(x)
    prefix = f"{where}: " if where else ""
    return error_type(f"{prefix}{label} must be {_EXPECTED}. Received: {shown}, {what}")


def _is_module(frame, package):
    name = frame.f_globals.get("__name__") or ""
    return name == package or name.startswith(package + ".")


def _entry_point(x):
    """`(name, argument)` of the lamina function the user called that got `x`: the
    outermost lamina frame below the caller's own code (torch's frames, such as
    `nn.Module.__call__`, are looked through).

    NOTE: walking frames costs nothing until a conversion fails, and names every public
    entry point (ops, losses, metrics, layers, optimizers) without each one wrapping its
    conversions in its own error handling.
    """
    entry, frame = None, sys._getframe(1)
    while frame is not None:
        if _is_module(frame, "lamina"):
            entry = frame
        elif not _is_module(frame, "torch"):
            break
        frame = frame.f_back
    if entry is None:
        return None, None
    code, local = entry.f_code, entry.f_locals
    name = code.co_qualname
    if code.co_argcount and code.co_varnames[0] in ("self", "cls"):
        owner = local.get(code.co_varnames[0])
        owner = owner if isinstance(owner, type) else type(owner)
        name = f"{owner.__name__}.{code.co_name}"
    elif "<locals>" in name:
        # A decorator's wrapper: name it for the function it wraps.
        wrapped = [local[v] for v in code.co_freevars if callable(local.get(v))]
        name = getattr(wrapped[0], "__qualname__", name) if wrapped else code.co_name
    arguments = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    argument = next((a for a in arguments if local.get(a) is x), None)
    return name, argument


def tensor_unless_symbolic(x):
    """`x` as a tensor, unless it already is one, is symbolic (a `KerasTensor`) or is None:
    for public methods such as `compute_mask` that see both eager and symbolic values."""
    if x is None or isinstance(x, (torch.Tensor, KerasTensor)):
        return x
    return convert_to_tensor(x)


def accepting_arrays(call):
    """Wrap a method `call(self, x, ...)` so that a numpy array, Python number or list `x`
    becomes a tensor first; tensors (and Variables) go straight through (one class check).

    Regularizers and constraints apply it to every subclass' `__call__`."""
    if getattr(call, "_accepts_arrays", False):
        return call

    @functools.wraps(call)
    def __call__(self, x, *args, **kwargs):
        if not isinstance(x, torch.Tensor):
            x = convert_to_tensor(x)
        return call(self, x, *args, **kwargs)

    __call__._accepts_arrays = True
    return __call__


def convert_to_numpy(x):
    """Return `x` as a numpy array (tensors are detached and moved to the CPU).

    The array is a copy, as in Keras: weights snapshotted with `get_weights()` must not
    change when the model trains, nor change the model when written to.
    """
    if isinstance(x, torch.Tensor):
        x = x.detach()
        shares_memory = x.device.type == "cpu" and x.dtype != torch.bfloat16
        if x.device.type != "cpu":
            x = x.cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy().copy() if shares_memory else x.numpy()
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
