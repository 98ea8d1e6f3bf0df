"""Hinge losses: hinge, squared hinge and categorical hinge (for maximum-margin classifiers)."""

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import (
    LossFunctionWrapper,
    check_broadcastable,
    squeeze_or_expand_to_same_rank,
)


def _signed_labels(y_true, y_pred, name):
    """`y_true` as -1/1 labels: {0, 1} labels are mapped, anything else is kept.

    Whether the labels are binary is decided for the whole batch, on device (no sync).
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(y_true, y_pred, name)
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true), y_pred


def hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0)`.

    `y_true` holds -1/1 labels; 0/1 labels are converted to -1/1.

    >>> import lamina
    >>> lamina.losses.hinge([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
    [1.0]
    """
    y_true, y_pred = _signed_labels(y_true, y_pred, "hinge")
    return torch.relu(1.0 - y_true * y_pred).mean(dim=-1)


def squared_hinge(y_true, y_pred):
    """Mean over the last axis of `max(1 - y_true * y_pred, 0) ** 2`.

    >>> import lamina
    >>> lamina.losses.squared_hinge([[0.0, 1.0]], [[0.5, 0.5]]).tolist()
    [1.25]
    """
    y_true, y_pred = _signed_labels(y_true, y_pred, "squared_hinge")
    return torch.square(torch.relu(1.0 - y_true * y_pred)).mean(dim=-1)


def categorical_hinge(y_true, y_pred):
    """`max(neg - pos + 1, 0)` with `pos` the score of the true class and `neg` the best
    score among the other classes (one-hot `y_true`).

    >>> import lamina
    >>> lamina.losses.categorical_hinge([[0.0, 1.0]], [[0.3, 0.8]]).tolist()
    [0.5]
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    check_broadcastable(y_true, y_pred, "categorical_hinge")
    pos = (y_true * y_pred).sum(dim=-1)
    neg = ((1.0 - y_true) * y_pred).amax(dim=-1)
    return torch.relu(neg - pos + 1.0)


class Hinge(LossFunctionWrapper):
    """Hinge loss between -1/1 (or 0/1) labels and predicted scores.

    >>> import lamina
    >>> float(lamina.losses.Hinge()([[0.0, 1.0]], [[0.5, 0.5]]))
    1.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="hinge", dtype=None):
        super().__init__(hinge, name=name, reduction=reduction, dtype=dtype)


class SquaredHinge(LossFunctionWrapper):
    """Squared hinge loss between -1/1 (or 0/1) labels and predicted scores.

    >>> import lamina
    >>> float(lamina.losses.SquaredHinge()([[0.0, 1.0]], [[0.5, 0.5]]))
    1.25
    """

    def __init__(self, reduction="sum_over_batch_size", name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, reduction=reduction, dtype=dtype)


class CategoricalHinge(LossFunctionWrapper):
    """Categorical hinge loss between one-hot labels and predicted scores.

    >>> import lamina
    >>> float(lamina.losses.CategoricalHinge()([[0.0, 1.0]], [[0.3, 0.8]]))
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, reduction=reduction, dtype=dtype)
