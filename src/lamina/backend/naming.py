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
