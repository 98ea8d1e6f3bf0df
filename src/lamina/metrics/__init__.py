"""`lamina.metrics`: metric classes, metric functions, and `get`/`serialize`/`deserialize`."""

import inspect

from lamina.backend import naming
from lamina.losses.probabilistic import binary_crossentropy as binary_crossentropy
from lamina.losses.probabilistic import categorical_crossentropy as categorical_crossentropy
from lamina.losses.probabilistic import kl_divergence as kl_divergence
from lamina.losses.probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from lamina.losses.regression import mean_absolute_error as mean_absolute_error
from lamina.losses.regression import mean_squared_error as mean_squared_error
from lamina.metrics.accuracy_metrics import Accuracy as Accuracy
from lamina.metrics.accuracy_metrics import BinaryAccuracy as BinaryAccuracy
from lamina.metrics.accuracy_metrics import CategoricalAccuracy as CategoricalAccuracy
from lamina.metrics.accuracy_metrics import (
    SparseCategoricalAccuracy as SparseCategoricalAccuracy,
)
from lamina.metrics.accuracy_metrics import (
    SparseTopKCategoricalAccuracy as SparseTopKCategoricalAccuracy,
)
from lamina.metrics.accuracy_metrics import TopKCategoricalAccuracy as TopKCategoricalAccuracy
from lamina.metrics.accuracy_metrics import binary_accuracy as binary_accuracy
from lamina.metrics.accuracy_metrics import categorical_accuracy as categorical_accuracy
from lamina.metrics.accuracy_metrics import (
    sparse_categorical_accuracy as sparse_categorical_accuracy,
)
from lamina.metrics.accuracy_metrics import (
    sparse_top_k_categorical_accuracy as sparse_top_k_categorical_accuracy,
)
from lamina.metrics.accuracy_metrics import (
    top_k_categorical_accuracy as top_k_categorical_accuracy,
)
from lamina.metrics.metric import Metric as Metric
from lamina.metrics.probabilistic_metrics import BinaryCrossentropy as BinaryCrossentropy
from lamina.metrics.probabilistic_metrics import (
    CategoricalCrossentropy as CategoricalCrossentropy,
)
from lamina.metrics.probabilistic_metrics import KLDivergence as KLDivergence
from lamina.metrics.probabilistic_metrics import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from lamina.metrics.reduction_metrics import Mean as Mean
from lamina.metrics.reduction_metrics import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.reduction_metrics import Sum as Sum
from lamina.metrics.regression_metrics import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.regression_metrics import MeanSquaredError as MeanSquaredError
from lamina.metrics.regression_metrics import RootMeanSquaredError as RootMeanSquaredError
from lamina.saving import serialization

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
)
ALL_FUNCTIONS = {
    fn.__name__: fn
    for fn in (
        binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
        top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
        mean_absolute_error, binary_crossentropy, categorical_crossentropy,
        sparse_categorical_crossentropy, kl_divergence,
    )
}
# Names that `get` turns into metric instances: class names, their snake-case forms
# (which is how "mse", "binary_accuracy" and friends resolve), and Keras' short aliases.
ALL_OBJECTS = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{naming.to_snake_case(cls.__name__): cls for cls in _CLASSES},
    "mse": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "bce": BinaryCrossentropy, "BCE": BinaryCrossentropy,
}
ALL_OBJECTS.pop("mean_metric_wrapper")
ALL_OBJECTS.pop("metric")


def serialize(metric):
    """The Keras config of a metric object or metric function."""
    return serialization.serialize_keras_object(metric)


def deserialize(config, custom_objects=None):
    """Rebuild a metric from its name or config (as written by `serialize` or by Keras)."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        fn = ALL_FUNCTIONS.get(str(config.get("config")))
        if fn is not None:
            return fn
    obj = serialization.get_from_identifier(config, "metric", ALL_OBJECTS, custom_objects)
    return obj() if inspect.isclass(obj) else obj


def get(identifier):
    """Resolve a metric from a name (`"mse"`, `"binary_accuracy"`, `"AUC"`), a config, a
    class, or a callable. Names and classes become metric instances.

    >>> import lamina
    >>> lamina.metrics.get("mse")
    <MeanSquaredError name=mean_squared_error>
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        try:
            obj = deserialize(identifier)
        except ValueError as error:
            raise ValueError(
                str(error).replace("Unknown metric:", "Could not interpret metric identifier:")
            ) from None
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret metric identifier: {identifier!r}")
    return obj


__all__ = sorted(
    {cls.__name__ for cls in _CLASSES} | set(ALL_FUNCTIONS) | {"get", "serialize", "deserialize"}
)
