"""Fixtures for callback tests: a fake clock for the progress bar and a fake terminal."""

import pytest
from callback_fakes import FakeClock, TtyStream


@pytest.fixture
def clock(monkeypatch):
    import lamina.utils.progbar as progbar_module

    fake = FakeClock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


@pytest.fixture
def tty():
    """A fake terminal; use `with tty:` in the test body to print to it."""
    return TtyStream()
