"""`Operation`: anything that can be called on tensors and recorded in a graph."""

import inspect

import torch

from lamina import tree
from lamina.backend import config
from lamina.backend.symbolic import EAGER_CLASSES, any_symbolic, compute_output_spec
from lamina.ops.node import Node


class Operation:
    """Base of layers and ops: eager on tensors, recorded as a graph node on `KerasTensor`s."""

    def __init__(self, name=None):
        self.name = name or type(self).__name__.lower()
        self._inbound_nodes = []

    def __call__(self, *args, **kwargs):
        if any_symbolic(args, kwargs):
            return self.symbolic_call(*args, **kwargs)
        return self.call(*args, **kwargs)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must implement `call`.")

    def compute_output_spec(self, *args, **kwargs):
        return compute_output_spec(self.call, *args, **kwargs)

    def symbolic_call(self, *args, **kwargs):
        outputs = self.compute_output_spec(*args, **kwargs)
        Node(self, args, kwargs, outputs)
        return outputs


class FunctionOperation(Operation):
    """An op function (e.g. `lamina.ops.add`) recorded as a graph node.

    `class_name` is Keras' op class name, used when the graph is saved.
    """

    def __init__(self, fn, class_name, call_args, call_kwargs):
        super().__init__(name=fn.__name__)
        self.fn = fn
        self.class_name = class_name

    def call(self, *args, **kwargs):
        return self.fn(*args, **kwargs)


_SEQUENCES = frozenset({list, tuple})


def _all_eager(sequence):
    """True if a list/tuple argument (e.g. a shape or axes) holds no symbolic value."""
    for v in sequence:
        if v.__class__ not in EAGER_CLASSES and not (
            v.__class__ in _SEQUENCES and _all_eager(v)
        ):
            return False
    return True


FLOAT_DTYPES = frozenset({torch.float16, torch.bfloat16, torch.float32, torch.float64})


def same_dtype_tensors(xs):
    """True for a non-empty list/tuple of plain tensors that all have one dtype."""
    if xs.__class__ not in _SEQUENCES or not xs or xs[0].__class__ is not torch.Tensor:
        return False
    dtype = xs[0].dtype
    for x in xs:
        if x.__class__ is not torch.Tensor or x.dtype is not dtype:
            return False
    return True


def tensor_and_weak_float(x1, x2):
    """True for a plain tensor and a Python float (either order) while `floatx()` is
    float32: then torch's scalar promotion is exactly Keras'."""
    c1, c2 = x1.__class__, x2.__class__
    return ((c1 is torch.Tensor and c2 is float) or (c1 is float and c2 is torch.Tensor)) and (
        config.floatx() == "float32"
    )


def keras_op(class_name=None, bound=None, tensors=None, dtypes=None, guard=None):
    """Decorate an op function so that `KerasTensor` inputs record a graph node.

    The returned function has `fn`'s own signature: its eager fast path checks each
    argument's class against `EAGER_CLASSES` and calls `fn`, without packing `*args`.

    `bound`: a torch callable that, given the same positional arguments, returns what `fn`
    returns whenever the parameters named in `tensors` (default: all) are plain
    `torch.Tensor`s. Such calls go straight to it; if it raises, `fn` runs instead (and
    reports the error in Keras' terms), so `bound` may reject inputs `fn` accepts.
    `dtypes`: if given, the bound path also requires those tensors' dtypes to be in it.
    `guard`: a predicate over the parameters named in `tensors` that admits more calls to
    the bound path when the plain-tensor check fails (e.g. "a list of plain tensors of
    one dtype", "a tensor and a Python float").
    """

    def decorate(fn):
        name = class_name or "".join(p.capitalize() for p in fn.__name__.split("_"))

        def general(*args, **kwargs):
            if any_symbolic(args, kwargs):
                return FunctionOperation(fn, name, args, kwargs).symbolic_call(*args, **kwargs)
            return fn(*args, **kwargs)

        op = _fast_dispatcher(fn, general, bound, tensors, dtypes, guard) or general
        op.__name__ = fn.__name__
        op.__qualname__ = fn.__qualname__
        op.__doc__ = fn.__doc__
        op.__module__ = fn.__module__
        op.__wrapped__ = fn
        op.keras_class_name = name
        return op

    return decorate


def _fast_dispatcher(fn, general, bound=None, tensors=None, dtypes=None, guard=None):
    """A function with `fn`'s parameters whose body is one class check per argument, then
    `fn` (all eager) or `general` (maybe symbolic). None for `*args`/`**kwargs` signatures."""
    params = list(inspect.signature(fn).parameters.values())
    kinds = {p.kind for p in params}
    if not params or kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
        return None
    if bound is not None and inspect.Parameter.KEYWORD_ONLY in kinds:
        raise TypeError(f"`{fn.__name__}`: `bound` gets positional arguments only, so the "
                        "op may not have keyword-only parameters.")
    header, call, keyword_only = [], [], False
    for p in params:
        if p.kind is inspect.Parameter.KEYWORD_ONLY and not keyword_only:
            header.append("*")
            keyword_only = True
        default = "" if p.default is inspect.Parameter.empty else f"=_defaults_[{p.name!r}]"
        header.append(p.name + default)
        call.append(f"{p.name}={p.name}" if keyword_only else p.name)
    if kinds & {inspect.Parameter.POSITIONAL_ONLY}:
        header.insert(sum(p.kind is inspect.Parameter.POSITIONAL_ONLY for p in params), "/")
    checks = " and ".join(
        f"({p.name}.__class__ in _eager_ or "
        f"({p.name}.__class__ in _sequences_ and _all_eager_({p.name})))"
        for p in params
    )
    args = ", ".join(call)
    source = f"def {fn.__name__}({', '.join(header)}):\n"
    if bound is not None:
        names = tensors or [p.name for p in params]
        positional = ", ".join(p.name for p in params)
        guards = [f"{n}.__class__ is _tensor_" for n in names]
        if dtypes is not None:
            guards += [f"{n}.dtype in _dtypes_" for n in names]
        condition = " and ".join(guards)
        if guard is not None:
            condition = f"({condition}) or _guard_({', '.join(names)})"
        source += (
            f"    if {condition}:\n"
            f"        try:\n"
            f"            return _bound_({positional})\n"
            f"        except Exception:\n"
            f"            pass\n"
        )
    source += (
        f"    if {checks}:\n"
        f"        return _fn_({args})\n"
        f"    return _general_({args})\n"
    )
    namespace = {
        "__name__": fn.__module__,  # the dispatcher belongs to its op's module (error names)
        "_fn_": fn, "_general_": general, "_eager_": EAGER_CLASSES,
        "_sequences_": _SEQUENCES, "_all_eager_": _all_eager,
        "_bound_": bound, "_tensor_": torch.Tensor, "_dtypes_": dtypes, "_guard_": guard,
        "_defaults_": {p.name: p.default for p in params},
    }
    exec(compile(source, f"<keras_op {fn.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace[fn.__name__]


__all__ = ["Operation", "FunctionOperation", "keras_op", "tree"]
