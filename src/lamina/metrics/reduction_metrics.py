"""Reducing metrics: `Sum`, `Mean`, and `MeanMetricWrapper` (the mean of a function)."""

import torch

from lamina import losses
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import (
    apply_mask,
    get_mask,
    resolve_function,
    squeeze_or_expand_to_same_rank,
)
from lamina.metrics.metric import Metric
from lamina.serialization import serialization


def _reduce(fn, x, first_axis):
    if x.ndim <= first_axis:
        return x
    return fn(x, dim=tuple(range(first_axis, x.ndim)))


def reduce_to_samplewise_values(values, sample_weight, reduce_fn, dtype):
    """Weight `values` and reduce them to one value per sample (axis 0).

    `values` is first reduced (with `reduce_fn`) down to the rank of `sample_weight`, then
    weighted; a Keras mask on `values` is folded into a given `sample_weight`. Returns the
    per-sample values and the matching per-sample weights (or None).
    """
    mask = get_mask(values)
    if values.dtype != dtype:
        values = values.to(dtype)
    if sample_weight is not None:
        sample_weight = convert_to_tensor(sample_weight, dtype=dtype)
        if sample_weight.device != values.device:
            sample_weight = sample_weight.to(values.device)
        if mask is not None:
            sample_weight = apply_mask(sample_weight, mask.to(values.device), dtype, "sum")
        values, sample_weight = squeeze_or_expand_to_same_rank(values, sample_weight)
        weight_rank = sample_weight.ndim
        values = _reduce(reduce_fn, values, weight_rank)
        try:
            sample_weight = sample_weight.expand(values.shape)
        except RuntimeError:
            raise ValueError(
                "`sample_weight` cannot be broadcast to the metric values. Received: "
                f"values.shape={tuple(values.shape)}, "
                f"sample_weight.shape={tuple(sample_weight.shape)}"
            ) from None
        values = values * sample_weight
        if weight_rank > 1:
            sample_weight = _reduce(reduce_fn, sample_weight, 1)
    return _reduce(reduce_fn, values, 1), sample_weight


def _divide_no_nan(numerator, denominator):
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / denominator)


class Sum(Metric):
    """The (weighted) sum of all values seen.

    >>> import lamina
    >>> m = lamina.metrics.Sum()
    >>> m.update_state([1.0, 3.0, 5.0], sample_weight=[1.0, 0.0, 1.0])
    >>> float(m.result())
    6.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._torch_dtype = to_torch_dtype(self.dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    @torch.no_grad()
    def update_state(self, values, sample_weight=None):
        values = convert_to_tensor(values)
        self._follow_device(values)
        values, _ = reduce_to_samplewise_values(
            values, sample_weight, torch.sum, self._torch_dtype
        )
        self.total.add_(values.sum())

    def result(self):
        return self.total.detach().clone()


class Mean(Metric):
    """The (weighted) mean of all values seen: `sum(w * v) / sum(w)`.

    Values of rank > 1 are first averaged per sample; without `sample_weight` every
    sample weighs 1.

    >>> import lamina
    >>> m = lamina.metrics.Mean()
    >>> m.update_state([1.0, 3.0, 5.0, 7.0], sample_weight=[1.0, 1.0, 0.0, 0.0])
    >>> float(m.result())
    2.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._torch_dtype = to_torch_dtype(self.dtype)
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    @torch.no_grad()
    def update_state(self, values, sample_weight=None):
        self._accumulate(values, sample_weight)

    def _accumulate(self, values, sample_weight):
        values = convert_to_tensor(values)
        self._follow_device(values)
        values, sample_weight = reduce_to_samplewise_values(
            values, sample_weight, torch.mean, self._torch_dtype
        )
        self.total.add_(values.sum())
        if sample_weight is not None:
            self.count.add_(sample_weight.sum())
        else:
            # A Python number is a kernel argument: no host-to-device copy.
            self.count.add_(values.shape[0] if values.ndim else 1)

    def result(self):
        return _divide_no_nan(self.total.detach(), self.count.detach())


class MeanMetricWrapper(Mean):
    """The mean of `fn(y_true, y_pred, **kwargs)` over all samples seen.

    Args:
        fn: a function `fn(y_true, y_pred, **kwargs)` returning per-sample values.
        name: metric name. dtype: state dtype. **kwargs: passed on to `fn`.

    >>> import lamina
    >>> m = lamina.metrics.MeanMetricWrapper(lamina.metrics.binary_accuracy, threshold=0.7)
    >>> m.update_state([[1.0], [1.0]], [[0.6], [0.8]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        if not callable(fn):
            raise TypeError(
                f"MeanMetricWrapper: `fn` must be callable. Received: fn={fn!r} "
                f"of type {type(fn).__name__}"
            )
        super().__init__(name=name, dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs
        if any(fn is f for f in losses.ALL_OBJECTS.values()):
            self._direction = "down"

    def update_state(self, y_true, y_pred, sample_weight=None):
        mask = get_mask(y_pred)
        with torch.no_grad():
            values = self._fn(y_true, y_pred, **self._fn_kwargs)
            if mask is not None:
                if sample_weight is not None:
                    sample_weight = convert_to_tensor(sample_weight, dtype=self._torch_dtype)
                sample_weight = apply_mask(sample_weight, mask, self._torch_dtype, "sum")
            self._accumulate(values, sample_weight)

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype}
        if type(self) is MeanMetricWrapper:
            config["fn"] = serialization.serialize_keras_object(self._fn)
        config.update(serialization.serialize_keras_object(self._fn_kwargs))
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "fn" in config:
            from lamina import metrics  # metrics/__init__ imports this module: a cycle

            config["fn"] = resolve_function(
                config["fn"], {**losses.ALL_OBJECTS, **metrics.ALL_FUNCTIONS}
            )
        return cls(**config)
