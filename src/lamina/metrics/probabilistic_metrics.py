"""Probabilistic metrics: crossentropies, KL divergence and Poisson, averaged over samples
seen."""

from lamina.losses.probabilistic import (
    binary_crossentropy,
    categorical_crossentropy,
    check_label_smoothing,
    kl_divergence,
    poisson,
    sparse_categorical_crossentropy,
)
from lamina.metrics.reduction_metrics import MeanMetricWrapper


class BinaryCrossentropy(MeanMetricWrapper):
    """Mean binary crossentropy between labels and predictions.

    >>> import lamina
    >>> m = lamina.metrics.BinaryCrossentropy(from_logits=True)
    >>> m.update_state([[1.0], [0.0]], [[0.0], [0.0]])
    >>> round(float(m.result()), 4)
    0.6931
    """

    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0):
        check_label_smoothing(label_smoothing, "BinaryCrossentropy")
        super().__init__(binary_crossentropy, name=name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self._direction = "down"


class CategoricalCrossentropy(MeanMetricWrapper):
    """Mean categorical crossentropy between one-hot labels and predictions.

    >>> import lamina
    >>> m = lamina.metrics.CategoricalCrossentropy()
    >>> m.update_state([[0.0, 1.0]], [[0.5, 0.5]])
    >>> round(float(m.result()), 4)
    0.6931
    """

    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0, axis=-1):
        check_label_smoothing(label_smoothing, "CategoricalCrossentropy")
        super().__init__(categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits
        self.label_smoothing = label_smoothing
        self.axis = axis
        self._direction = "down"


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    """Mean crossentropy between integer labels and predictions.

    >>> import lamina
    >>> m = lamina.metrics.SparseCategoricalCrossentropy()
    >>> m.update_state([1], [[0.5, 0.5]])
    >>> round(float(m.result()), 4)
    0.6931
    """

    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name=name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)
        self.from_logits = from_logits
        self.ignore_class = ignore_class
        self.axis = axis
        self._direction = "down"


class KLDivergence(MeanMetricWrapper):
    """Mean Kullback-Leibler divergence between label and predicted distributions.

    >>> import lamina
    >>> m = lamina.metrics.KLDivergence()
    >>> m.update_state([[0.5, 0.5]], [[0.25, 0.75]])
    >>> round(float(m.result()), 4)
    0.1438
    """

    def __init__(self, name="kl_divergence", dtype=None):
        super().__init__(kl_divergence, name=name, dtype=dtype)
        self._direction = "down"


class Poisson(MeanMetricWrapper):
    """Mean Poisson loss between count labels and predicted rates.

    >>> import lamina
    >>> m = lamina.metrics.Poisson()
    >>> m.update_state([[1.0, 0.0]], [[1.0, 2.0]])
    >>> float(m.result())
    1.5
    """

    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name=name, dtype=dtype)
        self._direction = "down"
