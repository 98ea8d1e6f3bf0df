"""Imports point only downward: a lower layer of the package never imports a higher one."""

import ast
import pathlib

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "lamina"

# Lowest first. A module may import (at module level) only from its own rank or below.
RANKS = [
    {"backend", "tree", "saving.registry", "saving.serialization", "saving.keras_archive",
     "utils.progbar",
     "utils.io_utils", "utils.rng_utils"},
    {"ops"},
    {"variables", "dtype_policies", "random"},
    {"initializers", "regularizers", "constraints", "activations"},
    {"layers", "testing"},
    {"losses", "metrics", "optimizers"},
    {"callbacks", "trainers"},
    {"models"},
    {"saving", "utils", "datasets", "examples", "config", "export", "distribution",
     "mixed_precision"},
]


def rank_of(module):
    parts = module.split(".")
    for depth in (2, 1):
        key = ".".join(parts[:depth])
        for rank, names in enumerate(RANKS):
            if key in names:
                return rank
    return None


def module_level_imports(path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lamina"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                path_parts = submodule.split(".")[1:]
                is_module = (SRC.joinpath(*path_parts).with_suffix(".py").exists()
                             or SRC.joinpath(*path_parts).is_dir())
                yield submodule if is_module else node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lamina"):
                    yield alias.name


def test_imports_point_downward():
    problems = []
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(relative.parts).removesuffix(".__init__")
        own = rank_of(module.removeprefix("lamina."))
        if own is None:
            continue
        for imported in module_level_imports(path):
            other = rank_of(imported.removeprefix("lamina."))
            if other is not None and other > own:
                problems.append(f"{module} imports {imported}")
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_import_lamina_is_lazy_and_complete():
    import lamina

    for name in ("Sequential", "Model", "Input", "Layer", "Variable", "KerasTensor",
                 "Operation", "GradientTape", "InputSpec", "__version__"):
        assert hasattr(lamina, name), name
    for module in ("layers", "models", "ops", "optimizers", "losses", "metrics", "callbacks",
                   "activations", "initializers", "regularizers", "constraints", "saving",
                   "utils", "random", "backend", "config", "datasets"):
        assert getattr(lamina, module).__name__ == f"lamina.{module}"
