"""Nested structures (lists, tuples, dicts, namedtuples) as Keras sees them.

Dicts flatten in sorted-key order, like `keras.tree`. `None` is a leaf.
"""

from collections.abc import Mapping


def is_nested(x):
    return isinstance(x, (list, tuple, Mapping))


def _sorted_keys(d):
    try:
        return sorted(d)
    except TypeError:
        return list(d)


def flatten(structure):
    """All leaves of `structure`, depth first, dict values in sorted-key order."""
    if not isinstance(structure, (list, tuple, Mapping)):
        return [structure]
    out = []
    _flatten_into(structure, out)
    return out


def _flatten_into(structure, out):
    if isinstance(structure, Mapping):
        for k in _sorted_keys(structure):
            _flatten_into(structure[k], out)
    elif isinstance(structure, (list, tuple)):
        for v in structure:
            _flatten_into(v, out)
    else:
        out.append(structure)


def _rebuild(like, values):
    if isinstance(like, Mapping):
        return type(like)((k, values[k]) for k in like) if not isinstance(like, dict) else {
            k: values[k] for k in like
        }
    if isinstance(like, tuple) and hasattr(like, "_fields"):
        return type(like)(*values)
    return type(like)(values) if type(like) in (list, tuple) else list(values)


def pack_sequence_as(structure, flat_sequence):
    """Inverse of `flatten`: put `flat_sequence` back into the shape of `structure`."""
    flat_sequence = list(flat_sequence)
    it = iter(flat_sequence)
    result = _pack(structure, it)
    return result


def _pack(structure, it):
    if isinstance(structure, Mapping):
        values = {k: _pack(structure[k], it) for k in _sorted_keys(structure)}
        return _rebuild(structure, values)
    if isinstance(structure, (list, tuple)):
        return _rebuild(structure, [_pack(v, it) for v in structure])
    return next(it)


def map_structure(fn, *structures):
    """Apply `fn` leafwise across structures of the same shape."""
    flats = [flatten(s) for s in structures]
    n = len(flats[0])
    for f in flats[1:]:
        if len(f) != n:
            raise ValueError(
                f"Structures don't have the same number of elements: {n} vs {len(f)}."
            )
    return pack_sequence_as(structures[0], [fn(*leaves) for leaves in zip(*flats)])


def assert_same_structure(a, b):
    if structure_signature(a) != structure_signature(b):
        raise ValueError(f"Structures differ: {structure_signature(a)} vs {structure_signature(b)}")


def structure_signature(x):
    """A hashable description of the nesting of `x` (leaves replaced by '*')."""
    if isinstance(x, Mapping):
        return ("dict", tuple((k, structure_signature(x[k])) for k in _sorted_keys(x)))
    if isinstance(x, (list, tuple)):
        return ("seq", tuple(structure_signature(v) for v in x))
    return "*"


# --- the rest of `keras.tree`: paths, partial maps, traversal ------------------------------

class _MapToNone:
    """Returned by a `traverse` function: put None here (returning None means "recurse")."""

    def __repr__(self):
        return "MAP_TO_NONE"


MAP_TO_NONE = _MapToNone()


def _children(structure):
    """`(key, child)` pairs of one level: sorted keys of a mapping, indices of a sequence."""
    if isinstance(structure, Mapping):
        return [(k, structure[k]) for k in _sorted_keys(structure)]
    return list(enumerate(structure))


def flatten_with_path(structure):
    """`[(path, leaf), ...]` in `flatten` order; a path is the tuple of keys and indices.

    >>> flatten_with_path({"b": [1, 2], "a": 3})
    [(('a',), 3), (('b', 0), 1), (('b', 1), 2)]
    """
    if not is_nested(structure):
        return [((), structure)]
    return [((key, *path), leaf) for key, child in _children(structure)
            for path, leaf in flatten_with_path(child)]


def assert_same_paths(a, b):
    """Raise `ValueError` unless `a` and `b` have the same set of leaf paths."""
    paths_a = {path for path, _ in flatten_with_path(a)}
    paths_b = {path for path, _ in flatten_with_path(b)}
    if paths_a != paths_b:
        raise ValueError(
            "`a` and `b` don't have the same paths.\n"
            f"Paths in `a` missing in `b`:\n{paths_a - paths_b}\n"
            f"Paths in `b` missing in `a`:\n{paths_b - paths_a}")


def lists_to_tuples(structure):
    """`structure` with every list (at any depth) made a tuple.

    >>> lists_to_tuples([1, [2, {"a": [3]}]])
    (1, (2, {'a': (3,)}))
    """
    if isinstance(structure, Mapping):
        return _rebuild(structure, {k: lists_to_tuples(v) for k, v in structure.items()})
    if isinstance(structure, (list, tuple)):
        items = [lists_to_tuples(v) for v in structure]
        return tuple(items) if isinstance(structure, list) else _rebuild(structure, items)
    return structure


def _is_shape(x):
    return isinstance(x, (list, tuple)) and not hasattr(x, "_fields") and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in x)


def map_shape_structure(func, structure):
    """Apply `func` to every shape (a tuple or list of ints and None) in `structure`.

    >>> map_shape_structure(len, {"a": (None, 3), "b": [(2,), [4, 5]]})
    {'a': 2, 'b': [1, 2]}
    """
    if _is_shape(structure):
        return func(structure)
    if isinstance(structure, Mapping):
        return _rebuild(structure, {k: map_shape_structure(func, v)
                                    for k, v in structure.items()})
    if isinstance(structure, (list, tuple)):
        return _rebuild(structure, [map_shape_structure(func, v) for v in structure])
    return func(structure)


def map_structure_up_to(shallow_structure, func, *structures):
    """`map_structure` down to the depth of `shallow_structure` only: what lies below
    its leaves reaches `func` whole.

    >>> map_structure_up_to([1, 2], lambda a, b: (a, b), [[1, 2], 3], [[4, 5], 6])
    [([1, 2], [4, 5]), (3, 6)]
    """
    if not is_nested(shallow_structure):
        return func(*structures)
    for s in structures:
        if not is_nested(s):
            raise ValueError(f"Expected a nested structure like {shallow_structure!r}, "
                             f"received {s!r}.")
        if len(s) != len(shallow_structure):
            raise ValueError(f"Node arity mismatch; expected {len(shallow_structure)}, but "
                             f"got {len(s)}.")
    keys = [k for k, _ in _children(shallow_structure)]
    mapped = {k: map_structure_up_to(shallow_structure[k], func, *(s[k] for s in structures))
              for k in keys}
    return _rebuild(shallow_structure, mapped if isinstance(shallow_structure, Mapping)
                    else [mapped[k] for k in keys])


def traverse(func, structure, top_down=True):
    """Apply `func` to every substructure and leaf of `structure`.

    Top down, `func` sees each node first: None means "keep it and visit its children",
    `MAP_TO_NONE` puts None there, anything else replaces the node (children unvisited).
    Bottom up, children are done first and `func` sees the rebuilt node (None keeps it).

    >>> traverse(lambda x: None if isinstance(x, list) else x * 10, [1, [2, 3]])
    [10, [20, 30]]
    """
    def visit(node):
        if top_down:
            result = func(node)
            if result is MAP_TO_NONE:
                return None
            if result is not None or not is_nested(node):
                return node if result is None else result
            return _rebuild_children(node, visit)
        node = _rebuild_children(node, visit) if is_nested(node) else node
        result = func(node)
        return None if result is MAP_TO_NONE else node if result is None else result
    return visit(structure)


def _rebuild_children(node, visit):
    if isinstance(node, Mapping):
        return _rebuild(node, {k: visit(v) for k, v in node.items()})
    return _rebuild(node, [visit(v) for v in node])
