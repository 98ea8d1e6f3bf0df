"""Keras' object config schema: `{module, class_name, config, registered_name}`.

Built-in classes serialize with their public Keras module (`"keras.layers"`), so files
move between lamina and Keras 3. Deserialization resolves only built-in and registered
names; nothing named in a config is imported.
"""

import contextlib
import contextvars
import difflib
import importlib
import inspect
import types

import numpy as np

from lamina.serialization import registry

# Keras public module -> lamina module holding the same public names.
PUBLIC_MODULES = {
    "keras": "lamina",
    "keras.layers": "lamina.layers",
    "keras.models": "lamina.models",
    "keras.initializers": "lamina.initializers",
    "keras.regularizers": "lamina.regularizers",
    "keras.constraints": "lamina.constraints",
    "keras.activations": "lamina.activations",
    "keras.optimizers": "lamina.optimizers",
    "keras.optimizers.schedules": "lamina.optimizers.schedules",
    "keras.losses": "lamina.losses",
    "keras.metrics": "lamina.metrics",
    "keras.callbacks": "lamina.callbacks",
    "keras.dtype_policies": "lamina.dtype_policies",
    "keras.quantizers": "lamina.quantizers",
    "keras.random": "lamina.random",
    "keras.ops": "lamina.ops",
    "keras.utils": "lamina.utils",
    "keras.distillation": "lamina.distillation",
}


# Keras names of lamina classes that Keras itself does not export publicly.
KERAS_PRIVATE_CLASSES = {
    "lamina.models.functional.Functional": ("keras.src.models.functional", "Functional"),
}


# Keras modules of lamina classes that Keras writes under another module than their
# package's (Keras 3 saves `keras.Sequential` as module "keras", not "keras.models").
KERAS_CLASS_MODULES = {
    "lamina.models.sequential.Sequential": "keras",
}


# Scopes (safe mode, load budgets, and custom objects in `registry`) live in ContextVars,
# like the training flag in `backend.context`: a scope entered in one thread is not seen by
# another. Process-wide settings (`enable_unsafe_deserialization`, the load limits) are
# module globals.
_SAFE_MODE = contextvars.ContextVar("lamina_safe_mode", default=None)
_UNSAFE_EVERYWHERE = False


def enable_unsafe_deserialization():
    """Allow objects that run code from the file in every thread, outside any scope."""
    global _UNSAFE_EVERYWHERE
    _UNSAFE_EVERYWHERE = True


def _scoped_safe_mode():
    """The innermost `SafeModeScope`'s value, else False after
    `enable_unsafe_deserialization()`, else None (the caller's argument decides)."""
    scoped = _SAFE_MODE.get()
    if scoped is None and _UNSAFE_EVERYWHERE:
        return False
    return scoped


class SafeModeScope:
    """Within the block, deserialization refuses (`True`) or allows (`False`) objects that
    run code from the file, such as `Lambda` bytecode. The scope is per thread.

    >>> with SafeModeScope(False):
    ...     in_safe_mode()
    False
    """

    def __init__(self, safe_mode=True):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._token = _SAFE_MODE.set(self.safe_mode)
        return self

    def __exit__(self, *exc):
        _SAFE_MODE.reset(self._token)
        return False


# -- load budgets ------------------------------------------------------------------------
# NOTE: a file may declare any shape; these limits are checked before anything is allocated.
_LOAD_LIMITS = {"max_load_bytes": 64 * 2**30, "max_config_bytes": 2**30}


def max_load_bytes():
    """The most bytes of variables (and of archive contents) one load may create: 64 GiB
    unless raised with `lamina.config.set_max_load_bytes`."""
    return _LOAD_LIMITS["max_load_bytes"]


def set_max_load_bytes(value):
    """Set the limit `max_load_bytes()`; `load_model(..., max_load_bytes=...)` overrides it
    for one call."""
    _LOAD_LIMITS["max_load_bytes"] = _check_limit("max_load_bytes", value)


def max_config_bytes():
    """The most bytes a loaded config (`config.json`, `metadata.json`) may hold: 1 GiB
    unless raised with `lamina.config.set_max_config_bytes`."""
    return _LOAD_LIMITS["max_config_bytes"]


def set_max_config_bytes(value):
    """Set the limit `max_config_bytes()`; `load_model(..., max_config_bytes=...)`
    overrides it for one call."""
    _LOAD_LIMITS["max_config_bytes"] = _check_limit("max_config_bytes", value)


def _check_limit(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{name}` must be a positive number of bytes. Received: {value!r}")
    return value


def readable_bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


_ACTIVE_BUDGET = contextvars.ContextVar("lamina_load_budget", default=None)


class LoadBudget:
    """Within the block, variables created through `Layer.add_weight` are charged against
    `limit` bytes *before* they are allocated; going over raises a `ValueError` naming the
    layer, the variable, the limit and how to raise it.

    >>> import lamina
    >>> with LoadBudget(limit=1024):  # doctest: +ELLIPSIS
    ...     lamina.layers.Dense(1024).build((None, 8))
    Traceback (most recent call last):
    ...
    ValueError: Refusing to create variable 'kernel' of shape (8, 1024) ...

    The active budget is per thread: a model built in another thread is not charged.
    """

    def __init__(self, limit=None):
        self.limit = max_load_bytes() if limit is None else _check_limit("max_load_bytes",
                                                                          limit)
        self.used = 0

    @staticmethod
    def active():
        """The innermost budget entered in this thread, or None."""
        return _ACTIVE_BUDGET.get()

    def __enter__(self):
        self._token = _ACTIVE_BUDGET.set(self)
        return self

    def __exit__(self, *exc):
        _ACTIVE_BUDGET.reset(self._token)
        return False

    def charge(self, nbytes, what):
        """Count `nbytes` more, or raise if that passes the limit; `what` names them."""
        if nbytes < 0 or self.used + nbytes > self.limit:
            raise ValueError(
                f"Refusing to create {what} ({readable_bytes(max(nbytes, 0))}): loading this "
                f"model would allocate {readable_bytes(self.used + max(nbytes, 0))}, more "
                f"than the load limit of {readable_bytes(self.limit)} ({self.limit} bytes). "
                "If you trust this file and have the memory, raise the limit with "
                "`load_model(..., max_load_bytes=N)` or "
                "`lamina.config.set_max_load_bytes(N)`."
            )
        self.used += nbytes


def charge_variable(layer, name, shape, itemsize):
    """Charge a variable that `layer` is about to create to the active `LoadBudget`."""
    budget = LoadBudget.active()
    if budget is None:
        return
    count = 1
    for dim in shape:
        count *= dim if isinstance(dim, int) and dim > 0 else (0 if dim == 0 else 1)
    budget.charge(count * itemsize,
                  f"variable {name!r} of shape {tuple(shape)} for layer "
                  f"'{getattr(layer, 'name', '?')}' ({type(layer).__name__})")


def in_safe_mode():
    """Whether deserialization is currently in safe mode (the default)."""
    return _scoped_safe_mode() is not False


def _public_module(obj):
    """The Keras public module name for a lamina object, e.g. `'keras.layers'`."""
    cls = obj if inspect.isclass(obj) else type(obj)
    exact = KERAS_CLASS_MODULES.get(f"{cls.__module__}.{cls.__qualname__}")
    if exact is not None:
        return exact
    module = getattr(obj, "_keras_module", None) or type(obj).__module__
    if inspect.isclass(obj) or inspect.isfunction(obj):
        module = getattr(obj, "_keras_module", None) or obj.__module__
    if module.startswith("lamina."):
        parts = module.split(".")
        for depth in range(len(parts), 1, -1):
            candidate = "keras." + ".".join(parts[1:depth])
            if candidate in PUBLIC_MODULES:
                return candidate
        return "keras"
    return module


def serialize_keras_object(obj):
    """Turn `obj` (layer, initializer, function, plain value...) into a JSON-able config."""
    if obj is None:
        return None
    if isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, np.ndarray):
        return {"class_name": "__numpy__", "config": {"value": obj.tolist(),
                                                      "dtype": obj.dtype.name}}
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(v) for v in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, (np.generic,)):
        return obj.item()
    if isinstance(obj, types.FunctionType) or inspect.isbuiltin(obj):
        # NOTE: Keras' own layout for every function: the (registered) name in `config`,
        # found on load in the registry or, for built-ins, in Keras' function modules.
        # Keras cannot read a built-in function under its own module name.
        return {"module": "builtins", "class_name": "function",
                "config": registry.get_registered_name(obj), "registered_name": "function"}
    if hasattr(obj, "get_config"):
        cls = type(obj)
        registered = registry.GLOBAL_CUSTOM_NAMES.get(cls)
        config = obj.get_config()
        result = {
            # Keras names a registered class's own Python module (lookup goes by
            # `registered_name`).
            "module": cls.__module__ if registered else _public_module(cls),
            "class_name": cls.__name__,
            "config": serialize_keras_object(config),
            "registered_name": registered,
        }
        private = KERAS_PRIVATE_CLASSES.get(f"{cls.__module__}.{cls.__qualname__}")
        if registered is None and private is not None:
            result["module"], result["registered_name"] = private
        elif registered is None and not _is_builtin(cls):
            result["module"] = cls.__module__
            result["registered_name"] = cls.__name__
        build_config = getattr(obj, "get_build_config", lambda: None)()
        if build_config is not None:
            result["build_config"] = build_config
        compile_config = getattr(obj, "get_compile_config", lambda: None)()
        if compile_config is not None:
            # A user's `get_compile_config` may return objects (losses, metric lists).
            result["compile_config"] = serialize_keras_object(compile_config)
        return result
    raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj).__name__}.")


def _is_builtin(cls):
    return cls.__module__.startswith("lamina.")


def _lookup_public(module_name, class_name):
    target = PUBLIC_MODULES.get(module_name)
    if target is None and module_name and module_name.startswith("keras.src."):
        # Keras-written files may name private modules, e.g. its torch optimizers.
        for public, lamina_module in PUBLIC_MODULES.items():
            tail = public.split(".")[-1]
            if f".{tail}." in module_name + ".":
                target = lamina_module
        target = target or "lamina"
    if target is None or not isinstance(class_name, str) or class_name.startswith("_"):
        return None
    module = importlib.import_module(target)
    obj = getattr(module, class_name, None)
    return obj if _is_lamina_object(obj) else None


# Where Keras looks up a built-in function saved as `{"module": "builtins", ...}`.
_BUILTIN_FUNCTION_MODULES = ("keras.activations", "keras.constraints", "keras.initializers",
                             "keras.losses", "keras.metrics", "keras.optimizers",
                             "keras.regularizers")


def _lookup_builtin_function(name):
    for module_name in _BUILTIN_FUNCTION_MODULES:
        obj = _lookup_public(module_name, name)
        if obj is not None:
            return obj
    return None


def _is_lamina_object(obj):
    """Only lamina's own classes and functions resolve by public name: never a module,
    and never something a lamina module merely imported (`importlib`, `os`...)."""
    if obj is None or inspect.ismodule(obj):
        return False
    module = getattr(obj, "__module__", None) or ""
    if inspect.isclass(obj):
        return module.startswith("lamina.")
    if inspect.isfunction(obj):
        return module.startswith("lamina.")
    # torch functions bound directly as lamina ops (e.g. `ops.relu is torch.relu`).
    return inspect.isbuiltin(obj) and module.startswith("torch")


def _close_matches_error(kind, name, known):
    matches = difflib.get_close_matches(str(name), list(known), n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(repr(m) for m in matches)}?" if matches else ""
    return ValueError(f"Unknown {kind}: {name!r}.{hint}")


class _RebuildError(Exception):
    """An object could not be rebuilt from its config; says which object, where its
    config sits in its parent's, and which arguments look wrong."""

    def __init__(self, message, config, head, tail):
        super().__init__(message)
        self.config, self.head, self.tail, self.placed = config, head, tail, False


class RebuildValueError(_RebuildError, ValueError):
    """A `ValueError` rebuilding an object from its config (see `_rebuilding`)."""


class RebuildTypeError(_RebuildError, TypeError):
    """A `TypeError` rebuilding an object from its config (Keras' type for a bad
    argument)."""


def _object_name(class_name, inner):
    name = inner.get("name") if isinstance(inner, dict) else None
    return f"{class_name} {name!r:.60}" if isinstance(name, str) else class_name


def _slot(parent, target, depth=6):
    """Where `target` sits inside `parent` (by identity), e.g. `layers[3]` or
    `compile_config.optimizer`; None when it is not found within `depth` levels."""
    level = [((), parent)]
    for _ in range(depth):
        deeper = []
        for path, value in level:
            items = value.items() if isinstance(value, dict) else enumerate(value) \
                if isinstance(value, list) else ()
            for key, item in items:
                if item is target:
                    path = path + (key,)
                    path = path[1:] if path[0] == "config" and len(path) > 1 else path
                    return "".join(f"[{k}]" if isinstance(k, int) else f".{k}"
                                   for k in path).lstrip(".")
                if isinstance(item, (dict, list)):
                    deeper.append((path + (key,), item))
        level = deeper
    return None


def _kind(value):
    if isinstance(value, bool):
        return "a bool"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, (str, dict)):
        return "a name or config"
    return "a list" if isinstance(value, (list, tuple)) else None


def _suspect_arguments(cls, inner):
    """Config entries whose kind (number, bool, name, list) differs from the default of
    the constructor argument they fill: the likely culprits of a failed rebuild."""
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return []
    suspects = []
    for key, value in inner.items() if isinstance(inner, dict) else ():
        parameter = parameters.get(key)
        default = getattr(parameter, "default", inspect.Parameter.empty)
        if default is inspect.Parameter.empty or default is None or value is None:
            continue
        if _kind(default) is not None and _kind(value) != _kind(default):
            suspects.append(f"`{key}`={value!r:.60} (expected {_kind(default)}, like the "
                            f"default {default!r:.40})")
    return suspects


@contextlib.contextmanager
def _rebuilding(cls, class_name, config):
    """Turn any failure of `cls.from_config` (or the constructor, `build_from_config`,
    `compile_from_config`) into one clear error naming the object, its slot in the parent
    config and the suspect arguments. The innermost object reports; each parent adds the
    slot once. OSError and MemoryError pass unchanged; TypeError stays a TypeError."""
    try:
        yield
    except _RebuildError as error:
        slot = None if error.placed else _slot(config, error.config)
        if slot is not None:
            error.placed = True
            error.args = (f"{error.head} (the `{slot}` of "
                          f"{_object_name(class_name, config['config'])}){error.tail}",)
        raise
    except (OSError, MemoryError):
        raise
    except Exception as error:  # noqa: BLE001 - a malformed config is the caller's error
        # NOTE: e.g. a negative size or a broken graph fails deep in torch or in
        # `from_config` (RuntimeError, KeyError, AttributeError, RecursionError...).
        inner = config["config"]
        head = f"Could not rebuild {_object_name(class_name, inner)}"
        detail = str(error) if isinstance(error, (ValueError, TypeError)) else \
            f"({type(error).__name__}: {error})"
        suspects = _suspect_arguments(cls, inner)
        tail = f" from its config: {detail}" + (
            f"{'' if detail.endswith('.') else '.'} Suspect argument"
            f"{'s' if len(suspects) > 1 else ''}: {'; '.join(suspects)}." if suspects else "")
        kind = RebuildTypeError if isinstance(error, TypeError) else RebuildValueError
        raise kind(head + tail, config, head, tail) from error


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, module_objects=None,
                             **kwargs):
    """Rebuild an object from `serialize_keras_object`'s output.

    Classes and functions resolve only through the registry, `custom_objects`,
    `module_objects` and lamina's public modules: nothing named in `config` is imported.
    An enclosing `SafeModeScope` (or `enable_unsafe_deserialization()`) overrides
    `safe_mode`.
    """
    scoped_safe_mode = _scoped_safe_mode()
    if scoped_safe_mode is not None:
        safe_mode = scoped_safe_mode
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):
        # As in Keras: a registered (or custom, or module) name is that object; any other
        # string is a plain value ("adam", "accuracy" in a compile config).
        obj = registry.get_registered_object(config, custom_objects, module_objects)
        return config if obj is None else obj
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode, module_objects)
                for c in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not deserialize {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode)
                for k, v in config.items()}
    class_name = config["class_name"]
    inner = config["config"]
    for key in ("class_name", "module", "registered_name"):
        if config.get(key) is not None and not isinstance(config[key], str):
            raise ValueError(
                f"Could not deserialize: `{key}` must be a string. Received "
                f"{key}={config[key]!r:.80} in a config for {class_name!r:.80}."
            )
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__tuple__":
        return tuple(inner["value"])
    module_name = config.get("module")
    registered_name = config.get("registered_name") or class_name
    if class_name == "function":
        fn_name = inner if isinstance(inner, str) else registered_name
        obj = registry.get_registered_object(registered_name, custom_objects, module_objects)
        if obj is None and fn_name != registered_name:
            # Keras writes `{"module": "builtins", "config": "pkg>fn", "registered_name":
            # "function"}`: the name is in `config`.
            obj = registry.get_registered_object(fn_name, custom_objects, module_objects)
        if obj is None and module_name == "builtins":
            obj = _lookup_builtin_function(fn_name)
        elif obj is None and module_name:
            obj = _lookup_public(module_name, fn_name)
        if obj is None:
            raise ValueError(
                f"Could not locate function '{fn_name}' (module {module_name!r}). Nothing named "
                "in a file is imported: register the function with "
                "`@lamina.saving.register_keras_serializable()` or pass "
                f"`custom_objects={{{fn_name!r}: {fn_name}}}`."
            )
        return obj
    cls = registry.get_registered_object(registered_name, custom_objects, module_objects)
    if cls is None:
        cls = registry.get_registered_object(class_name, custom_objects, module_objects)
    if cls is None and module_name:
        cls = _lookup_public(module_name, class_name)
    if cls is None or not (inspect.isclass(cls) or callable(cls)):
        raise TypeError(
            f"Could not locate class '{class_name}' (module {module_name!r}, registered name "
            f"{config.get('registered_name')!r}). Nothing named in a file is imported: "
            "decorate the class with `@lamina.saving.register_keras_serializable()` or pass "
            f"`custom_objects={{{class_name!r}: {class_name}}}`. Full object config: "
            + str(config)[:500]
        )
    with SafeModeScope(safe_mode), _rebuilding(cls, class_name, config):
        if not isinstance(inner, dict):
            raise TypeError(f"`config` must be a dict of constructor arguments, got "
                            f"{inner!r:.80}.")
        if hasattr(cls, "from_config"):
            obj = cls.from_config(inner)
        else:
            obj = cls(**inner)
        build_config = config.get("build_config")
        if build_config and hasattr(obj, "build_from_config"):
            obj.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(obj, "compile_from_config"):
            obj.compile_from_config(compile_config)
    return obj


def get_from_identifier(identifier, kind, module_objects, custom_objects=None):
    """Shared `get()` for catalogues: a name, a config dict, an instance or a callable."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize_keras_object(identifier, custom_objects, module_objects=module_objects)
    if isinstance(identifier, str):
        obj = registry.get_registered_object(identifier, custom_objects, module_objects)
        if obj is None:
            raise _close_matches_error(kind, identifier, module_objects.keys())
        return obj
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
