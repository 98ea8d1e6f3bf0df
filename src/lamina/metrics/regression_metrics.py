"""Regression metrics: mean squared, mean absolute and root mean squared error."""

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.losses.regression import mean_absolute_error, mean_squared_error
from lamina.metrics.reduction_metrics import Mean, MeanMetricWrapper


class MeanSquaredError(MeanMetricWrapper):
    """Mean of `mean_squared_error(y_true, y_pred)` over all samples seen.

    >>> import lamina
    >>> m = lamina.metrics.MeanSquaredError()
    >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    >>> float(m.result())
    0.25
    """

    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name=name, dtype=dtype)
        self._direction = "down"


class MeanAbsoluteError(MeanMetricWrapper):
    """Mean of `mean_absolute_error(y_true, y_pred)` over all samples seen.

    >>> import lamina
    >>> m = lamina.metrics.MeanAbsoluteError()
    >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    >>> float(m.result())
    0.25
    """

    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name=name, dtype=dtype)
        self._direction = "down"


class RootMeanSquaredError(Mean):
    """Square root of the (weighted) mean of squared errors over all values seen.

    >>> import lamina
    >>> m = lamina.metrics.RootMeanSquaredError()
    >>> m.update_state([[0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.0, 0.0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        with torch.no_grad():
            y_true = convert_to_tensor(y_true, dtype=self._torch_dtype)
            y_pred = convert_to_tensor(y_pred, dtype=self._torch_dtype)
            y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
            self._accumulate(torch.square(y_pred - y_true), sample_weight)

    def result(self):
        return torch.sqrt(super().result())
