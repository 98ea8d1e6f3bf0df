"""`ProgbarLogger`: prints `fit`/`evaluate`/`predict` progress with `Progbar`."""

from lamina.callbacks.callback import Callback
from lamina.utils import io_utils
from lamina.utils.progbar import Progbar


class ProgbarLogger(Callback):
    """Prints metrics to stdout as a progress bar; `fit(verbose=...)` adds one.

    Uses `params["verbose"]`: 0 prints nothing, 1 an in-place bar (one clean line
    per epoch when stdout is not a terminal), 2 one line per epoch. Values are read
    from the logs only when a line is printed.

    Args:
        count_mode: `"steps"` (the bar counts batches).

    >>> logger = ProgbarLogger()
    >>> logger.set_params({"verbose": 2, "epochs": 1, "steps": 2})
    >>> logger.on_train_begin()
    >>> logger.on_epoch_begin(0)
    >>> logger.on_train_batch_end(0, {"loss": 1.0})
    >>> logger.on_train_batch_end(1, {"loss": 0.5})
    >>> logger.on_epoch_end(0, {"loss": 0.75})  # doctest: +ELLIPSIS
    2/2 - 0s - ...s/step - loss: 0.7500
    """

    _accepts_tensor_logs = True

    def __init__(self, count_mode="steps"):
        super().__init__()
        if count_mode != "steps":
            raise ValueError(
                "ProgbarLogger: `count_mode` must be 'steps' (the trainer reports batches). "
                f"Received: count_mode={count_mode!r}"
            )
        self.seen = 0
        self.progbar = None
        self.target = None
        self.verbose = 1
        self.epochs = 1
        self._called_in_fit = False

    def set_params(self, params):
        super().set_params(params)
        verbose = params.get("verbose", 1)
        self.verbose = 1 if verbose == "auto" else verbose
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps")

    def _reset_progbar(self):
        self.seen = 0
        self.progbar = None
        if self.verbose:
            self.progbar = Progbar(target=self.target, verbose=self.verbose, unit_name="step")
            # Trainer logs are running results already: show them as-is.
            self.progbar._average_by_default = False

    def _update_progbar(self, batch, logs):
        self.seen = batch + 1
        if self.verbose == 1:
            if self.progbar is None:
                self._reset_progbar()
            self.progbar.update(self.seen, sorted(logs.items()) if logs else None, finalize=False)

    def _finalize_progbar(self, logs):
        if not self.verbose:
            return
        if self.progbar is None:
            self._reset_progbar()
        if self.target is None:
            self.target = self.seen  # unknown length: learned from the first pass
        self.progbar.target = self.target
        self.progbar.update(self.target, sorted(logs.items()) if logs else None, finalize=True)

    def on_train_begin(self, logs=None):
        self._called_in_fit = True

    def on_epoch_begin(self, epoch, logs=None):
        self._reset_progbar()
        if self.verbose and self.epochs > 1:
            io_utils.print_msg(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._update_progbar(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize_progbar(logs)

    def on_test_begin(self, logs=None):
        if not self._called_in_fit:
            self._reset_progbar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._called_in_fit:
            self._update_progbar(batch, logs)

    def on_test_end(self, logs=None):
        if not self._called_in_fit:
            self._finalize_progbar(logs)

    def on_predict_begin(self, logs=None):
        self._reset_progbar()

    def on_predict_batch_end(self, batch, logs=None):
        self._update_progbar(batch, None)  # predictions are not metrics

    def on_predict_end(self, logs=None):
        self._finalize_progbar(None)
