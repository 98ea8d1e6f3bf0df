"""The test tree itself: pytest imports test modules by basename (its default "prepend"
import mode, with no `__init__.py` in tests/), so two modules with one basename in
different folders stop the whole run at collection. CI once failed this way."""

import collections
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent


def duplicate_basenames(root):
    """`{basename: [paths]}` for every module name used by more than one file under `root`
    (conftest.py excepted: pytest imports each conftest on its own)."""
    seen = collections.defaultdict(list)
    for path in sorted(root.rglob("*.py")):
        if path.name != "conftest.py" and "node_modules" not in path.parts:
            seen[path.name].append(str(path.relative_to(root)))
    return {name: paths for name, paths in seen.items() if len(paths) > 1}


def test_every_test_module_basename_is_unique():
    duplicates = duplicate_basenames(TESTS)
    assert duplicates == {}, f"rename one of each (pytest cannot import both): {duplicates}"


def test_a_repeated_basename_is_found(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "test_same.py").write_text("")
        (tmp_path / folder / "conftest.py").write_text("")
    assert duplicate_basenames(tmp_path) == {"test_same.py": ["a/test_same.py", "b/test_same.py"]}
