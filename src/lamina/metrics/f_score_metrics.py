"""F-scores: `FBetaScore` and `F1Score` for multi-class and multi-label classification."""

import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.metric import Metric

_AVERAGES = (None, "micro", "macro", "weighted")


class FBetaScore(Metric):
    """F-beta score: the weighted harmonic mean of precision and recall, per class.

    Args:
        average: None (one score per class), `"micro"` (counts pooled over classes),
            `"macro"` (mean over classes) or `"weighted"` (mean weighted by class support).
        beta: weight of recall relative to precision (a positive float).
        threshold: predictions above it count as positive; None marks each row's
            largest prediction as the positive one.

    Inputs are 2D: `(batch_size, num_classes)`.

    >>> import lamina
    >>> m = lamina.metrics.FBetaScore(beta=2.0, threshold=0.5)
    >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.2], [0.3, 0.8]])
    >>> [round(v, 3) for v in m.result().tolist()]
    [0.556, 1.0]
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        owner = type(self).__name__
        if average not in _AVERAGES:
            raise ValueError(f"{owner}: invalid `average` argument value. Expected one of "
                             f"{_AVERAGES}. Received: average={average!r}")
        if not isinstance(beta, float):
            raise ValueError(f"{owner}: invalid `beta` argument value. It should be a Python "
                             f"float. Received: beta={beta!r} of type {type(beta)}")
        if beta <= 0.0:
            raise ValueError(f"{owner}: invalid `beta` argument value. It should be > 0. "
                             f"Received: beta={beta!r}")
        if threshold is not None:
            if not isinstance(threshold, float):
                raise ValueError(f"{owner}: invalid `threshold` argument value. It should be "
                                 f"a Python float. Received: threshold={threshold!r} of type "
                                 f"{type(threshold)}")
            if threshold > 1.0 or threshold <= 0.0:
                raise ValueError(f"{owner}: invalid `threshold` argument value. It should "
                                 f"verify 0 < threshold <= 1. Received: threshold={threshold!r}")
        super().__init__(name=name, dtype=dtype)
        self._direction = "up"
        self._torch_dtype = to_torch_dtype(self.dtype)
        self.average = average
        self.beta = beta
        self.threshold = threshold
        self.axis = None if average == "micro" else 0
        self._built = False

    def _build(self, y_true_shape, y_pred_shape):
        if len(y_pred_shape) != 2 or len(y_true_shape) != 2:
            raise ValueError(
                f"{type(self).__name__} expects 2D inputs with shape (batch_size, output_dim). "
                f"Received input shapes: y_pred.shape={tuple(y_pred_shape)} and "
                f"y_true.shape={tuple(y_true_shape)}."
            )
        shape = () if self.average == "micro" else (y_pred_shape[-1],)
        for state in ("true_positives", "false_positives", "false_negatives",
                      "intermediate_weights"):
            setattr(self, state, self.add_variable(shape, "zeros", name=state))
        self._built = True

    def _sum(self, values, sample_weight):
        if sample_weight is not None:
            values = values * sample_weight.unsqueeze(1)
        return values.sum() if self.axis is None else values.sum(dim=self.axis)

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = convert_to_tensor(y_true, dtype=self._torch_dtype)
        y_pred = convert_to_tensor(y_pred, dtype=self._torch_dtype)
        if not self._built:
            self._build(y_true.shape, y_pred.shape)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: `y_true` and `y_pred` must have the same shape. "
                f"Received: y_true.shape={tuple(y_true.shape)}, "
                f"y_pred.shape={tuple(y_pred.shape)}"
            )
        self._follow_device(y_pred)
        if self.threshold is None:
            # The row maximum is the prediction; an all-zero row predicts nothing.
            row_max = y_pred.amax(dim=-1, keepdim=True)
            y_pred = (y_pred >= row_max) & (y_pred.abs() > 1e-9)
        else:
            y_pred = y_pred > self.threshold
        y_pred = y_pred.to(self._torch_dtype)
        if sample_weight is not None:
            sample_weight = convert_to_tensor(sample_weight, dtype=self._torch_dtype)
            sample_weight = sample_weight.to(y_pred.device)
        self.true_positives.add_(self._sum(y_pred * y_true, sample_weight))
        self.false_positives.add_(self._sum(y_pred * (1 - y_true), sample_weight))
        self.false_negatives.add_(self._sum((1 - y_pred) * y_true, sample_weight))
        self.intermediate_weights.add_(self._sum(y_true, sample_weight))

    def result(self):
        if not self._built:
            raise ValueError(f"{type(self).__name__}: `result()` needs at least one "
                             "`update_state()` call first (the number of classes is unknown).")
        eps = config.epsilon()
        tp = self.true_positives.detach()
        precision = tp / (tp + self.false_positives.detach() + eps)
        recall = tp / (tp + self.false_negatives.detach() + eps)
        beta_squared = self.beta ** 2
        score = precision * recall / (beta_squared * precision + recall + eps)
        score = score * (1 + beta_squared)
        if self.average == "weighted":
            weights = self.intermediate_weights.detach()
            score = (score * weights / (weights.sum() + eps)).sum()
        elif self.average is not None:
            score = score.mean()
        return score

    def reset_state(self):
        if self._built:
            super().reset_state()

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "average": self.average,
                "beta": self.beta, "threshold": self.threshold}


class F1Score(FBetaScore):
    """F1 score: the harmonic mean of precision and recall (`FBetaScore` with beta=1).

    >>> import lamina
    >>> m = lamina.metrics.F1Score(threshold=0.5)
    >>> m.update_state([[1, 0], [1, 1]], [[0.9, 0.2], [0.3, 0.8]])
    >>> [round(v, 3) for v in m.result().tolist()]
    [0.667, 1.0]
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average=average, beta=1.0, threshold=threshold, name=name, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        del config["beta"]
        return config
