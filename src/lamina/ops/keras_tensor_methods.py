"""`KerasTensor`'s operators, installed by `lamina.ops`.

`x + y`, `x[0]` or `x.reshape(...)` on symbolic tensors record op nodes, exactly like
the matching `lamina.ops` call. They live here, not in `backend/symbolic.py`, so the
backend imports nothing above itself: `lamina.ops` calls `install` once its names exist.
"""

from lamina.backend.symbolic import KerasTensor

_BINARY = {"add": "add", "sub": "subtract", "mul": "multiply", "truediv": "true_divide",
           "floordiv": "floor_divide", "mod": "mod", "pow": "power", "matmul": "matmul"}
_OTHER = {"neg": "negative", "abs": "absolute", "invert": "logical_not", "lt": "less",
          "le": "less_equal", "gt": "greater", "ge": "greater_equal", "and": "logical_and",
          "or": "logical_or", "xor": "logical_xor", "getitem": "get_item"}


def _method(op):
    def method(self, *args):
        return op(self, *args)

    return method


def _reflected(op):
    def method(self, other):
        return op(other, self)

    return method


def install(ops):
    """Give `KerasTensor` its operators, each calling the op of that name in `ops`."""
    for dunder, name in {**_BINARY, **_OTHER}.items():
        setattr(KerasTensor, f"__{dunder}__", _method(getattr(ops, name)))
    for dunder, name in _BINARY.items():
        setattr(KerasTensor, f"__r{dunder}__", _reflected(getattr(ops, name)))
    KerasTensor.reshape = _method(ops.reshape)
