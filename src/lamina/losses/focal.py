"""Crossentropy variants for hard or noisy labels: binary and categorical focal
crossentropy, and the generalized (noise-robust) categorical crossentropy."""

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import Loss, LossFunctionWrapper
from lamina.losses.probabilistic import (
    _check_axis,
    _check_same_shape,
    _full_precision,
    check_label_smoothing,
)


def binary_focal_crossentropy(y_true, y_pred, apply_class_balancing=False, alpha=0.25,
                              gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy scaled by `(1 - p_t) ** gamma`, averaged over `axis`.

    `p_t` is the predicted probability of the true label, so confident correct
    predictions contribute little. With `apply_class_balancing`, positives are weighted
    by `alpha` and negatives by `1 - alpha`.

    >>> import lamina
    >>> round(float(lamina.losses.binary_focal_crossentropy([[1.0, 0.0]], [[0.5, 0.5]])[0]), 4)
    0.1733
    """
    check_label_smoothing(label_smoothing, "binary_focal_crossentropy")
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    _check_same_shape(y_true, y_pred, "binary_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        # NOTE: Keras takes the sigmoid first, so saturated logits are clipped like probabilities.
        y_pred = torch.sigmoid(y_pred)
    eps = config.epsilon()
    with _full_precision(y_pred.device):
        bce = F.binary_cross_entropy(y_pred.clamp(eps, 1.0 - eps), y_true, reduction="none")
    p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
    focal = torch.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        focal = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * focal
    return focal.mean(dim=axis)


def categorical_focal_crossentropy(y_true, y_pred, alpha=0.25, gamma=2.0, from_logits=False,
                                   label_smoothing=0.0, axis=-1):
    """Categorical crossentropy with each class term scaled by `alpha * (1 - p) ** gamma`.

    Non-logit `y_pred` is normalised along `axis` and clipped to [epsilon, 1 - epsilon].

    >>> import lamina
    >>> round(float(lamina.losses.categorical_focal_crossentropy([[0.0, 1.0]], [[0.5, 0.5]])[0]),
    ...       4)
    0.0433
    """
    _check_axis(axis, "categorical_focal_crossentropy")
    check_label_smoothing(label_smoothing, "categorical_focal_crossentropy")
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    _check_same_shape(y_true, y_pred, "categorical_focal_crossentropy")
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    if from_logits:
        y_pred = torch.softmax(y_pred, dim=axis)
    eps = config.epsilon()
    probs = (y_pred / y_pred.sum(dim=axis, keepdim=True)).clamp(eps, 1.0 - eps)
    weights = torch.pow(1.0 - probs, gamma) * alpha
    return (weights * (-y_true * torch.log(probs))).sum(dim=axis)


def _check_q(q, owner):
    if isinstance(q, (int, float)) and not 0.0 < q < 1.0:
        raise ValueError(f"`{owner}`: q must be in the interval (0, 1). Received: q={q!r}")


def categorical_generalized_cross_entropy(y_true, y_pred, q):
    """`(1 - p_y ** q) / q`, with `p_y` the probability given to the integer label `y_true`.

    Interpolates between crossentropy (q -> 0) and mean absolute error (q = 1), which
    makes it robust to noisy labels.

    >>> import lamina
    >>> round(float(lamina.losses.categorical_generalized_cross_entropy(
    ...     [1], [[0.75, 0.25]], q=0.5)[0]), 4)
    1.0
    """
    _check_q(q, "categorical_generalized_cross_entropy")
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "`categorical_generalized_cross_entropy`: `y_true` must hold integer labels with "
            "the shape of `y_pred` without its last axis. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    p_y = y_pred.gather(-1, y_true.long().unsqueeze(-1)).squeeze(-1)
    return (1.0 - torch.pow(p_y, q)) / q


class BinaryFocalCrossentropy(LossFunctionWrapper):
    """Focal loss for binary (multi-label) classification, down-weighting easy examples.

    >>> import lamina
    >>> loss = lamina.losses.BinaryFocalCrossentropy(gamma=2.0)
    >>> round(float(loss([[1.0, 0.0]], [[0.5, 0.5]])), 4)
    0.1733
    """

    def __init__(self, apply_class_balancing=False, alpha=0.25, gamma=2.0, from_logits=False,
                 label_smoothing=0.0, axis=-1, reduction="sum_over_batch_size",
                 name="binary_focal_crossentropy", dtype=None):
        check_label_smoothing(label_smoothing, "BinaryFocalCrossentropy")
        super().__init__(binary_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, apply_class_balancing=apply_class_balancing, alpha=alpha,
                         gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.apply_class_balancing = apply_class_balancing
        self.alpha = alpha
        self.gamma = gamma


class CategoricalFocalCrossentropy(LossFunctionWrapper):
    """Focal loss for single-label multi-class classification (one-hot labels).

    >>> import lamina
    >>> loss = lamina.losses.CategoricalFocalCrossentropy()
    >>> round(float(loss([[0.0, 1.0]], [[0.5, 0.5]])), 4)
    0.0433
    """

    def __init__(self, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_focal_crossentropy",
                 dtype=None):
        _check_axis(axis, "CategoricalFocalCrossentropy")
        check_label_smoothing(label_smoothing, "CategoricalFocalCrossentropy")
        super().__init__(categorical_focal_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, alpha=alpha, gamma=gamma, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self.alpha = alpha
        self.gamma = gamma


class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    """Generalized crossentropy between integer labels and predicted probabilities.

    Args:
        q: in (0, 1); small values behave like crossentropy, 1 like mean absolute error.

    >>> import lamina
    >>> loss = lamina.losses.CategoricalGeneralizedCrossEntropy(q=0.5)
    >>> float(loss([1], [[0.75, 0.25]]))
    1.0
    """

    def __init__(self, q=0.5, reduction="sum_over_batch_size",
                 name="categorical_generalized_cross_entropy", dtype=None):
        _check_q(q, "CategoricalGeneralizedCrossEntropy")
        super().__init__(categorical_generalized_cross_entropy, name=name, reduction=reduction,
                         dtype=dtype, q=q)
        self.q = q

    def _convert_labels(self, y_true):
        if isinstance(y_true, torch.Tensor) and not y_true.is_floating_point():
            return y_true
        return self._convert(y_true)

    def call(self, y_true, y_pred):
        # Labels have one axis fewer than predictions: no rank alignment.
        return categorical_generalized_cross_entropy(y_true, y_pred, q=self.q)

    def get_config(self):
        return {**Loss.get_config(self), "q": self.q}
