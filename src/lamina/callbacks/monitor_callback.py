"""`MonitorCallback`: shared logic of callbacks that watch one logged value."""

import operator
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
    """Base of `EarlyStopping`, `ReduceLROnPlateau` and `ModelCheckpoint`.

    Holds what the three share: which way `monitor` improves, and whether a value
    improves on a reference by more than `min_delta`.

    Args:
        monitor: log name to watch.
        mode: `"min"`, `"max"` or `"auto"`: losses are minimized, other metrics
            follow the `_direction` (`"up"`/`"down"`) of the model's metric of
            that name, resolved at the first epoch end. Anything else warns and
            falls back to `"auto"`.
        baseline: the initial `best` value (`None`: the first value seen).
        min_delta: smallest change that counts as an improvement. Its sign is
            ignored; once the direction is resolved, `min_delta` is stored as
            Keras stores it: negative in `"min"` mode, positive in `"max"` mode.

    Once resolved, `monitor_op` is the strict comparison (`operator.lt` or
    `operator.gt`) a new value must pass against the best one.
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        if mode not in ("auto", "min", "max"):
            warnings.warn(
                f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.",
                stacklevel=3,
            )
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        if self.mode == "auto":
            name = self.monitor.removeprefix("val_")
            direction = "down" if name == "loss" else _metric_direction(self.model, name)
            if direction not in ("up", "down"):
                raise ValueError(
                    f"{type(self).__name__} callback received monitor={self.monitor}, but "
                    "cannot tell whether that metric should be maximized or minimized. Pass "
                    "`mode='max'` to keep the highest value, or `mode='min'` to keep the "
                    "lowest."
                )
            minimize = direction == "down"
        else:
            minimize = self.mode == "min"
        self.monitor_op = operator.lt if minimize else operator.gt
        # NOTE: Keras' convention: `value - min_delta` is compared with the best value.
        self.min_delta = -abs(self.min_delta) if minimize else abs(self.min_delta)

    def _is_improvement(self, value, reference):
        """Whether `value` beats `reference`: always against `None`, never when either is NaN."""
        if reference is None:
            return True
        return bool(self.monitor_op(value - self.min_delta, reference))
