"""Shared plumbing for the table-driven `lamina.ops` vs `keras.ops` parity sweeps.

A case is `(name, args, kwargs)`; `name` may be dotted (`"image.resize"`, `"linalg.qr"`)
to pick a submodule of both `keras.ops` and `lamina.ops`. Each sweep module exposes its
table as `CASES` so `test_ops_namespace_covered.py` can check every public Keras op has one.
"""

import numpy as np
import torch

from lamina import ops

RNG = np.random.default_rng(0)

# Every dtype family the sweeps feed through element-wise ops.
DTYPES = ("float32", "float16", "bfloat16", "float64", "int32", "int8", "uint8", "bool")


def arr(shape, dtype="float32", low=-3, high=3, rng=RNG):
    """A random array of `dtype` (numpy, except bfloat16 which numpy lacks: a torch tensor)."""
    if dtype == "bool":
        return rng.random(shape) > 0.5
    if dtype == "bfloat16":
        return torch.tensor(rng.uniform(low, high, size=shape).astype("float32")).bfloat16()
    if dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("uint") else low
        return rng.integers(low, high, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def resolve(module, name):
    """`module.a.b` for the dotted `name` "a.b"."""
    for part in name.split("."):
        module = getattr(module, part)
    return module


def case_id(case):
    name, args, kwargs = case

    def short(a):
        if isinstance(a, np.ndarray):
            return f"{a.dtype}{list(a.shape)}"
        if isinstance(a, torch.Tensor):
            return f"{str(a.dtype)[6:]}{list(a.shape)}"
        if isinstance(a, (list, tuple)):
            return "[" + ",".join(short(v) for v in a) + "]"
        return repr(a)

    return f"{name}({','.join(short(a) for a in args)};{kwargs})"


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    return [x]


def _numpy(x):
    x = x.detach().cpu()
    return x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()


def compare(ours, theirs, rtol=1e-5, atol=1e-5, low_precision_tol=1e-2):
    """Assert same structure, dtypes, shapes and values (NaNs equal)."""
    ours_flat, theirs_flat = _flat(ours), _flat(theirs)
    assert len(ours_flat) == len(theirs_flat), (
        f"{len(ours_flat)} outputs, keras gives {len(theirs_flat)}"
    )
    for a, b in zip(ours_flat, theirs_flat):
        if isinstance(b, np.ndarray):
            b = torch.from_numpy(b)
        if not isinstance(b, torch.Tensor):
            assert not isinstance(a, torch.Tensor) or a.ndim == 0, f"{a!r} != keras {b!r}"
            assert a == b or np.allclose(np.asarray(a), np.asarray(b)), f"{a!r} != keras {b!r}"
            continue
        assert isinstance(a, torch.Tensor), f"expected a tensor, got {type(a)}"
        assert a.dtype == b.dtype, f"dtype {a.dtype} != keras {b.dtype}"
        assert tuple(a.shape) == tuple(b.shape), f"shape {tuple(a.shape)} != keras {tuple(b.shape)}"
        low = a.dtype in (torch.float16, torch.bfloat16, torch.complex32)
        tol_r, tol_a = (low_precision_tol, low_precision_tol) if low else (rtol, atol)
        np.testing.assert_allclose(_numpy(a), _numpy(b), rtol=tol_r, atol=tol_a, equal_nan=True)


def call_both(keras_module, case):
    """`(lamina result, keras result)` for one case; raises what lamina raises."""
    name, args, kwargs = case
    theirs = resolve(keras_module.ops, name)(*args, **kwargs)
    ours = resolve(ops, name)(*args, **kwargs)
    return ours, theirs


def np_sparsemax(x, axis=-1):
    """numpy sparsemax (Martins & Astudillo, 2016): the reference where Keras-torch errs."""
    z = -np.sort(-x, axis=axis)
    shape = [1] * x.ndim
    shape[axis] = -1
    k = np.arange(1, x.shape[axis] + 1).reshape(shape)
    support = 1 + k * z > np.cumsum(z, axis=axis)
    tau = (np.sum(z * support, axis=axis, keepdims=True) - 1) / support.sum(axis, keepdims=True)
    return np.maximum(x - tau, 0)


def keras_torch_departures(name, x, kwargs):
    """numpy's answer for reductions where Keras' torch backend breaks numpy semantics
    (lamina follows numpy), else None."""
    if kwargs.get("keepdims") and kwargs.get("axis") is None and name in (
        "sum", "max", "min", "prod"
    ):
        return getattr(np, name)(x, keepdims=True)  # Keras-torch drops keepdims here
    if name == "count_nonzero" and kwargs.get("axis") is not None:
        return np.count_nonzero(x, axis=kwargs["axis"])  # Keras-torch transposes
    return None
