"""Losses of `lamina.ops.nn`: crossentropies, CTC loss and decoding, and PSNR.
"""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.symbolic import is_fake
from lamina.ops.operands import (
    check_axes,
    float_tensor,
    promote_same_kept,
    tensor,
)
from lamina.ops.operation import keras_op


def _same_shape(target, output, name):
    if target.shape != output.shape:
        raise ValueError(
            f"`{name}`: `target` and `output` must have the same shape. Received: "
            f"target.shape={tuple(target.shape)}, output.shape={tuple(output.shape)}"
        )


@keras_op("BinaryCrossentropy", module="nn", init_args=("from_logits",))
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


@keras_op("CategoricalCrossentropy", module="nn", init_args=("from_logits", "axis"))
def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between one-hot/probability `target` and `output` along `axis`."""
    target, output = promote_same_kept(tensor(target), float_tensor(output))
    _same_shape(target, output, "categorical_crossentropy")
    check_axes(output, axis)
    if from_logits:
        log_prob = torch.log_softmax(output, dim=axis)
    else:
        output = output / torch.sum(output, dim=axis, keepdim=True)
        eps = config.epsilon()
        log_prob = torch.log(torch.clamp(output, eps, 1 - eps))
    return -torch.sum(target * log_prob, dim=axis)


@keras_op("SparseCategoricalCrossentropy", module="nn", init_args=("from_logits", "axis"))
def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """Crossentropy between integer class `target` and `output` along `axis`."""
    target, output = tensor(target), float_tensor(output)
    check_axes(output, axis)
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


@keras_op("PSNR", module="nn", init_args=("max_val",))
def psnr(x1, x2, max_val):
    """Peak signal-to-noise ratio in dB: `20 log10(max_val) - 10 log10(mse)`."""
    x1, x2 = promote_same_kept(float_tensor(x1), float_tensor(x2))
    if x1.shape != x2.shape:
        raise ValueError(f"`psnr`: inputs must have the same shape; received "
                         f"{tuple(x1.shape)} and {tuple(x2.shape)}.")
    mse = torch.mean(torch.square(x1 - x2))
    return 20 * torch.log10(torch.as_tensor(max_val, dtype=x1.dtype)) - 10 * torch.log10(mse)


@keras_op("CTCLoss", module="nn", init_args=("mask_index",))
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


@keras_op("CTCDecode", module="nn",
          init_args=("strategy", "beam_width", "top_paths", "merge_repeated", "mask_index"))
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


__all__ = [
    "binary_crossentropy",
    "categorical_crossentropy",
    "ctc_decode",
    "ctc_loss",
    "psnr",
    "sparse_categorical_crossentropy",
]
