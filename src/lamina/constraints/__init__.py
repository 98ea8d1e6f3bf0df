"""lamina.constraints: weight projections (Keras' classes and lowercase aliases)."""

import inspect

from lamina.constraints.constraints import Constraint as Constraint
from lamina.constraints.constraints import MaxNorm as MaxNorm
from lamina.constraints.constraints import MinMaxNorm as MinMaxNorm
from lamina.constraints.constraints import NonNeg as NonNeg
from lamina.constraints.constraints import UnitNorm as UnitNorm
from lamina.serialization import serialization as _serialization

max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS_DICT = {
    "Constraint": Constraint, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg, "UnitNorm": UnitNorm,
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
}


def serialize(constraint):
    """The config dict of a constraint (Keras' schema)."""
    return _serialization.serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    """The constraint for a config written by `serialize` (or a name)."""
    obj = _serialization.deserialize_keras_object(
        config, custom_objects, module_objects=ALL_OBJECTS_DICT
    )
    return obj() if inspect.isclass(obj) else obj


def get(identifier):
    """Resolve a constraint: a name (`"max_norm"`), a config dict, an instance or a
    callable; None stays None.

    >>> import lamina
    >>> lamina.constraints.get("non_neg").get_config()
    {}
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = _serialization.get_from_identifier(identifier, "constraint", ALL_OBJECTS_DICT)
        return obj() if inspect.isclass(obj) else obj
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(
        "Could not interpret constraint identifier: expected a name, a config dict or a "
        f"callable. Received: {identifier!r}"
    )
