"""Every public `keras.ops` name exists in the matching `lamina.ops` namespace."""

import importlib.util
import pathlib

import pytest

pytest.importorskip("keras")

TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "api_coverage.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("api_coverage", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_no_keras_ops_name_is_missing():
    missing = _load_tool().missing_names("ops")
    assert missing == [], f"{len(missing)} keras.ops names missing from lamina.ops: {missing}"


def test_tool_reports_a_missing_name(monkeypatch):
    import lamina.ops

    monkeypatch.delattr(lamina.ops, "add")
    assert "ops.add" in _load_tool().missing_names("ops")
