"""`lamina.metrics`: metric classes, metric functions, and `get`/`serialize`/`deserialize`.

Names and classes given to `get` become metric instances:

>>> import lamina
>>> lamina.metrics.get("mse")
<MeanSquaredError name=mean_squared_error>
"""

import inspect

from lamina.backend import naming
from lamina.losses.focal import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.focal import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.hinge import categorical_hinge as categorical_hinge
from lamina.losses.hinge import hinge as hinge
from lamina.losses.hinge import squared_hinge as squared_hinge
from lamina.losses.probabilistic import binary_crossentropy as binary_crossentropy
from lamina.losses.probabilistic import categorical_crossentropy as categorical_crossentropy
from lamina.losses.probabilistic import kl_divergence as kl_divergence
from lamina.losses.probabilistic import poisson as poisson
from lamina.losses.probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from lamina.losses.regression import huber as huber
from lamina.losses.regression import log_cosh as log_cosh
from lamina.losses.regression import mean_absolute_error as mean_absolute_error
from lamina.losses.regression import (
    mean_absolute_percentage_error as mean_absolute_percentage_error,
)
from lamina.losses.regression import mean_squared_error as mean_squared_error
from lamina.losses.regression import (
    mean_squared_logarithmic_error as mean_squared_logarithmic_error,
)
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
from lamina.metrics.auc import AUC as AUC
from lamina.metrics.confusion_metrics import FalseNegatives as FalseNegatives
from lamina.metrics.confusion_metrics import FalsePositives as FalsePositives
from lamina.metrics.confusion_metrics import Precision as Precision
from lamina.metrics.confusion_metrics import PrecisionAtRecall as PrecisionAtRecall
from lamina.metrics.confusion_metrics import Recall as Recall
from lamina.metrics.confusion_metrics import RecallAtPrecision as RecallAtPrecision
from lamina.metrics.confusion_metrics import (
    SensitivityAtSpecificity as SensitivityAtSpecificity,
)
from lamina.metrics.confusion_metrics import (
    SpecificityAtSensitivity as SpecificityAtSensitivity,
)
from lamina.metrics.confusion_metrics import TrueNegatives as TrueNegatives
from lamina.metrics.confusion_metrics import TruePositives as TruePositives
from lamina.metrics.correlation_metrics import ConcordanceCorrelation as ConcordanceCorrelation
from lamina.metrics.correlation_metrics import PearsonCorrelation as PearsonCorrelation
from lamina.metrics.correlation_metrics import concordance_correlation as concordance_correlation
from lamina.metrics.correlation_metrics import pearson_correlation as pearson_correlation
from lamina.metrics.f_score_metrics import F1Score as F1Score
from lamina.metrics.f_score_metrics import FBetaScore as FBetaScore
from lamina.metrics.hinge_metrics import CategoricalHinge as CategoricalHinge
from lamina.metrics.hinge_metrics import Hinge as Hinge
from lamina.metrics.hinge_metrics import SquaredHinge as SquaredHinge
from lamina.metrics.iou_metrics import BinaryIoU as BinaryIoU
from lamina.metrics.iou_metrics import IoU as IoU
from lamina.metrics.iou_metrics import MeanIoU as MeanIoU
from lamina.metrics.iou_metrics import OneHotIoU as OneHotIoU
from lamina.metrics.iou_metrics import OneHotMeanIoU as OneHotMeanIoU
from lamina.metrics.metric import Metric as Metric
from lamina.metrics.probabilistic_metrics import BinaryCrossentropy as BinaryCrossentropy
from lamina.metrics.probabilistic_metrics import (
    CategoricalCrossentropy as CategoricalCrossentropy,
)
from lamina.metrics.probabilistic_metrics import KLDivergence as KLDivergence
from lamina.metrics.probabilistic_metrics import Poisson as Poisson
from lamina.metrics.probabilistic_metrics import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from lamina.metrics.reduction_metrics import Mean as Mean
from lamina.metrics.reduction_metrics import MeanMetricWrapper as MeanMetricWrapper
from lamina.metrics.reduction_metrics import Sum as Sum
from lamina.metrics.regression_metrics import CosineSimilarity as CosineSimilarity
from lamina.metrics.regression_metrics import LogCoshError as LogCoshError
from lamina.metrics.regression_metrics import MeanAbsoluteError as MeanAbsoluteError
from lamina.metrics.regression_metrics import (
    MeanAbsolutePercentageError as MeanAbsolutePercentageError,
)
from lamina.metrics.regression_metrics import MeanSquaredError as MeanSquaredError
from lamina.metrics.regression_metrics import (
    MeanSquaredLogarithmicError as MeanSquaredLogarithmicError,
)
from lamina.metrics.regression_metrics import R2Score as R2Score
from lamina.metrics.regression_metrics import RootMeanSquaredError as RootMeanSquaredError
from lamina.serialization import getters as _getters
from lamina.serialization import serialization

_CLASSES = (
    Metric, Mean, Sum, MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy,
    SparseCategoricalAccuracy, TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy,
    MeanSquaredError, MeanAbsoluteError, RootMeanSquaredError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, LogCoshError, CosineSimilarity,
    R2Score, PearsonCorrelation, ConcordanceCorrelation, Hinge, SquaredHinge, CategoricalHinge,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC,
    SensitivityAtSpecificity, SpecificityAtSensitivity, PrecisionAtRecall, RecallAtPrecision,
    FBetaScore, F1Score, IoU, MeanIoU, BinaryIoU, OneHotIoU, OneHotMeanIoU,
)
ALL_FUNCTIONS = {
    fn.__name__: fn
    for fn in (
        binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
        top_k_categorical_accuracy, sparse_top_k_categorical_accuracy, mean_squared_error,
        mean_absolute_error, binary_crossentropy, categorical_crossentropy,
        sparse_categorical_crossentropy, kl_divergence, binary_focal_crossentropy,
        categorical_focal_crossentropy, hinge, squared_hinge, categorical_hinge, poisson, huber,
        log_cosh, mean_absolute_percentage_error, mean_squared_logarithmic_error,
        pearson_correlation, concordance_correlation,
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
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
}
ALL_OBJECTS.pop("mean_metric_wrapper")
ALL_OBJECTS.pop("metric")


def deserialize(config, custom_objects=None):
    """Rebuild a metric from its name or config (as written by `serialize` or by Keras)."""
    if isinstance(config, dict) and config.get("class_name") == "function":
        fn = ALL_FUNCTIONS.get(str(config.get("config")))
        if fn is not None:
            return fn
    obj = serialization.get_from_identifier(config, "metric", ALL_OBJECTS, custom_objects)
    return obj() if inspect.isclass(obj) else obj


serialize, get = _getters.callable_getters("metric", deserialize)


__all__ = sorted(
    {cls.__name__ for cls in _CLASSES} | set(ALL_FUNCTIONS) | {"get", "serialize", "deserialize"}
)
