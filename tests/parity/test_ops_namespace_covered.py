"""The ops parity tables cover the whole `keras.ops` namespace, and every op in them also
works symbolically: on `KerasTensor`s it gives the eager result's shape and dtype."""

import importlib
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from lamina import ops
from lamina.backend.symbolic import KerasTensor

keras = pytest.importorskip("keras")
from ops_oracle import resolve  # noqa: E402

NAMESPACES = ("", "nn", "numpy", "linalg", "image")
TABLES = ("CASES", "IMAGE_CASES")
_HERE = Path(__file__).parent


def _all_cases():
    cases = []
    for path in sorted(_HERE.glob("test_ops*.py")):
        if path.stem == Path(__file__).stem:
            continue
        module = importlib.import_module(path.stem)
        for table in TABLES:
            for case in getattr(module, table, ()):
                name = case[0]
                if table == "IMAGE_CASES" and "." not in name:
                    name = "image." + name
                cases.append((name, *case[1:3]))
    return cases


CASES = _all_cases()


def _keras_names():
    names = set()
    for sub in NAMESPACES:
        module = getattr(keras.ops, sub) if sub else keras.ops
        names |= {
            n for n in dir(module)
            if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)
        }
    return names


def test_every_keras_op_has_oracle_cases():
    covered = {name.rsplit(".", 1)[-1] for name, _, _ in CASES}
    assert sorted(_keras_names() - covered) == []


# Ops whose output size depends on the values, or that only exist eagerly.
# Ops that only exist eagerly (they return Python values or numpy arrays), and ops whose
# output size depends on the values unless an argument fixes it: their symbolic output has
# `None` there (checked in `test_value_dependent_sizes_are_none`).
EAGER_ONLY = {"convert_to_numpy", "is_tensor", "shape", "dtype", "ndim", "size", "allclose"}
VALUE_DEPENDENT = {"nonzero", "unique", "argwhere", "where", "histogram", "bincount",
                   "array_split", "ctc_decode", "segment_sum", "segment_max", "segment_min",
                   "segment_prod"}
DATA_DEPENDENT = EAGER_ONLY | VALUE_DEPENDENT


def _symbolic(x):
    if isinstance(x, (np.ndarray, torch.Tensor)) and x.ndim > 0 and x.dtype != np.object_:
        dtype = str(x.dtype).removeprefix("torch.")
        return KerasTensor(tuple(x.shape), dtype=dtype)
    if isinstance(x, list) and x and all(isinstance(v, (np.ndarray, torch.Tensor)) for v in x):
        return [_symbolic(v) for v in x]
    return x


def _first_case_per_op():
    seen = {}
    for name, args, kwargs in CASES:
        short = name.rsplit(".", 1)[-1]
        if short in DATA_DEPENDENT or short in seen or callable(args[0] if args else None):
            continue
        if not any(isinstance(_symbolic(a), (KerasTensor, list)) and _symbolic(a) is not a
                   for a in args):
            continue
        try:
            resolve(ops, name)(*args, **kwargs)
        except Exception:  # a bad-input case: the sweeps check its error
            continue
        seen[short] = (name, args, kwargs)
    return sorted(seen.values(), key=lambda c: c[0])


SYMBOLIC_CASES = _first_case_per_op()


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [v for item in x for v in _flat(item)]
    return [x]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", SYMBOLIC_CASES, ids=[c[0] for c in SYMBOLIC_CASES])
def test_op_on_keras_tensors_matches_eager_shape_and_dtype(case):
    name, args, kwargs = case
    op = resolve(ops, name)
    eager = _flat(op(*args, **kwargs))
    symbolic = _flat(op(*[_symbolic(a) for a in args], **kwargs))
    assert len(symbolic) == len(eager)
    for s, e in zip(symbolic, eager):
        if not isinstance(e, torch.Tensor):
            continue
        assert isinstance(s, KerasTensor), f"{name}: got {type(s).__name__}"
        assert s.shape == tuple(e.shape), f"{name}: {s.shape} != eager {tuple(e.shape)}"
        assert s.dtype == str(e.dtype).removeprefix("torch."), f"{name}: {s.dtype}"


def test_value_dependent_sizes_are_none():
    x = KerasTensor((4, 3))
    ids = KerasTensor((4,), dtype="int32")
    assert ops.nonzero(x).shape == (2, None)
    assert (ops.where(x).shape, ops.where(x).dtype) == ((2, None), "int64")
    assert ops.unique(KerasTensor((5,))).shape == (None,)
    values, inverse, counts = ops.unique(x, return_inverse=True, return_counts=True, axis=0)
    assert (values.shape, inverse.shape, counts.shape) == ((None, 3), (4,), (None,))
    assert ops.segment_max(x, ids).shape == (None, 3)
    assert ops.segment_sum(x, ids, num_segments=5).shape == (5, 3)
    assert ops.ctc_loss(KerasTensor((2, 4), "int32"), KerasTensor((2, 6, 5)),
                        KerasTensor((2,), "int32"), KerasTensor((2,), "int32")).shape == (2,)


def _as_list(x):
    """float32/int32/bool arrays as nested Python lists (which convert back to the same
    dtype), else unchanged."""
    if isinstance(x, np.ndarray) and x.dtype.name in ("float32", "int32", "bool") and x.size:
        return x.tolist()
    if isinstance(x, list) and x and all(isinstance(v, np.ndarray) for v in x):
        return [_as_list(v) for v in x]
    return x


def _passes_values_to_python(args):
    """Control-flow ops hand their operands to user callables, which see lists as lists."""
    return any(callable(a) or (isinstance(a, (list, tuple)) and any(map(callable, a)))
               for a in args)


LIST_CASES = [c for c in SYMBOLIC_CASES
              if c[0].rsplit(".", 1)[-1] not in ("empty", "empty_like")  # uninitialised
              and not _passes_values_to_python(c[1])
              and any(_as_list(a) is not a for a in c[1])]


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", LIST_CASES, ids=[c[0] for c in LIST_CASES])
def test_python_lists_work_wherever_arrays_do(case):
    name, args, kwargs = case
    op = resolve(ops, name)
    from_arrays = _flat(op(*args, **kwargs))
    from_lists = _flat(op(*[_as_list(a) for a in args], **kwargs))
    assert len(from_lists) == len(from_arrays)
    for a, b in zip(from_lists, from_arrays):
        if isinstance(b, torch.Tensor):
            assert isinstance(a, torch.Tensor) and a.dtype == b.dtype, f"{name}: {a.dtype}"
            torch.testing.assert_close(a, b, equal_nan=True)
