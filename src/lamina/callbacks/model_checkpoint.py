"""`ModelCheckpoint`: saves the model (or its weights) during training."""

import os
import warnings

import numpy as np
import torch

from lamina.callbacks.monitor_callback import MonitorCallback
from lamina.distribution.distribution_lib import is_chief
from lamina.trainers.logs import python_logs
from lamina.utils import io_utils


def _check_save_freq(save_freq, callback_name):
    if save_freq != "epoch" and (not isinstance(save_freq, int) or isinstance(save_freq, bool)
                                 or save_freq < 1):
        raise ValueError(
            f"{callback_name}: unrecognized `save_freq`. Expected 'epoch' or a positive "
            f"integer (a number of batches). Received: save_freq={save_freq!r}"
        )


class _BatchCounter:
    """Counts batches across epochs from the indices `on_train_batch_end` receives.

    With `steps_per_execution > 1` the trainer reports only every Nth index, so the
    count advances by the gap since the last index seen (or `index + 1` in a new epoch).
    """

    def __init__(self, every):
        self.every = every
        self.since_save = 0
        self.last_index = None

    def reached(self, index):
        if self.last_index is None or index <= self.last_index:
            self.since_save += index + 1
        else:
            self.since_save += index - self.last_index
        self.last_index = index
        if self.since_save >= self.every:
            self.since_save = 0
            return True
        return False


class ModelCheckpoint(MonitorCallback):
    """Saves the model or its weights every epoch or every `save_freq` batches.

    Args:
        filepath: where to save; a format string that may use `{epoch}` (1-based),
            `{batch}` (1-based, batch-level saves) and any log name, e.g.
            `"ckpt/{epoch:02d}-{val_loss:.2f}.keras"`. Must end in `.keras`, or in
            `.weights.h5` with `save_weights_only=True`.
        monitor: log name compared when `save_best_only=True`.
        verbose: 1 prints a message for every save (and every rejected one).
        save_best_only: save only when `monitor` improves on the best value so far.
        save_weights_only: save with `model.save_weights` instead of `model.save`.
        mode: `"auto"`, `"min"` or `"max"`: the direction in which `monitor` improves
            (`"auto"`: losses decrease, metrics follow their own direction).
        save_freq: `"epoch"`, or an integer N to save after every N batches (the
            logs are then read only on the batches that save).
        initial_value_threshold: a starting "best" value that a first save must beat.

    >>> import os, tempfile, numpy as np, lamina
    >>> model = lamina.Sequential([lamina.Input((2,)), lamina.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> directory = tempfile.mkdtemp()
    >>> checkpoint = ModelCheckpoint(os.path.join(directory, "{epoch}-{loss:.0f}.weights.h5"),
    ...                              monitor="loss", save_weights_only=True)
    >>> _ = model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0,
    ...               callbacks=[checkpoint])
    >>> sorted(os.listdir(directory))
    ['1-0.weights.h5', '2-0.weights.h5']
    """

    # Batch logs stay tensors until a save needs them: no host sync on other batches.
    _accepts_tensor_logs = True
    _resume_attributes = ("best",)

    def __init__(
        self,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        super().__init__(monitor, mode, baseline=initial_value_threshold)
        self.verbose = verbose
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        _check_save_freq(save_freq, "ModelCheckpoint")
        self.save_freq = save_freq
        self._batches = _BatchCounter(save_freq) if save_freq != "epoch" else None
        self._current_epoch = 0
        if save_weights_only:
            if not self.filepath.endswith(".weights.h5"):
                raise ValueError(
                    "ModelCheckpoint with `save_weights_only=True` writes the Keras weights "
                    "format: `filepath` must end in `.weights.h5`. "
                    f"Received: filepath={self.filepath}"
                )
        elif not self.filepath.endswith(".keras"):
            hint = (" Legacy `.h5` models are not supported." if self.filepath.endswith(".h5")
                    else "")
            raise ValueError(
                "ModelCheckpoint saves the whole model in the Keras format: `filepath` must "
                "end in `.keras` (or pass `save_weights_only=True` with a `.weights.h5` "
                f"path).{hint} Received: filepath={self.filepath}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self._batches is not None and self._batches.reached(batch):
            self._save_model(self._current_epoch, batch, python_logs(logs))

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor_op is None:
            self._set_monitor_op()  # metrics exist by now
        if self.save_freq == "epoch":
            self._save_model(epoch, None, logs or {})

    def _file_path(self, epoch, batch, logs):
        """`filepath` formatted with the 1-based epoch (and batch) and the logs."""
        values = dict(logs)
        values["epoch"] = epoch + 1
        if batch is not None and "batch" not in logs:
            values["batch"] = batch + 1
        try:
            return self.filepath.format(**values)
        except KeyError as error:
            raise KeyError(
                f'ModelCheckpoint failed to format its filepath "{self.filepath}": no value '
                f"for {error}. Available: epoch{', batch' if batch is not None else ''}"
                f"{''.join(', ' + k for k in logs)}"
            ) from None

    def _should_save(self, epoch, logs, filepath):
        if not self.save_best_only:
            if self.verbose > 0:
                io_utils.print_msg(f"\nEpoch {epoch + 1}: saving model to {filepath}")
            return True
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"Can save best model only with {self.monitor} available.", stacklevel=3
            )
            return True
        if isinstance(current, (np.ndarray, torch.Tensor)) and current.ndim > 0:
            warnings.warn(
                f"Can save best model only when `monitor` is a scalar value. Received: "
                f"{current}. Falling back to `save_best_only=False`.",
                stacklevel=3,
            )
            return True
        if self.monitor_op is None:
            self._set_monitor_op()
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self._is_improvement(current, self.best):
            if self.verbose > 0:
                io_utils.print_msg(
                    f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to "
                    f"{current:.5f}, saving model to {filepath}"
                )
            self.best = current
            return True
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False

    def _save_model(self, epoch, batch, logs):
        if not is_chief():
            return  # process 0 of a distributed job writes (the weights are the same)
        filepath = self._file_path(epoch, batch, logs)
        if not self._should_save(epoch, logs, filepath):
            return
        if os.path.isdir(filepath):
            raise OSError(
                "Please specify a non-directory filepath for ModelCheckpoint. Filepath used "
                f"is an existing directory: {filepath}"
            )
        directory = os.path.dirname(filepath)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(filepath, overwrite=True)
        else:
            self.model.save(filepath, overwrite=True)
        if self.verbose > 0:
            io_utils.print_msg(f"\nEpoch {epoch + 1}: finished saving model to {filepath}")
