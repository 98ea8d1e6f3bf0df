"""Keras 2's `{"class_name", "config"}` serialization, as `keras.legacy.saving`.

Keras 3 files use `lamina.saving.serialize_keras_object` (with `module` and
`registered_name`); these read and write the older, shorter form that Keras 2
configs and `tf.keras` code use.
"""

import inspect

from lamina.serialization.registry import get_registered_name, get_registered_object


def serialize_keras_object(instance):
    """`{"class_name", "config"}` for an object with `get_config`; a name for a function.

    >>> import lamina
    >>> serialize_keras_object(lamina.initializers.Ones())
    {'class_name': 'Ones', 'config': {}}
    """
    if instance is None:
        return None
    if hasattr(instance, "get_config"):
        try:
            config = instance.get_config()
        except NotImplementedError as error:
            raise ValueError(
                f"Cannot serialize {instance!r}: its `get_config()` is not implemented."
            ) from error
        return {"class_name": get_registered_name(type(instance)), "config": config}
    if hasattr(instance, "__name__"):
        return get_registered_name(instance)
    raise ValueError(f"Cannot serialize {instance!r}: it has no `get_config()` method.")


def deserialize_keras_object(identifier, module_objects=None, custom_objects=None,
                             printable_module_name="object"):
    """Rebuild an object from `serialize_keras_object`'s output (or a Keras 2 config).

    Names resolve through `custom_objects`, the registered custom objects, then
    `module_objects`, as in Keras 2. A string naming a class gives an instance.

    >>> import lamina
    >>> deserialize_keras_object({"class_name": "Dense", "config": {"units": 2}},
    ...                          module_objects={"Dense": lamina.layers.Dense}).units
    2
    """
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        if "class_name" not in identifier or "config" not in identifier:
            raise ValueError(f"Improper config format for {identifier}. "
                             "Expecting python dict contains `class_name` and `config` as keys")
        cls = _lookup(identifier["class_name"], module_objects, custom_objects,
                      printable_module_name)
        config = identifier["config"]
        if not hasattr(cls, "from_config"):
            raise ValueError(f"Cannot deserialize {identifier['class_name']!r}: "
                             "it has no `from_config` method.")
        if "custom_objects" in inspect.signature(cls.from_config).parameters:
            return cls.from_config(config, custom_objects=dict(custom_objects or {}))
        return cls.from_config(config)
    if isinstance(identifier, str):
        obj = _lookup(identifier, module_objects, custom_objects, printable_module_name)
        return obj() if inspect.isclass(obj) else obj
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret serialized {printable_module_name}: {identifier}")


def _lookup(name, module_objects, custom_objects, printable_module_name):
    obj = get_registered_object(name, custom_objects, module_objects)
    if obj is None:
        raise ValueError(
            f"Unknown {printable_module_name}: '{name}'. Please ensure you are using a "
            "`lamina.utils.custom_object_scope` and that this object is included in the "
            "scope, or pass it in `module_objects`/`custom_objects`."
        )
    return obj
