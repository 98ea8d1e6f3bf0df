"""lamina.initializers: weight initializers (Keras' classes and lowercase aliases)."""

import inspect

from lamina.initializers.constant_initializers import Constant as Constant
from lamina.initializers.constant_initializers import Identity as Identity
from lamina.initializers.constant_initializers import IdentityInitializer as IdentityInitializer
from lamina.initializers.constant_initializers import Ones as Ones
from lamina.initializers.constant_initializers import Zeros as Zeros
from lamina.initializers.initializer import Initializer as Initializer
from lamina.initializers.random_initializers import GlorotNormal as GlorotNormal
from lamina.initializers.random_initializers import GlorotUniform as GlorotUniform
from lamina.initializers.random_initializers import HeNormal as HeNormal
from lamina.initializers.random_initializers import HeUniform as HeUniform
from lamina.initializers.random_initializers import LecunNormal as LecunNormal
from lamina.initializers.random_initializers import LecunUniform as LecunUniform
from lamina.initializers.random_initializers import Orthogonal as Orthogonal
from lamina.initializers.random_initializers import OrthogonalInitializer as OrthogonalInitializer
from lamina.initializers.random_initializers import RandomNormal as RandomNormal
from lamina.initializers.random_initializers import RandomUniform as RandomUniform
from lamina.initializers.random_initializers import TruncatedNormal as TruncatedNormal
from lamina.initializers.random_initializers import VarianceScaling as VarianceScaling
from lamina.serialization import serialization as _serialization

# Lowercase aliases are the classes themselves, as in Keras.
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
ones = Ones
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros

_CLASSES = (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, LecunNormal,
    LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    VarianceScaling, Zeros,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update(
    {name: cls for name, cls in globals().items() if name.islower() and cls in _CLASSES}
)
ALL_OBJECTS_DICT.update(
    IdentityInitializer=Identity, OrthogonalInitializer=Orthogonal,
    uniform=RandomUniform, normal=RandomNormal, one=Ones, zero=Zeros,
)


def serialize(initializer):
    """The config dict of an initializer (Keras' schema)."""
    return _serialization.serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The initializer for a config written by `serialize` (or a name)."""
    obj = _serialization.deserialize_keras_object(
        config, custom_objects, module_objects=ALL_OBJECTS_DICT
    )
    return obj() if inspect.isclass(obj) else obj


def get(identifier):
    """Resolve an initializer: a name (`"glorot_uniform"`), a config dict, an instance,
    a class or a callable; None stays None.

    >>> import lamina
    >>> type(lamina.initializers.get("he_normal")).__name__
    'HeNormal'
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        obj = _serialization.get_from_identifier(identifier, "initializer", ALL_OBJECTS_DICT)
        return obj() if inspect.isclass(obj) else obj
    if callable(identifier):
        return identifier() if inspect.isclass(identifier) else identifier
    raise ValueError(
        "Could not interpret initializer identifier: expected a name, a config dict, an "
        f"initializer or a callable. Received: {identifier!r}"
    )
