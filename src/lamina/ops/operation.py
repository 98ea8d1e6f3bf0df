"""`Operation`: anything that can be called on tensors and recorded in a graph; `keras_op`,
the one way to define an op function.

Reading a `<keras_op NAME>` frame in a traceback
------------------------------------------------
`keras_op` compiles, for each op, a dispatcher with the op's own signature (see
`_fast_dispatcher`): a few class checks per argument pick the eager function, the
symbolic path, or (for ops declaring `bound=`) a torch function called directly. Its
frame reads `File "<keras_op add>", line N, in add`. The frame below it is where the work
happened: the op's own body (an eager error, raised once, in the op's own words), the
graph recorder (a symbolic call), or `bound` itself. To see the dispatcher's code, print
the op's `__keras_source__` (line N of that text is line N of the frame; tracebacks
show it too, as `linecache` holds it):

>>> import lamina
>>> print(lamina.ops.relu.__keras_source__.splitlines()[1])
    if x.__class__ is Tensor:

A `bound` path runs only when its `guard` holds, and the guard admits only inputs the
torch function computes exactly as the op would. Where checking that an input is also
valid would cost more than the call (shapes that broadcast, an axis in range), the op
names an `explain` function instead: if `bound` raises, `explain` raises the op's own
error for those arguments (a frame below the dispatcher's `except` line), or lets the
torch error through. The op's body never runs after `bound`: nothing runs twice.
"""

import inspect
import linecache
import math
import sys
import types

import torch

from lamina import tree
from lamina.backend import config
from lamina.backend.symbolic import EAGER_CLASSES, any_symbolic, compute_output_spec
from lamina.ops.node import Node

# Keras' namespaces of op classes: an op declares one by its short name.
KERAS_OP_MODULES = {
    name: f"keras.src.ops.{name}" for name in ("core", "image", "linalg", "math", "nn", "numpy")
}


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
    """One symbolic call of an op function (e.g. `lamina.ops.add`), recorded as a graph node.

    `class_name`, `keras_module` and `init_args` are the op's Keras identity: a saved graph
    names `keras_module.class_name`, built from the call's `init_args` values.
    """

    def __init__(self, fn, class_name, keras_module=KERAS_OP_MODULES["numpy"], init_args=()):
        super().__init__(name=fn.__name__)
        self.fn = fn
        self.class_name = class_name
        self.keras_module = keras_module
        self.init_args = init_args

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


# Tensor dtypes next to which a Python number takes the tensor's dtype, under torch's
# scalar promotion as under Keras' weak typing. Not float64: the ops that keep float64
# (`where`, `clip`) first make the number a float32 tensor, so its rounding differs.
NUMBER_TAKES_DTYPE = frozenset({torch.float16, torch.bfloat16, torch.float32})
# Tensor dtypes that a Python float turns into float32 (`floatx()`) in torch and Keras alike.
_INTEGER_DTYPES = frozenset(
    {torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64})
_PY_NUMBERS = frozenset({bool, int, float})
_INT64_END = 2**63
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def weak_operands(x1, x2):
    """True where torch computes `x1` with `x2` in Keras' result dtype, casting a Python
    number as the ops cast it: two plain tensors of one float16/bfloat16/float32 dtype; such
    a tensor and a Python number (either order); an integer or bool tensor and a Python
    float while `floatx()` is float32.

    Numbers torch refuses where the ops take them are not admitted: an int beyond int64, a
    finite float beyond float32's range (the ops round it to inf). Nor are integer tensors
    with Python ints: torch wraps an int that overflows the dtype in some ops, where the
    ops raise."""
    c1, c2 = x1.__class__, x2.__class__
    if c1 is torch.Tensor:
        if c2 is torch.Tensor:
            return x1.dtype is x2.dtype and x1.dtype in NUMBER_TAKES_DTYPE
        dtype, number, kind = x1.dtype, x2, c2
    elif c2 is torch.Tensor:
        dtype, number, kind = x2.dtype, x1, c1
    else:
        return False
    if kind is float:
        if not (-_FLOAT32_MAX <= number <= _FLOAT32_MAX or not math.isfinite(number)):
            return False
        return dtype in NUMBER_TAKES_DTYPE or (
            dtype in _INTEGER_DTYPES and config.floatx() == "float32")
    return dtype in NUMBER_TAKES_DTYPE and (
        kind is bool or (kind is int and -_INT64_END <= number < _INT64_END))


def weak_bounds(x, low, high):
    """True for a plain tensor and two Python-number bounds that `torch.clamp` takes as the
    ops take them: `weak_operands` each, within float16's range (clamp refuses a bound its
    dtype cannot hold, where the ops saturate to inf; NaN is refused too)."""
    # NOTE: `weak_operands` spelled out for two numbers (0.3 us less on relu's cap).
    if x.__class__ is not torch.Tensor or low.__class__ not in _PY_NUMBERS or (
            high.__class__ not in _PY_NUMBERS):
        return False
    if not (-65504 <= low <= 65504 and -65504 <= high <= 65504):
        return False
    return x.dtype in NUMBER_TAKES_DTYPE or (
        low.__class__ is float and high.__class__ is float and x.dtype in _INTEGER_DTYPES
        and config.floatx() == "float32")


def keras_op(class_name, *, module, init_args=(), bound=None, guard=None, explain=None):
    """Define an op function: eager on tensors, a recorded graph node on `KerasTensor`s.

    Args:
        class_name: Keras' class for the op (`"Conv"`), as a saved graph names it.
        module: Keras' namespace of that class: `"core"`, `"nn"`, `"numpy"`, `"math"`,
            `"linalg"` or `"image"` (or the full `"keras.src.ops.nn"`).
        init_args: the parameters Keras' class takes in its constructor (the rest are
            its `call` arguments); a saved graph writes their values into the op's config.
        bound: a torch callable given the op's arguments positionally; it runs instead of
            the op whenever `guard` holds, so it must return exactly what the op returns.
        guard: a Python expression over the op's parameter names (and `torch`, `Tensor`,
            `FLOAT_DTYPES`, `same_dtype_tensors`, `tensor_and_weak_float`,
            `weak_operands`, `weak_bounds`) that admits
            only inputs `bound` computes exactly as the op would.
        explain: called as `explain(error, *args)` when `bound` raised on guarded
            arguments: raises the op's own error for them, or returns and the torch error
            propagates. It reports; it never computes (see the module docstring).

    The returned function has the op's own signature: its eager path checks each
    argument's class against `EAGER_CLASSES` and calls the op, without packing `*args`.

    >>> @keras_op("Twice", module="numpy")
    ... def twice(x):
    ...     return x * 2
    >>> twice(torch.ones(2)).tolist(), twice.keras_module
    ([2.0, 2.0], 'keras.src.ops.numpy')
    """
    keras_module = KERAS_OP_MODULES.get(module, module)
    if keras_module not in KERAS_OP_MODULES.values():
        raise ValueError(f"`keras_op`: unknown Keras op module {module!r}; expected one of "
                         f"{sorted(KERAS_OP_MODULES)}.")
    if (bound is None) != (guard is None) or (explain is not None and bound is None):
        raise TypeError("`keras_op`: `bound` and `guard` go together: the guard says when "
                        "the bound function may run instead of the op (and `explain` "
                        "reports its errors).")
    init_args = tuple(init_args)

    def decorate(fn):
        parameters = inspect.signature(fn).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
        unknown = [a for a in init_args if a not in parameters and not takes_kwargs]
        if unknown:
            raise TypeError(f"`{fn.__name__}`: init_args {unknown} are not parameters of "
                            "the op.")

        def general(*args, **kwargs):
            if any_symbolic(args, kwargs):
                operation = FunctionOperation(fn, class_name, keras_module, init_args)
                return operation.symbolic_call(*args, **kwargs)
            return fn(*args, **kwargs)

        op, source = _fast_dispatcher(fn, general, bound, guard, explain)
        op = op or general
        op.__name__ = fn.__name__
        op.__qualname__ = fn.__qualname__
        op.__doc__ = fn.__doc__
        op.__module__ = fn.__module__
        op.__wrapped__ = fn
        op.__keras_source__ = source
        op.keras_class_name = class_name
        op.keras_module = keras_module
        op.keras_init_args = init_args
        return op

    return decorate


def _fast_dispatcher(fn, general, bound, guard, explain):
    """A function with `fn`'s parameters whose body is one class check per argument, then
    `fn` (all eager) or `general` (maybe symbolic), and its source; `(None, None)` for
    `*args`/`**kwargs` signatures."""
    params = list(inspect.signature(fn).parameters.values())
    kinds = {p.kind for p in params}
    if not params or kinds & {inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD}:
        if bound is not None:
            raise TypeError(f"`{fn.__name__}`: `bound` needs a signature without *args or "
                            "**kwargs.")
        return None, None
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
    positional = ", ".join(p.name for p in params)
    if bound is not None and explain is None:
        source += f"    if {guard}:\n        return _bound_({positional})\n"
    elif bound is not None:
        source += (
            f"    if {guard}:\n"
            f"        try:\n"
            f"            return _bound_({positional})\n"
            f"        except Exception as error:\n"
            f"            _explain_(error, {positional})\n"
            f"            raise\n"
        )
    source += (
        f"    if {checks}:\n"
        f"        return _fn_({args})\n"
        f"    return _general_({args})\n"
    )
    namespace = {
        "__name__": f"{fn.__module__}.<dispatch {fn.__name__}>",
        "_fn_": fn, "_general_": general, "_eager_": EAGER_CLASSES,
        "_sequences_": _SEQUENCES, "_all_eager_": _all_eager, "_bound_": bound,
        "_explain_": explain, "same_dtype_tensors": same_dtype_tensors,
        "tensor_and_weak_float": tensor_and_weak_float, "weak_operands": weak_operands,
        "weak_bounds": weak_bounds,         "torch": torch,
        "_defaults_": {p.name: p.default for p in params},
        "Tensor": torch.Tensor, "FLOAT_DTYPES": FLOAT_DTYPES,
    }
    filename = f"<keras_op {fn.__name__}>"
    module = types.ModuleType(namespace["__name__"])
    module.__dict__.update(namespace)
    namespace = module.__dict__
    sys.modules[module.__name__] = module  # Dynamo finds a function's globals by name
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    namespace[fn.__name__].__module__ = fn.__module__  # it belongs to its op's module
    # Tracebacks and debuggers show the dispatcher's lines, as for a file.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return namespace[fn.__name__], source


__all__ = ["Operation", "FunctionOperation", "keras_op", "tree"]
