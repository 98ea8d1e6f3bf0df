"""Overlap losses for segmentation: Dice and Tversky."""

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import Loss, LossFunctionWrapper, check_broadcastable


def _prepare(y_true, y_pred, name):
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    check_broadcastable(y_true, y_pred, name)
    return y_true, y_pred


def _sum(x, axis):
    return x.sum() if axis is None else x.sum(dim=axis)


def dice(y_true, y_pred, axis=None):
    """`1 - 2 |y_true * y_pred| / (|y_true| + |y_pred|)`, summed over `axis` (all axes when
    None, giving one value for the batch).

    >>> import lamina
    >>> round(float(lamina.losses.dice([[1.0, 0.0]], [[0.5, 0.5]])), 4)
    0.5
    """
    y_true, y_pred = _prepare(y_true, y_pred, "dice")
    intersection = _sum(y_true * y_pred, axis)
    total = _sum(y_true, axis) + _sum(y_pred, axis)
    return 1.0 - 2.0 * intersection / (total + config.epsilon())


def tversky(y_true, y_pred, alpha=0.5, beta=0.5, axis=None):
    """`1 - TP / (TP + alpha * FN + beta * FP)` with soft counts summed over `axis`.

    `alpha` weighs missed positives (`y_true * (1 - y_pred)`) and `beta` false alarms
    (`(1 - y_true) * y_pred`); `alpha = beta = 0.5` gives the Dice loss.

    >>> import lamina
    >>> round(float(lamina.losses.tversky([[1.0, 0.0]], [[0.5, 0.5]], alpha=0.5, beta=0.5)), 4)
    0.5
    """
    y_true, y_pred = _prepare(y_true, y_pred, "tversky")
    true_pos = _sum(y_true * y_pred, axis)
    false_neg = _sum(y_true * (1.0 - y_pred), axis)
    false_pos = _sum((1.0 - y_true) * y_pred, axis)
    denominator = true_pos + alpha * false_neg + beta * false_pos + config.epsilon()
    return 1.0 - true_pos / denominator


class Dice(LossFunctionWrapper):
    """Dice loss: one minus the soft Dice coefficient between labels and predictions.

    Args:
        axis: axes to sum over; None (default) sums everything into one batch value.

    >>> import lamina
    >>> float(lamina.losses.Dice()([[1.0, 0.0]], [[0.5, 0.5]]))
    0.5
    """

    def __init__(self, reduction="sum_over_batch_size", name="dice", axis=None, dtype=None):
        super().__init__(dice, name=name, reduction=reduction, dtype=dtype, axis=axis)
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "axis": self.axis}


class Tversky(LossFunctionWrapper):
    """Tversky loss: Dice with separate weights for false negatives and false positives.

    >>> import lamina
    >>> round(float(lamina.losses.Tversky(alpha=0.7, beta=0.3)([[1.0, 0.0]], [[0.5, 0.5]])), 4)
    0.5
    """

    def __init__(self, alpha=0.5, beta=0.5, reduction="sum_over_batch_size", name="tversky",
                 axis=None, dtype=None):
        super().__init__(tversky, name=name, reduction=reduction, dtype=dtype, alpha=alpha,
                         beta=beta, axis=axis)
        self.alpha = alpha
        self.beta = beta
        self.axis = axis

    def get_config(self):
        return {**Loss.get_config(self), "alpha": self.alpha, "beta": self.beta,
                "axis": self.axis}
