"""`History`: records each epoch's logs; `fit` returns it."""

from lamina.callbacks.callback import Callback


class History(Callback):
    """Records the epoch-end logs of `fit` into `history` (name -> list of values).

    `fit` adds one automatically and returns it; it is also `model.history`.

    Attributes:
        history: dict mapping each log name to its per-epoch values.
        epoch: the epoch indices seen in the latest `fit`.

    >>> history = History()
    >>> history.on_train_begin()
    >>> history.on_epoch_end(0, {"loss": 0.5})
    >>> history.on_epoch_end(1, {"loss": 0.25})
    >>> history.history, history.epoch
    ({'loss': [0.5, 0.25]}, [0, 1])
    """

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for name, value in (logs or {}).items():
            self.history.setdefault(name, []).append(value)
        if self.model is not None:
            self.model.history = self
