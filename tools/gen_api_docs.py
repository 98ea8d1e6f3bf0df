"""Generate the API reference pages (`docs/api/*.md`) from lamina's public namespaces.

Run as `python tools/gen_api_docs.py` after adding or removing a public name (it also
rewrites the API part of mkdocs.yml's `nav`); `tests/docs/test_docs_site.py` fails when
the pages are stale. Each page lists every
public name of one namespace (what `dir()` shows, as Keras users reach it) and points
mkdocstrings at the object's defining module, so lazily imported names resolve too.
An alias (`Convolution2D` for `Conv2D`) links to its target instead of repeating it.
"""

import importlib
import inspect
import pathlib
import sys
import types

ROOT = pathlib.Path(__file__).resolve().parent.parent
API_DIR = ROOT / "docs" / "api"

# (public namespace, one-line description). A namespace that is missing or still a stub
# (every name raises AttributeError) is left out.
NAMESPACES = (
    ("lamina", "Models, layers and tensors at the top level."),
    ("lamina.layers", "Every layer."),
    ("lamina.models", "Model classes, cloning and loading."),
    ("lamina.ops", "Backend-agnostic tensor operations (`keras.ops`)."),
    ("lamina.ops.nn", "Neural-network operations."),
    ("lamina.ops.numpy", "NumPy-style operations."),
    ("lamina.ops.linalg", "Linear algebra."),
    ("lamina.ops.image", "Image operations."),
    ("lamina.ops.math", "Math operations."),
    ("lamina.activations", "Activation functions."),
    ("lamina.initializers", "Weight initializers."),
    ("lamina.regularizers", "Weight regularizers."),
    ("lamina.constraints", "Weight constraints."),
    ("lamina.losses", "Losses."),
    ("lamina.metrics", "Metrics."),
    ("lamina.optimizers", "Optimizers."),
    ("lamina.optimizers.schedules", "Learning-rate schedules."),
    ("lamina.callbacks", "Callbacks for `fit`, `evaluate` and `predict`."),
    ("lamina.saving", "`.keras` files, weights files and serialization."),
    ("lamina.utils", "Data utilities, progress bars, file downloads."),
    ("lamina.preprocessing", "Keras 3's `keras.preprocessing` namespace."),
    ("lamina.datasets.mnist", "MNIST digits."),
    ("lamina.datasets.fashion_mnist", "Fashion-MNIST."),
    ("lamina.datasets.cifar10", "CIFAR-10."),
    ("lamina.datasets.cifar100", "CIFAR-100."),
    ("lamina.datasets.imdb", "IMDB movie-review sentiment."),
    ("lamina.datasets.reuters", "Reuters newswire topics."),
    ("lamina.datasets.boston_housing", "Boston housing prices."),
    ("lamina.datasets.california_housing", "California housing prices."),
    ("lamina.random", "Seeded random tensors."),
    ("lamina.tree", "Nested structures."),
    ("lamina.config", "Global settings."),
    ("lamina.backend", "Backend utilities."),
    ("lamina.dtype_policies", "Dtype policies."),
    ("lamina.mixed_precision", "Keras' older mixed-precision names."),
    ("lamina.distribution", "Data and model parallel training on torch.distributed."),
    ("lamina.export", "Exporting models."),
    ("lamina.quantizers", "Quantization."),
    ("lamina.applications", "Ready-made architectures."),
    ("lamina.visualization", "Drawing boxes, masks and galleries."),
    ("lamina.wrappers", "scikit-learn wrappers."),
    ("lamina.distillation", "Knowledge distillation."),
)


def _load(name):
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    return module


def _public_names(module):
    names = []
    for name in sorted(set(dir(module)) | set(getattr(module, "__all__", ()))):
        if name.startswith("_"):
            continue
        try:
            value = getattr(module, name)
        except AttributeError:  # a stub namespace, or a name only some installs have
            continue
        if isinstance(value, types.ModuleType):
            continue
        if not (inspect.isclass(value) or callable(value)):
            continue
        if not getattr(value, "__module__", "").startswith("lamina"):
            continue
        names.append((name, value))
    return names


def _target(value, public_path):
    module = value.__module__
    qualname = getattr(value, "__qualname__", None) or value.__name__
    if "<" in qualname:  # a closure or lambda: griffe cannot reach it
        return None
    owner = sys.modules.get(module)
    if "." not in qualname and getattr(owner, qualname, None) is not value:
        # Made by a factory in `module` and bound elsewhere (applications' ResNet V2
        # variants): griffe finds it under the public name.
        return public_path
    return f"{module}.{qualname}"


def render(namespace, description, names):
    lines = [f"# `{namespace}`", "", description, ""]
    documented = {}
    for name, value in names:
        target = _target(value, f"{namespace}.{name}")
        if target is None:
            continue
        anchor = f'<a id="{namespace}.{name}"></a>'
        first = documented.setdefault(id(value), name)
        if first != name:
            lines += [anchor, "", f"## `{namespace}.{name}`", "",
                      f"Alias of [`{first}`](#{namespace}.{first}).", ""]
            continue
        lines += [anchor, "", f"::: {target}", "    options:",
                  f'      heading: "{namespace}.{name}"', f'      toc_label: "{name}"', ""]
    return "\n".join(lines).rstrip() + "\n"


def pages():
    """`{file name: text}` for every API page."""
    out = {}
    for namespace, description in NAMESPACES:
        module = _load(namespace)
        if module is None:
            continue
        names = _public_names(module)
        if not names:
            continue
        out[f"{namespace}.md"] = render(namespace, description, names)
    index = ["# API reference", "",
             "Every public name, by namespace, as a Keras user reaches it "
             "(`lamina.layers.Dense` is `keras.layers.Dense`).", ""]
    for namespace, description in NAMESPACES:
        if f"{namespace}.md" in out:
            index.append(f"- [`{namespace}`]({namespace}.md): {description}")
    out["index.md"] = "\n".join(index) + "\n"
    return out


NAV_START = "  # API pages: generated by tools/gen_api_docs.py\n"
NAV_END = "  # end of API pages\n"


def mkdocs_yml(wanted):
    """mkdocs.yml's text with the API part of `nav` listing `wanted`'s pages."""
    text = (ROOT / "mkdocs.yml").read_text()
    head, rest = text.split(NAV_START)
    _, tail = rest.split(NAV_END)
    entries = ["  - API reference:\n", "      - Overview: api/index.md\n"]
    entries += [f"      - {namespace}: api/{namespace}.md\n"
                for namespace, _ in NAMESPACES if f"{namespace}.md" in wanted]
    return head + NAV_START + "".join(entries) + NAV_END + tail


def main():
    API_DIR.mkdir(parents=True, exist_ok=True)
    wanted = pages()
    (ROOT / "mkdocs.yml").write_text(mkdocs_yml(wanted))
    for stale in API_DIR.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (API_DIR / name).write_text(text)
    print(f"wrote {len(wanted)} pages to {API_DIR.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
