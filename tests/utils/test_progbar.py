import io
import logging
import re
import sys

import pytest
import torch

import lamina.utils.progbar as progbar_module
from lamina.utils import io_utils
from lamina.utils.progbar import Progbar


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    fake = _Clock()
    monkeypatch.setattr(progbar_module, "time", fake)
    return fake


def _drive(clock, bar_kwargs, updates, stream=None):
    """updates: (seconds, current, values, finalize). Returns what was printed."""
    stream = stream if stream is not None else io.StringIO()
    saved, sys.stdout = sys.stdout, stream
    try:
        bar = Progbar(**bar_kwargs)
        for seconds, current, values, finalize in updates:
            clock.now += seconds
            bar.update(current, values, finalize=finalize)
    finally:
        sys.stdout = saved
    return stream.getvalue()


def _steps(n, seconds=0.5, values=lambda i: [("loss", float(i))]):
    return [(seconds, i, values(i), None) for i in range(1, n + 1)]


def test_verbose_2_prints_one_summary_line(clock):
    out = _drive(clock, dict(target=3, verbose=2), _steps(3))
    assert out == "3/3 - 2s - 500ms/step - loss: 3.0000\n"


def test_verbose_0_is_silent(clock):
    assert _drive(clock, dict(target=3, verbose=0), _steps(3)) == ""


def test_verbose_1_piped_prints_one_clean_line(clock):
    out = _drive(clock, dict(target=3), _steps(3))
    assert out == f"3/3 {'━' * 20} 2s 500ms/step - loss: 3.0000\n"


def test_verbose_1_tty_draws_in_place_with_ansi(clock):
    out = _drive(clock, dict(target=3), _steps(3), stream=_Tty())
    frames = out.split("\r")
    assert frames[0] == "" and len(frames) == 4
    first = "\x1b[1m1/3\x1b[0m \x1b[32m━━━━━━\x1b[0m\x1b[37m" + "━" * 14 + "\x1b[0m"
    assert frames[1].startswith(first + " \x1b[1m1s\x1b[0m 500ms/step - loss: 1.0000")
    visible_width = len(re.sub(r"\x1b\[\d+m", "", frames[1].rstrip("\b")))
    assert frames[1].endswith("\b" * visible_width)
    assert frames[2].startswith("\x1b[1m2/3") and "loss: 1.5000" in frames[2]  # averaged
    assert frames[3].endswith("loss: 3.0000\n")  # the final values as given


def test_verbose_1_tty_throttles_redraws_by_interval(clock):
    # Binary-exact times: a redraw every 4 steps (1, 5, ..., 97) and the final line.
    out = _drive(
        clock, dict(target=100, interval=1 / 16), _steps(100, seconds=1 / 64), stream=_Tty()
    )
    assert out.count("\r") == 26


def test_stateful_and_stateless_metrics(clock):
    values = lambda i: [("loss", float(i)), ("acc", float(i))]  # noqa: E731
    out = _drive(
        clock, dict(target=3, stateful_metrics=["loss"]), _steps(2, values=values), stream=_Tty()
    )
    assert "loss: 2.0000 - acc: 1.5000" in out
    out = _drive(
        clock, dict(target=3, stateless_metrics=["loss"]), _steps(2, values=values), stream=_Tty()
    )
    assert "loss: 1.5000 - acc: 2.0000" in out


def test_value_formatting_and_time_formats(clock):
    values = lambda i: [("tiny", -1e-7), ("zero", 0.0), ("big", 12345.678), ("nan", float("nan"))]  # noqa: E731,E501
    out = _drive(clock, dict(target=2, verbose=2), _steps(2, values=values))
    assert out.endswith("- tiny: -1.0000e-07 - zero: 0.0000e+00 - big: 12345.6780 - nan: nan\n")
    out = _drive(clock, dict(target=3), _steps(3, seconds=70), stream=_Tty())
    assert "\x1b[1m2:20\x1b[0m 70s/step" in out and "\x1b[1m210s\x1b[0m" in out
    out = _drive(clock, dict(target=3), _steps(3, seconds=7000), stream=_Tty())
    assert "\x1b[1m3:53:20\x1b[0m" in out
    out = _drive(clock, dict(target=3, verbose=2), _steps(3, seconds=0.0004))
    assert "400us/step" in out


def test_first_step_is_excluded_from_the_step_time(clock):
    updates = [(5.0, 1, None, None), (0.1, 2, None, None), (0.1, 3, None, None)]
    out = _drive(clock, dict(target=3, verbose=2), updates)
    assert out == "3/3 - 5s - 100ms/step\n"


def test_unknown_target_and_add(clock):
    updates = [(0.5, i, [("loss", 1.0)], i == 3) for i in range(1, 4)]
    out = _drive(clock, dict(target=None), updates, stream=_Tty())
    assert "\r      1/Unknown \x1b[1m0s\x1b[0m" in out and out.endswith("loss: 1.0000\n")
    stream = io.StringIO()
    saved, sys.stdout = sys.stdout, stream
    try:
        bar = Progbar(4, verbose=2)
        bar.add(2)
        bar.add(2, [("loss", 0.5)])
    finally:
        sys.stdout = saved
    assert stream.getvalue().startswith("4/4 - ")


def test_tensor_values_are_read_only_when_printed(clock, monkeypatch):
    reads = []
    real_item = torch.Tensor.item
    monkeypatch.setattr(torch.Tensor, "item", lambda self: reads.append(1) or real_item(self))
    updates = [(0.0, i, [("loss", torch.tensor(float(i)))], None) for i in range(1, 101)]
    out = _drive(clock, dict(target=100, verbose=2), updates)
    assert out.endswith("loss: 100.0000\n") and len(reads) == 1


def test_bad_arguments():
    with pytest.raises(ValueError, match="not both.*stateful_metrics=\\['a'\\]"):
        Progbar(3, stateful_metrics=["a"], stateless_metrics=["b"])
    with pytest.raises(ValueError, match="`verbose` must be 0, 1 or 2. Received: verbose=3"):
        Progbar(3, verbose=3)


def test_print_msg_goes_to_logging_when_not_interactive(caplog, capsys):
    io_utils.disable_interactive_logging()
    try:
        assert not io_utils.is_interactive_logging_enabled()
        with caplog.at_level(logging.INFO, logger="lamina"):
            io_utils.print_msg("hello")
    finally:
        io_utils.enable_interactive_logging()
    assert "hello" in caplog.text and capsys.readouterr().out == ""
    io_utils.print_msg("x", line_break=False)
    assert capsys.readouterr().out == "x"
