"""Hinge metrics: the mean hinge, squared hinge and categorical hinge losses."""

from lamina.losses.hinge import categorical_hinge, hinge, squared_hinge
from lamina.metrics.reduction_metrics import MeanMetricWrapper


class Hinge(MeanMetricWrapper):
    """Mean hinge loss between -1/1 (or 0/1) labels and predicted scores.

    >>> import lamina
    >>> m = lamina.metrics.Hinge()
    >>> m.update_state([[0.0, 1.0]], [[0.5, 0.5]])
    >>> float(m.result())
    1.0
    """

    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name=name, dtype=dtype)
        self._direction = "down"


class SquaredHinge(MeanMetricWrapper):
    """Mean squared hinge loss between -1/1 (or 0/1) labels and predicted scores.

    >>> import lamina
    >>> m = lamina.metrics.SquaredHinge()
    >>> m.update_state([[0.0, 1.0]], [[0.5, 0.5]])
    >>> float(m.result())
    1.25
    """

    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name=name, dtype=dtype)
        self._direction = "down"


class CategoricalHinge(MeanMetricWrapper):
    """Mean categorical hinge loss between one-hot labels and predicted scores.

    >>> import lamina
    >>> m = lamina.metrics.CategoricalHinge()
    >>> m.update_state([[0.0, 1.0]], [[0.3, 0.8]])
    >>> float(m.result())
    0.5
    """

    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name=name, dtype=dtype)
        self._direction = "down"
