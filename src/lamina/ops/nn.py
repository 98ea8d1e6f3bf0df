"""`lamina.ops.nn`: activations, softmax, encodings, normalization statistics, losses and
attention, as in `keras.ops.nn`.

Activations of integer input compute in `floatx()` (Keras' torch backend would raise).

>>> import lamina
>>> lamina.ops.relu([-1.0, 2.0]).tolist()
[0.0, 2.0]
"""

import math

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.ops._helpers import (
    axis_error,
    float_tensor,
    float_unary_op,
    floatx_dtype,
    promote,
    promote_same_kept,
    tensor,
)
from lamina.ops.conv import *  # noqa: F403  (Keras keeps them in one namespace)
from lamina.ops.conv import __all__ as _conv_names
from lamina.ops.nn_extra import *  # noqa: F403
from lamina.ops.nn_extra import __all__ as _nn_extra_names
from lamina.ops.operation import keras_op

# --- activations ----------------------------------------------------------------------


@keras_op("Relu", bound=torch.relu)
def relu(x):
    """`max(x, 0)` element-wise (integers stay integers)."""
    if x.__class__ is not torch.Tensor:
        x = tensor(x)
    return torch.relu(x)


@keras_op("Relu6")
def relu6(x):
    """`min(max(x, 0), 6)` element-wise (integers stay integers)."""
    x = _numeric(tensor(x), "relu6")
    return F.relu6(x) if x.is_floating_point() else torch.clamp(x, 0, 6)


def _numeric(x, name):
    if x.dtype == torch.bool:
        raise TypeError(f"`{name}` does not accept bool input (as in Keras); received dtype "
                        "bool. Cast it to a float or integer dtype first.")
    return x


def _check_axis(x, axis):
    for a in (axis,) if isinstance(axis, int) else axis:
        if not -x.ndim <= a < x.ndim:
            raise axis_error(axis, x)
    return axis


_activation = float_unary_op


sigmoid = _activation(torch.sigmoid, "sigmoid", "Sigmoid", "`1 / (1 + exp(-x))`.")
softplus = _activation(F.softplus, "softplus", "Softplus", "`log(1 + exp(x))`, overflow-safe.")
softsign = _activation(F.softsign, "softsign", "Softsign", "`x / (1 + |x|)`.")
silu = _activation(F.silu, "silu", "Silu", "`x * sigmoid(x)` (also called swish).")
swish = _activation(F.silu, "swish", "Silu", "Same as `silu`.")
selu = _activation(F.selu, "selu", "Selu", "Scaled ELU with the self-normalizing constants.")
hard_sigmoid = _activation(
    F.hardsigmoid, "hard_sigmoid", "HardSigmoid", "`relu6(x + 3) / 6`, a cheap sigmoid."
)
hard_silu = _activation(F.hardswish, "hard_silu", "HardSilu", "`x * hard_sigmoid(x)`.")
hard_swish = _activation(F.hardswish, "hard_swish", "HardSilu", "Same as `hard_silu`.")
log_sigmoid = _activation(F.logsigmoid, "log_sigmoid", "LogSigmoid", "`log(sigmoid(x))`, stable.")
tanh_shrink = _activation(F.tanhshrink, "tanh_shrink", "TanhShrink", "`x - tanh(x)`.")


@keras_op("HardTanh")
def hard_tanh(x):
    """`x` clipped to `[-1, 1]` (integers stay integers)."""
    x = _numeric(tensor(x), "hard_tanh")
    if x.is_floating_point():
        return F.hardtanh(x)
    # NOTE: -1 would wrap around for unsigned dtypes; their lower bound 0 is already met.
    return torch.clamp(x, None if x.dtype == torch.uint8 else -1, 1)


@keras_op("Gelu")
def gelu(x, approximate=True):
    """Gaussian error linear unit; `approximate=True` uses the tanh formula."""
    return F.gelu(float_tensor(x), approximate="tanh" if approximate else "none")


@keras_op("Elu")
def elu(x, alpha=1.0):
    """`x` for `x > 0`, else `alpha * (exp(x) - 1)`."""
    return F.elu(float_tensor(x), alpha=alpha)


@keras_op("Celu")
def celu(x, alpha=1.0):
    """`max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return F.celu(float_tensor(x), alpha=alpha)


@keras_op("LeakyRelu")
def leaky_relu(x, negative_slope=0.2):
    """`x` for `x >= 0`, else `negative_slope * x`."""
    return F.leaky_relu(float_tensor(x), negative_slope)


@keras_op("Glu")
def glu(x, axis=-1):
    """Gated linear unit: halves `a, b` of `axis` give `a * sigmoid(b)`."""
    x = float_tensor(x)
    if x.shape[_check_axis(x, axis)] % 2:
        raise ValueError(
            f"`glu`: axis {axis} must have an even size; received shape {tuple(x.shape)}."
        )
    return F.glu(x, dim=axis)


@keras_op("HardShrink")
def hard_shrink(x, threshold=0.5):
    """`x` where `|x| > threshold`, else 0."""
    return F.hardshrink(float_tensor(x), lambd=threshold)


@keras_op("SoftShrink")
def soft_shrink(x, threshold=0.5):
    """`x` moved `threshold` toward 0, and 0 inside `[-threshold, threshold]`."""
    return F.softshrink(float_tensor(x), lambd=threshold)


@keras_op("SparsePlus")
def sparse_plus(x):
    """0 below -1, `x` above 1, and `(x + 1)**2 / 4` in between."""
    x = float_tensor(x)
    return torch.where(x <= -1, 0.0, torch.where(x >= 1, x, (x + 1) ** 2 / 4)).to(x.dtype)


@keras_op("SparseSigmoid")
def sparse_sigmoid(x):
    """`(x + 1) / 2` clipped to `[0, 1]`."""
    return torch.clamp((float_tensor(x) + 1) / 2, 0, 1)


@keras_op("Squareplus")
def squareplus(x, b=4):
    """`(x + sqrt(x**2 + b)) / 2`, a smooth relu."""
    x = float_tensor(x)
    return (x + torch.sqrt(x * x + b)) / 2


@keras_op("Threshold")
def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return F.threshold(float_tensor(x), threshold, default_value)


@keras_op("Sparsemax")
def sparsemax(x, axis=-1):
    """Euclidean projection onto the simplex along `axis`: a softmax with exact zeros."""
    x = float_tensor(x)
    z = torch.sort(x, dim=_check_axis(x, axis), descending=True).values
    k = torch.arange(1, x.shape[axis] + 1, dtype=x.dtype, device=x.device)
    k = k.reshape([-1 if d == axis % x.ndim else 1 for d in range(x.ndim)])
    cumulative = torch.cumsum(z, dim=axis)
    support = (1 + k * z) > cumulative
    k_z = torch.sum(support, dim=axis, keepdim=True).to(x.dtype)
    tau = (torch.sum(torch.where(support, z, 0.0), dim=axis, keepdim=True) - 1) / k_z
    return torch.clamp(x - tau, min=0)


@keras_op("Softmax", bound=torch.softmax, tensors=("x",))
def softmax(x, axis=-1):
    """Exponentials normalized to sum to 1 along `axis` (an int or a tuple)."""
    if x.__class__ is not torch.Tensor or not x.is_floating_point():
        x = float_tensor(x)
    if isinstance(axis, int):
        try:
            return torch.softmax(x, dim=axis)
        except IndexError:
            raise axis_error(axis, x) from None
    return torch.exp(x - torch.logsumexp(x, dim=tuple(_check_axis(x, axis)), keepdim=True))


@keras_op("LogSoftmax")
def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably."""
    x = float_tensor(x)
    if isinstance(axis, int):
        try:
            return torch.log_softmax(x, dim=axis)
        except IndexError:
            raise axis_error(axis, x) from None
    return x - torch.logsumexp(x, dim=tuple(_check_axis(x, axis)), keepdim=True)


# --- encodings ------------------------------------------------------------------------


def _no_sparse(sparse, name):
    if sparse:
        raise ValueError(f"`{name}`: lamina has no sparse tensors; pass sparse=False.")


@keras_op("OneHot")
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


@keras_op("MultiHot")
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


# --- statistics -----------------------------------------------------------------------


@keras_op("Moments")
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


@keras_op("Normalize")
def normalize(x, axis=-1, order=2, epsilon=None):
    """`x` divided by its `order`-norm along `axis` (at least `epsilon`)."""
    x = float_tensor(x)
    eps = config.epsilon() if epsilon is None else epsilon
    return F.normalize(x, p=order, dim=_check_axis(x, axis), eps=eps)


# --- losses (per-sample, no reduction) ------------------------------------------------


def _same_shape(target, output, name):
    if target.shape != output.shape:
        raise ValueError(
            f"`{name}`: `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


@keras_op("BinaryCrossentropy")
def binary_crossentropy(target, output, from_logits=False):
    """Element-wise binary crossentropy between labels `target` and `output`
    (probabilities, or logits with `from_logits=True`)."""
    target, output = promote_same_kept(tensor(target), float_tensor(output))
    _same_shape(target, output, "binary_crossentropy")
    if from_logits:
        return F.binary_cross_entropy_with_logits(output, target, reduction="none")
    eps = config.epsilon()
    output = torch.clamp(output, eps, 1 - eps)
    return -(target * torch.log(output) + (1 - target) * torch.log1p(-output))


@keras_op("CategoricalCrossentropy")
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between one-hot/probability `target` and `output` along `axis`."""
    target, output = promote_same_kept(tensor(target), float_tensor(output))
    _same_shape(target, output, "categorical_crossentropy")
    _check_axis(output, axis)
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / torch.sum(output, dim=axis, keepdim=True)
        eps = config.epsilon()
        log_prob = torch.log(torch.clamp(output, eps, 1 - eps))
    return -torch.sum(target * log_prob, dim=axis)


@keras_op("SparseCategoricalCrossentropy")
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between integer class `target` and `output` along `axis`."""
    target, output = tensor(target), float_tensor(output)
    _check_axis(output, axis)
    if target.ndim == output.ndim and target.shape[-1] == 1:
        target = target.squeeze(-1)
    if target.ndim != output.ndim - 1 or (
        target.shape != output.shape[:-1] if axis == -1 else False
    ):
        raise ValueError(
            "`sparse_categorical_crossentropy`: `target` must have the shape of `output` "
            f"without the class axis. Received: target.shape={tuple(target.shape)}, "
            f"output.shape={tuple(output.shape)}"
        )
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / torch.sum(output, dim=axis, keepdim=True)
        eps = config.epsilon()
        log_prob = torch.log(torch.clamp(output, eps, 1 - eps))
    index = target.long().unsqueeze(axis)
    return -torch.take_along_dim(log_prob, index, dim=axis).squeeze(axis)


# --- attention ------------------------------------------------------------------------


def _large_negative(dtype):
    return -0.7 * torch.finfo(dtype).max


@keras_op("DotProductAttention")
def dot_product_attention(
    query,
    key,
    value,
    bias=None,
    mask=None,
    scale=None,
    is_causal=False,
    flash_attention=None,
    attn_logits_soft_cap=None,
):
    """Scaled dot-product attention on `(batch, length, heads, head_dim)` tensors.

    `bias` is added to the logits; `mask` (bool, broadcastable to
    `(batch, heads, query_length, key_length)`) keeps the True positions; `is_causal`
    masks keys after each query. Key/value may have fewer heads (grouped queries).
    """
    query, key, value = promote(tensor(query), tensor(key), tensor(value))
    rank = query.ndim
    if rank == 3:
        query, key, value = query.unsqueeze(2), key.unsqueeze(2), value.unsqueeze(2)
    elif rank != 4:
        raise ValueError(
            "`dot_product_attention`: query, key and value must be 3-D or 4-D "
            f"(batch, length, [heads,] head_dim). Received query shape {tuple(query.shape)}."
        )
    if flash_attention:
        raise ValueError("`dot_product_attention`: flash_attention=True is not supported.")
    q, k, v = query.transpose(1, 2), key.transpose(1, 2), value.transpose(1, 2)
    heads, kv_heads = q.shape[1], k.shape[1]
    if heads != kv_heads:
        if heads % kv_heads:
            raise ValueError(
                f"`dot_product_attention`: query heads ({heads}) must be a multiple of "
                f"key/value heads ({kv_heads})."
            )
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    keep = None if mask is None else tensor(mask).to(torch.bool)
    if is_causal:
        causal = torch.ones(q.shape[2], k.shape[2], dtype=torch.bool, device=q.device).tril()
        keep = causal if keep is None else keep & causal
    if attn_logits_soft_cap is None:
        attn_mask = None if bias is None else tensor(bias).to(q.dtype)
        if keep is not None:
            fill = torch.where(keep, 0.0, _large_negative(q.dtype)).to(q.dtype)
            attn_mask = fill if attn_mask is None else attn_mask + fill
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask, scale=scale)
    else:
        logits = torch.matmul(q, k.transpose(-1, -2)) * scale
        logits = torch.tanh(logits / attn_logits_soft_cap) * attn_logits_soft_cap
        if bias is not None:
            logits = logits + tensor(bias).to(q.dtype)
        if keep is not None:
            logits = torch.where(keep, logits, _large_negative(q.dtype))
        out = torch.matmul(torch.softmax(logits, dim=-1), v)
    out = out.transpose(1, 2)
    return out.squeeze(2) if rank == 3 else out


__all__ = [
    *_conv_names, *_nn_extra_names,
    "binary_crossentropy", "categorical_crossentropy", "celu", "dot_product_attention",
    "elu", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "log_sigmoid", "log_softmax", "moments", "multi_hot",
    "normalize", "one_hot", "relu", "relu6", "selu", "sigmoid", "silu", "soft_shrink",
    "softmax", "softplus", "softsign", "sparse_categorical_crossentropy", "sparse_plus",
    "sparse_sigmoid", "sparsemax", "squareplus", "swish", "tanh_shrink", "threshold",
]
