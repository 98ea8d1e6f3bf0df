"""`lamina.losses`: loss classes, loss functions, and `get`/`serialize`/`deserialize`.

>>> import lamina
>>> lamina.losses.get("mse") is lamina.losses.mean_squared_error
True
"""

from lamina.losses.circle import Circle as Circle
from lamina.losses.circle import circle as circle
from lamina.losses.ctc import CTC as CTC
from lamina.losses.ctc import ctc as ctc
from lamina.losses.focal import BinaryFocalCrossentropy as BinaryFocalCrossentropy
from lamina.losses.focal import CategoricalFocalCrossentropy as CategoricalFocalCrossentropy
from lamina.losses.focal import (
    CategoricalGeneralizedCrossEntropy as CategoricalGeneralizedCrossEntropy,
)
from lamina.losses.focal import binary_focal_crossentropy as binary_focal_crossentropy
from lamina.losses.focal import categorical_focal_crossentropy as categorical_focal_crossentropy
from lamina.losses.focal import (
    categorical_generalized_cross_entropy as categorical_generalized_cross_entropy,
)
from lamina.losses.hinge import CategoricalHinge as CategoricalHinge
from lamina.losses.hinge import Hinge as Hinge
from lamina.losses.hinge import SquaredHinge as SquaredHinge
from lamina.losses.hinge import categorical_hinge as categorical_hinge
from lamina.losses.hinge import hinge as hinge
from lamina.losses.hinge import squared_hinge as squared_hinge
from lamina.losses.loss import Loss as Loss
from lamina.losses.loss import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.loss import reduce_weighted_values as reduce_weighted_values
from lamina.losses.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.probabilistic import KLDivergence as KLDivergence
from lamina.losses.probabilistic import Poisson as Poisson
from lamina.losses.probabilistic import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from lamina.losses.probabilistic import binary_crossentropy as binary_crossentropy
from lamina.losses.probabilistic import categorical_crossentropy as categorical_crossentropy
from lamina.losses.probabilistic import kl_divergence as kl_divergence
from lamina.losses.probabilistic import poisson as poisson
from lamina.losses.probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from lamina.losses.regression import CosineSimilarity as CosineSimilarity
from lamina.losses.regression import Huber as Huber
from lamina.losses.regression import LogCosh as LogCosh
from lamina.losses.regression import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.regression import (
    MeanAbsolutePercentageError as MeanAbsolutePercentageError,
)
from lamina.losses.regression import MeanSquaredError as MeanSquaredError
from lamina.losses.regression import (
    MeanSquaredLogarithmicError as MeanSquaredLogarithmicError,
)
from lamina.losses.regression import cosine_similarity as cosine_similarity
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
from lamina.losses.segmentation import Dice as Dice
from lamina.losses.segmentation import Tversky as Tversky
from lamina.losses.segmentation import dice as dice
from lamina.losses.segmentation import tversky as tversky
from lamina.serialization import getters as _getters
from lamina.serialization import serialization

_CLASSES = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Huber, LogCosh, CosineSimilarity, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence, Poisson,
    BinaryFocalCrossentropy, CategoricalFocalCrossentropy, CategoricalGeneralizedCrossEntropy,
    Hinge, SquaredHinge, CategoricalHinge, Dice, Tversky, CTC, Circle,
)
_FUNCTIONS = (
    mean_squared_error, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, huber, log_cosh, cosine_similarity, binary_crossentropy,
    categorical_crossentropy, sparse_categorical_crossentropy, kl_divergence, poisson,
    binary_focal_crossentropy, categorical_focal_crossentropy,
    categorical_generalized_cross_entropy, hinge, squared_hinge, categorical_hinge, dice,
    tversky, ctc, circle,
)
# Short names Keras resolves in `losses.get` (not public attributes of `keras.losses`);
# "logcosh" is the Keras 2 spelling, kept so older code resolves.
_ALIASES = {
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "mape": mean_absolute_percentage_error, "MAPE": mean_absolute_percentage_error,
    "msle": mean_squared_logarithmic_error, "MSLE": mean_squared_logarithmic_error,
    "kld": kl_divergence, "KLD": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
    "logcosh": log_cosh,
}
ALL_OBJECTS = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{fn.__name__: fn for fn in _FUNCTIONS},
    **_ALIASES,
}


def deserialize(name, custom_objects=None):
    """Rebuild a loss from its name or config (as written by `serialize` or by Keras)."""
    if isinstance(name, dict) and name.get("class_name") == "function":
        fn = ALL_OBJECTS.get(str(name.get("config")))
        if fn is not None:
            return fn
    return serialization.get_from_identifier(name, "loss", ALL_OBJECTS, custom_objects)


serialize, get = _getters.callable_getters("loss", deserialize)


__all__ = sorted({*ALL_OBJECTS, "get", "serialize", "deserialize"} - set(_ALIASES))
