"""`Operation`: anything that can be called on tensors and recorded in a graph."""

from lamina import tree
from lamina.backend.symbolic import KerasTensor, any_symbolic, compute_output_spec
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


def keras_op(class_name=None):
    """Decorate an op function so that `KerasTensor` inputs record a graph node.

    The eager path costs one scan of the arguments for symbolic values.
    """

    def decorate(fn):
        name = class_name or "".join(p.capitalize() for p in fn.__name__.split("_"))

        def op(*args, **kwargs):
            for a in args:
                if isinstance(a, KerasTensor) or (
                    isinstance(a, (list, tuple)) and a and any_symbolic(a)
                ):
                    return FunctionOperation(fn, name, args, kwargs).symbolic_call(*args, **kwargs)
            if kwargs and any_symbolic((), kwargs):
                return FunctionOperation(fn, name, args, kwargs).symbolic_call(*args, **kwargs)
            return fn(*args, **kwargs)

        op.__name__ = fn.__name__
        op.__qualname__ = fn.__qualname__
        op.__doc__ = fn.__doc__
        op.__module__ = fn.__module__
        op.__wrapped__ = fn
        op.keras_class_name = name
        return op

    return decorate


__all__ = ["Operation", "FunctionOperation", "keras_op", "tree"]
