"""Intersection-over-union metrics from an accumulated confusion matrix: `IoU`, `MeanIoU`,
`BinaryIoU`, `OneHotIoU` and `OneHotMeanIoU`."""

import warnings

import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.metrics.metric import Metric


class _IoUBase(Metric):
    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        owner = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"{owner}: `num_classes` must be a positive integer. "
                             f"Received: num_classes={num_classes!r}")
        # The confusion matrix holds counts: integer state unless a dtype is asked for.
        super().__init__(name=name, dtype=dtype or "int32")
        self._direction = "up"
        self._torch_dtype = to_torch_dtype(self.dtype)
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.sparse_y_true = sparse_y_true
        self.sparse_y_pred = sparse_y_pred
        self.axis = axis
        self.total_cm = self.add_variable((num_classes, num_classes), "zeros",
                                          name="total_confusion_matrix")

    def _labels(self, x, sparse):
        x = convert_to_tensor(x)
        if not sparse:
            x = x.argmax(dim=self.axis)
        return x.to(self._torch_dtype).reshape(-1)

    @torch.no_grad()
    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = self._labels(y_true, self.sparse_y_true)
        y_pred = self._labels(y_pred, self.sparse_y_pred).to(y_true.device)
        if y_true.shape != y_pred.shape:
            raise ValueError(
                f"{type(self).__name__}: `y_true` and `y_pred` must hold as many labels. "
                f"Received: y_true.shape={tuple(y_true.shape)}, "
                f"y_pred.shape={tuple(y_pred.shape)} (flattened)"
            )
        self._follow_device(y_true)
        if sample_weight is None:
            weights = torch.ones_like(y_true)
        else:
            dtype = getattr(sample_weight, "dtype", None)
            if dtype is not None and "float" in str(dtype) and "int" in self.dtype:
                warnings.warn("You are passing weight as `float`, but dtype is `int`. This "
                              "may result in an incorrect weight due to type casting. "
                              "Consider using integer weights.", stacklevel=2)
            weights = convert_to_tensor(sample_weight, dtype=self._torch_dtype)
            weights = weights.to(y_true.device).reshape(-1)
            if weights.numel() not in (1, y_true.numel()):
                raise ValueError(
                    f"{type(self).__name__}: `sample_weight` must hold one weight per label "
                    f"(or one in all). Received: sample_weight.shape={tuple(weights.shape)} "
                    f"(flattened), y_true.shape={tuple(y_true.shape)} (flattened)"
                )
            weights = weights.expand(y_true.shape)
        if self.ignore_class is not None:
            valid = (y_true != self.ignore_class).to(self._torch_dtype)
            y_true, y_pred, weights = y_true * valid, y_pred * valid, weights * valid
        flat = y_true.long() * self.num_classes + y_pred.long()
        counts = torch.zeros(self.num_classes * self.num_classes, dtype=self._torch_dtype,
                             device=y_true.device).index_add_(0, flat, weights)
        self.total_cm.add_(counts.reshape(self.num_classes, self.num_classes))

    def _iou(self, target_class_ids):
        cm = self.total_cm.detach()
        predicted = cm.sum(dim=0)
        actual = cm.sum(dim=1)
        true_positives = torch.diagonal(cm)
        denominator = predicted + actual - true_positives
        ids = torch.as_tensor(target_class_ids, dtype=torch.long, device=cm.device)
        true_positives = true_positives[ids].to(torch.float32)
        denominator = denominator[ids].to(torch.float32)
        num_valid = (denominator > 1e-9).to(torch.float32).sum()
        iou = true_positives / (denominator + config.epsilon())
        return iou.sum() / (num_valid + config.epsilon())

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_classes": self.num_classes,
                "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}


def _check_target_ids(target_class_ids, num_classes):
    ids = list(target_class_ids) if isinstance(target_class_ids, (list, tuple)) else [
        target_class_ids]
    if not ids:
        raise ValueError("IoU: `target_class_ids` must not be empty.")
    if max(ids) >= num_classes or min(ids) < 0:
        raise ValueError(f"IoU: target class id {max(ids) if max(ids) >= num_classes else min(ids)}"
                         f" is out of range, which is [0, {num_classes}). Received: "
                         f"target_class_ids={target_class_ids!r}")
    return ids


class IoU(_IoUBase):
    """Intersection over union, averaged over `target_class_ids`:
    `tp / (tp + fp + fn)` per class, from a confusion matrix accumulated over batches.

    Classes that never occur (in labels or predictions) are left out of the average.

    >>> import lamina
    >>> m = lamina.metrics.IoU(num_classes=2, target_class_ids=[0])
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=sparse_y_true, sparse_y_pred=sparse_y_pred, axis=axis)
        self.target_class_ids = _check_target_ids(target_class_ids, num_classes)

    def result(self):
        return self._iou(self.target_class_ids)

    def get_config(self):
        config = super().get_config()
        return {**config, "target_class_ids": self.target_class_ids}


class BinaryIoU(IoU):
    """IoU for binary labels: predictions `>= threshold` count as class 1.

    >>> import lamina
    >>> m = lamina.metrics.BinaryIoU(target_class_ids=[0, 1], threshold=0.5)
    >>> m.update_state([0, 1, 0, 1], [0.1, 0.8, 0.6, 0.3])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name,
                         dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = (convert_to_tensor(y_pred) >= self.threshold).to(self._torch_dtype)
        y_true = convert_to_tensor(y_true, dtype=self._torch_dtype)
        super().update_state(y_true, y_pred, sample_weight)

    def get_config(self):
        return {"target_class_ids": self.target_class_ids, "threshold": self.threshold,
                "name": self.name, "dtype": self.dtype}


class MeanIoU(IoU):
    """IoU averaged over all `num_classes` classes.

    >>> import lamina
    >>> m = lamina.metrics.MeanIoU(num_classes=2)
    >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    >>> round(float(m.result()), 4)
    0.3333
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)), name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=sparse_y_true,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        return _IoUBase.get_config(self)


class OneHotIoU(IoU):
    """IoU for one-hot labels (and, unless `sparse_y_pred`, per-class scores).

    >>> import lamina
    >>> m = lamina.metrics.OneHotIoU(num_classes=2, target_class_ids=[1])
    >>> m.update_state([[1, 0], [0, 1], [0, 1]], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> round(float(m.result()), 4)
    0.5
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name=name, dtype=dtype,
                         ignore_class=ignore_class, sparse_y_true=False,
                         sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config


class OneHotMeanIoU(MeanIoU):
    """Mean IoU over all classes for one-hot labels (and, unless `sparse_y_pred`, scores).

    >>> import lamina
    >>> m = lamina.metrics.OneHotMeanIoU(num_classes=2)
    >>> m.update_state([[1, 0], [0, 1], [0, 1]], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    >>> round(float(m.result()), 4)
    0.5
    """

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name=name, dtype=dtype, ignore_class=ignore_class,
                         sparse_y_true=False, sparse_y_pred=sparse_y_pred, axis=axis)

    def get_config(self):
        config = super().get_config()
        del config["sparse_y_true"]
        return config
