"""Automatic unique names (`dense`, `dense_1`, ...) and the name-scope stack for paths."""

import collections
import re

_UIDS = collections.defaultdict(int)
NAME_SCOPE = []  # names of the layers currently building, for variable paths


def to_snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return name


def get_uid(prefix):
    """1 for the first call with `prefix`, then 2, 3, ..."""
    _UIDS[prefix] += 1
    return _UIDS[prefix]


def unique_name(prefix):
    """`prefix` the first time, then `prefix_1`, `prefix_2`, ... (Keras' scheme)."""
    uid = get_uid(prefix)
    return prefix if uid == 1 else f"{prefix}_{uid - 1}"


def reset_uids():
    _UIDS.clear()


def current_path(name):
    return "/".join([*NAME_SCOPE, name]) if NAME_SCOPE else name


class name_scope:
    """Within the block, new variables get `name` as one more path component.

    Args:
        name: scope name (a string without `/`).
        caller: the object opening the scope; with `deduplicate`, re-entering the scope
            the same caller opened just before adds nothing.
        deduplicate: see `caller`.
        override_parent: an absolute parent path that replaces the enclosing scopes.

    >>> import lamina
    >>> with lamina.name_scope("block"):
    ...     lamina.Variable(1.0, name="w").path
    'block/w'
    """

    def __init__(self, name, caller=None, deduplicate=True, override_parent=None):
        if not isinstance(name, str) or "/" in name:
            raise ValueError(
                "Argument `name` must be a string and cannot contain character `/`. "
                f"Received: name={name!r}"
            )
        self.name = name
        self.caller = caller
        self.deduplicate = deduplicate
        self.override_parent = override_parent
        self._saved = None
        self._entered = False

    def __enter__(self):
        if self.deduplicate and self.caller is not None and _OPEN_SCOPES:
            depth, name, caller = _OPEN_SCOPES[-1]
            if depth == len(NAME_SCOPE) and name == self.name and caller is self.caller:
                return self
        if self.override_parent is not None:
            self._saved = list(NAME_SCOPE)
            NAME_SCOPE[:] = [p for p in self.override_parent.split("/") if p]
        NAME_SCOPE.append(self.name)
        _OPEN_SCOPES.append((len(NAME_SCOPE), self.name, self.caller))
        self._entered = True
        return self

    def __exit__(self, *exc):
        if self._entered:
            NAME_SCOPE.pop()
            _OPEN_SCOPES.pop()
            if self._saved is not None:
                NAME_SCOPE[:] = self._saved
                self._saved = None
            self._entered = False
        return False


_OPEN_SCOPES = []  # (depth in NAME_SCOPE, name, caller) of each open `name_scope`
