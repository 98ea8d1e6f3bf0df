"""lamina.regularizers: weight penalties (Keras' classes and lowercase aliases)."""

import inspect

from lamina.regularizers.regularizers import L1 as L1
from lamina.regularizers.regularizers import L1L2 as L1L2
from lamina.regularizers.regularizers import L2 as L2
from lamina.regularizers.regularizers import OrthogonalRegularizer as OrthogonalRegularizer
from lamina.regularizers.regularizers import Regularizer as Regularizer
from lamina.serialization import serialization as _serialization

l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


def serialize(regularizer):
    """The config dict of a regularizer (Keras' schema)."""
    return _serialization.serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    """The regularizer for a config written by `serialize` (or a name)."""
    obj = _serialization.deserialize_keras_object(
        config, custom_objects, module_objects=ALL_OBJECTS_DICT
    )
    return obj() if inspect.isclass(obj) else obj


def get(identifier):
    """Resolve a regularizer: a name (`"l2"`), a config dict, an instance or a callable;
    None stays None.

    >>> import lamina
    >>> lamina.regularizers.get("l2").get_config()
    {'l2': 0.01}
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = _serialization.get_from_identifier(identifier, "regularizer", ALL_OBJECTS_DICT)
        return obj() if inspect.isclass(obj) else obj
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(
        "Could not interpret regularizer identifier: expected a name, a config dict or a "
        f"callable. Received: {identifier!r}"
    )
