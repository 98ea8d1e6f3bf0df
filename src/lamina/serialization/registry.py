"""Registry of user classes and functions for (de)serialization, and custom-object scopes."""

import contextvars
import inspect

GLOBAL_CUSTOM_OBJECTS = {}
GLOBAL_CUSTOM_NAMES = {}
# The open custom-object scopes, innermost last; per thread, like the other scopes.
_SCOPES = contextvars.ContextVar("lamina_custom_object_scopes", default=())


def register_keras_serializable(package="Custom", name=None):
    """Decorator: make a class or function loadable by its `"package>name"`.

    >>> import lamina
    >>> @lamina.saving.register_keras_serializable(package="Demo")
    ... def twice(x):
    ...     return 2 * x
    >>> lamina.saving.get_registered_name(twice)
    'Demo>twice'
    """
    if "/" in str(package):
        raise ValueError(f"`package` cannot contain '/'. Received: package={package!r}")

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered_name = f"{package}>{class_name}"
        if inspect.isclass(arg) and not hasattr(arg, "get_config"):
            raise ValueError(
                f"Cannot register {arg.__name__}: a class must implement `get_config()` "
                "to be serializable."
            )
        GLOBAL_CUSTOM_OBJECTS[registered_name] = arg
        GLOBAL_CUSTOM_NAMES[arg] = registered_name
        return arg

    return decorator


def get_registered_name(obj):
    """The name `obj` was registered under, else its `__name__`."""
    if obj in GLOBAL_CUSTOM_NAMES:
        return GLOBAL_CUSTOM_NAMES[obj]
    return obj.__name__


def get_registered_object(name, custom_objects=None, module_objects=None):
    """Look `name` up in the active custom-object scopes, the registry, then the given dicts."""
    for scope in reversed(_SCOPES.get()):
        if name in scope:
            return scope[name]
    if name in GLOBAL_CUSTOM_OBJECTS:
        return GLOBAL_CUSTOM_OBJECTS[name]
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    if module_objects and name in module_objects:
        return module_objects[name]
    return None


def get_custom_objects():
    """The global dict of registered objects (mutable, like Keras')."""
    return GLOBAL_CUSTOM_OBJECTS


class CustomObjectScope:
    """Inside the `with` block, names in the given dicts resolve during deserialization.
    The scope is per thread.

    >>> with CustomObjectScope({"twice": abs}):
    ...     get_registered_object("twice") is abs
    True
    """

    def __init__(self, custom_objects=None, *more):
        scope = dict(custom_objects or {})
        for d in more:
            scope.update(d or {})
        self.custom_objects = scope
        self._tokens = []  # one per entry: the same scope object may be re-entered

    def __enter__(self):
        self._tokens.append(_SCOPES.set((*_SCOPES.get(), self.custom_objects)))
        return self

    def __exit__(self, *exc):
        _SCOPES.reset(self._tokens.pop())
        return False


custom_object_scope = CustomObjectScope


def active_custom_objects():
    merged = {}
    for scope in _SCOPES.get():
        merged.update(scope)
    return merged
