"""`AUC`: area under the ROC or precision-recall curve, from bucketed confusion counts."""

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.confusion_metrics import (
    _divide_no_nan,
    _ThresholdedMetric,
    check_thresholds,
    evenly_spaced_thresholds,
)

_CURVES = {"roc": "ROC", "pr": "PR"}
_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(_ThresholdedMetric):
    """Approximate area under the ROC or PR curve, accumulated over batches.

    Predictions are counted against `num_thresholds` thresholds spread evenly over
    [0, 1] (or the given `thresholds`); the curve through those points is integrated with
    the `summation_method`.

    Args:
        num_thresholds: number of thresholds (> 1) when `thresholds` is not given.
        curve: `"ROC"` or `"PR"`.
        summation_method: `"interpolation"` (trapezoids; for PR, the interpolation of
            Davis & Goadrich), `"minoring"` or `"majoring"` (lower/upper Riemann sums).
        thresholds: explicit thresholds in [0, 1] (0 - epsilon and 1 + epsilon are added).
        multi_label: treat each column as its own label and average the per-label AUCs.
        num_labels: the number of labels when `multi_label` (else taken from the first batch).
        label_weights: per-label weights (for averaging, or for the counts when not
            `multi_label`).
        from_logits: apply a sigmoid to `y_pred` first.

    >>> import lamina
    >>> m = lamina.metrics.AUC(num_thresholds=3)
    >>> m.update_state([0, 0, 1, 1], [0, 0.5, 0.3, 0.9])
    >>> float(m.result())
    0.75
    """

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation",
                 name=None, dtype=None, thresholds=None, multi_label=False, num_labels=None,
                 label_weights=None, from_logits=False):
        curve_key = str(curve).lower()
        if curve_key not in _CURVES:
            raise ValueError(f'AUC: invalid `curve` value. Expected "ROC" or "PR". '
                             f"Received: curve={curve!r}")
        if str(summation_method).lower() not in _SUMMATIONS:
            raise ValueError(f"AUC: invalid `summation_method` value. Expected one of "
                             f"{list(_SUMMATIONS)}. Received: "
                             f"summation_method={summation_method!r}")
        if thresholds is None and (isinstance(num_thresholds, bool)
                                   or not isinstance(num_thresholds, int)
                                   or num_thresholds <= 1):
            raise ValueError("AUC: argument `num_thresholds` must be an integer > 1. "
                             f"Received: num_thresholds={num_thresholds!r}")
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self.curve = _CURVES[curve_key]
        self.summation_method = str(summation_method).lower()
        self.multi_label = multi_label
        self._from_logits = from_logits
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            inner = sorted(check_thresholds(thresholds, "AUC"))
            self.num_thresholds = len(inner) + 2
            eps = evenly_spaced_thresholds(3)
            self._set_thresholds([eps[0], *inner, eps[-1]])
        else:
            self.num_thresholds = num_thresholds
            self._set_thresholds(evenly_spaced_thresholds(num_thresholds), evenly=True)
        if label_weights is not None:
            self.label_weights = torch.as_tensor(label_weights,
                                                 dtype=to_torch_dtype(self.dtype))
            if (self.label_weights < 0).any():
                raise ValueError("AUC: all values of `label_weights` must be non-negative. "
                                 f"Received: label_weights={label_weights!r}")
        else:
            self.label_weights = None
        self._num_labels = num_labels
        self._built = False
        if not multi_label:
            self._build(None)
        elif num_labels:
            self._build((None, num_labels))

    @property
    def num_labels(self):
        return self._num_labels

    def _build(self, shape):
        if self.multi_label:
            if len(shape) != 2:
                raise ValueError("AUC: `y_pred` must have rank 2 when `multi_label=True`. "
                                 f"Found rank {len(shape)}. Full shape received for "
                                 f"`y_pred`: {tuple(shape)}")
            self._num_labels = shape[1]
            state_shape = (self.num_thresholds, self._num_labels)
        else:
            state_shape = (self.num_thresholds,)
        for state in ("true_positives", "false_positives", "true_negatives",
                      "false_negatives"):
            setattr(self, state, self.add_variable(state_shape, "zeros", name=state))
        self._built = True

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        if not isinstance(y_pred, torch.Tensor):
            y_pred = convert_to_tensor(y_pred, dtype=self.dtype)
        if not self._built:
            self._build(tuple(y_pred.shape))
        if self._from_logits:
            y_pred = torch.sigmoid(y_pred.to(to_torch_dtype(self.dtype)))
        label_weights = None
        if self.label_weights is not None and not self.multi_label:
            if self.label_weights.device != y_pred.device:
                self.label_weights = self.label_weights.to(y_pred.device)
            label_weights = self.label_weights
        tp, fp, tn, fn = self._counts(y_true, y_pred, sample_weight,
                                      multi_label=self.multi_label,
                                      label_weights=label_weights)
        self.true_positives.add_(tp)
        self.false_positives.add_(fp)
        self.true_negatives.add_(tn)
        self.false_negatives.add_(fn)

    def _average_labels(self, by_threshold):
        if not self.multi_label:
            return by_threshold.sum()
        by_label = by_threshold.sum(dim=0)
        if self.label_weights is None:
            return by_label.mean()
        weights = self.label_weights.to(by_label.device)
        return _divide_no_nan((by_label * weights).sum(), weights.sum())

    def _interpolate_pr_auc(self, tp, fp, fn):
        # Davis & Goadrich (2006): precision is interpolated between the thresholds as a
        # function of the number of positive predictions.
        dtp = tp[:-1] - tp[1:]
        positives = tp + fp
        dp = positives[:-1] - positives[1:]
        slope = _divide_no_nan(dtp, dp.clamp_min(0))
        intercept = tp[1:] - slope * positives[1:]
        both = (positives[:-1] > 0) & (positives[1:] > 0)
        ratio = torch.where(both, _divide_no_nan(positives[:-1], positives[1:].clamp_min(0)),
                            torch.ones_like(positives[1:]))
        increments = _divide_no_nan(slope * (dtp + intercept * torch.log(ratio)),
                                    (tp[1:] + fn[1:]).clamp_min(0))
        return self._average_labels(increments)

    def result(self):
        tp, fp = self.true_positives.detach(), self.false_positives.detach()
        tn, fn = self.true_negatives.detach(), self.false_negatives.detach()
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc(tp, fp, fn)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = torch.minimum(y[:-1], y[1:])
        else:
            heights = torch.maximum(y[:-1], y[1:])
        return self._average_labels((x[:-1] - x[1:]) * heights)

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        label_weights = self.label_weights
        config = {
            **super().get_config(),
            "num_thresholds": self.num_thresholds,
            "curve": self.curve,
            "summation_method": self.summation_method,
            "multi_label": self.multi_label,
            "num_labels": self._num_labels,
            "label_weights": None if label_weights is None else label_weights.tolist(),
            "from_logits": self._from_logits,
        }
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config
