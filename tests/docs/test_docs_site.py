"""The documentation site: every guide's code runs, the API pages are fresh, and the
site builds with warnings as errors (`mkdocs build --strict`)."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
GUIDES = sorted((ROOT / "docs" / "guides").glob("*.md"))
# A fenced block whose info string is exactly `python` runs; `python no-run` is shown only
# (e.g. code that needs torchrun or a GPU), and every such block says why in the page.
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _spec(path):
    spec = importlib.util.spec_from_file_location("gen_api_docs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_blocks(page):
    return _BLOCK.findall(page.read_text())


def test_every_guide_has_code_and_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    assert GUIDES
    for page in GUIDES:
        assert f"guides/{page.name}" in nav, f"{page.name} is not in mkdocs.yml's nav"


@pytest.mark.parametrize("page", GUIDES, ids=[p.stem for p in GUIDES])
def test_guide_code_runs(page, tmp_path, monkeypatch):
    """Each page's blocks run in order in one namespace, in a scratch directory, as a
    reader pasting them into one session would."""
    import lamina

    monkeypatch.chdir(tmp_path)
    lamina.utils.clear_session()
    lamina.utils.set_random_seed(0)
    namespace = {"__name__": f"guide_{page.stem}"}
    for i, block in enumerate(code_blocks(page)):
        try:
            exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.name}, code block {i} failed:\n{block}") from error


def test_api_pages_are_fresh():
    gen = _spec(ROOT / "tools" / "gen_api_docs.py")
    wanted = gen.pages()
    on_disk = {p.name: p.read_text() for p in (ROOT / "docs" / "api").glob("*.md")}
    assert on_disk == wanted, "docs/api is stale: run `python tools/gen_api_docs.py`"
    assert (ROOT / "mkdocs.yml").read_text() == gen.mkdocs_yml(wanted)


def test_site_builds_strict(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(tmp_path / "site")],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    built = tmp_path / "site"
    assert (built / "index.html").exists()
    dense = (built / "api" / "lamina.layers" / "index.html").read_text()
    assert "lamina.layers.Dense" in dense and "units" in dense
