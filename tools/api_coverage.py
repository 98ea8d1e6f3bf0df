"""List the public Keras names that lamina lacks, over every public `keras` namespace.

Run as `python tools/api_coverage.py [prefix]`; prints one dotted name per line (e.g.
`ops.linalg.svd`, `layers.Wrapper`, `applications.resnet50.ResNet50`) and exits non-zero
when anything is missing. A prefix (`ops`, `layers`...) limits the walk to that namespace.
Needs `keras` importable (any backend works; torch is the one lamina mirrors).

Keras' namespaces are the modules under `keras` that are not `keras.src` (its private
implementation); lamina must have the same attribute path for each public name.
"""

import os
import sys
import types

_MISSING = object()


def _public_names(module):
    return sorted(n for n in dir(module) if not n.startswith("_"))


def _is_public_namespace(value):
    name = getattr(value, "__name__", "")
    return (isinstance(value, types.ModuleType) and name.startswith("keras.")
            and not name.startswith(("keras.src", "keras._tf_keras")))


def _walk(keras_module, lamina_module, prefix, seen, missing):
    for name in _public_names(keras_module):
        value = getattr(keras_module, name)
        dotted = f"{prefix}{name}"
        if isinstance(value, types.ModuleType):
            if not _is_public_namespace(value) or id(value) in seen:
                continue
            seen.add(id(value))
            ours = _MISSING if lamina_module is _MISSING else getattr(
                lamina_module, name, _MISSING)
            _walk(value, ours, dotted + ".", seen, missing)
        elif lamina_module is _MISSING or not hasattr(lamina_module, name):
            missing.append(dotted)


def missing_names(under=None):
    """Every public Keras name lamina lacks, dotted from the top (`"layers.Wrapper"`);
    only those under the namespace `under` (e.g. `"ops"`) when given."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    import lamina

    keras_root, lamina_root, prefix = keras, lamina, ""
    for part in (under.split(".") if under else ()):
        keras_root = getattr(keras_root, part)
        lamina_root = getattr(lamina_root, part, _MISSING)
        prefix += part + "."
    missing = []
    _walk(keras_root, lamina_root, prefix, {id(keras_root)}, missing)
    return missing


def main(argv):
    missing = missing_names(argv[0] if argv else None)
    for name in missing:
        print(name)
    print(f"{len(missing)} missing", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
