"""`lamina.ops.nn` convolution and pooling ops with Keras' kernel layouts and padding.

Kernels are Keras-shaped: `(*spatial, in_channels, out_channels)` for `conv`,
`(*spatial, out_channels, in_channels)` for `conv_transpose`, and
`(*spatial, in_channels, multiplier)` for depthwise kernels. Inputs are channels-last
unless `data_format="channels_first"` (default: `image_data_format()`).

>>> import lamina
>>> tuple(lamina.ops.conv(lamina.ops.ones((1, 5, 5, 2)), lamina.ops.ones((3, 3, 2, 4))).shape)
(1, 3, 3, 4)
"""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops.operands import float_tensor, promote_same_kept, tensor
from lamina.ops.operation import keras_op

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


_AVG_POOL = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}


def _data_format(data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'; "
                         f"received {data_format!r}.")
    return data_format


def _tuple(value, n, name):
    value = (value,) * n if isinstance(value, int) else tuple(value)
    if len(value) != n:
        raise ValueError(f"`{name}` must be an int or a tuple of {n} ints; received {value!r}.")
    return value


def _to_first(x, data_format, name, min_rank=3):
    if x.ndim < min_rank or x.ndim > 5:
        raise ValueError(f"`{name}` expects inputs of rank 3 to 5 (batch, spatial..., "
                         f"channels); received shape {tuple(x.shape)}.")
    return torch.movedim(x, -1, 1) if data_format == "channels_last" else x


def _from_first(x, data_format):
    return torch.movedim(x, 1, -1) if data_format == "channels_last" else x


def _same_pad(x, kernel, strides, dilation, value=0.0):
    """Pad spatial dims like TF's 'same' (extra padding goes after)."""
    pads = []
    for size, k, s, d in zip(x.shape[2:], kernel, strides, dilation):
        effective = (k - 1) * d + 1
        total = max((-(-size // s) - 1) * s + effective - size, 0)
        pads.append((total // 2, total - total // 2))
    flat = [p for pair in reversed(pads) for p in pair]
    return F.pad(x, flat, value=value) if any(flat) else x


def _check_padding(padding):
    padding = padding.lower() if isinstance(padding, str) else padding
    if padding not in ("valid", "same"):
        raise ValueError(f"`padding` must be 'valid' or 'same'; received {padding!r}.")
    return padding


def _conv_operands(inputs, kernel, name):
    inputs, kernel = tensor(inputs), tensor(kernel)
    for value, label in ((inputs, "inputs"), (kernel, "kernel")):
        if value.is_complex():
            raise TypeError(f"`{name}`: complex {label} are not supported; received dtype "
                            f"{value.dtype}. Pass real floating-point tensors.")
    inputs, kernel = promote_same_kept(float_tensor(inputs), float_tensor(kernel))
    if kernel.ndim != inputs.ndim:
        raise ValueError(f"`{name}`: the kernel rank ({kernel.ndim}, shape "
                         f"{tuple(kernel.shape)}) must equal the input rank ({inputs.ndim}, "
                         f"shape {tuple(inputs.shape)}).")
    return inputs, kernel


@keras_op("Conv", module="nn", init_args=("strides", "padding", "data_format", "dilation_rate"))
def conv(inputs, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """N-D convolution (1 to 3 spatial dims); grouped when `in_channels` is a multiple of
    the kernel's input channels."""
    data_format, padding = _data_format(data_format), _check_padding(padding)
    inputs, kernel = _conv_operands(inputs, kernel, "conv")
    n = inputs.ndim - 2
    strides, dilation = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    x = _to_first(inputs, data_format, "conv")
    in_channels, kernel_in = x.shape[1], kernel.shape[-2]
    if in_channels % kernel_in:
        raise ValueError(f"`conv`: input channels ({in_channels}) must be a multiple of the "
                         f"kernel's input channels ({kernel_in}); input shape "
                         f"{tuple(inputs.shape)}, kernel shape {tuple(kernel.shape)}.")
    weight = kernel.permute(-1, -2, *range(n))
    if padding == "same":
        x = _same_pad(x, kernel.shape[:n], strides, dilation)
    out = _CONV[n](x, weight, stride=strides, dilation=dilation, groups=in_channels // kernel_in)
    return _from_first(out, data_format)


@keras_op("DepthwiseConv", module="nn",
          init_args=("strides", "padding", "data_format", "dilation_rate"))
def depthwise_conv(inputs, kernel, strides=1, padding="valid", data_format=None,
                   dilation_rate=1):
    """Per-channel convolution; `kernel` is `(*spatial, in_channels, multiplier)`."""
    inputs, kernel = _conv_operands(inputs, kernel, "depthwise_conv")
    n = inputs.ndim - 2
    channels = inputs.shape[1 if _data_format(data_format) == "channels_first" else -1]
    if channels != kernel.shape[-2]:
        raise ValueError(f"`depthwise_conv`: input channels ({channels}) must equal the "
                         f"kernel's input channels ({kernel.shape[-2]}); input shape "
                         f"{tuple(inputs.shape)}, kernel shape {tuple(kernel.shape)}.")
    grouped = kernel.reshape(*kernel.shape[:n], 1, kernel.shape[-2] * kernel.shape[-1])
    return conv(inputs, grouped, strides, padding, data_format, dilation_rate)


@keras_op("SeparableConv", module="nn",
          init_args=("strides", "padding", "data_format", "dilation_rate"))
def separable_conv(inputs, depthwise_kernel, pointwise_kernel, strides=1, padding="valid",
                   data_format=None, dilation_rate=1):
    """A depthwise convolution followed by a 1x1 (pointwise) convolution."""
    depthwise_kernel, pointwise_kernel = tensor(depthwise_kernel), tensor(pointwise_kernel)
    depth = depthwise_kernel.shape[-2] * depthwise_kernel.shape[-1]
    if pointwise_kernel.shape[-2] != depth:
        raise ValueError(f"`separable_conv`: the pointwise kernel's input channels "
                         f"({pointwise_kernel.shape[-2]}) must equal in_channels * multiplier "
                         f"({depth}) of the depthwise kernel; depthwise_kernel shape "
                         f"{tuple(depthwise_kernel.shape)}, pointwise_kernel shape "
                         f"{tuple(pointwise_kernel.shape)}.")
    depthwise = depthwise_conv(inputs, depthwise_kernel, strides, padding, data_format,
                               dilation_rate)
    return conv(depthwise, pointwise_kernel, 1, "valid", data_format, 1)


def _transpose_length(size, k, s, d, padding, output_padding):
    effective = (k - 1) * d + 1
    if output_padding is None:
        length = size * s + max(effective - s, 0) if padding == "valid" else size * s
        pad = 0 if padding == "valid" else max(effective - s, 0) // 2
        return length, pad
    length = (size - 1) * s + effective - 2 * (0 if padding == "valid" else effective // 2)
    # NOTE: Keras (torch) starts a 'same' output `ceil(output_padding / 2)` cells earlier
    # than `effective // 2`, so the extra cells split around the output.
    pad = 0 if padding == "valid" else max(effective // 2 - (output_padding + 1) // 2, 0)
    return length + output_padding, pad


@keras_op("ConvTranspose", module="nn",
          init_args=("strides", "padding", "output_padding", "data_format", "dilation_rate"))
def conv_transpose(inputs, kernel, strides=1, padding="valid", output_padding=None,
                   data_format=None, dilation_rate=1):
    """Transposed convolution; `kernel` is `(*spatial, out_channels, in_channels)`."""
    data_format, padding = _data_format(data_format), _check_padding(padding)
    inputs, kernel = _conv_operands(inputs, kernel, "conv_transpose")
    n = inputs.ndim - 2
    strides, dilation = _tuple(strides, n, "strides"), _tuple(dilation_rate, n, "dilation_rate")
    ops = [None] * n if output_padding is None else _tuple(output_padding, n, "output_padding")
    x = _to_first(inputs, data_format, "conv_transpose")
    if x.shape[1] != kernel.shape[-1]:
        raise ValueError(f"`conv_transpose`: input channels ({x.shape[1]}) must equal the "
                         f"kernel's last dim; input shape {tuple(inputs.shape)}, kernel "
                         f"shape {tuple(kernel.shape)}.")
    weight = kernel.permute(-1, -2, *range(n))
    out = _CONV_T[n](x, weight, stride=strides, dilation=dilation)
    index = [slice(None), slice(None)]
    for i in range(n):
        length, pad = _transpose_length(x.shape[2 + i], kernel.shape[i], strides[i],
                                        dilation[i], padding, ops[i])
        extra = pad + length - out.shape[2 + i]
        if extra > 0:  # the target runs past the full output: zero-pad the end
            widths = [0, 0] * (n - 1 - i) + [0, extra] + [0, 0] * i
            out = F.pad(out, widths)
        index.append(slice(pad, pad + length))
    return _from_first(out[tuple(index)], data_format)


def _pool(kind, inputs, pool_size, strides, padding, data_format):
    data_format, padding = _data_format(data_format), _check_padding(padding)
    x = _to_first(float_tensor(inputs), data_format, f"{kind}_pool")
    n = x.ndim - 2
    pool_size = _tuple(pool_size, n, "pool_size")
    strides = pool_size if strides is None else _tuple(strides, n, "strides")
    if padding == "same":
        if kind == "max":
            x = _same_pad(x, pool_size, strides, (1,) * n, value=float("-inf"))
            out = _MAX_POOL[n](x, pool_size, strides)
        else:
            # NOTE: Keras averages over the in-bounds window only: divide by the
            # pooled count of ones instead of counting pad cells.
            ones = torch.ones_like(x[:1, :1])
            total = _AVG_POOL[n](_same_pad(x, pool_size, strides, (1,) * n), pool_size, strides)
            count = _AVG_POOL[n](_same_pad(ones, pool_size, strides, (1,) * n), pool_size,
                                 strides)
            out = total / count
    else:
        fn = _MAX_POOL[n] if kind == "max" else _AVG_POOL[n]
        out = fn(x, pool_size, strides)
    return _from_first(out, data_format)


@keras_op("MaxPool", module="nn", init_args=("pool_size", "strides", "padding", "data_format"))
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling over 1 to 3 spatial dims (`strides` default to `pool_size`)."""
    return _pool("max", inputs, pool_size, strides, padding, data_format)


@keras_op("AveragePool", module="nn", init_args=("pool_size", "strides", "padding", "data_format"))
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling over 1 to 3 spatial dims; 'same' padding excludes pad cells."""
    return _pool("average", inputs, pool_size, strides, padding, data_format)


def _adaptive(fns, inputs, output_size, data_format, name):
    data_format = _data_format(data_format)
    x = _to_first(float_tensor(inputs), data_format, name)
    n = x.ndim - 2
    return _from_first(fns[n](x, _tuple(output_size, n, "output_size")), data_format)


@keras_op("AdaptiveAveragePool", module="nn", init_args=("output_size", "data_format"))
def adaptive_average_pool(inputs, output_size, data_format=None):
    """Average pooling to a fixed `output_size`."""
    fns = {1: F.adaptive_avg_pool1d, 2: F.adaptive_avg_pool2d, 3: F.adaptive_avg_pool3d}
    return _adaptive(fns, inputs, output_size, data_format, "adaptive_average_pool")


@keras_op("AdaptiveMaxPool", module="nn", init_args=("output_size", "data_format"))
def adaptive_max_pool(inputs, output_size, data_format=None):
    """Max pooling to a fixed `output_size`."""
    fns = {1: F.adaptive_max_pool1d, 2: F.adaptive_max_pool2d, 3: F.adaptive_max_pool3d}
    return _adaptive(fns, inputs, output_size, data_format, "adaptive_max_pool")


__all__ = [
    "adaptive_average_pool",
    "adaptive_max_pool",
    "average_pool",
    "conv",
    "conv_transpose",
    "depthwise_conv",
    "max_pool",
    "separable_conv",
]
