"""`lamina.ops.math`: special functions and reductions beyond numpy's core.

>>> import lamina
>>> round(float(lamina.ops.logsumexp([0.0, 0.0])), 4)
0.6931
"""

import torch

from lamina.ops._helpers import axis_error, float_tensor, tensor
from lamina.ops.operation import keras_op


@keras_op("Erf")
def erf(x):
    """Element-wise Gauss error function."""
    return torch.erf(float_tensor(x))


@keras_op("Rsqrt")
def rsqrt(x):
    """Element-wise `1 / sqrt(x)`."""
    return torch.rsqrt(float_tensor(x))


@keras_op("Logsumexp")
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed without overflow."""
    x = float_tensor(x)
    if axis is None:
        axis = tuple(range(x.ndim))
    try:
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("TopK")
def top_k(x, k, sorted=True):  # noqa: A002 (Keras' name)
    """The `k` largest values along the last axis and their indices."""
    x = tensor(x)
    if x.dtype == torch.bool:
        x = x.to(torch.uint8)
    return torch.topk(x, k, dim=-1, sorted=sorted)


__all__ = ["erf", "logsumexp", "rsqrt", "top_k"]
