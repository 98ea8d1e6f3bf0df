"""List the public `keras.ops` names that `lamina.ops` lacks.

Run as `python tools/api_coverage.py`; prints one `namespace.name` per line and exits
non-zero when anything is missing. Needs `keras` importable (any backend works; torch is
the one lamina mirrors).
"""

import os
import sys
import types

# Namespaces of `keras.ops` and the `lamina.ops` attribute path that must mirror each.
NAMESPACES = ("", "nn", "numpy", "linalg", "image", "math", "core")


def _public_names(module):
    return sorted(
        n for n in dir(module)
        if not n.startswith("_") and not isinstance(getattr(module, n), types.ModuleType)
    )


def missing_names():
    """`["ops.name", "ops.linalg.name", ...]` for every Keras name lamina lacks."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    import lamina.ops

    missing = []
    for sub in NAMESPACES:
        keras_module = getattr(keras.ops, sub, None) if sub else keras.ops
        if sub and not isinstance(keras_module, types.ModuleType):
            continue  # e.g. `keras.ops.math` is not public in every Keras version
        lamina_module = getattr(lamina.ops, sub, None) if sub else lamina.ops
        prefix = f"ops.{sub}." if sub else "ops."
        for name in _public_names(keras_module):
            if lamina_module is None or not hasattr(lamina_module, name):
                missing.append(prefix + name)
    return missing


def main():
    missing = missing_names()
    for name in missing:
        print(name)
    print(f"{len(missing)} missing", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
