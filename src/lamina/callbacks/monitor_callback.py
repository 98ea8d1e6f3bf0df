"""`MonitorCallback`: shared logic of callbacks that watch one logged value."""

import warnings

from lamina.callbacks.callback import Callback


def _metric_direction(model, name):
    """`"up"`/`"down"` from the model's metric called `name`, or `None`."""
    pending = list(getattr(model, "metrics", None) or ())
    while pending:
        metric = pending.pop(0)
        if getattr(metric, "name", None) == name and hasattr(metric, "_direction"):
            return metric._direction
        inner = getattr(metric, "metrics", None)  # compiled-metrics containers
        if isinstance(inner, (list, tuple)):
            pending.extend(inner)
    return None


class MonitorCallback(Callback):
    """Base of `EarlyStopping` and `ReduceLROnPlateau`: direction and improvement test.

    Args:
        monitor: log name to watch.
        mode: `"min"`, `"max"` or `"auto"`: losses are minimized, other metrics
            follow the `_direction` (`"up"`/`"down"`) of the model's metric of
            that name, resolved at the first epoch end.
        baseline: optional reference value (used by subclasses).
        min_delta: smallest change that counts as an improvement (sign ignored).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode {mode!r} is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = None
        self.min_delta = abs(min_delta)
        self.monitor_op = None  # "min" or "max" once resolved

    def _set_monitor_op(self):
        if self.mode != "auto":
            self.monitor_op = self.mode
            return
        name = self.monitor[4:] if self.monitor.startswith("val_") else self.monitor
        direction = "down" if name == "loss" else _metric_direction(self.model, name)
        if direction not in ("up", "down"):
            raise ValueError(
                f"{type(self).__name__} callback received monitor={self.monitor}, but cannot "
                "tell whether that metric should be maximized or minimized. Pass "
                "`mode='max'` to keep the highest value, or `mode='min'` to keep the lowest."
            )
        self.monitor_op = "max" if direction == "up" else "min"

    def _is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.monitor_op == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference
