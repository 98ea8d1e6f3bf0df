"""Regression metrics: mean squared/absolute (percentage, logarithmic) error, root mean
squared error, log-cosh error, cosine similarity and the R2 score."""

import warnings

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.losses.regression import (
    cosine_similarity as negative_cosine_similarity,
)
from lamina.losses.regression import (
    log_cosh,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_error,
    mean_squared_logarithmic_error,
)
from lamina.metrics.metric import Metric
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


def cosine_similarity(y_true, y_pred, axis=-1):
    """Cosine similarity between `y_true` and `y_pred` along `axis` (1 for equal directions).

    >>> import lamina
    >>> from lamina.metrics.regression_metrics import cosine_similarity
    >>> cosine_similarity([[0.0, 1.0]], [[0.0, 3.0]]).tolist()
    [1.0]
    """
    return -negative_cosine_similarity(y_true, y_pred, axis=axis)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    """Mean of `mean_absolute_percentage_error(y_true, y_pred)` over all samples seen.

    >>> import lamina
    >>> m = lamina.metrics.MeanAbsolutePercentageError()
    >>> m.update_state([[1.0, 2.0]], [[1.5, 1.0]])
    >>> float(m.result())
    50.0
    """

    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name=name, dtype=dtype)
        self._direction = "down"


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    """Mean of `mean_squared_logarithmic_error(y_true, y_pred)` over all samples seen.

    >>> import lamina
    >>> m = lamina.metrics.MeanSquaredLogarithmicError()
    >>> m.update_state([[0.0]], [[1.0]])
    >>> round(float(m.result()), 4)
    0.4805
    """

    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name=name, dtype=dtype)
        self._direction = "down"


class LogCoshError(MeanMetricWrapper):
    """Mean of `log(cosh(y_pred - y_true))` over all samples seen.

    >>> import lamina
    >>> m = lamina.metrics.LogCoshError()
    >>> m.update_state([[0.0]], [[1.0]])
    >>> round(float(m.result()), 4)
    0.4338
    """

    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name=name, dtype=dtype)
        self._direction = "down"


class CosineSimilarity(MeanMetricWrapper):
    """Mean cosine similarity between labels and predictions along `axis`.

    As in Keras, `axis` is not part of the config.

    >>> import lamina
    >>> m = lamina.metrics.CosineSimilarity()
    >>> m.update_state([[0.0, 1.0], [1.0, 1.0]], [[1.0, 0.0], [1.0, 1.0]])
    >>> round(float(m.result()), 4)
    0.5
    """

    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name=name, dtype=dtype, axis=axis)
        self._direction = "up"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


_CLASS_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """Coefficient of determination, `1 - SS_residual / SS_total`, per output column.

    Args:
        class_aggregation: `"uniform_average"` (mean over columns), `"variance_weighted_average"`
            (weighted by each column's variance), or None (one score per column).
        num_regressors: the number of independent variables, for the adjusted R2 score
            (0: the plain score).

    >>> import lamina
    >>> m = lamina.metrics.R2Score()
    >>> m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0,
                 name="r2_score", dtype=None):
        if class_aggregation not in _CLASS_AGGREGATIONS:
            raise ValueError(
                "R2Score: invalid value for argument `class_aggregation`. Expected one of "
                f"{_CLASS_AGGREGATIONS}. Received: class_aggregation={class_aggregation!r}"
            )
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, int) \
                or num_regressors < 0:
            raise ValueError(
                "R2Score: invalid value for argument `num_regressors`. Expected an integer "
                f">= 0. Received: num_regressors={num_regressors!r}"
            )
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self._torch_dtype = to_torch_dtype(self.dtype)
        self.class_aggregation = class_aggregation
        self.num_regressors = num_regressors
        self.num_samples = self.add_variable(shape=(), initializer="zeros", name="num_samples")
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                "R2Score expects 2D inputs with shape (batch_size, output_dim). Received "
                f"input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        num_classes = y_pred_shape[-1]
        self.squared_sum = self.add_variable((num_classes,), "zeros", name="squared_sum")
        self.sum = self.add_variable((num_classes,), "zeros", name="sum")
        self.total_mse = self.add_variable((num_classes,), "zeros", name="residual")
        self.count = self.add_variable((num_classes,), "zeros", name="count")
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = convert_to_tensor(y_true, dtype=self._torch_dtype)
        y_pred = convert_to_tensor(y_pred, dtype=self._torch_dtype)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                "R2Score: `y_true` and `y_pred` must have the same shape. Received: "
                f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
            )
        self._follow_device(y_pred)
        if sample_weight is None:
            weights = torch.ones((), dtype=self._torch_dtype, device=y_true.device)
        else:
            weights = convert_to_tensor(sample_weight, dtype=self._torch_dtype)
            weights = weights.to(y_true.device)
            if weights.ndim == 1:
                weights = weights.unsqueeze(1)
        weights = weights.expand(y_true.shape)
        weighted_true = y_true * weights
        self.sum.add_(weighted_true.sum(dim=0))
        self.squared_sum.add_((y_true * weighted_true).sum(dim=0))
        self.total_mse.add_((torch.square(y_true - y_pred) * weights).sum(dim=0))
        self.count.add_(weights.sum(dim=0))
        self.num_samples.add_(y_true.numel())

    def result(self):
        mean = self.sum / self.count
        total = self.squared_sum - self.sum * mean
        raw = 1 - self.total_mse / total
        raw = torch.where(torch.isinf(raw), torch.zeros_like(raw), raw).detach()
        if self.class_aggregation == "uniform_average":
            score = raw.mean()
        elif self.class_aggregation == "variance_weighted_average":
            score = (total * raw).sum().detach() / total.sum().detach()
        else:
            score = raw
        if self.num_regressors:
            # Reading the sample count is a host sync, but only here, never in update_state.
            n = float(self.num_samples)
            if self.num_regressors > n - 1:
                warnings.warn("More independent predictors than datapoints in adjusted R2 "
                              "score. Falling back to standard R2 score.", stacklevel=2)
            elif self.num_regressors == n - 1:
                warnings.warn("Division by zero in adjusted R2 score. Falling back to "
                              "standard R2 score.", stacklevel=2)
            else:
                score = 1.0 - (1.0 - score) * (n - 1.0) / (n - self.num_regressors - 1.0)
        return score

    def reset_state(self):
        with torch.no_grad():
            for variable in self.variables:
                variable.zero_()

    def get_config(self):
        return {**super().get_config(), "class_aggregation": self.class_aggregation,
                "num_regressors": self.num_regressors}
