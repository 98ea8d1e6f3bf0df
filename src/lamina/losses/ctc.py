"""Connectionist temporal classification (CTC) loss for unaligned sequence labelling."""

import torch
import torch.nn.functional as F

from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import LossFunctionWrapper


def ctc(y_true, y_pred):
    """Per-sequence CTC loss; class 0 is the blank, which also pads `y_true`.

    Args:
        y_true: integer labels of shape `(batch_size, max_label_length)`, 0-padded.
        y_pred: logits of shape `(batch_size, max_length, num_classes)`.

    >>> import lamina
    >>> round(float(lamina.losses.ctc([[1]], [[[0.0, 0.0]]])[0]), 4)
    0.6931
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    if y_true.ndim != 2:
        raise ValueError(
            "`ctc`: targets `y_true` are expected to be a tensor of shape "
            "`(batch_size, max_length)` in integer format. "
            f"Received: y_true.shape={tuple(y_true.shape)}"
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "`ctc`: logits `y_pred` are expected to be a tensor of shape "
            f"`(batch_size, max_length, num_classes)`. Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            "`ctc`: `y_true` and `y_pred` must have the same batch size. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    batch, max_length = y_pred.shape[0], y_pred.shape[1]
    targets = y_true.long()
    target_lengths = (targets != 0).sum(dim=-1)
    input_lengths = torch.full((batch,), max_length, dtype=torch.long, device=y_pred.device)
    # F.ctc_loss wants time-major log-probabilities; computed in float32 at least.
    log_probs = F.log_softmax(y_pred.float(), dim=-1).transpose(0, 1)
    values = F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
                        reduction="none")
    return values.to(y_pred.dtype)


class CTC(LossFunctionWrapper):
    """CTC loss between 0-padded integer label sequences and per-step class logits.

    >>> import lamina
    >>> round(float(lamina.losses.CTC()([[1]], [[[0.0, 0.0]]])), 4)
    0.6931
    """

    def __init__(self, reduction="sum_over_batch_size", name="ctc", dtype=None):
        super().__init__(ctc, name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        # Labels (batch, length) and logits (batch, length, classes) are never rank-aligned.
        return ctc(y_true, y_pred)
