"""Block and patch ops of `lamina.ops.nn`: depth/space rearrangement, `unfold`, `fold`.
"""

import torch.nn.functional as F

from lamina.ops.operands import float_tensor, tensor
from lamina.ops.operation import keras_op


def _block_check(x, block_size, data_format, name):
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(f"`{name}` expects a 4-D tensor; received shape {tuple(x.shape)}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'; "
                         f"received {data_format!r}.")
    return x.permute(0, 3, 1, 2) if data_format == "channels_last" else x


@keras_op("DepthToSpace", module="nn", init_args=("block_size", "data_format"))
def depth_to_space(x, block_size, data_format="channels_last"):
    """Move depth blocks into `block_size x block_size` spatial blocks."""
    y = _block_check(x, block_size, data_format, "depth_to_space")
    if y.shape[1] % (block_size**2):
        raise ValueError(f"`depth_to_space`: channels ({y.shape[1]}) must be divisible by "
                         f"block_size**2 ({block_size**2}).")
    if data_format == "channels_first":
        # NOTE: Keras (torch) orders channels-first depth as (channel, row, col): a
        # pixel shuffle, unlike the (row, col, channel) order of channels-last.
        return F.pixel_shuffle(y, block_size)
    b, c, h, w = y.shape
    c2 = c // block_size**2
    # NOTE: TF/Keras order the channels-last depth as (block_row, block_col, channel).
    y = y.reshape(b, block_size, block_size, c2, h, w).permute(0, 3, 4, 1, 5, 2)
    y = y.reshape(b, c2, h * block_size, w * block_size)
    return y.permute(0, 2, 3, 1) if data_format == "channels_last" else y


@keras_op("SpaceToDepth", module="nn", init_args=("block_size", "data_format"))
def space_to_depth(x, block_size, data_format="channels_last"):
    """Move `block_size x block_size` spatial blocks into depth."""
    y = _block_check(x, block_size, data_format, "space_to_depth")
    b, c, h, w = y.shape
    if h % block_size or w % block_size:
        raise ValueError(f"`space_to_depth`: height ({h}) and width ({w}) must be divisible "
                         f"by block_size ({block_size}).")
    if data_format == "channels_first":
        return F.pixel_unshuffle(y, block_size)  # the inverse of `depth_to_space`
    y = y.reshape(b, c, h // block_size, block_size, w // block_size, block_size)
    y = y.permute(0, 3, 5, 1, 2, 4).reshape(b, c * block_size**2, h // block_size,
                                            w // block_size)
    return y.permute(0, 2, 3, 1) if data_format == "channels_last" else y


@keras_op("Unfold", module="nn", init_args=("kernel_size", "dilation", "padding", "stride"))
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a channels-first `(N, C, H, W)` tensor: `(N, C*k*k, L)`."""
    x = float_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"`unfold` expects (N, C, H, W); received shape {tuple(x.shape)}.")
    return F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)


@keras_op("Fold", module="nn",
          init_args=("output_size", "kernel_size", "dilation", "padding", "stride"))
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks `(N, C*k*k, L)` back into `(N, C, *output_size)`."""
    x = float_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"`fold` expects (N, C*k*k, L); received shape {tuple(x.shape)}.")
    return F.fold(x, output_size, kernel_size, dilation=dilation, padding=padding,
                  stride=stride)


__all__ = [
    "depth_to_space",
    "fold",
    "space_to_depth",
    "unfold",
]
