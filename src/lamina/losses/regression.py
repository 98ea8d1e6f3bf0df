"""Regression losses: mean squared error and mean absolute error."""

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import (
    LossFunctionWrapper,
    check_broadcastable,
    squeeze_or_expand_to_same_rank,
)


def _prepare(y_true, y_pred, name):
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(y_true, y_pred, name)
    return y_true, y_pred


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis of `(y_true - y_pred) ** 2`.

    >>> import lamina
    >>> lamina.losses.mean_squared_error([[0.0, 2.0]], [[1.0, 1.0]]).tolist()
    [1.0]
    """
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_error")
    return torch.square(y_true - y_pred).mean(dim=-1)


def mean_absolute_error(y_true, y_pred):
    """Mean over the last axis of `|y_true - y_pred|`.

    >>> import lamina
    >>> lamina.losses.mean_absolute_error([[0.0, 2.0]], [[1.0, 5.0]]).tolist()
    [2.0]
    """
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_error")
    return torch.abs(y_true - y_pred).mean(dim=-1)


class MeanSquaredError(LossFunctionWrapper):
    """Mean of squared errors over the last axis, then reduced over the batch.

    >>> import lamina
    >>> float(lamina.losses.MeanSquaredError()([[0.0, 1.0]], [[1.0, 1.0]]))
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, reduction=reduction, dtype=dtype)


class MeanAbsoluteError(LossFunctionWrapper):
    """Mean of absolute errors over the last axis, then reduced over the batch.

    >>> import lamina
    >>> float(lamina.losses.MeanAbsoluteError()([[0.0, 1.0]], [[1.0, 3.0]]))
    1.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, reduction=reduction, dtype=dtype)
