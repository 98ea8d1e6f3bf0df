"""The `serialize`/`deserialize`/`get` trio of a catalogue module (`lamina.initializers`,
`lamina.losses`...), built once here for each kind of object.

Classes found by name become instances built with their defaults, as in Keras.
"""

import inspect

from lamina.serialization import serialization


def _instance(obj):
    return obj() if inspect.isclass(obj) else obj


def _serializer(kind):
    def serialize(obj):
        return serialization.serialize_keras_object(obj)

    serialize.__doc__ = f"The Keras config dict of a {kind} (its class, module and config)."
    return serialize


def identifier_getters(kind, objects, expected="a name, a config dict or a callable"):
    """`serialize`, `deserialize` and `get` for the catalogue `objects` (name -> class or
    function) of `kind` ("initializer", ...), whose objects are callables.

    `get` takes a name, a config dict, an instance, a class or a callable (None stays
    None); `expected` lists those in its error.

    >>> from lamina import constraints
    >>> serialize, deserialize, get = identifier_getters("constraint",
    ...                                                  constraints.ALL_OBJECTS_DICT)
    >>> type(get("non_neg")).__name__
    'NonNeg'
    >>> type(deserialize(serialize(get("unit_norm")))).__name__
    'UnitNorm'
    """

    def deserialize(config, custom_objects=None):
        return _instance(serialization.deserialize_keras_object(
            config, custom_objects, module_objects=objects))

    def get(identifier):
        if identifier is None:
            return None
        if isinstance(identifier, dict):
            return deserialize(identifier)
        if isinstance(identifier, str):
            return _instance(serialization.get_from_identifier(identifier, kind, objects))
        if callable(identifier):
            return _instance(identifier)
        raise ValueError(
            f"Could not interpret {kind} identifier: expected {expected}. "
            f"Received: {identifier!r}"
        )

    deserialize.__doc__ = f"The {kind} for a config written by `serialize` (or a name)."
    get.__doc__ = (f"Resolve a {kind}: a name, a config dict, an instance, a class or a "
                   "callable; None stays None.")
    return _serializer(kind), deserialize, get


def callable_getters(kind, deserialize):
    """`serialize` and `get` for a catalogue of `kind` ("loss", "metric") whose own
    `deserialize` resolves names and configs; `get` also takes callables and classes.

    >>> from lamina import losses
    >>> serialize, get = callable_getters("loss", losses.deserialize)
    >>> get("mse") is losses.mean_squared_error
    True
    >>> get(5)
    Traceback (most recent call last):
    ...
    ValueError: Could not interpret loss identifier: 5
    """

    def get(identifier):
        if identifier is None:
            return None
        if isinstance(identifier, (str, dict)):
            try:
                obj = deserialize(identifier)
            except ValueError as error:
                raise ValueError(str(error).replace(
                    f"Unknown {kind}:", f"Could not interpret {kind} identifier:")) from None
        else:
            obj = identifier
        obj = _instance(obj)
        if not callable(obj):
            raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
        return obj

    get.__doc__ = (f"Resolve a {kind}: a name, a config dict, a class (instantiated with its "
                   "defaults) or a callable; None stays None.")
    return _serializer(kind), get
