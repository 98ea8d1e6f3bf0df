import re

import callback_fakes
import pytest
import torch
from callback_fakes import FakeModel, run_fit

from lamina import callbacks as cbks

# Shared fixtures (no conftest: its module name would clash across test folders).
clock = callback_fakes.clock
tty = callback_fakes.tty


def _fit_output(verbose, epochs=2, steps=3, clock=None, val=True):
    callbacks = cbks.CallbackList(
        add_history=True,
        add_progbar=True,
        model=FakeModel(),
        verbose=verbose,
        epochs=epochs,
        steps=steps,
    )

    def epoch_logs(epoch):
        logs = {"loss": torch.tensor(0.43021), "accuracy": torch.tensor(0.8125)}
        if val:
            logs.update(val_loss=torch.tensor(2e-5), val_accuracy=torch.tensor(1.0))
        return logs

    run_fit(
        callbacks,
        epochs,
        steps,
        lambda e, s: {"loss": torch.tensor(float(s)), "accuracy": torch.tensor(0.5)},
        epoch_logs,
        clock=clock,
    )


def test_verbose_2_prints_one_line_per_epoch(capsys, clock):
    _fit_output(2, clock=clock)
    out = capsys.readouterr().out
    line = "3/3 - 2s - 500ms/step - accuracy: 0.8125 - loss: 0.4302 - val_accuracy: 1.0000 - val_loss: 2.0000e-05"  # noqa: E501
    assert out == f"Epoch 1/2\n{line}\nEpoch 2/2\n{line}\n"


def test_single_epoch_has_no_epoch_header(capsys, clock):
    _fit_output(2, epochs=1, val=False, clock=clock)
    assert capsys.readouterr().out == "3/3 - 2s - 500ms/step - accuracy: 0.8125 - loss: 0.4302\n"


def test_verbose_1_piped_prints_clean_lines(capsys, clock):
    _fit_output(1, clock=clock)
    out = capsys.readouterr().out
    assert "\r" not in out and "\b" not in out and "\x1b" not in out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    bar = "\u2501" * 20
    assert lines[1] == (
        f"3/3 {bar} 2s 500ms/step - accuracy: 0.8125 - loss: 0.4302 "
        "- val_accuracy: 1.0000 - val_loss: 2.0000e-05"
    )


def test_verbose_1_on_a_terminal_redraws_in_place(tty, clock):
    with tty:
        _fit_output(1, clock=clock)
    out = tty.getvalue()
    assert out.count("\r") == 8  # per epoch: 3 batch draws (0.5 s apart) + the final line
    assert "\x1b[1m1/3\x1b[0m \x1b[32m" in out and "\b" in out
    final = out.split("Epoch 2/2\n")[1].split("\r")[-1]
    visible = re.sub(r"\x1b\[\d+m", "", final)
    assert visible.endswith("- val_accuracy: 1.0000 - val_loss: 2.0000e-05\n")
    # During the epoch the bar shows the batch logs as given (not re-averaged).
    assert "loss: 1.0000" in out.split("\r")[2]


def test_verbose_0_prints_nothing(capsys, clock):
    _fit_output(0, clock=clock)
    assert capsys.readouterr().out == ""


def test_unknown_steps_are_learned_in_the_first_epoch(capsys, clock):
    callbacks = cbks.CallbackList(
        add_progbar=True, model=FakeModel(), verbose=2, epochs=2, steps=None
    )
    run_fit(callbacks, 2, 4, lambda e, s: {}, lambda e: {"loss": 1.0}, clock=clock)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("4/4 - ") and lines[3].startswith("4/4 - ")


def test_evaluate_and_predict_print_their_own_bar(capsys, clock):
    logger = cbks.ProgbarLogger()
    callbacks = cbks.CallbackList([logger], verbose=2, epochs=1, steps=2)
    callbacks.on_test_begin()
    for step in range(2):
        clock.advance(0.25)
        callbacks.on_test_batch_end(step, {"loss": torch.tensor(3.0)})
    callbacks.on_test_end({"loss": torch.tensor(0.5)})
    callbacks.on_predict_begin()
    for step in range(2):
        clock.advance(0.25)
        callbacks.on_predict_batch_end(step, {"outputs": torch.ones(2)})
    callbacks.on_predict_end()
    assert (
        capsys.readouterr().out == "2/2 - 0s - 250ms/step - loss: 0.5000\n2/2 - 0s - 250ms/step\n"
    )


def test_validation_inside_fit_prints_no_extra_bar(capsys, clock):
    callbacks = cbks.CallbackList(add_progbar=True, verbose=2, epochs=1, steps=1)
    run_fit(callbacks, 1, 1, lambda e, s: {}, lambda e: {"loss": 1.0}, val_steps=2)
    assert capsys.readouterr().out.count("\n") == 1


def test_rejects_unknown_count_mode():
    with pytest.raises(ValueError, match="count_mode.*'steps'.*Received: count_mode='samples'"):
        cbks.ProgbarLogger(count_mode="samples")
