"""Correlation metrics: Pearson and concordance correlation, per sample along an axis."""

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import check_broadcastable, squeeze_or_expand_to_same_rank
from lamina.metrics.reduction_metrics import MeanMetricWrapper


def _prepare(y_true, y_pred, name):
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    check_broadcastable(y_true, y_pred, name)
    return y_true, y_pred


def pearson_correlation(y_true, y_pred, axis=-1):
    """Pearson correlation coefficient between `y_true` and `y_pred` along `axis`.

    Constant inputs have no defined correlation (the result is NaN, as in Keras).

    >>> import lamina
    >>> round(float(lamina.metrics.pearson_correlation([[1.0, 2.0, 3.0]], [[2.0, 4.0, 6.0]])[0]),
    ...       4)
    1.0
    """
    y_true, y_pred = _prepare(y_true, y_pred, "pearson_correlation")
    true_centered = y_true - y_true.mean(dim=axis, keepdim=True)
    pred_centered = y_pred - y_pred.mean(dim=axis, keepdim=True)
    true_std = true_centered.std(dim=axis, keepdim=True, correction=0)
    pred_std = pred_centered.std(dim=axis, keepdim=True, correction=0)
    return ((true_centered / true_std) * (pred_centered / pred_std)).mean(dim=axis)


def concordance_correlation(y_true, y_pred, axis=-1):
    """Lin's concordance correlation coefficient along `axis`: agreement in both
    correlation and scale/location, `2 cov / (var_t + var_p + (mean_t - mean_p) ** 2)`.

    >>> import lamina
    >>> round(lamina.metrics.concordance_correlation([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])
    ...       .tolist()[0], 4)
    1.0
    """
    y_true, y_pred = _prepare(y_true, y_pred, "concordance_correlation")
    true_mean = y_true.mean(dim=axis, keepdim=True)
    pred_mean = y_pred.mean(dim=axis, keepdim=True)
    true_var = (y_true - true_mean).square().mean(dim=axis, keepdim=True)
    pred_var = (y_pred - pred_mean).square().mean(dim=axis, keepdim=True)
    covariance = ((y_true - true_mean) * (y_pred - pred_mean)).mean(dim=axis, keepdim=True)
    denominator = true_var + pred_var + (true_mean - pred_mean).square() + config.epsilon()
    return (2.0 * covariance / denominator).squeeze(axis)


class PearsonCorrelation(MeanMetricWrapper):
    """Mean Pearson correlation between labels and predictions along `axis`.

    >>> import lamina
    >>> m = lamina.metrics.PearsonCorrelation()
    >>> m.update_state([[1.0, 2.0, 3.0]], [[3.0, 2.0, 1.0]])
    >>> round(float(m.result()), 4)
    -1.0
    """

    def __init__(self, name="pearson_correlation", dtype=None, axis=-1):
        super().__init__(pearson_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"


class ConcordanceCorrelation(MeanMetricWrapper):
    """Mean concordance correlation between labels and predictions along `axis`.

    >>> import lamina
    >>> m = lamina.metrics.ConcordanceCorrelation()
    >>> m.update_state([[1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0]])
    >>> round(float(m.result()), 4)
    1.0
    """

    def __init__(self, name="concordance_correlation", dtype=None, axis=-1):
        super().__init__(concordance_correlation, name=name, dtype=dtype, axis=axis)
        self.axis = axis
        self._direction = "up"
