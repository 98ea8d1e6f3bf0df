"""Optional dependencies: each feature that needs one, run with that package missing,
raises an ImportError naming the `lamina[...]` extra that installs it (TensorFlow and
Grain, which only feed Keras' `format="tf"`/`"grain"` datasets, are named as packages);
no lamina module imports one at module level unguarded; `import lamina` imports none."""

import ast
import importlib.util
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
import tomllib

import lamina

ROOT = pathlib.Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "lamina"
# Top-level package -> the extra that installs it (None: not a lamina extra).
OPTIONAL = {"tensorboard": "tensorboard", "PIL": "image", "pydot": "plot",
            "matplotlib": "plot", "cv2": "plot", "sklearn": "sklearn", "onnx": "export",
            "onnxscript": "export", "onnxruntime": "export", "executorch": "executorch",
            "rich": "summary", "tensorflow": None, "grain": None, "scipy": None, "IPython": None}
# pip name of each package that an extra installs (to check the extras hold them).
PIP_NAMES = {"tensorboard": "tensorboard", "PIL": "pillow", "pydot": "pydot",
             "matplotlib": "matplotlib", "cv2": "opencv-python-headless",
             "sklearn": "scikit-learn", "onnx": "onnx", "onnxscript": "onnxscript",
             "onnxruntime": "onnxruntime", "executorch": "executorch", "rich": "rich"}


def _block(monkeypatch, *names):
    """Make `import name` (and its submodules) fail as if the package were not installed;
    modules already imported from it are forgotten until the test ends."""
    for name in names:
        for cached in [m for m in sys.modules if m.startswith(f"{name}.")]:
            monkeypatch.delitem(sys.modules, cached)
        monkeypatch.setitem(sys.modules, name, None)


def _fresh_copy(module_name):
    """A private copy of a lamina module, executed now (its module-level imports run
    again, under whatever `_block` hides); the real module is untouched."""
    origin = importlib.util.find_spec(module_name).origin
    spec = importlib.util.spec_from_file_location(f"{module_name}_copy", origin)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model(np.zeros((1, 3), "float32"))
    return model


def _images():
    return np.zeros((2, 8, 8, 3), "float32")


def _boxes():
    return {"boxes": np.array([[[1.0, 1.0, 4.0, 4.0]]] * 2, "float32"),
            "labels": np.array([[1]] * 2)}


def _tensorboard(tmp_path, monkeypatch):
    _block(monkeypatch, "torch.utils.tensorboard")  # torch's writer imports tensorboard
    lamina.callbacks.TensorBoard(log_dir=tmp_path)


def _serve_onnx(tmp_path, monkeypatch):
    from lamina.examples.serve import Predictor

    Predictor(tmp_path / "model.onnx")


def _load_img(tmp_path, monkeypatch):
    _fresh_copy("lamina.utils.image_utils").load_img(tmp_path / "x.png")


def _sklearn(tmp_path, monkeypatch):
    _fresh_copy("lamina.wrappers.sklearn_wrapper").SKLearnClassifier(model=_model)


CASES = {  # id: (packages hidden, the call, what the message must say)
    "tensorboard": (["tensorboard"], _tensorboard, "pip install lamina[tensorboard]"),
    "pillow": (["PIL"], _load_img, 'pip install "lamina[image]"'),
    "pydot": (["pydot"], lambda t, m: lamina.utils.model_to_dot(_model()),
              "pip install lamina[plot]"),
    "plot_model-pydot": (["pydot"], lambda t, m: lamina.utils.plot_model(_model(), t / "m.png"),
                         "pip install lamina[plot]"),
    "opencv": (["cv2"], lambda t, m: lamina.visualization.draw_bounding_boxes(
        _images(), _boxes(), "xyxy"), "pip install lamina[plot]"),
    "matplotlib-gallery": (["matplotlib"], lambda t, m: lamina.visualization.plot_image_gallery(
        _images()), "pip install lamina[plot]"),
    "matplotlib-history": (["matplotlib"], lambda t, m: lamina.visualization.plot_history(
        {"loss": [1.0, 0.5]}), "pip install lamina[plot]"),
    "scikit-learn": (["sklearn"], _sklearn, "pip install lamina[sklearn]"),
    "onnx": (["onnx"], lambda t, m: _model().export(t / "m.onnx", format="onnx"),
             "pip install 'lamina[export]'"),
    "onnxscript": (["onnxscript"], lambda t, m: _model().export(t / "m.onnx", format="onnx"),
                   "pip install 'lamina[export]'"),
    "onnxruntime": (["onnxruntime"], _serve_onnx, "pip install 'lamina[export]'"),
    "executorch": (["executorch"], lambda t, m: _model().export(t / "m.pte", format="executorch"),
                   "pip install 'lamina[executorch]'"),
    "tensorflow": (["tensorflow"], lambda t, m: lamina.utils.timeseries_dataset_from_array(
        np.arange(10), None, 3, format="tf"), "pip install tensorflow"),
    "grain": (["grain"], lambda t, m: lamina.utils.timeseries_dataset_from_array(
        np.arange(10), None, 3, format="grain"), "pip install grain"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_missing_package_raises_naming_what_to_install(case, tmp_path, monkeypatch):
    hidden, call, install = CASES[case]
    _block(monkeypatch, *hidden)
    with pytest.raises(ImportError) as raised:
        call(tmp_path, monkeypatch)
    assert install in str(raised.value), str(raised.value)


def test_summary_without_rich_prints_plain_text(monkeypatch):
    model = _model()
    with_rich = []
    model.summary(print_fn=with_rich.append)
    _block(monkeypatch, "rich")
    without = []
    model.summary(print_fn=without.append)
    assert without == with_rich and any("dense" in line for line in without)


def test_graphviz_missing_says_how_to_install_it(tmp_path, monkeypatch):
    pytest.importorskip("pydot")  # NOTE: the `plot` extra; CI installs it
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program on the PATH
    with pytest.raises(ImportError, match=r"needs Graphviz\. Install Graphviz so that its "
                                          r"`dot` program is on the PATH"):
        lamina.utils.plot_model(_model(), tmp_path / "m.png")


def test_the_named_extras_install_those_packages():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for package, extra in OPTIONAL.items():
        if extra is not None:
            names = {r.split(">")[0].split("=")[0].split("<")[0].strip() for r in extras[extra]}
            assert PIP_NAMES[package] in names, (package, extra, extras[extra])
    assert set(extras["all"]) == {"lamina[tensorboard,image,plot,sklearn,summary,export]"}


def test_every_extra_named_in_docs_and_messages_exists():
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"])
    texts = [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").rglob("*.md")),
             *sorted(SOURCE.rglob("*.py"))]
    named = {}
    for path in texts:
        for group in re.findall(r"lamina\[([\w,-]+)\]", path.read_text()):
            for extra in group.split(","):
                named.setdefault(extra, str(path.relative_to(ROOT)))
    assert {"tensorboard", "image", "plot", "sklearn", "export", "all"} <= set(named)
    assert {e: p for e, p in named.items() if e not in extras} == {}


def _guarded(node, parents):
    """Whether an import sits in a function, or in the body of a `try` that catches
    ImportError. `parents` maps each node to the node that holds it."""
    while node in parents:
        node, child = parents[node], node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return True
        if isinstance(node, ast.Try) and any(child is s for s in node.body):
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if caught & {"ImportError", "ModuleNotFoundError", "Exception"}:
                return True
    return False


def _imports(tree):
    """`(node, module name)` for each absolute import in `tree`, and the parents map."""
    parents = {child: parent for parent in ast.walk(tree)
               for child in ast.iter_child_nodes(parent)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node, node.module))
    return found, parents


def test_no_module_imports_an_optional_package_unguarded():
    offenders = []
    names = "|".join([*OPTIONAL, r"torch\.utils\.tensorboard"])
    candidate = re.compile(rf"^\s*(import|from)\s+({names})\b", re.MULTILINE)
    for path in sorted(SOURCE.rglob("*.py")):
        text = path.read_text()
        if not candidate.search(text):  # NOTE: parse only the files that may import one
            continue
        imports, parents = _imports(ast.parse(text, str(path)))
        for node, name in imports:
            optional = name.split(".")[0] in OPTIONAL or name == "torch.utils.tensorboard"
            if optional and not _guarded(node, parents):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
    assert offenders == [], offenders


def test_the_guard_check_sees_an_unguarded_import():
    imports, parents = _imports(ast.parse(
        "import os\ntry:\n    import PIL\nexcept ImportError:\n    import cv2\n"
        "import sklearn\ndef f():\n    import pydot\n"))
    assert {name: _guarded(node, parents) for node, name in imports} == {
        "os": False, "PIL": True, "cv2": False, "sklearn": False, "pydot": True}


def test_import_lamina_imports_no_optional_package_and_not_torch():
    code = ("import sys, lamina; print(sorted(m.split('.')[0] for m in sys.modules "
            f"if m.split('.')[0] in {sorted({*OPTIONAL, 'torch'})!r}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stdout
