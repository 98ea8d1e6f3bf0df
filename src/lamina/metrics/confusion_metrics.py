"""Confusion-matrix metrics: true/false positive/negative counts, precision, recall, and the
sensitivity/specificity/precision/recall-at-a-constraint family.

Every threshold is handled at once: predictions are compared against a thresholds tensor
(one broadcast comparison), or, for evenly spaced thresholds, dropped into buckets and
accumulated with one scatter-add and a reversed cumulative sum. Nothing is read back to
the host during `update_state`.
"""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics.metric import Metric

NEG_INF = -1e10


def check_thresholds(thresholds, owner):
    """`thresholds` (a number or a list) as a list of floats in [0, 1]."""
    values = list(thresholds) if isinstance(thresholds, (list, tuple)) else [thresholds]
    if not values or any(not 0.0 <= float(t) <= 1.0 for t in values):
        raise ValueError(
            f"{owner}: threshold values must be in [0, 1]. Received: thresholds={thresholds!r}"
        )
    return [float(t) for t in values]


def is_evenly_distributed(thresholds):
    """Whether the inner thresholds are exactly `i / (n - 1)` (then buckets can be used)."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(1, n - 1, dtype=np.float32) / (n - 1)
    return bool(np.allclose(np.asarray(thresholds[1:-1], np.float32), even,
                            atol=config.epsilon()))


def evenly_spaced_thresholds(num_thresholds):
    """`num_thresholds` thresholds from just below 0 to just above 1, evenly spaced."""
    eps = config.epsilon()
    inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
    return [0.0 - eps, *inner, 1.0 + eps]


def _filter_top_k(x, k):
    """`x` with every entry outside the top `k` of its last axis set to `NEG_INF`."""
    indices = torch.topk(x, min(k, x.shape[-1]), dim=-1).indices
    keep = torch.zeros_like(x, dtype=torch.bool).scatter_(-1, indices, True)
    return torch.where(keep, x, torch.full_like(x, NEG_INF))


def prepare_inputs(y_true, y_pred, sample_weight, dtype, owner, top_k=None, class_id=None):
    """Tensors of one shape for the confusion-matrix update (weights may be None)."""
    y_pred = convert_to_tensor(y_pred, dtype=dtype)
    y_true = convert_to_tensor(y_true, dtype=dtype)
    if y_true.device != y_pred.device:
        y_true = y_true.to(y_pred.device)
    y_pred, y_true = squeeze_or_expand_to_same_rank(y_pred, y_true)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"{owner}: `y_true` and `y_pred` must have the same shape. Received: "
            f"y_true.shape={tuple(y_true.shape)}, y_pred.shape={tuple(y_pred.shape)}"
        )
    if sample_weight is not None:
        sample_weight = convert_to_tensor(sample_weight, dtype=dtype)
        if sample_weight.device != y_pred.device:
            sample_weight = sample_weight.to(y_pred.device)
        y_pred, sample_weight = squeeze_or_expand_to_same_rank(
            y_pred, sample_weight, expand_rank_1=False)
        if 0 < sample_weight.ndim < y_pred.ndim:
            sample_weight = sample_weight.reshape(
                sample_weight.shape + (1,) * (y_pred.ndim - sample_weight.ndim))
        try:
            sample_weight = sample_weight.expand(y_pred.shape)
        except RuntimeError:
            raise ValueError(
                f"{owner}: `sample_weight` cannot be broadcast to the predictions. Received: "
                f"sample_weight.shape={tuple(sample_weight.shape)}, "
                f"y_pred.shape={tuple(y_pred.shape)}"
            ) from None
    if top_k is not None:
        y_pred = _filter_top_k(y_pred, top_k)
    if class_id is not None:
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
        if sample_weight is not None:
            sample_weight = sample_weight[..., class_id]
    return y_true, y_pred, sample_weight


def confusion_counts(y_true, y_pred, thresholds, evenly, with_epsilon, sample_weight=None,
                     multi_label=False, label_weights=None):
    """Weighted (tp, fp, tn, fn) per threshold: shape `(T,)`, or `(T, labels)` when
    `multi_label` (then `y_true`/`y_pred` are `(batch, labels)`)."""
    weights = sample_weight
    if label_weights is not None and not multi_label:
        label_weights = label_weights.expand(y_pred.shape)
        weights = label_weights if weights is None else weights * label_weights
    positive = (y_true != 0).to(y_pred.dtype)
    if not multi_label:
        positive, y_pred = positive.reshape(-1), y_pred.reshape(-1)
        if weights is not None:
            weights = weights.reshape(-1)
    true_w = positive if weights is None else positive * weights
    false_w = (1.0 - positive) if weights is None else (1.0 - positive) * weights
    num_thresholds = thresholds.shape[0]
    if evenly:
        # Bucket b holds predictions above thresholds[0..b]: counts per threshold are the
        # reversed cumulative sums of the bucket totals.
        buckets = torch.ceil(y_pred.clamp(0.0, 1.0) * (num_thresholds - 1)) - 1
        if with_epsilon:
            buckets = torch.relu(buckets)
        index = (buckets + 1).long()  # shift so that bucket -1 (no threshold) is row 0
        shape = (num_thresholds + 1,) + tuple(y_pred.shape[1:])
        tp_buckets = true_w.new_zeros(shape).scatter_add_(0, index, true_w)
        fp_buckets = false_w.new_zeros(shape).scatter_add_(0, index, false_w)
        tp = tp_buckets.flip(0).cumsum(0).flip(0)[1:]
        fp = fp_buckets.flip(0).cumsum(0).flip(0)[1:]
    else:
        thresholds = thresholds.reshape((num_thresholds,) + (1,) * y_pred.ndim)
        above = (y_pred.unsqueeze(0) > thresholds).to(y_pred.dtype)
        tp = (above * true_w).sum(dim=1)
        fp = (above * false_w).sum(dim=1)
    tn = false_w.sum(dim=0) - fp
    fn = true_w.sum(dim=0) - tp
    return tp, fp, tn, fn


class _ThresholdedMetric(Metric):
    """Shared state handling: a thresholds tensor that follows the inputs' device."""

    def _set_thresholds(self, thresholds, evenly=None):
        self.thresholds = thresholds
        self._evenly = is_evenly_distributed(thresholds) if evenly is None else evenly
        self._with_epsilon = thresholds[0] < 0.0
        self._thresholds_tensor = torch.tensor(thresholds, dtype=to_torch_dtype(self.dtype),
                                               device=self._device)

    def _counts(self, y_true, y_pred, sample_weight, top_k=None, class_id=None, **kwargs):
        y_true, y_pred, sample_weight = prepare_inputs(
            y_true, y_pred, sample_weight, to_torch_dtype(self.dtype), type(self).__name__,
            top_k=top_k, class_id=class_id)
        self._follow_device(y_pred)
        if self._thresholds_tensor.device != y_pred.device:
            self._thresholds_tensor = self._thresholds_tensor.to(y_pred.device)
        return confusion_counts(y_true, y_pred, self._thresholds_tensor, self._evenly,
                                self._with_epsilon, sample_weight, **kwargs)


class _ConditionCount(_ThresholdedMetric):
    _index = 0

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self._set_thresholds(check_thresholds(0.5 if thresholds is None else thresholds,
                                              type(self).__name__))
        self.accumulator = self.add_variable(shape=(len(self.thresholds),),
                                             initializer="zeros", name="accumulator")

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        self.accumulator.add_(self._counts(y_true, y_pred, sample_weight)[self._index])

    def result(self):
        value = self.accumulator.detach()
        return value[0].clone() if len(self.thresholds) == 1 else value.clone()

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds}


class TruePositives(_ConditionCount):
    """The (weighted) number of true positives: `y_pred > threshold` where `y_true` is set.

    >>> import lamina
    >>> m = lamina.metrics.TruePositives()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> float(m.result())
    2.0
    """

    _index = 0


class FalsePositives(_ConditionCount):
    """The (weighted) number of false positives.

    >>> import lamina
    >>> m = lamina.metrics.FalsePositives()
    >>> m.update_state([0, 1, 0, 0], [0, 0, 1, 1])
    >>> float(m.result())
    2.0
    """

    _index = 1


class TrueNegatives(_ConditionCount):
    """The (weighted) number of true negatives.

    >>> import lamina
    >>> m = lamina.metrics.TrueNegatives()
    >>> m.update_state([0, 1, 0, 0], [1, 1, 0, 0])
    >>> float(m.result())
    2.0
    """

    _index = 2


class FalseNegatives(_ConditionCount):
    """The (weighted) number of false negatives.

    >>> import lamina
    >>> m = lamina.metrics.FalseNegatives()
    >>> m.update_state([0, 1, 1, 1], [0, 1, 0, 0])
    >>> float(m.result())
    2.0
    """

    _index = 3


def _divide_no_nan(numerator, denominator):
    safe = torch.where(denominator == 0, torch.ones_like(denominator), denominator)
    return torch.where(denominator == 0, torch.zeros_like(numerator), numerator / safe)


class _PrecisionRecall(_ThresholdedMetric):
    _names = ()

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        owner = type(self).__name__
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int)
                                  or top_k < 1):
            raise ValueError(f"{owner}: `top_k` must be a positive integer. Received: "
                             f"top_k={top_k!r}")
        self.init_thresholds = thresholds
        self.top_k = top_k
        self.class_id = class_id
        default = 0.5 if top_k is None else NEG_INF
        self._set_thresholds(default_or_checked(thresholds, default, owner))
        size = (len(self.thresholds),)
        self.true_positives = self.add_variable(size, "zeros", name="true_positives")
        other = self._names[1]
        setattr(self, other, self.add_variable(size, "zeros", name=other))

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, _, fn = self._counts(y_true, y_pred, sample_weight, top_k=self.top_k,
                                     class_id=self.class_id)
        self.true_positives.add_(tp)
        getattr(self, self._names[1]).add_(fp if self._names[1] == "false_positives" else fn)

    def result(self):
        tp = self.true_positives.detach()
        value = _divide_no_nan(tp, tp + getattr(self, self._names[1]).detach())
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return {**super().get_config(), "thresholds": self.init_thresholds,
                "top_k": self.top_k, "class_id": self.class_id}


def default_or_checked(thresholds, default, owner):
    return [default] if thresholds is None else check_thresholds(thresholds, owner)


class Precision(_PrecisionRecall):
    """Precision `tp / (tp + fp)`, per threshold; optionally for the `top_k` predictions
    or the single class `class_id`.

    >>> import lamina
    >>> m = lamina.metrics.Precision()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(float(m.result()), 4)
    0.6667
    """

    _names = ("true_positives", "false_positives")


class Recall(_PrecisionRecall):
    """Recall `tp / (tp + fn)`, per threshold; optionally for the `top_k` predictions or
    the single class `class_id`.

    >>> import lamina
    >>> m = lamina.metrics.Recall()
    >>> m.update_state([0, 1, 1, 1], [1, 0, 1, 1])
    >>> round(float(m.result()), 4)
    0.6667
    """

    _names = ("true_positives", "false_negatives")


class _AtConstraint(_ThresholdedMetric):
    """The best value of one rate among thresholds where another rate meets `value`."""

    _argument = ""

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        owner = type(self).__name__
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) \
                or num_thresholds <= 0:
            raise ValueError(f"{owner}: argument `num_thresholds` must be an integer > 0. "
                             f"Received: num_thresholds={num_thresholds!r}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{owner}: argument `{self._argument}` must be in the range "
                             f"[0, 1]. Received: {self._argument}={value!r}")
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.value = value
        self.class_id = class_id
        self.num_thresholds = num_thresholds
        if num_thresholds == 1:
            self._set_thresholds([0.5], evenly=False)
        else:
            # NOTE: unlike AUC's, these end exactly at 0 and 1 (a 0 prediction counts nowhere).
            inner = evenly_spaced_thresholds(num_thresholds)[1:-1]
            self._set_thresholds([0.0, *inner, 1.0], evenly=True)
        for state in ("true_positives", "false_positives", "true_negatives",
                      "false_negatives"):
            setattr(self, state, self.add_variable((num_thresholds,), "zeros", name=state))

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        tp, fp, tn, fn = self._counts(y_true, y_pred, sample_weight, class_id=self.class_id)
        self.true_positives.add_(tp)
        self.false_positives.add_(fp)
        self.true_negatives.add_(tn)
        self.false_negatives.add_(fn)

    def _rates(self):
        tp, fp = self.true_positives.detach(), self.false_positives.detach()
        tn, fn = self.true_negatives.detach(), self.false_negatives.detach()
        return {"sensitivity": _divide_no_nan(tp, tp + fn),
                "specificity": _divide_no_nan(tn, tn + fp),
                "precision": _divide_no_nan(tp, tp + fp),
                "recall": _divide_no_nan(tp, tp + fn)}

    def _best_under_constraint(self, constrained, dependent):
        feasible = constrained >= self.value
        return torch.where(feasible, dependent, torch.zeros_like(dependent)).amax().clamp_min(0)

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id,
                "num_thresholds": self.num_thresholds, self._argument: self.value}


class SensitivityAtSpecificity(_AtConstraint):
    """The best sensitivity (recall) among thresholds whose specificity is >= `specificity`.

    >>> import lamina
    >>> m = lamina.metrics.SensitivityAtSpecificity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> float(m.result())
    0.5
    """

    _argument = "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)
        self.specificity = specificity

    def result(self):
        rates = self._rates()
        return self._best_under_constraint(rates["specificity"], rates["sensitivity"])


class SpecificityAtSensitivity(_AtConstraint):
    """The best specificity among thresholds whose sensitivity is >= `sensitivity`.

    >>> import lamina
    >>> m = lamina.metrics.SpecificityAtSensitivity(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> round(float(m.result()), 4)
    0.6667
    """

    _argument = "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)
        self.sensitivity = sensitivity

    def result(self):
        rates = self._rates()
        return self._best_under_constraint(rates["sensitivity"], rates["specificity"])


class PrecisionAtRecall(_AtConstraint):
    """The best precision among thresholds whose recall is >= `recall`.

    >>> import lamina
    >>> m = lamina.metrics.PrecisionAtRecall(0.5)
    >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8])
    >>> float(m.result())
    0.5
    """

    _argument = "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)
        self.recall = recall

    def result(self):
        rates = self._rates()
        return self._best_under_constraint(rates["recall"], rates["precision"])


class RecallAtPrecision(_AtConstraint):
    """The best recall among thresholds whose precision is >= `precision`.

    >>> import lamina
    >>> m = lamina.metrics.RecallAtPrecision(0.8)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> float(m.result())
    0.5
    """

    _argument = "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)
        self.precision = precision

    def result(self):
        rates = self._rates()
        return self._best_under_constraint(rates["precision"], rates["recall"])
