"""Weight constraints: `constraint(weight)` returns the projected weight (applied after
each optimizer update)."""

import torch

from lamina.backend import config
from lamina.backend.convert import accepting_arrays


def _norms(w, axis):
    dims = tuple(axis) if isinstance(axis, (list, tuple)) else axis
    return torch.sqrt(torch.sum(torch.square(w), dim=dims, keepdim=True))


class Constraint:
    """Base class: subclasses implement `__call__(w)` returning the constrained weight.

    >>> import torch, lamina
    >>> class Clip(lamina.constraints.Constraint):
    ...     def __call__(self, w):
    ...         return w.clamp(-1, 1)
    >>> Clip()(torch.tensor([3.0])).tolist()
    [1.0]
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__call__" in cls.__dict__:
            cls.__call__ = accepting_arrays(cls.__dict__["__call__"])

    @accepting_arrays
    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale slices whose L2 norm along `axis` exceeds `max_value` down to it.

    `axis=0` constrains each column of a Dense kernel `(in, out)`; for a conv kernel
    `(h, w, in, out)` use `axis=[0, 1, 2]`.

    >>> import torch, lamina
    >>> lamina.constraints.MaxNorm(1.0)(torch.tensor([[3.0], [4.0]])).flatten().tolist()
    [0.6000000238418579, 0.800000011920929]
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value = max_value
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = torch.clamp(norms, 0, self.max_value)
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class MinMaxNorm(Constraint):
    """Move slice norms along `axis` into `[min_value, max_value]`; `rate` < 1 moves
    them only part of the way each time."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value = min_value
        self.max_value = max_value
        self.rate = rate
        self.axis = axis

    def __call__(self, w):
        norms = _norms(w, self.axis)
        desired = (
            self.rate * torch.clamp(norms, self.min_value, self.max_value)
            + (1 - self.rate) * norms
        )
        return w * (desired / (config.epsilon() + norms))

    def get_config(self):
        return {
            "min_value": self.min_value,
            "max_value": self.max_value,
            "rate": self.rate,
            "axis": self.axis,
        }


class NonNeg(Constraint):
    """Zero the negative entries.

    >>> import torch, lamina
    >>> lamina.constraints.NonNeg()(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]
    True
    """

    def __call__(self, w):
        return w * (w >= 0).to(w.dtype)


class UnitNorm(Constraint):
    """Scale slices along `axis` to unit L2 norm."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (config.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}
