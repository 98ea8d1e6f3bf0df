"""Shared pieces for the ported keras.io developer guides.

Each `guide_*.py` module holds one guide's code in `run(keras, workdir)`, so the same
code runs on lamina and on Keras 3 (torch backend). The guides download MNIST and
CIFAR-10; here small synthetic sets with the same per-sample shapes and dtypes take
their place. The classes are learnable (one template image per class plus noise), so
a guide's claim that training lowers the loss can be checked after a single epoch.
"""

import re

import numpy as np
import torch


def fresh(keras, seed=0):
    """Fresh automatic names and fixed seeds, so two runs of a guide line up."""
    if keras.__name__ == "lamina":
        from lamina.backend import naming

        naming.reset_uids()
    else:
        keras.backend.clear_session(free_memory=False)
    torch.manual_seed(seed)
    np.random.seed(seed)


def _images(n, shape, num_classes, rng, templates):
    labels = rng.integers(0, num_classes, n)
    noise = rng.normal(0.0, 40.0, size=(n, *shape))
    images = np.clip(templates[labels] + noise, 0, 255).astype("uint8")
    return images, labels.astype("uint8")


def _load_data(n_train, n_test, shape, label_shape, seed):
    rng = np.random.default_rng(seed)
    templates = rng.uniform(0, 255, size=(10, *shape))
    x_train, y_train = _images(n_train, shape, 10, rng, templates)
    x_test, y_test = _images(n_test, shape, 10, rng, templates)
    return (x_train, y_train.reshape(label_shape(n_train))), (
        x_test, y_test.reshape(label_shape(n_test)))


def mnist_load_data(n_train=320, n_test=64, seed=0):
    """Stand-in for `keras.datasets.mnist.load_data()`: uint8 (n, 28, 28), labels (n,)."""
    return _load_data(n_train, n_test, (28, 28), lambda n: (n,), seed)


def cifar10_load_data(n_train=40, n_test=10, seed=1):
    """Stand-in for `keras.datasets.cifar10.load_data()`: uint8 (n, 32, 32, 3), (n, 1)."""
    return _load_data(n_train, n_test, (32, 32, 3), lambda n: (n, 1), seed)


def numpy_of(value):
    """A tensor, variable or array as a numpy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def shape_of(value):
    return tuple(value.shape)


def summary_text(model):
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    return "\n".join(lines)


def summary_rows(model):
    """`model.summary()` as rows of cells with all whitespace removed, then the totals.

    A table row may wrap over several lines (the two libraries wrap long names and
    shapes at different widths); its lines are joined, so lamina and Keras summaries
    compare cell by cell whatever the column widths.
    """
    rows, current = [], None
    for line in summary_text(model).splitlines():
        line = line.strip()
        if "params:" in line:
            rows.append([line])
        elif line[:1] in "│|" and "Layer (type)" not in line:
            cells = [re.sub(r"\s+", "", c) for c in re.split(r"[│|]", line)[1:-1]]
            if current is None:
                current = cells
                rows.append(current)
            else:
                for i, cell in enumerate(cells):
                    current[i] += cell
        else:
            current = None
    return rows


def summaries_match(lamina_rows, keras_rows):
    """Whether two `summary_rows` agree; an ellipsis in a Keras cell (where Keras cuts
    a long "Connected to" entry short) matches any text."""
    if len(lamina_rows) != len(keras_rows):
        return False
    for lrow, krow in zip(lamina_rows, keras_rows):
        if len(lrow) != len(krow):
            return False
        for lcell, kcell in zip(lrow, krow):
            pattern = ".*?".join(re.escape(part) for part in kcell.split("…"))
            if not re.fullmatch(pattern, lcell):
                return False
    return True


def structure(value):
    """The nesting of a batch (tuple/list/dict) with each leaf's shape."""
    if isinstance(value, dict):
        return {key: structure(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [structure(item) for item in value])
    if value is None:
        return None
    return tuple(value.shape)


def record_calls(cls, method_name, log):
    """Wrap `cls.<method_name>(self, data)` so every call appends `structure(data)`."""
    original = getattr(cls, method_name)

    def wrapper(self, data):
        log.append(structure(data))
        return original(self, data)

    setattr(cls, method_name, wrapper)
    return cls


def _plain(value):
    """Tuples, lists and numpy scalars as plain nested lists and Python numbers."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def fact_mismatches(lamina_facts, keras_facts, keys):
    """The facts among `keys` on which the two runs of a guide disagree.

    Summaries compare with `summaries_match`; a `*history` fact compares its keys and
    lengths (the values depend on random initial weights); anything else must be equal.
    """
    mismatches = []
    for key in keys:
        mine, theirs = lamina_facts[key], keras_facts[key]
        if key.endswith(("summary", "summaries")):
            pairs = zip(mine, theirs) if key.endswith("summaries") else [(mine, theirs)]
            same = len(mine) == len(theirs) and all(summaries_match(a, b) for a, b in pairs)
        elif key.endswith("history"):
            same = ({k: len(v) for k, v in mine.items()}
                    == {k: len(v) for k, v in theirs.items()})
        else:
            same = _plain(mine) == _plain(theirs)
        if not same:
            mismatches.append(f"{key}:\n  lamina: {mine!r}\n  keras:  {theirs!r}")
    return mismatches


def copy_weights(source, target):
    """Give `target` (one library's model) the weights of `source` (the other's)."""
    target.set_weights([numpy_of(w) for w in source.get_weights()])
