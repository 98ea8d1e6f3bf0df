"""Fakes for callback tests: a duck-typed model, a fake clock and tty (and their
fixtures), a Keras-ordered fit loop."""

import io
import sys

import numpy as np
import pytest
import torch


class FakeOptimizer:
    def __init__(self, learning_rate=0.1):
        self.learning_rate = learning_rate


class FakeModel:
    """What callbacks touch on a model: weights, optimizer, stop flag, metrics."""

    def __init__(self, learning_rate=0.1, metrics=()):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.metrics = list(metrics)
        self.weights = [np.zeros(2, "float32")]

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


class FakeMetric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


class TtyStream(io.StringIO):
    """A stdout that claims to be a terminal; `with stream:` makes it `sys.stdout`.

    (pytest re-installs its own capture stream between fixture setup and the test call,
    so the swap must happen inside the test body.)
    """

    def isatty(self):
        return True

    def __enter__(self):
        self._saved = sys.stdout
        sys.stdout = self
        return self

    def __exit__(self, *exc):
        sys.stdout = self._saved


class FakeClock:
    """Replaces `time` in the progress bar module; `advance` moves it."""

    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def run_fit(callbacks, epochs, steps, batch_logs, epoch_logs, val_steps=0, clock=None):
    """Drives `callbacks` (a CallbackList) like `fit`: returns the epochs run."""
    model = callbacks.model
    callbacks.on_train_begin()
    ran = []
    for epoch in range(epochs):
        callbacks.on_epoch_begin(epoch)
        for step in range(steps):
            callbacks.on_train_batch_begin(step)
            if clock is not None:
                clock.advance(0.5)
            callbacks.on_train_batch_end(step, batch_logs(epoch, step))
        logs = dict(epoch_logs(epoch))
        if val_steps:
            callbacks.on_test_begin()
            for step in range(val_steps):
                callbacks.on_test_batch_begin(step)
                callbacks.on_test_batch_end(step, {"loss": torch.tensor(9.0)})
            callbacks.on_test_end({"loss": torch.tensor(9.0)})
        callbacks.on_epoch_end(epoch, logs)
        ran.append(epoch)
        if model is not None and model.stop_training:
            break
    callbacks.on_train_end(epoch_logs(ran[-1]) if ran else None)
    return ran


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
