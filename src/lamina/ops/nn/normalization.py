"""Normalization ops of `lamina.ops.nn`: moments, batch, layer and RMS normalization.

>>> import lamina
>>> [m.tolist() for m in lamina.ops.moments([1.0, 3.0], axes=0)]
[2.0, 1.0]
"""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops.operands import (
    axis_error,
    check_axes,
    float_tensor,
)
from lamina.ops.operation import keras_op


@keras_op("Moments", module="nn", init_args=("axes", "keepdims", "synchronized"))
def moments(x, axes, keepdims=False, synchronized=False):
    """Mean and (population) variance over `axes`; float16 computes in float32."""
    x = float_tensor(x)
    dims = (axes,) if isinstance(axes, int) else tuple(axes)
    low_precision = x.dtype in (torch.float16, torch.bfloat16)
    compute = x.float() if low_precision else x
    try:
        variance, mean = torch.var_mean(compute, dim=dims, correction=0, keepdim=keepdims)
    except IndexError:
        raise axis_error(axes, x) from None
    if low_precision:
        return mean.to(x.dtype), variance.to(x.dtype)
    return mean, variance


@keras_op("Normalize", module="nn", init_args=("axis", "order", "epsilon"))
def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`)."""
    x = float_tensor(x)
    eps = config.epsilon() if epsilon is None else epsilon
    return F.normalize(x, p=order, dim=check_axes(x, axis), eps=eps)


def _broadcast_along(v, x, axis):
    if v is None:
        return None
    v = float_tensor(v).to(x.dtype)
    if v.ndim == 1 and x.ndim > 1:
        shape = [1] * x.ndim
        shape[axis] = -1
        v = v.reshape(shape)
    return v


def _axes(x, axis):
    axes = [axis] if isinstance(axis, int) else list(axis)
    if any(not -x.ndim <= a < x.ndim for a in axes):
        raise axis_error(axis, x)
    return axes


@keras_op("BatchNorm", module="nn", init_args=("axis", "epsilon"))
def batch_normalization(x, mean, variance, axis, offset=None, scale=None, epsilon=1e-3):
    """`(x - mean) / sqrt(variance + epsilon) * scale + offset`; 1-D statistics lie along
    `axis`."""
    x = float_tensor(x)
    if not -x.ndim <= axis < x.ndim:
        raise axis_error(axis, x)
    mean, variance = _broadcast_along(mean, x, axis), _broadcast_along(variance, x, axis)
    inv = torch.rsqrt(variance + epsilon)
    scale = _broadcast_along(scale, x, axis)
    if scale is not None:
        inv = inv * scale
    out = (x - mean) * inv
    offset = _broadcast_along(offset, x, axis)
    return out if offset is None else out + offset


@keras_op("LayerNorm", module="nn", init_args=("axis", "epsilon", "rms_scaling"))
def layer_normalization(x, gamma=None, beta=None, axis=-1, epsilon=None, **kwargs):
    """Normalize over `axis` (int or list) to zero mean and unit variance, then scale by
    `gamma` and shift by `beta`."""
    x = float_tensor(x)
    epsilon = config.epsilon() if epsilon is None else epsilon
    axes = _axes(x, axis)
    compute = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    mean = compute.mean(dim=axes, keepdim=True)
    var = compute.var(dim=axes, keepdim=True, unbiased=False)
    out = ((compute - mean) * torch.rsqrt(var + epsilon)).to(x.dtype)
    if gamma is not None:
        out = out * float_tensor(gamma).to(x.dtype)
    if beta is not None:
        out = out + float_tensor(beta).to(x.dtype)
    return out


@keras_op("RMSNorm", module="nn", init_args=("axis", "epsilon"))
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """`x / sqrt(mean(x**2, axis) + epsilon) * scale`."""
    x = float_tensor(x)
    epsilon = config.epsilon() if epsilon is None else epsilon
    axes = _axes(x, axis)
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + epsilon)
    return out if scale is None else out * float_tensor(scale).to(x.dtype)


__all__ = [
    "batch_normalization",
    "layer_normalization",
    "moments",
    "normalize",
    "rms_normalization",
]
