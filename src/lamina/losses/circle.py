"""Circle loss for metric learning: pulls same-label embeddings together and pushes
different-label embeddings apart, with self-paced weights on each pair."""

import torch
import torch.nn.functional as F

from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import LossFunctionWrapper


def _pair_masks(labels, ref_labels, remove_diagonal):
    labels = labels.reshape(-1, 1)
    ref_labels = ref_labels.reshape(1, -1)
    positive = labels == ref_labels
    negative = ~positive
    if remove_diagonal:
        eye = torch.eye(positive.shape[0], positive.shape[1], dtype=torch.bool,
                        device=positive.device)
        positive = positive & ~eye
    return positive, negative


def circle(y_true, y_pred, ref_labels=None, ref_embeddings=None, remove_diagonal=True,
           gamma=80, margin=0.4):
    """Per-sample circle loss over the cosine distances between embeddings.

    Args:
        y_true: integer labels, shape `(batch_size,)` (or `(batch_size, 1)`).
        y_pred: L2-normalised embeddings, shape `(batch_size, dim)`.
        ref_labels, ref_embeddings: the pairs' other side (default: the batch itself).
        remove_diagonal: leave out each sample's pair with itself.
        gamma: scale of the pair similarities. margin: relaxation of the decision boundary.

    Entries whose loss is 0 are masked out of the batch mean (Keras does the same).

    >>> import lamina
    >>> round(float(lamina.losses.circle([0, 0, 1], [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])[1]), 3)
    38.4
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    if y_pred.ndim != 2:
        raise ValueError(
            "`circle`: `y_pred` must hold embeddings of shape `(batch_size, dim)`. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    ref_embeddings = y_pred if ref_embeddings is None else convert_to_tensor(
        ref_embeddings, dtype=y_pred.dtype)
    ref_labels = y_true if ref_labels is None else convert_to_tensor(ref_labels)
    y_true, ref_labels = y_true.long(), ref_labels.long()
    if y_true.numel() != y_pred.shape[0]:
        raise ValueError(
            "`circle`: `y_true` must hold one label per embedding. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    distances = (1.0 - y_pred @ ref_embeddings.T).clamp_min(0.0)
    positive, negative = _pair_masks(y_true, ref_labels, remove_diagonal)
    pos_weights = ((margin + distances) * positive).clamp_min(0.0)
    neg_weights = ((1.0 + margin - distances) * negative).clamp_min(0.0)
    pos_terms = -gamma * pos_weights * (margin - distances)
    neg_terms = gamma * neg_weights * ((1.0 - margin) - distances)
    neg_inf = torch.tensor(float("-inf"), dtype=distances.dtype, device=distances.device)
    pos_loss = torch.logsumexp(torch.where(positive, pos_terms, neg_inf), dim=1)
    neg_loss = torch.logsumexp(torch.where(negative, neg_terms, neg_inf), dim=1)
    loss = F.softplus(pos_loss + neg_loss)
    loss._keras_mask = loss > 0
    return loss


class Circle(LossFunctionWrapper):
    """Circle loss between integer labels and (L2-normalised) embeddings.

    >>> import lamina
    >>> loss = lamina.losses.Circle()
    >>> round(float(loss([0, 0, 1], [[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])), 3)
    19.2
    """

    def __init__(self, gamma=80.0, margin=0.4, remove_diagonal=True,
                 reduction="sum_over_batch_size", name="circle", dtype=None):
        super().__init__(circle, name=name, reduction=reduction, dtype=dtype, gamma=gamma,
                         margin=margin, remove_diagonal=remove_diagonal)
        self.gamma = gamma
        self.margin = margin
        self.remove_diagonal = remove_diagonal

    def call(self, y_true, y_pred):
        return circle(y_true, y_pred, **self._fn_kwargs)
