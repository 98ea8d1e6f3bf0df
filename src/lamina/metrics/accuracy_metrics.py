"""Accuracy metrics: exact, binary, categorical, sparse categorical and top-k accuracy."""

import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.losses.loss import squeeze_or_expand_to_same_rank
from lamina.metrics.reduction_metrics import MeanMetricWrapper


def _floatx():
    return to_torch_dtype(config.floatx())


def _check_k(k, owner):
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"{owner}: `k` must be a positive integer. Received: k={k!r}")


def _one_hot_classes(y_true):
    """The class index of each one-hot row; bool one-hot labels (which torch cannot argmax)
    count as 0/1, as Keras reads them."""
    y_true = convert_to_tensor(y_true)
    if y_true.dtype is torch.bool:
        y_true = y_true.to(torch.uint8)
    return torch.argmax(y_true, dim=-1)


def accuracy(y_true, y_pred):
    """1.0 where `y_true == y_pred` elementwise, else 0.0."""
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    return (y_true == y_pred).to(_floatx())


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """1.0 where `(y_pred > threshold)` equals `y_true` elementwise, else 0.0.

    >>> import lamina
    >>> lamina.metrics.binary_accuracy([[1.0], [0.0]], [[0.7], [0.6]]).tolist()
    [[1.0], [0.0]]
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    y_pred = (y_pred > threshold).to(y_true.dtype)
    return (y_true == y_pred).to(_floatx())


def categorical_accuracy(y_true, y_pred):
    """1.0 where the argmax of one-hot `y_true` equals the argmax of `y_pred`, else 0.0.

    >>> import lamina
    >>> lamina.metrics.categorical_accuracy([[0, 1], [1, 0]], [[0.3, 0.7], [0.4, 0.6]]).tolist()
    [1.0, 0.0]
    """
    y_true = _one_hot_classes(y_true)
    y_pred = convert_to_tensor(y_pred)
    original_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim
    if reshape:
        y_true = y_true.squeeze(-1)
    y_pred = torch.argmax(y_pred, dim=-1)
    matches = (y_true == y_pred).to(_floatx())
    return matches.reshape(original_shape) if reshape else matches


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where integer labels `y_true` equal the argmax of `y_pred`, else 0.0.

    `y_true` may be `(batch,)` or `(batch, 1)`.

    >>> import lamina
    >>> lamina.metrics.sparse_categorical_accuracy([[1], [1]], [[0.3, 0.7], [0.4, 0.1]]).tolist()
    [1.0, 0.0]
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true)
    if y_true.is_floating_point() and y_true.dtype != y_pred.dtype:
        y_true = y_true.to(y_pred.dtype)
    original_shape = y_true.shape
    reshape = y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1
    if reshape:
        y_true = y_true.squeeze(-1)
    y_pred = torch.argmax(y_pred, dim=-1)
    if y_true.is_floating_point():
        y_pred = y_pred.to(y_true.dtype)
    matches = (y_true == y_pred).to(_floatx())
    if reshape:
        matches = matches.reshape(original_shape)
    if matches.ndim > 1 and matches.shape[-1] == 1:
        matches = matches.squeeze(-1)
    return matches


def _in_top_k(targets, predictions, k):
    """Whether each target's score is at least the k-th largest score (ties count)."""
    k = min(k, predictions.shape[-1])
    kth_largest = torch.topk(predictions, k, dim=-1).values[:, -1]
    target_scores = predictions.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return target_scores >= kth_largest


def _flatten_for_top_k(y_true, y_pred):
    if y_pred.ndim > 2:
        y_pred = y_pred.reshape(-1, y_pred.shape[-1])
    if y_true.ndim > 1:
        y_true = y_true.reshape(-1)
    return y_true, y_pred


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """1.0 where the class of one-hot `y_true` is among the `k` highest scores of `y_pred`.

    >>> import lamina
    >>> lamina.metrics.top_k_categorical_accuracy(
    ...     [[0, 0, 1], [0, 1, 0]], [[0.1, 0.5, 0.4], [0.3, 0.2, 0.7]], k=2).tolist()
    [1.0, 0.0]
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = _one_hot_classes(y_true)
    original_shape = y_true.shape
    y_true, y_pred = _flatten_for_top_k(y_true, y_pred)
    matches = _in_top_k(y_true, y_pred, k).to(_floatx())
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5, from_sorted_ids=False):
    """1.0 where integer label `y_true` is among the `k` highest scores of `y_pred`.

    With `from_sorted_ids=True`, `y_pred` holds class ids sorted by decreasing score
    (its first `k` columns are the top-k predictions).

    >>> import lamina
    >>> lamina.metrics.sparse_top_k_categorical_accuracy(
    ...     [2, 1], [[0.1, 0.5, 0.4], [0.3, 0.2, 0.7]], k=2).tolist()
    [1.0, 0.0]
    """
    y_pred = convert_to_tensor(y_pred)
    y_true = convert_to_tensor(y_true, dtype=y_pred.dtype if from_sorted_ids else "int32")
    original_shape = y_true.shape
    y_true, y_pred = _flatten_for_top_k(y_true, y_pred)
    if from_sorted_ids:
        matches = (y_true.unsqueeze(1) == y_pred[:, :k]).any(dim=1)
    else:
        matches = _in_top_k(y_true, y_pred, k)
    matches = matches.to(_floatx())
    return matches.reshape(original_shape) if len(original_shape) > 1 else matches


class Accuracy(MeanMetricWrapper):
    """How often predictions equal labels exactly.

    >>> import lamina
    >>> m = lamina.metrics.Accuracy()
    >>> m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    >>> float(m.result())
    0.75
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name=name, dtype=dtype)
        self._direction = "up"


class BinaryAccuracy(MeanMetricWrapper):
    """How often `y_pred > threshold` matches binary labels.

    >>> import lamina
    >>> m = lamina.metrics.BinaryAccuracy()
    >>> m.update_state([[1], [1], [0], [0]], [[0.98], [1], [0], [0.6]])
    >>> float(m.result())
    0.75
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name=name, dtype=dtype, threshold=threshold)
        self.threshold = threshold
        self._direction = "up"


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of predictions matches the argmax of one-hot labels.

    >>> import lamina
    >>> m = lamina.metrics.CategoricalAccuracy()
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the argmax of predictions matches integer labels.

    >>> import lamina
    >>> m = lamina.metrics.SparseCategoricalAccuracy()
    >>> m.update_state([[2], [1]], [[0.1, 0.6, 0.3], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name=name, dtype=dtype)
        self._direction = "up"


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the one-hot label is among the `k` highest-scoring predictions.

    >>> import lamina
    >>> m = lamina.metrics.TopKCategoricalAccuracy(k=1)
    >>> m.update_state([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        _check_k(k, "TopKCategoricalAccuracy")
        super().__init__(top_k_categorical_accuracy, name=name, dtype=dtype, k=k)
        self.k = k
        self._direction = "up"


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """How often the integer label is among the `k` highest-scoring predictions.

    >>> import lamina
    >>> m = lamina.metrics.SparseTopKCategoricalAccuracy(k=1)
    >>> m.update_state([2, 1], [[0.1, 0.9, 0.8], [0.05, 0.95, 0]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None,
                 from_sorted_ids=False):
        _check_k(k, "SparseTopKCategoricalAccuracy")
        super().__init__(sparse_top_k_categorical_accuracy, name=name, dtype=dtype, k=k,
                         from_sorted_ids=from_sorted_ids)
        self.k = k
        self.from_sorted_ids = from_sorted_ids
        self._direction = "up"

    def get_config(self):
        config = {"name": self.name, "dtype": self.dtype, "k": self.k}
        if self.from_sorted_ids:
            config["from_sorted_ids"] = True
        return config
