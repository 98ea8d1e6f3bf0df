"""`CallbackList`: calls a list of callbacks at once, with Keras' ordering and logs."""

from lamina.callbacks.callback import Callback
from lamina.callbacks.history import History
from lamina.callbacks.progbar_logger import ProgbarLogger
from lamina.trainers.logs import python_logs

_BATCH_HOOKS = (
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_batch_begin",
    "on_test_batch_end",
    "on_predict_batch_begin",
    "on_predict_batch_end",
)
# The train-batch hooks' default implementations forward to these older names.
_BATCH_ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


def _overrides(callback, hook):
    """Whether `callback` does anything in `hook` (a subclass or instance override)."""
    for name in (hook, _BATCH_ALIASES.get(hook)):
        if name is None:
            continue
        method = getattr(callback, name, None)
        if getattr(method, "__func__", method) is not getattr(Callback, name):
            return True
    return False


def _flatten_callbacks(callbacks):
    flat = []
    for item in callbacks:
        if isinstance(item, (list, tuple)):
            flat.extend(_flatten_callbacks(item))
        else:
            flat.append(item)
    return flat


class CallbackList(Callback):
    """Calls every callback of a list through one object.

    Hooks are called in list order. `logs` are handed over as Python floats, as in
    Keras, but batch hooks cost nothing unless some callback overrides them: which
    callbacks override which batch hook is decided once, here, and only then are a
    batch's (possibly on-device) values read, in one device-to-host copy.

    Args:
        callbacks: list of `Callback` instances (nested lists are flattened).
        add_history: append a `History` unless the list already has one.
        add_progbar: append a `ProgbarLogger` unless the list already has one.
        model: the model the callbacks act on.
        **params: run parameters (`verbose`, `epochs`, `steps`) for `set_params`.

    >>> from lamina.callbacks import History
    >>> class Model:
    ...     stop_training = False
    >>> model = Model()
    >>> callbacks = CallbackList(add_history=True, model=model, verbose=0, epochs=1, steps=1)
    >>> callbacks.on_train_begin()
    >>> callbacks.on_epoch_end(0, {"loss": 0.5})
    >>> model.history.history
    {'loss': [0.5]}
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        self.callbacks = _flatten_callbacks(callbacks) if callbacks else []
        for index, callback in enumerate(self.callbacks):
            if not (hasattr(callback, "set_model") and hasattr(callback, "on_epoch_end")):
                raise TypeError(
                    "CallbackList expects `Callback` instances. "
                    f"Received at index {index}: {callback!r} of type {type(callback).__name__}"
                )
        self._history = next((c for c in self.callbacks if isinstance(c, History)), None)
        self._progbar = next((c for c in self.callbacks if isinstance(c, ProgbarLogger)), None)
        if self._history is None and add_history:
            self._history = History()
            self.callbacks.append(self._history)
        if self._progbar is None and add_progbar:
            self._progbar = ProgbarLogger()
            self.callbacks.append(self._progbar)
        self.params = params
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)
        # hook name -> ((bound method, accepts tensor logs), ...) for callbacks that act.
        self._batch_listeners = {
            hook: tuple(
                (getattr(c, hook), getattr(c, "_accepts_tensor_logs", False))
                for c in self.callbacks
                if _overrides(c, hook)
            )
            for hook in _BATCH_HOOKS
        }
        self._active_batch_hooks = frozenset(h for h, cs in self._batch_listeners.items() if cs)

    def set_model(self, model):
        super().set_model(model)
        if self._history is not None:
            model.history = self._history
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def _call_batch_hook(self, hook, batch, logs):
        listeners = self._batch_listeners[hook]
        if not listeners:
            return
        host_logs = None
        for method, accepts_tensors in listeners:
            # NOTE: batch hooks get `logs` by keyword, epoch and begin/end hooks by
            # position: Keras' calling convention, which user signatures may rely on.
            if accepts_tensors:
                method(batch, logs=logs)
                continue
            if host_logs is None:
                host_logs = python_logs(logs)
            method(batch, logs=host_logs)

    def _call_hook(self, hook, *args, logs=None):
        logs = python_logs(logs)
        for callback in self.callbacks:
            getattr(callback, hook)(*args, logs)

    def on_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_begin", batch, logs)

    def on_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_end", batch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_begin", batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_train_batch_end", batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_test_batch_begin", batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_test_batch_end", batch, logs)

    def on_predict_batch_begin(self, batch, logs=None):
        self._call_batch_hook("on_predict_batch_begin", batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        self._call_batch_hook("on_predict_batch_end", batch, logs)

    def on_epoch_begin(self, epoch, logs=None):
        self._call_hook("on_epoch_begin", epoch, logs=logs)

    def on_epoch_end(self, epoch, logs=None):
        self._call_hook("on_epoch_end", epoch, logs=logs)

    def on_train_begin(self, logs=None):
        self._call_hook("on_train_begin", logs=logs)

    def on_train_end(self, logs=None):
        self._call_hook("on_train_end", logs=logs)

    def on_test_begin(self, logs=None):
        self._call_hook("on_test_begin", logs=logs)

    def on_test_end(self, logs=None):
        self._call_hook("on_test_end", logs=logs)

    def on_predict_begin(self, logs=None):
        self._call_hook("on_predict_begin", logs=logs)

    def on_predict_end(self, logs=None):
        self._call_hook("on_predict_end", logs=logs)
