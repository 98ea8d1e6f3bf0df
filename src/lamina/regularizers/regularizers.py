"""Weight penalties: `regularizer(weight)` returns a scalar tensor added to the loss."""

import math

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.convert import accepting_arrays


def _non_negative_float(value, name):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or math.isnan(value)
        or math.isinf(value)
        or value < 0
    ):
        raise ValueError(
            f"Invalid value for argument {name}: expected a non-negative float. "
            f"Received: {name}={value!r}"
        )
    return float(value)


def _float32(value):
    # NOTE: Keras keeps `l1` and `factor` as float32 tensors, so its configs hold the
    # float32-rounded value (0.01 -> 0.009999999776482582); rounding here keeps configs
    # and penalties identical.
    return float(np.float32(value))


class Regularizer:
    """Base class: subclasses implement `__call__(x)` (a scalar tensor) and `get_config`.

    >>> import torch, lamina
    >>> class Sum(lamina.regularizers.Regularizer):
    ...     def __call__(self, x):
    ...         return x.sum()
    >>> Sum()(torch.ones(3)).item()
    3.0
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__call__" in cls.__dict__:
            cls.__call__ = accepting_arrays(cls.__dict__["__call__"])

    @accepting_arrays
    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


class L1(Regularizer):
    """`l1 * sum(abs(x))`.

    >>> import torch, lamina
    >>> lamina.regularizers.L1(0.5)(torch.tensor([1.0, -2.0])).item()
    1.5
    """

    def __init__(self, l1=0.01):
        l1 = 0.01 if l1 is None else l1
        self.l1 = _float32(_non_negative_float(l1, "l1"))

    def __call__(self, x):
        return self.l1 * torch.sum(torch.abs(x))

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """`l2 * sum(square(x))`.

    >>> import torch, lamina
    >>> lamina.regularizers.L2(0.5)(torch.tensor([1.0, -2.0])).item()
    2.5
    """

    def __init__(self, l2=0.01):
        l2 = 0.01 if l2 is None else l2
        self.l2 = _non_negative_float(l2, "l2")

    def __call__(self, x):
        return self.l2 * torch.sum(torch.square(x))

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """`l1 * sum(abs(x)) + l2 * sum(square(x))`; a zero factor skips its term."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = _non_negative_float(0.0 if l1 is None else l1, "l1")
        self.l2 = _non_negative_float(0.0 if l2 is None else l2, "l2")

    def __call__(self, x):
        penalty = torch.zeros((), dtype=x.dtype, device=x.device)
        if self.l1:
            penalty = penalty + self.l1 * torch.sum(torch.abs(x))
        if self.l2:
            penalty = penalty + self.l2 * torch.sum(torch.square(x))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class OrthogonalRegularizer(Regularizer):
    """Pushes the rows (or columns) of a 2D weight towards orthogonality: `factor` times
    the mean absolute cosine similarity between distinct rows (`mode="rows"`) or
    columns (`mode="columns"`).

    >>> import torch, lamina
    >>> reg = lamina.regularizers.OrthogonalRegularizer(factor=1.0)
    >>> reg(torch.eye(3)).item()
    0.0
    """

    def __init__(self, factor=0.01, mode="rows"):
        self.factor = _float32(_non_negative_float(factor, "factor"))
        if mode not in ("rows", "columns"):
            raise ValueError(
                'Invalid value for argument `mode`. Expected one of {"rows", "columns"}. '
                f"Received: mode={mode!r}"
            )
        self.mode = mode

    def __call__(self, inputs):
        if inputs.ndim != 2:
            raise ValueError(
                "Inputs to OrthogonalRegularizer must have rank 2. "
                f"Received: inputs.shape={tuple(inputs.shape)}"
            )
        if self.mode == "rows":
            vectors = _l2_normalize(inputs, dim=1)
            similarity = vectors @ vectors.T
        else:
            vectors = _l2_normalize(inputs, dim=0)
            similarity = vectors.T @ vectors
        size = similarity.shape[0]
        off_diagonal = similarity * (1.0 - torch.eye(size, dtype=inputs.dtype,
                                                     device=inputs.device))
        num_pairs = size * (size - 1) / 2.0
        return self.factor * 0.5 * torch.sum(torch.abs(off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": self.factor, "mode": self.mode}


def _l2_normalize(x, dim):
    squares = torch.sum(torch.square(x), dim=dim, keepdim=True)
    return x * torch.rsqrt(torch.clamp(squares, min=config.epsilon()))

