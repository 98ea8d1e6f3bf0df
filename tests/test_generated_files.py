"""The generated `__init__.py` files are what `tools/gen_init.py` writes today: a stale
one (a new layer or op left out, a hand edit) fails here."""

import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("gen_init", ROOT / "tools" / "gen_init.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TOOL = _tool()


@pytest.mark.parametrize("path", TOOL.PATHS)
def test_generated_file_is_up_to_date(path):
    committed = (ROOT / path).read_text()
    assert TOOL.render(path) == committed, (
        f"{path} is stale: run `python tools/gen_init.py` and commit the result.")


def test_a_stale_file_is_detected(tmp_path, monkeypatch):
    path = "src/lamina/ops/nn/__init__.py"
    monkeypatch.setattr(TOOL, "NN_FILES", [f for f in TOOL.NN_FILES if f != "attention"])
    assert "dot_product_attention" not in TOOL.render(path)
    assert "dot_product_attention" in (ROOT / path).read_text()


def test_hand_written_code_below_the_marker_is_kept():
    text = TOOL.render("src/lamina/layers/__init__.py")
    assert TOOL.KEPT_MARKER in text and "def deserialize(config, custom_objects=None):" in text
    assert text.rstrip().endswith("return layer")
