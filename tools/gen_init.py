"""Regenerate the re-export `__init__.py` files: `lamina.layers`, `lamina.ops` and the
`lamina.ops.numpy` / `lamina.ops.nn` namespace packages.

Run: python tools/gen_init.py   (tests/test_generated_files.py fails while one is stale)

Each file is a docstring, one `from module import name as name` line per public name
(sorted by ruff's isort, as CI checks), an optional generated footer, and, below
`KEPT_MARKER`, hand-written code carried over unchanged.
"""

import ast
import importlib
import inspect
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
KEPT_MARKER = "# --- Hand-written below this line: tools/gen_init.py keeps it as it is. ---"

LAYER_SOURCES = [
    ("lamina.layers.layer", ["Layer"]),
    ("lamina.layers.input_layer", ["Input", "InputLayer"]),
    ("lamina.layers.input_spec", ["InputSpec"]),
    ("lamina.layers.torch_module_wrapper", ["TorchModuleWrapper"]),
    ("lamina.layers.core", None),
    ("lamina.layers.core.embedding", None),
    ("lamina.layers.core.masking", None),
    ("lamina.layers.core.backend_only", None),
    ("lamina.layers.core.wrapper", None),
    ("lamina.layers.core.reversible_embedding", None),
    ("lamina.layers.activations", None),
    ("lamina.layers.activations.activation_layers", None),
    ("lamina.layers.regularization", None),
    ("lamina.layers.regularization.noise", None),
    ("lamina.layers.reshaping", None),
    ("lamina.layers.reshaping.upsampling", None),
    ("lamina.layers.reshaping.zero_padding", None),
    ("lamina.layers.reshaping.cropping", None),
    ("lamina.layers.merging", None),
    ("lamina.layers.convolutional", None),
    ("lamina.layers.pooling", None),
    ("lamina.layers.normalization", None),
    ("lamina.layers.rnn", None),
    ("lamina.layers.attention", None),
    ("lamina.layers.preprocessing", None),
    ("lamina.layers.preprocessing.clahe", None),
]
# Functional forms among the layers' lowercase names (`layers.add(...)`).
LAYER_FUNCTIONS = {"add", "subtract", "multiply", "average", "maximum", "minimum",
                   "concatenate", "dot"}

NUMPY_FILES = ["arithmetic", "unary", "reductions", "statistics", "products", "sorting",
               "shape", "creation"]
NN_FILES = ["activations", "conv", "normalization", "losses", "encoding", "attention",
            "patches"]

OPS_FOOTER = '''
# KerasTensor's operators (`x + y`, `x[i]`) call the ops above: installed here, as the
# backend, which defines KerasTensor, sits below ops.
_keras_tensor_methods.install(_sys.modules[__name__])
'''


def _module_all(module_name):
    """A module's `__all__`, read from its source (so a stale `__init__` cannot break the
    generator): `__all__ = [...]` plus any `__all__ += [...]`."""
    path = SRC / (module_name.replace(".", "/") + ".py")
    names = []
    for node in ast.parse(path.read_text()).body:
        target = getattr(node, "target", None) or (getattr(node, "targets", None) or [None])[0]
        if isinstance(target, ast.Name) and target.id == "__all__":
            names += ast.literal_eval(node.value)
    return names


def _layer_names(module_name, names):
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return []
    if names is not None:
        return names
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n, v in vars(module).items() if not n.startswith("_") and (
            inspect.isclass(v) or inspect.isfunction(v)) and getattr(
                v, "__module__", "").startswith("lamina.layers")]
    return sorted(n for n in names if not n[0].islower() or n in LAYER_FUNCTIONS)


def _reexports(sources):
    """`(module, name)` pairs, the first source of a name winning."""
    seen, pairs = set(), []
    for module_name, names in sources:
        for name in names:
            if name not in seen:
                seen.add(name)
                pairs.append((module_name, name))
    return pairs


def _namespace(package, files, extra=()):
    sources = [(f"{package}.{f}", _module_all(f"{package}.{f}")) for f in files]
    return _reexports(sources + list(extra))


def _targets():
    ops = "lamina.ops"
    numpy = _namespace(f"{ops}.numpy", NUMPY_FILES,
                       [(f"{ops}.core", ["ndim", "size"]), (f"{ops}.linalg", ["slogdet"])])
    nn = _namespace(f"{ops}.nn", NN_FILES)
    top = _reexports(
        [(f"{ops}.{m}", _module_all(f"{ops}.{m}")) for m in ("core", "control", "linalg", "math")]
        + [(f"{ops}.nn", [n for _, n in nn]), (f"{ops}.numpy", [n for _, n in numpy]),
           (f"{ops}.operation", ["Operation"])])
    modules = [f"import sys as _sys\n"
               f"from {ops} import keras_tensor_methods as _keras_tensor_methods\n"] + [
        f"from {ops} import {m} as {m}\n"
        for m in ("core", "image", "linalg", "math", "nn", "numpy")]
    return {
        "src/lamina/ops/__init__.py": (_docstring("lamina.ops"), modules, top, OPS_FOOTER,
                                       False),
        "src/lamina/ops/numpy/__init__.py": (_docstring("lamina.ops.numpy"), [], numpy, None,
                                             True),
        "src/lamina/ops/nn/__init__.py": (_docstring("lamina.ops.nn"), [], nn, None, True),
    }


def _spec(path):
    if path == LAYERS:  # imports lamina: generated after the ops files it depends on
        layers = _reexports([(m, _layer_names(m, n)) for m, n in LAYER_SOURCES])
        return "`lamina.layers`: every layer, as `keras.layers`.", [], layers, None, False
    return _targets()[path]


LAYERS = "src/lamina/layers/__init__.py"
PATHS = ["src/lamina/ops/__init__.py", "src/lamina/ops/numpy/__init__.py",
         "src/lamina/ops/nn/__init__.py", LAYERS]


_DOCSTRINGS = {
    "lamina.ops": '''`lamina.ops`: the Keras 3 `keras.ops` API on torch tensors.

Every op accepts tensors, numpy arrays and Python scalars or lists and returns torch
tensors; on symbolic `KerasTensor`s it records a graph node instead.

>>> import lamina
>>> lamina.ops.softmax([0.0, 0.0]).tolist()
[0.5, 0.5]''',
    "lamina.ops.numpy": '''`lamina.ops.numpy`: NumPy-style math on torch tensors with Keras'
dtype rules, as `keras.ops.numpy`, one family per module.

>>> import lamina
>>> lamina.ops.numpy.add([1, 2], 0.5).tolist()
[1.5, 2.5]''',
    "lamina.ops.nn": '''`lamina.ops.nn`: activations, convolutions and pooling, normalization,
losses, encodings, attention and patch ops, as `keras.ops.nn`, one family per module.

>>> import lamina
>>> lamina.ops.nn.relu([-1.0, 2.0]).tolist()
[0.0, 2.0]''',
}


def _docstring(package):
    return _DOCSTRINGS[package]


def render(path):
    """The text `path` (relative to the repository root) should hold."""
    doc, header, pairs, footer, with_all = _spec(path)
    lines = [f'"""{doc}\n\n(Generated by tools/gen_init.py.)\n"""\n\n', *header]
    lines += [f"from {module} import {name} as {name}\n" for module, name in pairs]
    text = "".join(lines)
    if with_all:
        text += "\n__all__ = [\n" + "".join(f'    "{name}",\n' for _, name in pairs) + "]\n"
    if footer:
        text += footer
    current = ROOT / path
    if current.exists() and KEPT_MARKER in current.read_text():
        text += "\n\n" + KEPT_MARKER + current.read_text().split(KEPT_MARKER, 1)[1]
    return _isort(text, path)


def _isort(text, path):
    """`text` with its imports sorted exactly as `ruff check` wants them."""
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--fix", "--select", "I", "--quiet",
         "--stdin-filename", str(ROOT / path), "-"],
        input=text, capture_output=True, text=True, cwd=ROOT, check=False)
    if result.returncode not in (0, 1) or not result.stdout:
        raise RuntimeError(f"ruff could not sort {path}: {result.stderr}")
    return result.stdout


def main():
    for path in PATHS:
        text = render(path)
        (ROOT / path).write_text(text)
        print(f"{path}: {text.count(' as ')} names")


if __name__ == "__main__":
    main()
