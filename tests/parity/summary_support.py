"""Helpers shared by the summary parity tests."""

import sys

RICH_MODULES = ("rich", "rich.console", "rich.table", "rich.text", "rich.jupyter")


def block_rich(monkeypatch):
    """Make `import rich` (and its submodules) fail, as when rich is not installed.
    Keras keeps working: it bound rich's modules when it was imported."""
    for name in RICH_MODULES:
        monkeypatch.setitem(sys.modules, name, None)
