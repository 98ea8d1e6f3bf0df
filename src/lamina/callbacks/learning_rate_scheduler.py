"""`LearningRateScheduler`: sets the learning rate from a function of the epoch."""

import numpy as np
import torch

from lamina.callbacks.callback import Callback, _get_learning_rate, _set_learning_rate
from lamina.utils import io_utils


class LearningRateScheduler(Callback):
    """Sets the learning rate to `schedule(epoch, lr)` at the start of each epoch.

    Also adds the current `learning_rate` to each epoch's logs. A one-argument
    `schedule(epoch)` is accepted too.

    Args:
        schedule: function `(epoch index, current learning rate) -> new float rate`.
        verbose: 1 prints the new rate each epoch.

    >>> class Optimizer:
    ...     learning_rate = 0.1
    >>> class Model:
    ...     optimizer = Optimizer()
    >>> scheduler = LearningRateScheduler(lambda epoch, lr: lr * 0.5 if epoch else lr)
    >>> scheduler.set_model(Model())
    >>> for epoch in range(3):
    ...     scheduler.on_epoch_begin(epoch)
    >>> Model.optimizer.learning_rate
    0.025
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            # Keras fails later, at the first epoch, with "object is not callable".
            raise TypeError(
                "LearningRateScheduler expects a function `schedule(epoch, lr)` returning "
                "the new learning rate, e.g. `lambda epoch, lr: lr * 0.9`. Received: "
                f"schedule={schedule!r} of type {type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        optimizer = self.model.optimizer
        learning_rate = _get_learning_rate(optimizer, "LearningRateScheduler")
        try:
            learning_rate = self.schedule(epoch, learning_rate)
        except TypeError:  # the older one-argument form `schedule(epoch)`
            learning_rate = self.schedule(epoch)
        is_float_tensor = (
            isinstance(learning_rate, torch.Tensor)
            and learning_rate.is_floating_point()
            and learning_rate.numel() == 1
        )
        if not isinstance(learning_rate, (float, np.floating)) and not is_float_tensor:
            raise ValueError(
                "The output of the `schedule` function should be a float. "
                f"Got: {learning_rate!r} of type {type(learning_rate).__name__}"
            )
        if is_float_tensor:
            learning_rate = float(learning_rate.item())
        _set_learning_rate(optimizer, learning_rate)
        if self.verbose > 0:
            io_utils.print_msg(
                f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                f"{learning_rate}."
            )

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _get_learning_rate(
                self.model.optimizer, "LearningRateScheduler"
            )
