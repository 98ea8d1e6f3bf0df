"""The automatic `get_config`: a layer's constructor arguments, captured as it is created.

A custom layer whose `__init__` takes plain values needs no `get_config` of its own: its
config is the base entries plus the arguments it was created with. A class opts in by
setting `_auto_config = True` in its body: the `get_config` it defines (and inherits to
subclasses that define none) is then this automatic one. `Layer` and `Model` declare it.

>>> import lamina
>>> class Scale(lamina.Layer):
...     def __init__(self, factor, **kwargs):
...         super().__init__(**kwargs)
...         self.factor = factor
...     def call(self, x):
...         return x * self.factor
>>> Scale(3.0, name="scale").get_config()["factor"]
3.0
"""

import inspect

# Where a layer keeps its captured arguments (in its `__dict__`: not torch state).
ARGUMENTS = "_constructor_arguments"


def constructor_arguments(cls, args, kwargs):
    """`cls(*args, **kwargs)`'s arguments by name, `**kwargs` merged in and `*args` left out
    (a config can't name them); None when they don't bind to `cls.__init__` (`__init__`
    then raises its own error)."""
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None
    arguments = {}
    for position, (key, value) in enumerate(bound.arguments.items()):
        kind = signature.parameters[key].kind
        if position == 0 or kind is inspect.Parameter.VAR_POSITIONAL:
            continue  # `self`, and *args
        if kind is inspect.Parameter.VAR_KEYWORD:
            arguments.update(value)
        else:
            arguments[key] = value
    return arguments


def uses_auto_config(cls):
    """Whether `cls.get_config` is the automatic one: the class that defines it declares
    `_auto_config = True`."""
    for klass in cls.__mro__:
        if "get_config" in klass.__dict__:
            return klass.__dict__.get("_auto_config", False)
    return True


def auto_config(layer, config):
    """The entries `layer`'s constructor arguments add to its base `config`.

    Raises NotImplementedError when an argument is not a plain value (a config must be
    JSON), so the layer needs its own `get_config`."""
    arguments = layer.__dict__.get(ARGUMENTS)
    if arguments is None:
        return {}
    extra = {k: v for k, v in arguments.items() if k not in config}
    if not _json_like(extra):
        raise NotImplementedError(
            f"Layer {type(layer).__name__} has constructor arguments that are not plain "
            "values, so it needs its own `get_config()` returning them."
        )
    return extra


def _json_like(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return True
    if isinstance(value, (list, tuple)):
        return all(_json_like(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return hasattr(value, "get_config")
