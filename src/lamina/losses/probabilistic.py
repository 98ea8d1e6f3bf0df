"""Probabilistic losses: binary, categorical and sparse categorical crossentropy, KL divergence,
Poisson.

Probability inputs are clipped to `[epsilon, 1 - epsilon]` before the log, as Keras does;
logit inputs go through torch's fused, numerically stable kernels.
"""

import contextlib
import warnings

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import (
    LossFunctionWrapper,
    check_broadcastable,
    squeeze_or_expand_to_same_rank,
)


def check_label_smoothing(label_smoothing, owner):
    if isinstance(label_smoothing, (int, float)) and not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(
            f"`{owner}`: `label_smoothing` must be in [0, 1]. "
            f"Received: label_smoothing={label_smoothing!r}"
        )


def _check_axis(axis, owner):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise ValueError(
            f"`{owner}`: `axis` must be of type `int`. Received: axis={axis!r} of type "
            f"{type(axis)}"
        )


def _check_same_shape(y_true, y_pred, owner):
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"`{owner}`: `y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )


def _full_precision(device):
    # NOTE: torch refuses F.binary_cross_entropy under CUDA autocast; compute it unautocast.
    if torch.is_autocast_enabled(device.type):
        return torch.autocast(device.type, enabled=False)
    return contextlib.nullcontext()


def _clipped_log_probs(y_pred, axis):
    """Log of `y_pred` normalised along `axis` and clipped to [eps, 1 - eps]."""
    eps = config.epsilon()
    probs = y_pred / y_pred.sum(dim=axis, keepdim=True)
    return probs.clamp(eps, 1.0 - eps).log()


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Binary crossentropy, averaged over `axis`.

    Args:
        y_true: targets in [0, 1], same shape as `y_pred`.
        y_pred: probabilities, or logits when `from_logits=True`.
        from_logits: whether `y_pred` holds logits.
        label_smoothing: in [0, 1]; targets move towards 0.5 by this fraction.
        axis: the axis to average over.

    >>> import lamina
    >>> round(float(lamina.losses.binary_crossentropy([[1.0, 0.0]], [[0.5, 0.5]])[0]), 4)
    0.6931
    """
    check_label_smoothing(label_smoothing, "binary_crossentropy")
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    _check_same_shape(y_true, y_pred, "binary_crossentropy")
    if from_logits:
        values = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = config.epsilon()
        with _full_precision(y_pred.device):
            values = F.binary_cross_entropy(
                y_pred.clamp(eps, 1.0 - eps), y_true, reduction="none"
            )
    return values.mean(dim=axis)


def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """Crossentropy between one-hot (or soft) targets and predictions along `axis`.

    Non-logit `y_pred` is normalised to sum to 1 along `axis`, then clipped.

    >>> import lamina
    >>> round(float(lamina.losses.categorical_crossentropy([[0.0, 1.0]], [[0.2, 0.8]])[0]), 4)
    0.2231
    """
    _check_axis(axis, "categorical_crossentropy")
    check_label_smoothing(label_smoothing, "categorical_crossentropy")
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    if y_pred.ndim < 1:
        raise ValueError(
            "`categorical_crossentropy`: `y_pred` must have at least one (class) axis. "
            f"Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if y_pred.shape[-1] == 1:
        warnings.warn(
            "In loss categorical_crossentropy, expected y_pred.shape to be "
            "(batch_size, num_classes) with num_classes > 1. Received: "
            f"y_pred.shape={tuple(y_pred.shape)}. Consider using 'binary_crossentropy' if "
            "you only have 2 classes.",
            SyntaxWarning,
            stacklevel=2,
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[-1]
    _check_same_shape(y_true, y_pred, "categorical_crossentropy")
    if from_logits:
        log_probs = F.log_softmax(y_pred, dim=axis)
    else:
        log_probs = _clipped_log_probs(y_pred, axis)
    return -(y_true * log_probs).sum(dim=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, ignore_class=None,
                                    axis=-1):
    """Crossentropy between integer class ids `y_true` and predictions `y_pred`.

    `y_true` has `y_pred`'s shape without its last (class) axis, or with a trailing 1.
    Entries whose label equals `ignore_class` get loss 0 and are masked out of the mean.

    >>> import lamina
    >>> round(float(lamina.losses.sparse_categorical_crossentropy([1], [[0.2, 0.8]])[0]), 4)
    0.2231
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    if y_pred.ndim < 1:
        raise ValueError(
            "`sparse_categorical_crossentropy`: `y_pred` must have at least one (class) "
            f"axis. Received: y_pred.shape={tuple(y_pred.shape)}"
        )
    if axis != -1 and axis != y_pred.ndim - 1:
        raise ValueError(
            "`sparse_categorical_crossentropy`: only the last axis can hold the classes "
            f"(axis=-1). Received: axis={axis!r}"
        )
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = y_true.squeeze(-1)
    if y_true.shape != y_pred.shape[:-1]:
        raise ValueError(
            "`sparse_categorical_crossentropy`: `y_true` must have the shape of `y_pred` "
            f"without its last axis. Received: y_true.shape={tuple(y_true.shape)}, "
            f"y_pred.shape={tuple(y_pred.shape)}"
        )
    target = y_true.long()
    if y_pred.ndim > 2:
        y_pred = y_pred.movedim(-1, 1)  # torch wants classes on axis 1; a view, no copy
    # NOTE: ignore_index (-100 when unused) only ever zeroes entries; Keras' masking of
    # `ignore_class` is reproduced by the `_keras_mask` set below.
    ignore_index = -100 if ignore_class is None else int(ignore_class)
    if from_logits:
        values = F.cross_entropy(y_pred, target, reduction="none", ignore_index=ignore_index)
    else:
        values = F.nll_loss(_clipped_log_probs(y_pred, 1 if y_pred.ndim > 1 else 0), target,
                            reduction="none", ignore_index=ignore_index)
    if ignore_class is not None:
        values._keras_mask = y_true != ignore_class
    return values


def kl_divergence(y_true, y_pred):
    """Kullback-Leibler divergence `sum(y_true * log(y_true / y_pred))` over the last axis.

    Both inputs are clipped to [epsilon, 1] first.

    >>> import lamina
    >>> round(float(lamina.losses.kl_divergence([[0.5, 0.5]], [[0.25, 0.75]])[0]), 4)
    0.1438
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    check_broadcastable(y_true, y_pred, "kl_divergence")
    eps = config.epsilon()
    y_true = y_true.clamp(eps, 1.0)
    y_pred = y_pred.clamp(eps, 1.0)
    return (y_true * torch.log(y_true / y_pred)).sum(dim=-1)


def poisson(y_true, y_pred):
    """Mean over the last axis of `y_pred - y_true * log(y_pred + epsilon)`.

    >>> import lamina
    >>> round(float(lamina.losses.poisson([[1.0, 0.0]], [[1.0, 2.0]])[0]), 4)
    1.5
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(y_true, y_pred, "poisson")
    return (y_pred - y_true * torch.log(y_pred + config.epsilon())).mean(dim=-1)


class BinaryCrossentropy(LossFunctionWrapper):
    """Crossentropy between binary targets and predicted probabilities (or logits).

    >>> import lamina
    >>> loss = lamina.losses.BinaryCrossentropy(from_logits=True)
    >>> round(float(loss([[1.0, 0.0]], [[0.0, 0.0]])), 4)
    0.6931
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="binary_crossentropy", dtype=None):
        check_label_smoothing(label_smoothing, "BinaryCrossentropy")
        super().__init__(binary_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class CategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between one-hot targets and predicted class probabilities (or logits).

    >>> import lamina
    >>> loss = lamina.losses.CategoricalCrossentropy()
    >>> round(float(loss([[0.0, 1.0], [1.0, 0.0]], [[0.2, 0.8], [0.5, 0.5]])), 4)
    0.4581
    """

    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1,
                 reduction="sum_over_batch_size", name="categorical_crossentropy", dtype=None):
        _check_axis(axis, "CategoricalCrossentropy")
        check_label_smoothing(label_smoothing, "CategoricalCrossentropy")
        super().__init__(categorical_crossentropy, name=name, reduction=reduction, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    """Crossentropy between integer class ids and predicted class probabilities (or logits).

    >>> import lamina
    >>> loss = lamina.losses.SparseCategoricalCrossentropy()
    >>> round(float(loss([1, 0], [[0.2, 0.8], [0.5, 0.5]])), 4)
    0.4581
    """

    def __init__(self, from_logits=False, ignore_class=None, reduction="sum_over_batch_size",
                 axis=-1, name="sparse_categorical_crossentropy", dtype=None):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         dtype=dtype, from_logits=from_logits, ignore_class=ignore_class,
                         axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis

    def _convert_labels(self, y_true):
        # Integer class ids stay integers (Keras casts them to float and back).
        if isinstance(y_true, torch.Tensor) and not y_true.is_floating_point():
            return y_true
        return self._convert(y_true)

    def get_config(self):
        # Keras leaves `axis` out of this config (only the last axis is supported).
        return {"name": self.name, "reduction": self.reduction,
                "from_logits": self.from_logits, "ignore_class": self.ignore_class}


class KLDivergence(LossFunctionWrapper):
    """Kullback-Leibler divergence between target and predicted distributions.

    >>> import lamina
    >>> round(float(lamina.losses.KLDivergence()([[0.5, 0.5]], [[0.25, 0.75]])), 4)
    0.1438
    """

    def __init__(self, reduction="sum_over_batch_size", name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, reduction=reduction, dtype=dtype)


class Poisson(LossFunctionWrapper):
    """Poisson loss: the negative log-likelihood of counts `y_true` under rates `y_pred`
    (up to a constant).

    >>> import lamina
    >>> float(lamina.losses.Poisson()([[1.0, 0.0]], [[1.0, 2.0]]))
    1.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="poisson", dtype=None):
        super().__init__(poisson, name=name, reduction=reduction, dtype=dtype)
