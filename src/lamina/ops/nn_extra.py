"""`lamina.ops.nn` normalization, CTC, image-block and patch ops.

Re-exported by `lamina.ops.nn`.

>>> import lamina
>>> lamina.ops.psnr([[0.0, 1.0]], [[0.0, 1.0]], 1.0).item()
inf
"""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.symbolic import is_fake
from lamina.ops._helpers import axis_error, float_tensor, promote_same_kept, tensor
from lamina.ops.operation import keras_op


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


@keras_op("BatchNorm")
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


@keras_op("LayerNorm")
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


@keras_op("RMSNorm")
def rms_normalization(x, scale=None, axis=-1, epsilon=None):
    """`x / sqrt(mean(x**2, axis) + epsilon) * scale`."""
    x = float_tensor(x)
    epsilon = config.epsilon() if epsilon is None else epsilon
    axes = _axes(x, axis)
    out = x * torch.rsqrt(torch.mean(torch.square(x), dim=axes, keepdim=True) + epsilon)
    return out if scale is None else out * float_tensor(scale).to(x.dtype)


@keras_op("PSNR")
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: `20 log10(max_val) - 10 log10(mse)`."""
    x1, x2 = promote_same_kept(float_tensor(x1), float_tensor(x2))
    if x1.shape != x2.shape:
        raise ValueError(f"`psnr`: inputs must have the same shape; received "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}.")
    mse = torch.mean(torch.square(x1 - x2))
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=x1.dtype)) - 10 * torch.log10(mse)


@keras_op("Polar")
def polar(abs_, angle):
    """Complex numbers `abs_ * exp(i * angle)`."""
    abs_, angle = promote_same_kept(float_tensor(abs_), float_tensor(angle))
    return torch.polar(abs_, angle)


@keras_op("CTCLoss")
def ctc_loss(target, output, target_length, output_length, mask_index=0):
    """Per-sample CTC loss. `output` holds logits `(batch, time, classes)`; `target` is
    `(batch, max_label_length)` of class ids; `mask_index` is the blank class."""
    output = float_tensor(output)
    target = tensor(target).long()
    if output.ndim != 3 or target.ndim != 2 or target.shape[0] != output.shape[0]:
        raise ValueError(f"`ctc_loss` expects `output` (batch, time, classes) and `target` "
                         f"(batch, labels); received {tuple(output.shape)} and "
                         f"{tuple(target.shape)}.")
    if output.dtype != torch.float64:
        output = output.float()  # torch's CTC kernels have no half-precision version
    if is_fake(output):  # torch's CTC kernel has no shape-only version
        return output.new_zeros(output.shape[0], dtype=torch.float32)
    log_probs = F.log_softmax(output, dim=-1).transpose(0, 1)
    loss = F.ctc_loss(log_probs, target, tensor(output_length).long(),
                      tensor(target_length).long(), blank=mask_index, reduction="none",
                      zero_infinity=False)
    return loss.float()  # Keras returns float32 whatever the logits' dtype


@keras_op("CTCDecode")
def ctc_decode(inputs, sequence_lengths, strategy="greedy", beam_width=100, top_paths=1,
               merge_repeated=True, mask_index=0):
    """CTC decoding of `inputs` (logits `(batch, time, classes)`) into `(decoded, scores)`.

    `decoded` is `(top_paths, batch, time)` int32, padded with -1. With
    `strategy="greedy"` (one path), `scores` `(batch, 1)` is minus the sum of the best
    per-step `inputs`; with `"beam_search"` it is `(batch, top_paths)`: the log probability
    of each path, found by a prefix beam search keeping `beam_width` candidates.
    """
    if strategy == "beam_search":
        return _ctc_beam_search(float_tensor(inputs), tensor(sequence_lengths).long(),
                                beam_width, top_paths, mask_index)
    if strategy != "greedy":
        raise ValueError(f"`ctc_decode`: `strategy` must be 'greedy' or 'beam_search'; "
                         f"received {strategy!r}.")
    inputs = float_tensor(inputs)
    if inputs.dtype != torch.float64:
        inputs = inputs.float()  # Keras sums half-precision scores in float32
    lengths = tensor(sequence_lengths).long()
    best, indices = torch.max(inputs, dim=-1)
    time = torch.arange(inputs.shape[1], device=inputs.device)
    valid = time[None, :] < lengths[:, None]
    keep = valid & (indices != mask_index)
    if merge_repeated:
        repeat = torch.zeros_like(keep)
        repeat[:, 1:] = indices[:, 1:] == indices[:, :-1]
        keep = keep & ~repeat
    # Stable-sort kept labels to the front, pad the rest with -1.
    order = torch.argsort((~keep).int(), dim=1, stable=True)
    labels = torch.gather(torch.where(keep, indices, -1), 1, order)
    scores = -torch.sum(torch.where(valid, best, torch.zeros_like(best)), dim=1, keepdim=True)
    return labels[None].int(), scores.float()  # Keras scores are float32


def _ctc_beam_search(inputs, lengths, beam_width, top_paths, blank):
    """Prefix beam search, vectorized over the batch and the beams.

    Each beam is a label prefix with the log probability of the frames so far ending in a
    blank (`p_blank`) or in its last label (`p_label`); repeats without a blank between
    them collapse, as CTC requires (Keras' beam search does so whatever `merge_repeated`).
    """
    if top_paths > beam_width:
        raise ValueError(f"`ctc_decode`: `top_paths` ({top_paths}) must be at most "
                         f"`beam_width` ({beam_width}).")
    batch, time, classes = inputs.shape
    log_probs = F.log_softmax(inputs.double() if inputs.dtype == torch.float64
                              else inputs.float(), dim=-1)
    dtype, device, width = log_probs.dtype, log_probs.device, beam_width
    neg_inf = torch.tensor(float("-inf"), dtype=dtype, device=device)
    prefix = torch.full((batch, width, time), -1, dtype=torch.long, device=device)
    size = torch.zeros(batch, width, dtype=torch.long, device=device)
    p_blank = torch.full((batch, width), float("-inf"), dtype=dtype, device=device)
    p_blank[:, 0] = 0.0  # one live beam: the empty prefix
    p_label = torch.full_like(p_blank, float("-inf"))
    labels = torch.tensor([c for c in range(classes) if c != blank], device=device)
    rows = torch.arange(batch, device=device)[:, None]
    for t in range(time):
        step = log_probs[:, t]
        total = torch.logaddexp(p_blank, p_label)
        last = torch.gather(prefix, 2, (size - 1).clamp(min=0)[..., None])[..., 0]
        last = torch.where(size > 0, last, -1)
        # Staying on the same prefix: a blank frame, or a repeat of the last label.
        stay_blank = total + step[:, blank, None]
        stay_label = torch.where(last >= 0, p_label + torch.gather(step, 1, last.clamp(min=0)),
                                 neg_inf)
        # Extending by each non-blank label (after a blank when it repeats the last one).
        ext = torch.where(labels == last[..., None], p_blank[..., None], total[..., None])
        ext = ext + step[:, None, labels]  # (batch, width, labels)
        # An extension may equal another live beam's prefix: fold it into that beam.
        parent = prefix.clone()
        parent.scatter_(2, (size - 1).clamp(min=0)[..., None], -1)
        alive = torch.isfinite(total)
        same = (prefix[:, :, None] == parent[:, None]).all(-1)  # [b, i, j]: i + c == j
        same &= (size[:, :, None] + 1 == size[:, None]) & alive[:, :, None] & alive[:, None]
        slot = (last[..., None] == labels).long().argmax(-1)  # label slot of each j's last
        from_ext = torch.take_along_dim(ext, slot[:, None, :].expand(-1, width, -1), 2)
        stay_label = torch.logaddexp(stay_label,
                                     torch.where(same, from_ext, neg_inf).logsumexp(1))
        slot_hot = (slot[..., None] == torch.arange(len(labels), device=device)).to(dtype)
        ext = torch.where(same.to(dtype) @ slot_hot > 0, neg_inf, ext)
        # Keep the best `width` of the stays and the extensions.
        ext = ext.flatten(1)
        scores = torch.cat([torch.logaddexp(stay_blank, stay_label), ext], 1)
        best = torch.topk(scores, width, dim=1).indices
        is_ext, ext_index = best >= width, (best - width).clamp(min=0)
        source = torch.where(is_ext, ext_index // len(labels), best)
        new_prefix, new_size = prefix[rows, source], size[rows, source]
        # Positions at `new_size` are still -1: write the new label there for extensions.
        new_prefix.scatter_(2, new_size[..., None],
                            torch.where(is_ext, labels[ext_index % len(labels)], -1)[..., None])
        # NOTE: Keras always consumes the first frame, even for a zero length.
        active = ((t < lengths) | (t == 0))[:, None]
        prefix = torch.where(active[..., None], new_prefix, prefix)
        size = torch.where(active, new_size + is_ext.long(), size)
        p_blank = torch.where(active, torch.where(is_ext, neg_inf, stay_blank[rows, source]),
                              p_blank)
        p_label = torch.where(active, torch.where(is_ext, ext.gather(1, ext_index),
                                                  stay_label[rows, source]), p_label)
    scores = torch.logaddexp(p_blank, p_label)
    order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :top_paths]
    scores = scores.gather(1, order)
    decoded = prefix[rows, order]
    decoded = torch.where(torch.isfinite(scores)[..., None], decoded, -1)
    return decoded.permute(1, 0, 2).int(), scores.float()  # Keras scores are float32


def _block_check(x, block_size, data_format, name):
    x = tensor(x)
    if x.ndim != 4:
        raise ValueError(f"`{name}` expects a 4-D tensor; received shape {tuple(x.shape)}.")
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'; "
                         f"received {data_format!r}.")
    return x.permute(0, 3, 1, 2) if data_format == "channels_last" else x


@keras_op("DepthToSpace")
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


@keras_op("SpaceToDepth")
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


@keras_op("Unfold")
def unfold(x, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding local blocks of a channels-first `(N, C, H, W)` tensor: `(N, C*k*k, L)`."""
    x = float_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"`unfold` expects (N, C, H, W); received shape {tuple(x.shape)}.")
    return F.unfold(x, kernel_size, dilation=dilation, padding=padding, stride=stride)


@keras_op("Fold")
def fold(x, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """Sum sliding blocks `(N, C*k*k, L)` back into `(N, C, *output_size)`."""
    x = float_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"`fold` expects (N, C*k*k, L); received shape {tuple(x.shape)}.")
    return F.fold(x, output_size, kernel_size, dilation=dilation, padding=padding,
                  stride=stride)


__all__ = [
    "batch_normalization", "ctc_decode", "ctc_loss", "depth_to_space", "fold",
    "layer_normalization", "polar", "psnr", "rms_normalization", "space_to_depth", "unfold",
]
