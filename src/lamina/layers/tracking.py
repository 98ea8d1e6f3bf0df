"""Lists and dicts of layers/variables that torch can see.

Keras users write `self.blocks = [Dense(8), Dense(8)]`. The list stays a list, and is
also an `nn.Module` whose children are its items, so `state_dict()` keys read
`blocks.0.kernel` and `.to(device)` moves everything.
"""

import torch

from lamina.variables import Variable


def _is_trackable(value):
    if isinstance(value, (torch.nn.Module, Variable)):
        return True
    if isinstance(value, (list, tuple)):
        return any(_is_trackable(v) for v in value)
    if isinstance(value, dict):
        return any(_is_trackable(v) for v in value.values())
    return False


def should_track(value):
    """Wrap containers holding layers/variables, and empty lists/dicts (filled later)."""
    if isinstance(value, TrackedContainer) or type(value) not in (list, tuple, dict):
        return False
    return len(value) == 0 and type(value) is not tuple or _is_trackable(value)


def wrap(value):
    if type(value) is list:
        return TrackedList(value)
    if type(value) is tuple:
        return TrackedTuple(value)
    if type(value) is dict:
        return TrackedDict(value)
    return value


def _resyncing(base, name):
    """`base.name`, followed by a resync of torch's view of the container."""
    method = getattr(base, name)

    def wrapper(self, *args, **kwargs):
        result = method(self, *args, **kwargs)
        self._resync()
        return result

    wrapper.__name__ = name
    return wrapper


def _child_key(key):
    return str(key).replace(".", "_") or "_"


class TrackedContainer(torch.nn.Module):
    """Mixin: mirrors container items into torch's `_modules`/`_parameters`/`_buffers`."""

    def _sync(self, items):
        modules, params, buffers = {}, {}, {}
        for key, item in items:
            if isinstance(item, (list, tuple, dict)) and should_track(item):
                item = wrap(item)
                self._replace_item(key, item)
            if isinstance(item, torch.nn.Module):
                modules[_child_key(key)] = item
            elif isinstance(item, Variable):
                if getattr(item, "_lamina_is_param", item.trainable):
                    params[_child_key(key)] = item
                else:
                    buffers[_child_key(key)] = item
        self.__dict__["_modules"] = modules
        self.__dict__["_parameters"] = params
        self.__dict__["_buffers"] = buffers

    def _replace_item(self, key, item):
        raise NotImplementedError

    __hash__ = object.__hash__

    def extra_repr(self):
        return ""


class TrackedList(list, TrackedContainer):
    """A list that is also an `nn.Module` over its layer/variable items."""

    def __init__(self, values=()):
        list.__init__(self, values)
        torch.nn.Module.__init__(self)
        self._resync()

    def _resync(self):
        self._sync(enumerate(list.__iter__(self)))

    def _replace_item(self, key, item):
        list.__setitem__(self, key, item)

    for _name in ("append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse",
                  "__setitem__", "__delitem__", "__iadd__", "__imul__"):
        locals()[_name] = _resyncing(list, _name)
    del _name

    __eq__ = list.__eq__
    __hash__ = object.__hash__
    __iter__ = list.__iter__
    __len__ = list.__len__
    __getitem__ = list.__getitem__
    __contains__ = list.__contains__
    __repr__ = list.__repr__
    __dir__ = object.__dir__

    def __reduce_ex__(self, protocol):
        return (TrackedList, (list(self),))


class TrackedTuple(tuple, TrackedContainer):
    """A tuple that is also an `nn.Module` over its layer/variable items."""

    def __new__(cls, values=()):
        return tuple.__new__(cls, values)

    def __init__(self, values=()):
        torch.nn.Module.__init__(self)
        self._sync(enumerate(tuple.__iter__(self)))

    def _replace_item(self, key, item):
        raise TypeError("Nested containers inside a tuple cannot be wrapped.")

    __eq__ = tuple.__eq__
    __hash__ = object.__hash__
    __iter__ = tuple.__iter__
    __len__ = tuple.__len__
    __getitem__ = tuple.__getitem__
    __contains__ = tuple.__contains__
    __repr__ = tuple.__repr__
    __dir__ = object.__dir__

    def __reduce_ex__(self, protocol):
        return (TrackedTuple, (tuple(self),))


class TrackedDict(dict, TrackedContainer):
    """A dict that is also an `nn.Module` over its layer/variable values."""

    def __init__(self, values=None):
        dict.__init__(self, values or {})
        torch.nn.Module.__init__(self)
        self._resync()

    def _resync(self):
        self._sync(list(dict.items(self)))

    def _replace_item(self, key, item):
        dict.__setitem__(self, key, item)

    for _name in ("__setitem__", "__delitem__", "pop", "popitem", "clear", "update",
                  "setdefault"):
        locals()[_name] = _resyncing(dict, _name)
    del _name

    __eq__ = dict.__eq__
    __hash__ = object.__hash__
    __iter__ = dict.__iter__
    __len__ = dict.__len__
    __getitem__ = dict.__getitem__
    __contains__ = dict.__contains__
    __repr__ = dict.__repr__
    __dir__ = object.__dir__

    def __reduce_ex__(self, protocol):
        return (TrackedDict, (dict(self),))
