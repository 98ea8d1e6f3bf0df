"""Encodings of `lamina.ops.nn`: one-hot and multi-hot vectors, and `polar`.

>>> import lamina
>>> lamina.ops.one_hot([1], 3).tolist()
[[0.0, 1.0, 0.0]]
"""

import torch

from lamina.backend.dtypes import floatx_dtype, to_torch_dtype
from lamina.ops.operands import (
    float_tensor,
    promote_same_kept,
    tensor,
)
from lamina.ops.operation import keras_op


def _no_sparse(sparse, name):
    if sparse:
        raise ValueError(f"`{name}`: lamina has no sparse tensors; pass sparse=False.")


@keras_op("OneHot", module="nn", init_args=("num_classes", "axis", "dtype", "sparse"))
def one_hot(x, num_classes, axis=-1, dtype=None, sparse=False):
    """One-hot vectors of length `num_classes` along a new `axis`; indices outside
    `[0, num_classes)` give all-zero vectors, float indices are truncated toward zero."""
    _no_sparse(sparse, "one_hot")
    x = tensor(x)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise ValueError(f"`one_hot`: `axis`={axis} is out of bounds for the rank-{x.ndim + 1} "
                         f"output (input shape {tuple(x.shape)}); valid axes are "
                         f"{-x.ndim - 1} to {x.ndim}.")
    if x.is_floating_point():
        x = x.long()  # float indices truncate toward zero, as in Keras
    classes = torch.arange(num_classes, device=x.device)
    dtype = floatx_dtype() if dtype is None else to_torch_dtype(dtype)
    out = (x.unsqueeze(-1) == classes).to(dtype)
    return out if axis == -1 else torch.movedim(out, -1, axis)


@keras_op("MultiHot", module="nn", init_args=("num_classes", "axis", "dtype", "sparse"))
def multi_hot(inputs, num_classes=None, axis=-1, dtype=None, sparse=False, **kwargs):
    """Multi-hot encoding: 1 for every class listed in each row of `inputs`."""
    _no_sparse(sparse, "multi_hot")
    if num_classes is None:
        num_classes = kwargs.pop("num_tokens", None)
    if num_classes is None:
        raise ValueError("`multi_hot`: `num_classes` is required.")
    x = tensor(inputs)
    encoded = one_hot.__wrapped__(x, num_classes, axis=axis, dtype=dtype)
    return torch.amax(encoded, dim=1 if x.ndim > 1 else 0)


@keras_op("Polar", module="nn")
def polar(abs_, angle):
    """Complex numbers `abs_ * exp(i * angle)`."""
    abs_, angle = promote_same_kept(float_tensor(abs_), float_tensor(angle))
    return torch.polar(abs_, angle)


__all__ = [
    "multi_hot",
    "one_hot",
    "polar",
]
