"""Symbolic tensors and output-spec inference.

A `KerasTensor` is a placeholder: a shape (with `None` for unknown sizes), a dtype
and the history of the operation that made it. Output specs are inferred by running
the real computation on fake tensors (no memory, no compute).
"""

import itertools

import numpy as np
import torch
from torch._subclasses.fake_tensor import (
    DataDependentOutputException,
    DynamicOutputShapeException,
    FakeTensor,
    FakeTensorMode,
    unset_fake_temporarily,
)

from lamina import tree
from lamina.backend.dtypes import STRING, standardize_dtype, to_torch_dtype

_TENSOR_IDS = itertools.count()

# NOTE: two different stand-ins for unknown sizes: an output size that changes between
# the two runs depends on an unknown input size and is reported as None.
_FILL_A, _FILL_B = 83, 89

DATA_DEPENDENT_ERRORS = (DynamicOutputShapeException, DataDependentOutputException)


class KerasTensor:
    """A symbolic tensor: shape, dtype and the layer or op that produced it.

    >>> import lamina
    >>> x = lamina.Input(shape=(8,))
    >>> x.shape, x.dtype
    ((None, 8), 'float32')
    """

    __array_priority__ = 1000

    def __init__(self, shape, dtype="float32", sparse=False, ragged=False, name=None):
        self._shape = tuple(None if d is None else int(d) for d in shape)
        self._dtype = standardize_dtype(dtype)
        self.sparse = bool(sparse)
        self.ragged = bool(ragged)
        self.name = name if name is not None else f"keras_tensor_{next(_TENSOR_IDS)}"
        self._keras_history = None
        self._keras_mask = None

    @property
    def shape(self):
        return self._shape

    @property
    def dtype(self):
        return self._dtype

    @property
    def ndim(self):
        return len(self._shape)

    def __repr__(self):
        return (
            f"<KerasTensor shape={self.shape}, dtype={self.dtype}, sparse={self.sparse}, "
            f"ragged={self.ragged}, name={self.name}>"
        )

    def __array__(self, *args, **kwargs):
        raise ValueError(
            "A KerasTensor is symbolic: it stands for a shape and a dtype, with no values. "
            "It cannot become a numpy array. You probably passed a KerasTensor from "
            "`lamina.Input` to a function that needs real data (numpy or torch)."
        )

    def __bool__(self):
        raise TypeError(
            "A symbolic KerasTensor has no truth value. Use lamina.ops (e.g. ops.where, "
            "ops.cond) instead of Python `if`/`and`/`or` on symbolic tensors."
        )

    def __iter__(self):
        if self.shape and self.shape[0] is not None:
            return iter(self[i] for i in range(self.shape[0]))
        raise TypeError("Cannot iterate over a KerasTensor whose first dimension is unknown.")

    def __len__(self):
        if self.shape and self.shape[0] is not None:
            return self.shape[0]
        raise TypeError("len() of a KerasTensor whose first dimension is unknown (None).")

    __hash__ = object.__hash__


# Argument classes that can never hold a `KerasTensor`: an op whose arguments are all of
# these runs `fn` directly. Anything else (containers, unknown classes) takes the full scan.
EAGER_CLASSES = {
    torch.Tensor, torch.nn.Parameter, np.ndarray, int, float, bool, str, type(None),
    torch.dtype, torch.device, np.float32, np.float64, np.int32, np.int64, np.bool_,
}


def register_eager_class(cls):
    """Let arguments of class `cls` (e.g. a tensor subclass) take the ops' fast path."""
    EAGER_CLASSES.add(cls)


def is_keras_tensor(x):
    """True for symbolic `KerasTensor`s (not for torch tensors)."""
    return isinstance(x, KerasTensor)


def any_symbolic(args, kwargs=None):
    """True if any argument, or any item nested in list/tuple/dict arguments, is symbolic."""
    for a in args:
        if isinstance(a, KerasTensor):
            return True
        if isinstance(a, (list, tuple, dict)) and _nested_symbolic(a):
            return True
    if kwargs:
        return any_symbolic(kwargs.values())
    return False


def _nested_symbolic(container):
    for v in container.values() if isinstance(container, dict) else container:
        if isinstance(v, KerasTensor):
            return True
        if isinstance(v, (list, tuple, dict)) and _nested_symbolic(v):
            return True
    return False


def has_string_input(args, kwargs=None):
    """True if any `KerasTensor` among the (nested) arguments has dtype "string"."""
    return any(isinstance(x, KerasTensor) and x.dtype == STRING
               for x in tree.flatten((args, kwargs)))


def _to_fake(kt, fill, mode):
    if kt.dtype == STRING:
        # Only the text layers' own shape rules know what a string input turns into.
        raise ValueError(
            f"The KerasTensor '{kt.name}' has dtype 'string' (shape {kt.shape}): numeric "
            "layers and ops cannot run on strings. Pass it to a text layer first "
            "(TextVectorization, StringLookup, Hashing)."
        )
    shape = tuple(fill if d is None else d for d in kt.shape)
    with mode:
        t = torch.empty(shape, dtype=to_torch_dtype(kt.dtype))
    if kt._keras_mask is not None:
        t._keras_mask = _to_fake(kt._keras_mask, fill, mode)
    return t


_FILL = None  # the stand-in size of unknown dimensions during a symbolic run
_USED_UNKNOWN = False


def is_fake(x):
    """True for the stand-in tensors of a symbolic run (ops skip value checks on them)."""
    return isinstance(x, FakeTensor)


def in_symbolic_run():
    """True while a symbolic run executes on fake tensors (not inside `real_tensors()`,
    where build creates real weights)."""
    return _FILL is not None and torch._C._get_dispatch_mode(_FAKE_MODE_KEY) is not None


_FAKE_MODE_KEY = torch._C._TorchDispatchModeKey.FAKE


def unknown_size():
    """A size that depends on the values (e.g. of `nonzero`) during a symbolic run: the
    output dimension built from it comes out as `None` in the `KerasTensor`."""
    global _USED_UNKNOWN
    _USED_UNKNOWN = True
    return _FILL


def _run_fake(fn, args, kwargs, fill):
    global _FILL
    mode = FakeTensorMode(allow_non_fake_inputs=True)

    def convert(x):
        return _to_fake(x, fill, mode) if isinstance(x, KerasTensor) else x

    fake_args = tree.map_structure(convert, args)
    fake_kwargs = tree.map_structure(convert, kwargs)
    previous, _FILL = _FILL, fill
    try:
        with mode:
            return fn(*fake_args, **fake_kwargs)
    finally:
        _FILL = previous


def _has_unknown_dims(args, kwargs):
    for x in tree.flatten((args, kwargs)):
        if isinstance(x, KerasTensor) and None in x.shape:
            return True
    return False


def _spec_from(out_a, out_b):
    if not isinstance(out_a, torch.Tensor):
        return out_a
    shape = tuple(
        a if (out_b is None or a == b) else None
        for a, b in zip(out_a.shape, out_b.shape if out_b is not None else out_a.shape)
    )
    kt = KerasTensor(shape, dtype=out_a.dtype)
    mask = getattr(out_a, "_keras_mask", None)
    if isinstance(mask, torch.Tensor):
        mask_b = getattr(out_b, "_keras_mask", None) if out_b is not None else None
        kt._keras_mask = _spec_from(mask, mask_b)
    return kt


def compute_output_spec(fn, *args, **kwargs):
    """Run `fn` on fake stand-ins for the `KerasTensor`s in its arguments and return
    `KerasTensor`s of the output's shape and dtype (same nesting as the output)."""
    global _USED_UNKNOWN
    outer, _USED_UNKNOWN = _USED_UNKNOWN, False
    try:
        out_a = _run_fake(fn, args, kwargs, _FILL_A)
        again = _USED_UNKNOWN or _has_unknown_dims(args, kwargs)
        out_b = _run_fake(fn, args, kwargs, _FILL_B) if again else None
    finally:
        _USED_UNKNOWN = outer or _USED_UNKNOWN
    flat_a = tree.flatten(out_a)
    flat_b = tree.flatten(out_b) if out_b is not None else [None] * len(flat_a)
    specs = [_spec_from(a, b) for a, b in zip(flat_a, flat_b)]
    return tree.pack_sequence_as(out_a, specs)


real_tensors = unset_fake_temporarily
"""Context manager: create real tensors (e.g. weights at build time) even inside a
symbolic run."""
