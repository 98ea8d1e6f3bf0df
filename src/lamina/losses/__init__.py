"""`lamina.losses`: loss classes, loss functions, and `get`/`serialize`/`deserialize`."""

import inspect

from lamina.losses.loss import Loss as Loss
from lamina.losses.loss import LossFunctionWrapper as LossFunctionWrapper
from lamina.losses.loss import reduce_weighted_values as reduce_weighted_values
from lamina.losses.probabilistic import BinaryCrossentropy as BinaryCrossentropy
from lamina.losses.probabilistic import CategoricalCrossentropy as CategoricalCrossentropy
from lamina.losses.probabilistic import KLDivergence as KLDivergence
from lamina.losses.probabilistic import (
    SparseCategoricalCrossentropy as SparseCategoricalCrossentropy,
)
from lamina.losses.probabilistic import binary_crossentropy as binary_crossentropy
from lamina.losses.probabilistic import categorical_crossentropy as categorical_crossentropy
from lamina.losses.probabilistic import kl_divergence as kl_divergence
from lamina.losses.probabilistic import (
    sparse_categorical_crossentropy as sparse_categorical_crossentropy,
)
from lamina.losses.regression import MeanAbsoluteError as MeanAbsoluteError
from lamina.losses.regression import MeanSquaredError as MeanSquaredError
from lamina.losses.regression import mean_absolute_error as mean_absolute_error
from lamina.losses.regression import mean_squared_error as mean_squared_error
from lamina.saving import serialization

_CLASSES = (
    Loss, LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, BinaryCrossentropy,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, KLDivergence,
)
_FUNCTIONS = (
    mean_squared_error, mean_absolute_error, binary_crossentropy, categorical_crossentropy,
    sparse_categorical_crossentropy, kl_divergence,
)
# Short names Keras resolves in `losses.get` (not public attributes of `keras.losses`).
_ALIASES = {
    "mse": mean_squared_error, "MSE": mean_squared_error,
    "mae": mean_absolute_error, "MAE": mean_absolute_error,
    "kld": kl_divergence, "KLD": kl_divergence,
    "bce": binary_crossentropy, "BCE": binary_crossentropy,
}
ALL_OBJECTS = {
    **{cls.__name__: cls for cls in _CLASSES},
    **{fn.__name__: fn for fn in _FUNCTIONS},
    **_ALIASES,
}


def serialize(loss):
    """The Keras config of a loss object or loss function."""
    return serialization.serialize_keras_object(loss)


def deserialize(name, custom_objects=None):
    """Rebuild a loss from its name or config (as written by `serialize` or by Keras)."""
    if isinstance(name, dict) and name.get("class_name") == "function":
        fn = ALL_OBJECTS.get(str(name.get("config")))
        if fn is not None:
            return fn
    return serialization.get_from_identifier(name, "loss", ALL_OBJECTS, custom_objects)


def get(identifier):
    """Resolve a loss from a name (`"mse"`, `"BinaryCrossentropy"`), a config, a class, or
    a callable. Classes are instantiated with their defaults.

    >>> import lamina
    >>> lamina.losses.get("mse") is lamina.losses.mean_squared_error
    True
    """
    if identifier is None:
        return None
    if isinstance(identifier, (str, dict)):
        try:
            obj = deserialize(identifier)
        except ValueError as error:
            raise ValueError(
                str(error).replace("Unknown loss:", "Could not interpret loss identifier:")
            ) from None
    else:
        obj = identifier
    if inspect.isclass(obj):
        obj = obj()
    if not callable(obj):
        raise ValueError(f"Could not interpret loss identifier: {identifier!r}")
    return obj


__all__ = sorted({*ALL_OBJECTS, "get", "serialize", "deserialize"} - set(_ALIASES))
