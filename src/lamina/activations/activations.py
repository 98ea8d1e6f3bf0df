"""Keras' activation functions on torch tensors.

Each binds to the matching `torch` / `torch.nn.functional` kernel where the numerics
agree with Keras; the rest are short closed forms. Non-tensor inputs (numpy arrays,
lists) are converted first, and `KerasTensor`s record a graph node.
"""

import functools

import torch
import torch.nn.functional as F

from lamina.backend.convert import convert_to_tensor
from lamina.backend.symbolic import KerasTensor


def _activation(fn):
    """Accept any array-like for `x`; tensors take the direct path (one isinstance)."""

    @functools.wraps(fn)
    def activation(x, *args, **kwargs):
        if isinstance(x, torch.Tensor):
            return fn(x, *args, **kwargs)
        if isinstance(x, KerasTensor):
            from lamina.ops.operation import FunctionOperation

            class_name = "".join(part.capitalize() for part in fn.__name__.split("_"))
            op = FunctionOperation(fn, class_name, (x, *args), kwargs)
            return op.symbolic_call(x, *args, **kwargs)
        return fn(convert_to_tensor(x), *args, **kwargs)

    return activation


@_activation
def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: `x` above `threshold`, `negative_slope * (x - threshold)`
    below it, capped at `max_value` when given.

    >>> import torch, lamina
    >>> lamina.activations.relu(torch.tensor([-1.0, 0.5, 9.0]), max_value=6.0).tolist()
    [0.0, 0.5, 6.0]
    """
    if threshold == 0.0:
        if negative_slope == 0.0:
            return torch.relu(x) if max_value is None else torch.clamp(x, 0.0, max_value)
        out = F.leaky_relu(x, negative_slope)
    else:
        out = torch.where(x > threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else torch.clamp(out, max=max_value)


@_activation
def relu6(x):
    """`min(max(x, 0), 6)`."""
    return F.relu6(x)


@_activation
def leaky_relu(x, negative_slope=0.2):
    """`x` for positive `x`, `negative_slope * x` otherwise."""
    return F.leaky_relu(x, negative_slope)


@_activation
def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for positive `x`, `alpha * (exp(x) - 1)` otherwise."""
    return F.elu(x, alpha)


@_activation
def selu(x):
    """Scaled ELU with the self-normalizing constants of Klambauer et al. (2017)."""
    return F.selu(x)


@_activation
def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(x, alpha)


@_activation
def softplus(x):
    """`log(exp(x) + 1)`."""
    return F.softplus(x)


@_activation
def softsign(x):
    """`x / (abs(x) + 1)`."""
    return F.softsign(x)


@_activation
def soft_shrink(x, threshold=0.5):
    """Shrink `x` towards zero by `threshold`; zero inside `[-threshold, threshold]`."""
    return F.softshrink(x, threshold)


@_activation
def hard_shrink(x, threshold=0.5):
    """`x` where `abs(x) > threshold`, else 0."""
    return F.hardshrink(x, threshold)


@_activation
def tanh_shrink(x):
    """`x - tanh(x)`."""
    return F.tanhshrink(x)


@_activation
def silu(x):
    """Sigmoid linear unit (swish): `x * sigmoid(x)`."""
    return F.silu(x)


swish = silu


@_activation
def gelu(x, approximate=False):
    """Gaussian error linear unit; `approximate=True` uses the tanh approximation."""
    return F.gelu(x, approximate="tanh" if approximate else "none")


@_activation
def glu(x, axis=-1):
    """Gated linear unit: split `x` in two halves `a, b` along `axis`, return
    `a * sigmoid(b)`."""
    if x.shape[axis] % 2:
        raise ValueError(
            f"glu: axis {axis} of `x` must have an even size to split in halves. "
            f"Received: x.shape={tuple(x.shape)}"
        )
    return F.glu(x, dim=axis)


@_activation
def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return torch.sigmoid(x)


@_activation
def hard_sigmoid(x):
    """Piecewise linear sigmoid: `relu6(x + 3) / 6`."""
    return F.hardsigmoid(x)


@_activation
def hard_silu(x):
    """Hard swish: `x * relu6(x + 3) / 6`."""
    return F.hardswish(x)


hard_swish = hard_silu


@_activation
def hard_tanh(x):
    """`x` clipped to `[-1, 1]`."""
    return F.hardtanh(x)


@_activation
def linear(x):
    """The identity: returns `x` unchanged."""
    return x


@_activation
def exponential(x):
    """`exp(x)`."""
    return torch.exp(x)


@_activation
def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably."""
    return F.logsigmoid(x)


@_activation
def tanh(x):
    """Hyperbolic tangent."""
    return torch.tanh(x)


@_activation
def mish(x):
    """`x * tanh(softplus(x))`."""
    return F.mish(x)


@_activation
def squareplus(x, b=4):
    """Smooth ReLU-like `(x + sqrt(x**2 + b)) / 2`."""
    return (x + torch.sqrt(x * x + b)) / 2


@_activation
def sparse_plus(x):
    """0 below -1, `x` above 1, `(x + 1)**2 / 4` in between."""
    middle = (x + 1) ** 2 / 4
    return torch.where(x <= -1, torch.zeros_like(x), torch.where(x >= 1, x, middle))


@_activation
def sparse_sigmoid(x):
    """0 below -1, 1 above 1, `(x + 1) / 2` in between."""
    return torch.clamp((x + 1) / 2, 0.0, 1.0)


@_activation
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return F.threshold(x, threshold, default_value)


@_activation
def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis` (an int or a tuple of ints).

    >>> import torch, lamina
    >>> lamina.activations.softmax(torch.zeros(1, 4)).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    if isinstance(axis, int):
        return torch.softmax(x, dim=axis)
    return torch.exp(x - torch.logsumexp(x, dim=tuple(axis), keepdim=True))


@_activation
def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably."""
    if isinstance(axis, int):
        return torch.log_softmax(x, dim=axis)
    return x - torch.logsumexp(x, dim=tuple(axis), keepdim=True)


@_activation
def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`
    (Martins & Astudillo, 2016): like softmax, but with exact zeros."""
    z = x.movedim(axis, -1)
    z_sorted = torch.sort(z, dim=-1, descending=True).values
    cumulative = z_sorted.cumsum(-1)
    k = torch.arange(1, z.shape[-1] + 1, dtype=z.dtype, device=z.device)
    support = (1 + k * z_sorted) > cumulative
    support_size = support.sum(-1, keepdim=True)
    tau = (cumulative.gather(-1, support_size - 1) - 1) / support_size.to(z.dtype)
    return torch.clamp(z - tau, min=0.0).movedim(-1, axis)
