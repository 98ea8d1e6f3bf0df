"""Regression losses: mean squared/absolute (percentage, logarithmic) error, Huber, log-cosh,
cosine similarity."""

import math

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import (
    Loss,
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


def mean_absolute_percentage_error(y_true, y_pred):
    """Mean over the last axis of `100 * |y_true - y_pred| / max(|y_true|, epsilon)`.

    >>> import lamina
    >>> lamina.losses.mean_absolute_percentage_error([[1.0, 2.0]], [[1.5, 1.0]]).tolist()
    [50.0]
    """
    y_true, y_pred = _prepare(y_true, y_pred, "mean_absolute_percentage_error")
    scale = y_true.abs().clamp_min(config.epsilon())
    return 100.0 * ((y_true - y_pred) / scale).abs().mean(dim=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """Mean over the last axis of `(log(1 + y_pred) - log(1 + y_true)) ** 2`.

    Both inputs are clipped below at `epsilon` first.

    >>> import lamina
    >>> round(float(lamina.losses.mean_squared_logarithmic_error([[0.0]], [[1.0]])[0]), 4)
    0.4805
    """
    y_true, y_pred = _prepare(y_true, y_pred, "mean_squared_logarithmic_error")
    eps = config.epsilon()
    diff = torch.log1p(y_pred.clamp_min(eps)) - torch.log1p(y_true.clamp_min(eps))
    return torch.square(diff).mean(dim=-1)


def huber(y_true, y_pred, delta=1.0):
    """Huber loss over the last axis: quadratic for `|error| <= delta`, linear beyond.

    >>> import lamina
    >>> lamina.losses.huber([[0.0, 0.0]], [[0.5, 3.0]]).tolist()
    [1.3125]
    """
    y_true, y_pred = _prepare(y_true, y_pred, "huber")
    error = y_pred - y_true
    abs_error = error.abs()
    half_square = 0.5 * torch.square(error)
    linear = delta * abs_error - 0.5 * delta * delta
    return torch.where(abs_error <= delta, half_square, linear).mean(dim=-1)


def log_cosh(y_true, y_pred):
    """Mean over the last axis of `log(cosh(y_pred - y_true))`, computed without overflow.

    >>> import lamina
    >>> round(float(lamina.losses.log_cosh([[0.0]], [[1.0]])[0]), 4)
    0.4338
    """
    y_true, y_pred = _prepare(y_true, y_pred, "log_cosh")
    error = y_pred - y_true
    return (error + F.softplus(-2.0 * error) - math.log(2.0)).mean(dim=-1)


def cosine_similarity(y_true, y_pred, axis=-1):
    """Negative cosine similarity along `axis` (-1 for identical directions, 0 for zeros).

    >>> import lamina
    >>> lamina.losses.cosine_similarity([[0.0, 1.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 1.0]]).tolist()
    [-1.0, -0.0]
    """
    y_true, y_pred = _prepare(y_true, y_pred, "cosine_similarity")
    eps = config.epsilon()
    y_true = F.normalize(y_true, dim=axis, eps=eps)
    y_pred = F.normalize(y_pred, dim=axis, eps=eps)
    return -(y_true * y_pred).sum(dim=axis)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """Mean absolute percentage error over the last axis, then reduced over the batch.

    >>> import lamina
    >>> float(lamina.losses.MeanAbsolutePercentageError()([[1.0, 2.0]], [[1.5, 1.0]]))
    50.0
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_absolute_percentage_error",
                 dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction,
                         dtype=dtype)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """Mean squared logarithmic error over the last axis, then reduced over the batch.

    >>> import lamina
    >>> round(float(lamina.losses.MeanSquaredLogarithmicError()([[0.0]], [[1.0]])), 4)
    0.4805
    """

    def __init__(self, reduction="sum_over_batch_size", name="mean_squared_logarithmic_error",
                 dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction,
                         dtype=dtype)


class Huber(LossFunctionWrapper):
    """Huber loss: squared error for small errors, absolute error past `delta`.

    As in Keras, `delta` is not part of the config.

    >>> import lamina
    >>> float(lamina.losses.Huber(delta=1.0)([[0.0, 0.0]], [[0.5, 3.0]]))
    1.3125
    """

    def __init__(self, delta=1.0, reduction="sum_over_batch_size", name="huber_loss",
                 dtype=None):
        super().__init__(huber, name=name, reduction=reduction, dtype=dtype, delta=delta)

    def get_config(self):
        return Loss.get_config(self)


class LogCosh(LossFunctionWrapper):
    """Logarithm of the hyperbolic cosine of the error, averaged over the last axis.

    >>> import lamina
    >>> round(float(lamina.losses.LogCosh()([[0.0]], [[1.0]])), 4)
    0.4338
    """

    def __init__(self, reduction="sum_over_batch_size", name="log_cosh", dtype=None):
        super().__init__(log_cosh, name=name, reduction=reduction, dtype=dtype)


class CosineSimilarity(LossFunctionWrapper):
    """Negative cosine similarity between labels and predictions along `axis`.

    As in Keras, `axis` is not part of the config.

    >>> import lamina
    >>> float(lamina.losses.CosineSimilarity()([[0.0, 1.0], [1.0, 0.0]], [[0.0, 2.0], [0.0, 1.0]]))
    -0.5
    """

    def __init__(self, axis=-1, reduction="sum_over_batch_size", name="cosine_similarity",
                 dtype=None):
        super().__init__(cosine_similarity, name=name, reduction=reduction, dtype=dtype,
                         axis=axis)

    def get_config(self):
        return Loss.get_config(self)
