"""How `model.summary()` reaches the user, against Keras 3: rich's colours on a terminal,
plain text elsewhere and for `print_fn`, rich's HTML in a notebook, the same characters
from lamina's fallback when rich is not installed."""

import io
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import rich.console
import rich.jupyter
from summary_support import block_rich, nested_model

import lamina
from lamina.models import summary as summary_utils

ANSI = "\x1b["


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def _sequential(api):
    return api.Sequential([api.Input((8,)), api.layers.Dense(4, name="d1"),
                           api.layers.Dropout(0.1), api.layers.Dense(2)], name="seq")


def _functional(api):
    x = api.Input((8,), name="x")
    return api.Model(x, api.layers.Add()([api.layers.Dense(3)(x), api.layers.Dense(3)(x)]),
                     name="branches")


def _subclassed(api):
    class Net(api.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden = api.layers.Dense(8, activation="relu")
            self.out = api.layers.Dense(1)

        def call(self, x):
            return self.out(self.hidden(x))

    model = Net()
    model(np.ones((2, 5), "float32"))
    return model


KINDS = {"sequential": (_sequential, {}), "functional": (_functional, {}),
         "subclassed": (_subclassed, {"show_trainable": True}),
         "nested": (nested_model, {"expand_nested": True, "show_trainable": True})}


@pytest.fixture
def console_env(monkeypatch):
    """A 256-colour terminal 120 columns wide, whatever the environment running the tests."""
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "COLORTERM",
                 "JUPYTER_COLUMNS", "JUPYTER_LINES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.setenv("COLUMNS", "120")
    return monkeypatch


def _printed(model, stream_type, **kwargs):
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stdout", stream_type())
        model.summary(**kwargs)
        return sys.stdout.getvalue()


def _print_fn_text(model, **kwargs):
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    return calls[0]


@pytest.mark.parametrize("kind", KINDS)
def test_summary_on_a_terminal_is_coloured_like_keras(K, console_env, kind):
    build, options = KINDS[kind]
    kmodel, lmodel = build(K), build(lamina)
    theirs, ours = _printed(kmodel, _Terminal, **options), _printed(lmodel, _Terminal, **options)
    assert ours == theirs, f"lamina:\n{ours!r}\nkeras:\n{theirs!r}"
    assert "\x1b[1mModel: " in ours  # bold title
    assert "\x1b[38;5;33m" in ours  # class names in colour 33
    assert "\x1b[38;5;34m" in ours  # numbers in colour 34
    # The characters are those handed to print_fn, which stays plain on a terminal.
    plain = _print_fn_text(lmodel, **options)
    assert ANSI not in plain and plain == _print_fn_text(kmodel, **options)
    assert _strip_ansi(ours) == plain


def test_nested_trainable_flags_are_coloured_like_keras(K, console_env):
    ours = _printed(nested_model(lamina), _Terminal, expand_nested=True, show_trainable=True)
    # colour 9 on a 256-colour terminal is bright red (91)
    assert "\x1b[1;91mN\x1b[0m" in ours and "\x1b[1;38;5;34mY\x1b[0m" in ours


def _strip_ansi(text):
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_summary_off_a_terminal_is_plain_like_keras(K, console_env, kind):
    build, options = KINDS[kind]
    lmodel = build(lamina)
    ours = _printed(lmodel, io.StringIO, **options)
    assert ANSI not in ours
    assert ours == _printed(build(K), io.StringIO, **options)
    assert ours == _print_fn_text(lmodel, **options)


@pytest.mark.parametrize("kind", KINDS)
def test_without_rich_a_terminal_gets_the_same_characters_uncoloured(K, console_env, kind):
    build, options = KINDS[kind]
    theirs = _printed(build(K), _Terminal, **options)
    lmodel = build(lamina)
    block_rich(console_env)
    assert summary_utils._import_rich() is None
    ours = _printed(lmodel, _Terminal, **options)
    assert ANSI not in ours
    assert ours == _strip_ansi(theirs)


def test_notebook_gets_keras_rich_output(K, console_env):
    """In Jupyter, rich hands IPython one styled output per print (HTML and plain text):
    lamina's outputs are Keras' segment for segment, styles included."""
    shown = []

    def display(segments, text):
        shown.append(([(s.text, str(s.style)) for s in segments], text))

    console_env.setattr(rich.console, "_is_jupyter", lambda: True)
    console_env.setattr(rich.jupyter, "display", display)
    for api in (K, lamina):
        model = _functional(api)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdout", io.StringIO())
            model.summary(show_trainable=True)
            assert sys.stdout.getvalue() == ""  # all of it went to the notebook
    theirs, ours = shown[:len(shown) // 2], shown[len(shown) // 2:]
    assert len(ours) == 5  # title, table and three totals
    assert ours == theirs
    styles = {style for segments, _ in ours for _, style in segments}
    assert {"bold", "color(33)", "color(34)"} <= styles


def test_summary_logged_when_interactive_logging_is_off_is_plain(K, console_env, caplog):
    model = _functional(lamina)
    expected = _print_fn_text(model)
    lamina.utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="lamina"):
            model.summary()
    finally:
        lamina.utils.enable_interactive_logging()
    assert [r.getMessage() for r in caplog.records if r.name == "lamina"] == [expected]
    assert ANSI not in expected and expected == _print_fn_text(_functional(K))


@pytest.mark.parametrize("rich_installed", [True, False])
def test_too_narrow_a_summary_raises_like_keras(K, monkeypatch, rich_installed):
    with pytest.raises(ValueError, match="Insufficient console width") as theirs:
        _sequential(K).summary(line_length=8, print_fn=print)
    if not rich_installed:
        block_rich(monkeypatch)
    with pytest.raises(ValueError, match="Insufficient console width") as ours:
        _sequential(lamina).summary(line_length=8, print_fn=print)
    assert str(ours.value) == str(theirs.value)


def test_import_lamina_and_summary_module_leave_rich_unimported():
    code = ("import sys, lamina; from lamina.models import summary; "
            "assert 'rich' not in sys.modules, sorted(m for m in sys.modules if 'rich' in m)")
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1"})
