"""The distribution: the wheel built from this tree holds the package and its data, and
installed into a fresh virtual environment (runtime dependencies only, pinned by
constraints.txt) it imports, trains, saves and loads a model.

The fresh environment gets lamina from the wheel, resolved by pip against
constraints.txt. Its runtime dependencies (torch, numpy, h5py and theirs) are the ones
already installed in the environment running the tests, linked in through a `.pth` file
rather than unpacked again (torch alone is ~750 MB: a real install takes ~100 s on two
cores); no optional dependency is linked, so the smoke test also meets the errors a
user without the extras gets. `LAMINA_WHEEL_FULL_INSTALL=1` installs every dependency from
the package index instead (the check a release deserves).
"""

import ast
import email.parser
import importlib.metadata
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

import lamina

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "lamina"
PACKAGE_DATA = ("datasets/data", "examples/browser_page")  # [tool.setuptools.package-data]
FULL_INSTALL = os.environ.get("LAMINA_WHEEL_FULL_INSTALL") == "1"


def _source_version():
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and [t.id for t in node.targets] == ["__version__"]:
            return ast.literal_eval(node.value)
    raise AssertionError("src/lamina/__init__.py assigns no __version__")


def _run(command, timeout=300, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed ({result.returncode}):\n"
        f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def _can_build_here():
    """Whether this environment's setuptools builds wheels by itself (70.1 and later have
    bdist_wheel built in; older ones need the `wheel` package); else pip fetches one."""
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(part) for part in re.findall(r"\d+", version)[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of the tree (a build in place would write build/ and an
    egg-info into the shared checkout)."""
    tree = tmp_path_factory.mktemp("tree")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    out = tmp_path_factory.mktemp("dist")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(tree)]
    if _can_build_here():
        command.insert(4, "--no-build-isolation")  # offline: the setuptools already here
    _run(command)
    (path,) = out.glob("lamina-*.whl")
    return path


def _metadata(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.Parser().parsestr(archive.read(name).decode())


def test_wheel_holds_the_package_its_data_and_metadata(wheel):
    version = _source_version()
    assert wheel.name == f"lamina-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    sources = {str(p.relative_to(PACKAGE.parent)) for p in PACKAGE.rglob("*.py")
               if "__pycache__" not in p.parts}
    assert sources <= names, f"modules missing from the wheel: {sorted(sources - names)[:10]}"
    for folder in PACKAGE_DATA:
        files = {f"lamina/{folder}/{p.name}" for p in (PACKAGE / folder).iterdir() if p.is_file()}
        assert files and files <= names, f"package data missing: {sorted(files - names)}"
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "src/"))]

    metadata = _metadata(wheel)
    assert metadata["Version"] == version
    runtime = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(re.split(r"[<>=;\[ ]", r)[0] for r in runtime) == ["h5py", "numpy", "torch"]
    extras = set(metadata.get_all("Provides-Extra"))
    assert {"tensorboard", "image", "plot", "sklearn", "summary", "export", "executorch",
            "all"} <= extras
    (all_extra,) = [r for r in metadata.get_all("Requires-Dist") if r.endswith('extra == "all"')]
    assert set(re.search(r"lamina\[([^\]]+)\]", all_extra)[1].split(",")) == {
        "tensorboard", "image", "plot", "sklearn", "summary", "export"}


def test_the_changelog_latest_entry_is_this_version():
    """CHANGELOG.md (Keep a Changelog): `## [Unreleased]` first, then `## [X.Y.Z] - date`
    entries, newest first; the newest is the version in src/lamina/__init__.py."""
    headings = re.findall(r"^## \[([^\]]+)\](.*)$", (ROOT / "CHANGELOG.md").read_text(),
                          re.MULTILINE)
    releases = [(name, rest) for name, rest in headings if name != "Unreleased"]
    assert releases, headings
    assert releases[0][0] == _source_version() == lamina.__version__ == lamina.version()
    for name, rest in releases:
        assert re.fullmatch(r"\d+\.\d+\.\d+", name) and re.fullmatch(
            r" - \d{4}-\d{2}-\d{2}", rest), (name, rest)


def _runtime_closure(requirements):
    """The installed distributions `requirements` need, recursively (markers evaluated
    for this interpreter; extras not followed)."""
    try:
        from packaging.requirements import Requirement
    except ImportError:  # NOTE: pip vendors packaging; the test env has pip
        from pip._vendor.packaging.requirements import Requirement
    seen, todo = {}, list(requirements)
    while todo:
        requirement = Requirement(todo.pop())
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        key = re.sub(r"[-_.]+", "-", requirement.name).lower()
        if key in seen:
            continue
        seen[key] = dist = importlib.metadata.distribution(requirement.name)
        todo.extend(dist.requires or [])
    return seen


def _link_dependencies(requirements, target):
    """Symlink the files of the installed runtime dependencies into `target`."""
    target.mkdir()
    for dist in _runtime_closure(requirements).values():
        for top in {pathlib.PurePath(f).parts[0] for f in dist.files or []} - {"..", "__pycache__"}:
            source = pathlib.Path(dist.locate_file(top))
            if source.exists() and not (target / top).exists():
                (target / top).symlink_to(source)


SMOKE = r'''
import importlib.metadata, importlib.resources, pathlib, sys, tempfile
import numpy as np
import lamina

where = pathlib.Path(lamina.__file__).resolve()
assert where.is_relative_to(pathlib.Path(sys.prefix).resolve()), f"lamina from {where}"
assert lamina.__version__ == lamina.version() == importlib.metadata.version("lamina")

lamina.utils.set_random_seed(0)
(x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
x_train, x_test = x_train.reshape(-1, 64) / 16.0, x_test.reshape(-1, 64) / 16.0
model = lamina.Sequential([lamina.Input((64,)), lamina.layers.Dense(32, activation="relu"),
                           lamina.layers.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=5, batch_size=32, verbose=0)
loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
assert history.history["loss"][-1] < history.history["loss"][0] and accuracy > 0.8, accuracy

lines = []
model.summary(print_fn=lines.append)  # rich is an extra: plain text without it
assert any("dense" in line for line in lines), lines

path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
model.save(path)
loaded = lamina.models.load_model(path)
np.testing.assert_allclose(loaded.predict(x_test, verbose=0), model.predict(x_test, verbose=0),
                           rtol=1e-6, atol=1e-6)

page = importlib.resources.files("lamina.examples").joinpath("browser_page")
assert page.joinpath("index.html").is_file() and page.joinpath("demo.js").is_file()
assert importlib.resources.files("lamina.datasets").joinpath("data", "digits.csv.gz").is_file()

try:  # no extra installed: each optional feature names the extra to install
    import PIL  # noqa: F401
    print("Pillow is installed; extra errors not checked")
except ImportError:
    try:
        lamina.utils.load_img(path)
        raise AssertionError("load_img ran without Pillow")
    except ImportError as error:
        assert "lamina[image]" in str(error), error
print(f"smoke ok: lamina {lamina.__version__}, test accuracy {accuracy:.3f}")
'''


def test_wheel_installs_and_runs_in_a_fresh_venv(wheel, tmp_path):
    started = time.perf_counter()
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", *([] if FULL_INSTALL else ["--without-pip"]), venv])
    python = venv / "bin" / "python"
    if FULL_INSTALL:
        pip = [python, "-m", "pip"]
    else:
        runtime = [r for r in _metadata(wheel).get_all("Requires-Dist") if "extra ==" not in r]
        _link_dependencies(runtime, tmp_path / "deps")
        site = _run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
        (pathlib.Path(site.stdout.strip()) / "lamina_test_deps.pth").write_text(
            f"{tmp_path / 'deps'}\n")
        pip = [sys.executable, "-m", "pip", "--python", python]  # a venv without pip
    installed = _run([*pip, "install", "-c", ROOT / "constraints.txt", wheel],
                     timeout=900, cwd=tmp_path)
    assert re.search(r"Successfully installed (\S+ )*lamina-", installed.stdout), installed.stdout
    if not FULL_INSTALL:  # every runtime dependency resolved to the linked ones
        assert re.search(r"Successfully installed lamina-\S+\s*$", installed.stdout), (
            installed.stdout)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "LAMINA_"))}
    smoke = _run([python, "-I", "-c", SMOKE], cwd=tmp_path, env=env)
    assert "smoke ok" in smoke.stdout, smoke.stdout
    if not FULL_INSTALL:  # no optional package was linked in: the extras' errors ran
        assert "extra errors not checked" not in smoke.stdout
    assert time.perf_counter() - started < (900 if FULL_INSTALL else 120)
