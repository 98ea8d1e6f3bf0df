"""Activation functions of `lamina.ops.nn`, with `softmax` and `log_softmax`.

>>> import lamina
>>> lamina.ops.relu([-1.0, 2.0]).tolist()
[0.0, 2.0]
"""

import torch
import torch.nn.functional as F

from lamina.ops.operands import (
    FLOAT_TENSOR,
    axis_error,
    check_axes,
    float_tensor,
    tensor,
)
from lamina.ops.operation import keras_op


@keras_op("Relu", module="nn", bound=torch.relu, guard="x.__class__ is Tensor")
def relu(x):
    """`max(x, 0)` element-wise (integers stay integers)."""
    if x.__class__ is not torch.Tensor:
        x = tensor(x)
    return torch.relu(x)


@keras_op("Relu6", module="nn")
def relu6(x):
    """`min(max(x, 0), 6)` element-wise (integers stay integers)."""
    x = _numeric(tensor(x), "relu6")
    return F.relu6(x) if x.is_floating_point() else torch.clamp(x, 0, 6)


def _numeric(x, name):
    if x.dtype == torch.bool:
        raise TypeError(f"`{name}` does not accept bool input (as in Keras); received dtype "
                        "bool. Cast it to a float or integer dtype first.")
    return x


@keras_op("Sigmoid", module="nn", bound=torch.sigmoid, guard=FLOAT_TENSOR)
def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return torch.sigmoid(float_tensor(x))


@keras_op("Softplus", module="nn", bound=F.softplus, guard=FLOAT_TENSOR)
def softplus(x):
    """`log(1 + exp(x))`, overflow-safe."""
    return F.softplus(float_tensor(x))


@keras_op("Softsign", module="nn", bound=F.softsign, guard=FLOAT_TENSOR)
def softsign(x):
    """`x / (1 + |x|)`."""
    return F.softsign(float_tensor(x))


@keras_op("Silu", module="nn", bound=F.silu, guard=FLOAT_TENSOR)
def silu(x):
    """`x * sigmoid(x)` (also called swish)."""
    return F.silu(float_tensor(x))


@keras_op("Silu", module="nn", bound=F.silu, guard=FLOAT_TENSOR)
def swish(x):
    """Same as `silu`."""
    return F.silu(float_tensor(x))


@keras_op("Selu", module="nn", bound=F.selu, guard=FLOAT_TENSOR)
def selu(x):
    """Scaled ELU with the self-normalizing constants."""
    return F.selu(float_tensor(x))


@keras_op("HardSigmoid", module="nn", bound=F.hardsigmoid, guard=FLOAT_TENSOR)
def hard_sigmoid(x):
    """`relu6(x + 3) / 6`, a cheap sigmoid."""
    return F.hardsigmoid(float_tensor(x))


@keras_op("HardSilu", module="nn", bound=F.hardswish, guard=FLOAT_TENSOR)
def hard_silu(x):
    """`x * hard_sigmoid(x)`."""
    return F.hardswish(float_tensor(x))


@keras_op("HardSilu", module="nn", bound=F.hardswish, guard=FLOAT_TENSOR)
def hard_swish(x):
    """Same as `hard_silu`."""
    return F.hardswish(float_tensor(x))


@keras_op("LogSigmoid", module="nn", bound=F.logsigmoid, guard=FLOAT_TENSOR)
def log_sigmoid(x):
    """`log(sigmoid(x))`, stable."""
    return F.logsigmoid(float_tensor(x))


@keras_op("TanhShrink", module="nn", bound=F.tanhshrink, guard=FLOAT_TENSOR)
def tanh_shrink(x):
    """`x - tanh(x)`."""
    return F.tanhshrink(float_tensor(x))


@keras_op("HardTanh", module="nn")
def hard_tanh(x):
    """`x` clipped to `[-1, 1]` (integers stay integers)."""
    x = _numeric(tensor(x), "hard_tanh")
    if x.is_floating_point():
        return F.hardtanh(x)
    # NOTE: -1 would wrap around for unsigned dtypes; their lower bound 0 is already met.
    return torch.clamp(x, None if x.dtype == torch.uint8 else -1, 1)


@keras_op("Gelu", module="nn", init_args=("approximate",))
def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate=True` uses the tanh formula."""
    return F.gelu(float_tensor(x), approximate="tanh" if approximate else "none")


@keras_op("Elu", module="nn", init_args=("alpha",), bound=F.elu, guard=FLOAT_TENSOR)
def elu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x) - 1)`."""
    return F.elu(float_tensor(x), alpha=alpha)


@keras_op("Celu", module="nn", init_args=("alpha",))
def celu(x, alpha=1.0):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(float_tensor(x), alpha=alpha)


@keras_op("LeakyRelu", module="nn", init_args=("negative_slope",), bound=F.leaky_relu,
          guard=FLOAT_TENSOR)
def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, else `negative_slope * x`."""
    return F.leaky_relu(float_tensor(x), negative_slope)


@keras_op("Glu", module="nn", init_args=("axis",))
def glu(x, axis=-1):
    """Gated linear unit: halves `a, b` of `axis` give `a * sigmoid(b)`."""
    x = float_tensor(x)
    if x.shape[check_axes(x, axis)] % 2:
        raise ValueError(
            f"`glu`: axis {axis} must have an even size; received shape {tuple(x.shape)}."
        )
    return F.glu(x, dim=axis)


@keras_op("HardShrink", module="nn", init_args=("threshold",))
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return F.hardshrink(float_tensor(x), lambd=threshold)


@keras_op("SoftShrink", module="nn", init_args=("threshold",))
def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` toward 0, and 0 inside `[-threshold, threshold]`."""
    return F.softshrink(float_tensor(x), lambd=threshold)


@keras_op("SparsePlus", module="nn")
def sparse_plus(x):
    """0 below -1, `x` above 1, and `(x + 1)**2 / 4` in between."""
    x = float_tensor(x)
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)).to(x.dtype)


@keras_op("SparseSigmoid", module="nn")
def sparse_sigmoid(x):
    """`(x + 1) / 2` clipped to `[0, 1]`."""
    return torch.clamp((float_tensor(x) + 1) / 2, 0, 1)


@keras_op("Squareplus", module="nn", init_args=("b",))
def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`, a smooth relu."""
    x = float_tensor(x)
    return (x + torch.sqrt(x * x + b)) / 2


@keras_op("Threshold", module="nn", init_args=("threshold", "default_value"))
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value` (integers stay integers)."""
    x = tensor(x)
    if x.dtype in _INTEGERS:
        # NOTE: as Keras, torch's kernel on the integers themselves (both numbers cast to the
        # dtype); where the dtype cannot hold them (-2 in uint8) Keras raises, and lamina
        # computes in floatx as for bool, which Keras rejects too.
        info = torch.iinfo(x.dtype)
        if info.min <= threshold <= info.max and info.min <= default_value <= info.max:
            return F.threshold(x, threshold, default_value)
    return F.threshold(float_tensor(x), threshold, default_value)


_INTEGERS = frozenset({torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64})


@keras_op("Sparsemax", module="nn", init_args=("axis",))
def sparsemax(x, axis=-1):
    """Euclidean projection onto the simplex along `axis`: a softmax with exact zeros."""
    x = float_tensor(x)
    z = torch.sort(x, dim=check_axes(x, axis), descending=True).values
    k = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device)
    k = k.reshape([-1 if d == axis % x.ndim else 1 for d in range(x.ndim)])
    cumulative = torch.cumsum(z, dim=axis)
    support = (1 + k * z) > cumulative
    k_z = torch.sum(support, dim=axis, keepdim=True).to(x.dtype)
    tau = (torch.sum(torch.where(support, z, 0.0), dim=axis, keepdim=True) - 1) / k_z
    return torch.clamp(x - tau, min=0)


def _explain_softmax(error, x, axis):
    if isinstance(error, IndexError):
        raise axis_error(axis, x) from None


@keras_op("Softmax", module="nn", init_args=("axis",), bound=torch.softmax,
          guard="x.__class__ is Tensor and x.dtype in FLOAT_DTYPES and axis.__class__ is int",
          explain=_explain_softmax)
def softmax(x, axis=-1):
    """Exponentials normalized to sum to 1 along `axis` (an int or a tuple)."""
    if x.__class__ is not torch.Tensor or not x.is_floating_point():
        x = float_tensor(x)
    if isinstance(axis, int):
        try:
            return torch.softmax(x, dim=axis)
        except IndexError:
            raise axis_error(axis, x) from None
    return torch.exp(x - torch.logsumexp(x, dim=tuple(check_axes(x, axis)), keepdim=True))


@keras_op("LogSoftmax", module="nn", init_args=("axis",))
def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably."""
    x = float_tensor(x)
    if isinstance(axis, int):
        try:
            return torch.log_softmax(x, dim=axis)
        except IndexError:
            raise axis_error(axis, x) from None
    return x - torch.logsumexp(x, dim=tuple(check_axes(x, axis)), keepdim=True)


__all__ = [
    "celu",
    "elu",
    "gelu",
    "glu",
    "hard_shrink",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "hard_tanh",
    "leaky_relu",
    "log_sigmoid",
    "log_softmax",
    "relu",
    "relu6",
    "selu",
    "sigmoid",
    "silu",
    "soft_shrink",
    "softmax",
    "softplus",
    "softsign",
    "sparse_plus",
    "sparse_sigmoid",
    "sparsemax",
    "squareplus",
    "swish",
    "tanh_shrink",
    "threshold",
]
