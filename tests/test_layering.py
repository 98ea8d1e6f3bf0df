"""Imports point only downward: no module imports one of a higher rank, anywhere.

The ranks come from the table in README.md's Layout section (the one table of the
package's layering). Every `import` is read, module-level or inside a function.
"""

import ast
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "lamina"

# (importer, imported) -> why the upward edge is needed. Keep it empty where possible.
ALLOWED = {
    ("models.model", "saving.saving_api"):
        "Model.save/save_weights/load_weights/to_json are Keras' methods; they delegate to "
        "the file formats, which are built on models (so the import is inside the methods)",
    ("models.model", "export.formats"):
        "Model.export is Keras' method; it delegates to lamina.export, which traces models "
        "(so the import is inside the method)",
    ("models", "saving.saving_api"):
        "keras.models.load_model/model_from_json are the same functions as keras.saving's",
    ("config", "dtype_policies"):
        "keras.config.dtype_policy/set_dtype_policy re-export the global dtype policy, whose "
        "classes sit above config (the import is inside the two functions)",
    ("variables", "initializers"):
        "Variable(initializer='zeros') takes a name as Keras does; initializers sit above "
        "variables because their seeds (random.SeedGenerator) hold a Variable",
}


def ranks():
    """`{package or module: rank}` from README.md's layering table."""
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- layering:", 1)[1]
    result = {}
    for line in table.splitlines()[1:]:
        if not line.startswith("|"):
            if result:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if not cells[0].isdigit():
            continue
        for name in re.findall(r"`([\w.]+)`", cells[1]):
            result[name] = int(cells[0])
    return result


RANKS = ranks()


def rank_of(module):
    """The rank of `lamina.a.b.c`: the most specific table entry that contains it."""
    parts = module.removeprefix("lamina.").split(".")
    for depth in range(len(parts), 0, -1):
        key = ".".join(parts[:depth])
        if key in RANKS:
            return RANKS[key]
    return None


def module_name(path):
    relative = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(relative.parts).removesuffix(".__init__")


def imported_modules(path):
    """Every lamina module `path` imports, at any depth of its syntax tree."""
    package = module_name(path) if path.name == "__init__.py" else \
        module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}".rstrip(".")
            if not base.startswith("lamina"):
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                parts = candidate.split(".")[1:]
                is_module = (SRC.joinpath(*parts).with_suffix(".py").exists()
                             or SRC.joinpath(*parts).is_dir())
                yield candidate if is_module else base
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lamina"):
                    yield alias.name


def upward_edges():
    for path in sorted(SRC.rglob("*.py")):
        module = module_name(path)
        own = rank_of(module)
        if own is None:
            continue
        for imported in imported_modules(path):
            other = rank_of(imported)
            if other is not None and other > own:
                yield module.removeprefix("lamina."), imported.removeprefix("lamina.")


def test_every_package_has_a_rank():
    packages = {p.name for p in SRC.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in SRC.glob("*.py") if p.stem != "__init__"}
    assert sorted(p for p in packages if rank_of(f"lamina.{p}") is None) == []


def test_imports_point_downward():
    problems = [f"{a} imports {b}" for a, b in upward_edges() if (a, b) not in ALLOWED]
    assert not problems, "upward imports (fix them, or list them in ALLOWED with a reason):\n" \
        + "\n".join(problems)


def test_allowed_edges_still_exist():
    edges = set(upward_edges())
    assert [edge for edge in ALLOWED if edge not in edges] == []


def test_import_lamina_is_lazy_and_complete():
    import lamina

    for name in ("Sequential", "Model", "Input", "Layer", "Variable", "KerasTensor",
                 "Operation", "GradientTape", "InputSpec", "__version__"):
        assert hasattr(lamina, name), name
    for module in ("layers", "models", "ops", "optimizers", "losses", "metrics", "callbacks",
                   "activations", "initializers", "regularizers", "constraints", "saving",
                   "utils", "random", "backend", "config", "datasets"):
        assert getattr(lamina, module).__name__ == f"lamina.{module}"
