"""`EarlyStopping`: stops training when a monitored value stops improving."""

import warnings

import numpy as np

from lamina.callbacks.callback import _as_float
from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.utils import io_utils


class EarlyStopping(MonitorCallback):
    """Stops training once `monitor` has not improved for `patience` epochs.

    Args:
        monitor: log name to watch, e.g. `"val_loss"`.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        verbose: 1 prints a message when stopping or restoring weights.
        mode: `"min"`, `"max"`, or `"auto"` (losses are minimized; other metrics
            follow the direction of the model's metric of that name).
        baseline: an improvement resets the patience counter only if it also beats
            this value. While nothing beats it the counter runs on through
            improvements, so the first epoch without improvement after `patience`
            monitored epochs stops training (`best` still follows the best value).
        restore_best_weights: at the end of training, load the weights of the best
            monitored epoch, whether or not it beat `baseline` and also when training
            ran to the end without stopping.
        start_from_epoch: epochs to wait before monitoring starts (warm-up).

    >>> class Model:
    ...     stop_training = False
    >>> stopper = EarlyStopping(monitor="loss", patience=1)
    >>> stopper.set_model(Model())
    >>> stopper.on_train_begin()
    >>> for epoch, loss in enumerate([0.5, 0.4, 0.45, 0.46]):
    ...     stopper.on_epoch_end(epoch, {"loss": loss})
    ...     if stopper.model.stop_training:
    ...         break
    >>> epoch, stopper.best
    (2, 0.4)
    """

    _resume_attributes = ("wait", "stopped_epoch", "best", "best_weights", "best_epoch")

    def __init__(
        self,
        monitor="val_loss",
        min_delta=0,
        patience=0,
        verbose=0,
        mode="auto",
        baseline=None,
        restore_best_weights=False,
        start_from_epoch=0,
    ):
        super().__init__(monitor, mode, min_delta=min_delta)  # `baseline` is no starting `best`
        self.patience = patience
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_weights = None
        self.best_epoch = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()
        current = self.get_monitor_value(logs)
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            # Until something improves, the weights we started monitoring from are best.
            self.best_weights = self._snapshot_weights()
            self.best_epoch = epoch
        self.wait += 1
        if self._is_improvement(current, self.best):
            self.best = current
            self.best_epoch = epoch
            if self.restore_best_weights:
                self.best_weights = self._snapshot_weights()
            if self.baseline is None or self._is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _set_resume_state(self, state):
        super()._set_resume_state(state)
        if self.best_weights is not None:
            self.best_weights = [np.asarray(w) for w in self.best_weights]

    def _snapshot_weights(self):
        # NOTE: copied, so that the snapshot survives the following updates even where
        # `get_weights()` hands out arrays sharing memory with the live variables.
        return [np.array(w, copy=True) for w in self.model.get_weights()]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            io_utils.print_msg(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                io_utils.print_msg(
                    "Restoring model weights from the end of the best epoch: "
                    f"{self.best_epoch + 1}."
                )
            self.model.set_weights(self.best_weights)

    def get_monitor_value(self, logs):
        """The monitored value from `logs` as a float, or `None` (with a warning)."""
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is None:
            warnings.warn(
                f"Early stopping conditioned on metric `{self.monitor}` which is not available. "
                f"Available metrics are: {','.join(logs)}",
                stacklevel=2,
            )
            return None
        return _as_float(value)
