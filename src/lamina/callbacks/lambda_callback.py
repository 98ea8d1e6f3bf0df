"""`LambdaCallback`: a callback built from plain functions."""

from lamina.callbacks.callback import Callback


class LambdaCallback(Callback):
    """Builds a callback from functions passed for the hooks you need.

    Epoch hooks take `(epoch, logs)`, batch hooks `(batch, logs)`, and the
    begin/end hooks `(logs)`. Any other hook (`on_test_begin=...`,
    `on_predict_batch_end=...`) can be passed by keyword as well.

    >>> seen = []
    >>> callback = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(logs["loss"]))
    >>> callback.on_epoch_end(0, {"loss": 0.5})
    >>> seen
    [0.5]
    """

    def __init__(
        self,
        on_epoch_begin=None,
        on_epoch_end=None,
        on_train_begin=None,
        on_train_end=None,
        on_train_batch_begin=None,
        on_train_batch_end=None,
        **kwargs,
    ):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {
            "on_epoch_begin": on_epoch_begin,
            "on_epoch_end": on_epoch_end,
            "on_train_begin": on_train_begin,
            "on_train_end": on_train_end,
            "on_train_batch_begin": on_train_batch_begin,
            "on_train_batch_end": on_train_batch_end,
        }
        for name, function in hooks.items():
            if function is not None:
                setattr(self, name, function)
