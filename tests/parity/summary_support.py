"""Helpers shared by the summary parity tests."""

import sys

RICH_MODULES = ("rich", "rich.console", "rich.table", "rich.text", "rich.jupyter")


def block_rich(monkeypatch):
    """Make `import rich` (and its submodules) fail, as when rich is not installed.
    Keras keeps working: it bound rich's modules when it was imported."""
    for name in RICH_MODULES:
        monkeypatch.setitem(sys.modules, name, None)


def nested_model(api):
    """A functional model around a frozen Sequential (`api` is keras or lamina): the
    expand_nested / show_trainable case of the summary tests."""
    inner = api.Sequential([api.Input((3,)), api.layers.Dense(2, name="inner_dense")],
                           name="inner")
    x = api.Input((3,), name="x")
    outer = api.Model(x, api.layers.Dense(1, name="head")(inner(x)), name="outer")
    inner.trainable = False
    return outer
