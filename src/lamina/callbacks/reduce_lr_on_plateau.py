"""`ReduceLROnPlateau`: lowers the learning rate when a monitored value plateaus."""

import warnings

import numpy as np

from lamina.callbacks.callback import _as_float, _get_learning_rate, _set_learning_rate
from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.utils import io_utils


class ReduceLROnPlateau(MonitorCallback):
    """Multiplies the learning rate by `factor` after `patience` epochs without improvement.

    Also adds the current `learning_rate` to each epoch's logs.

    Args:
        monitor: log name to watch.
        factor: multiplier for the learning rate (`new_lr = lr * factor`), below 1.
        patience: epochs without improvement before reducing.
        verbose: 1 prints a message on each reduction.
        mode: `"min"`, `"max"`, or `"auto"` (losses are minimized; other metrics
            follow the direction of the model's metric of that name).
        min_delta: smallest change that counts as an improvement.
        cooldown: epochs to wait after a reduction before counting again.
        min_lr: lower bound on the learning rate.

    >>> class Optimizer:
    ...     learning_rate = 0.1
    >>> class Model:
    ...     optimizer = Optimizer()
    >>> reducer = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
    >>> reducer.set_model(Model())
    >>> reducer.on_train_begin()
    >>> for epoch, loss in enumerate([1.0, 1.0, 1.0]):
    ...     reducer.on_epoch_end(epoch, {"loss": loss})
    >>> Model.optimizer.learning_rate
    0.025
    """

    _resume_attributes = ("best", "cooldown_counter", "wait")

    def __init__(
        self,
        monitor="val_loss",
        factor=0.1,
        patience=10,
        verbose=0,
        mode="auto",
        min_delta=1e-4,
        cooldown=0,
        min_lr=0.0,
        **kwargs,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)
        if factor >= 1.0:
            raise ValueError(
                f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}"
            )
        self.factor = factor
        self.min_lr = min_lr
        self.patience = patience
        self.verbose = verbose
        self.cooldown = cooldown
        self.cooldown_counter = 0
        self.wait = 0

    def in_cooldown(self):
        """Whether a reduction happened less than `cooldown` epochs ago."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        # Each `fit` starts afresh, as in Keras.
        self.best = None
        self.cooldown_counter = 0
        self.wait = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        logs = logs if logs is not None else {}
        logs["learning_rate"] = _get_learning_rate(self.model.optimizer, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Learning rate reduction is conditioned on metric `{self.monitor}` which is not "
                f"available. Available metrics are: {','.join(logs)}.",
                stacklevel=2,
            )
            return
        current = _as_float(current)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current, self.best):
            self.best = current
            self.wait = 0
            return
        if self.in_cooldown():
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        old_lr = logs["learning_rate"]
        # Compared in float32: a float32 learning rate at `min_lr` must count as reached.
        if old_lr > np.float32(self.min_lr):
            new_lr = max(old_lr * self.factor, self.min_lr)
            _set_learning_rate(self.model.optimizer, new_lr)
            if self.verbose > 0:
                io_utils.print_msg(
                    f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}."
                )
            self.cooldown_counter = self.cooldown
            self.wait = 0
