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
