"""`Callback`: the base class of objects that hook into `fit`, `evaluate` and `predict`."""

import numpy as np
import torch


class Callback:
    """Base class for training callbacks; override the hooks you need.

    A trainer calls, in order: `on_train_begin`, then per epoch `on_epoch_begin`,
    `on_train_batch_begin`/`on_train_batch_end` per batch, the validation's
    `on_test_*` hooks, `on_epoch_end`; finally `on_train_end`. `evaluate` and
    `predict` call the `on_test_*` and `on_predict_*` hooks. Hooks receive a `logs`
    dict of Python floats (metric name -> value).

    `self.model` is the model being trained and `self.params` a dict with
    `verbose`, `epochs` and `steps`. Setting `self.model.stop_training = True`
    ends `fit` after the current epoch.

    >>> class LossPrinter(Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         print(f"epoch {epoch}: loss={logs['loss']:.2f}")
    >>> LossPrinter().on_epoch_end(0, {"loss": 0.25})
    epoch 0: loss=0.25
    """

    # Built-in callbacks that can read tensor-valued logs set this to skip the
    # per-batch conversion to Python floats (see `CallbackList`).
    _accepts_tensor_logs = False

    def __init__(self):
        self.params = None
        self._model = None

    def set_params(self, params):
        """Store the run parameters (`verbose`, `epochs`, `steps`)."""
        self.params = params

    def set_model(self, model):
        """Attach the model the callback acts on."""
        self._model = model

    @property
    def model(self):
        """The model this callback is attached to (`None` before `set_model`)."""
        return self._model

    # -- progress kept across an interrupted `fit` (BackupAndRestore) ----------------------
    _resume_attributes = ()  # names of the attributes that hold the callback's progress

    def _get_resume_state(self):
        """The callback's progress as plain values and tensors (saved with a backup)."""
        if not self._resume_attributes:
            return None
        return {name: _storable(getattr(self, name)) for name in self._resume_attributes}

    def _set_resume_state(self, state):
        """Put back `_get_resume_state`'s values (after `on_train_begin` has run)."""
        for name, value in state.items():
            if name in self._resume_attributes:
                setattr(self, name, value)

    # Kept for backward compatibility: the train-batch hooks forward to these.
    def on_batch_begin(self, batch, logs=None):
        """Alias of `on_train_batch_begin`, called by its default implementation."""

    def on_batch_end(self, batch, logs=None):
        """Alias of `on_train_batch_end`, called by its default implementation."""

    def on_epoch_begin(self, epoch, logs=None):
        """Called at the start of each training epoch."""

    def on_epoch_end(self, epoch, logs=None):
        """Called at the end of each epoch; `logs` holds training and `val_` results."""

    def on_train_batch_begin(self, batch, logs=None):
        """Called before each training batch."""
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """Called after each training batch; `logs` holds the running metric results."""
        self.on_batch_end(batch, logs=logs)

    def on_test_batch_begin(self, batch, logs=None):
        """Called before each evaluation batch."""

    def on_test_batch_end(self, batch, logs=None):
        """Called after each evaluation batch."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Called before each prediction batch."""

    def on_predict_batch_end(self, batch, logs=None):
        """Called after each prediction batch; `logs["outputs"]` holds its outputs."""

    def on_train_begin(self, logs=None):
        """Called once at the start of `fit`."""

    def on_train_end(self, logs=None):
        """Called once at the end of `fit`."""

    def on_test_begin(self, logs=None):
        """Called at the start of `evaluate` (and of validation inside `fit`)."""

    def on_test_end(self, logs=None):
        """Called at the end of `evaluate` (and of validation inside `fit`)."""

    def on_predict_begin(self, logs=None):
        """Called at the start of `predict`."""

    def on_predict_end(self, logs=None):
        """Called at the end of `predict`."""


def _as_float(value):
    """A Python float from a number, numpy scalar or one-element tensor (syncs a device)."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().reshape(()).item())
    return float(np.asarray(value).reshape(()))


def _get_learning_rate(optimizer, callback_name):
    if not hasattr(optimizer, "learning_rate"):
        raise ValueError(
            f"{callback_name} needs an optimizer with a `learning_rate` attribute. "
            f"Received: optimizer={optimizer!r}"
        )
    return _as_float(optimizer.learning_rate)


def _set_learning_rate(optimizer, value):
    """Set `optimizer.learning_rate`, in place when it is a plain tensor attribute.

    Optimizers with a `learning_rate` property decide themselves; a bare tensor
    attribute is filled in place so that compiled steps holding it see the change.
    """
    if isinstance(getattr(type(optimizer), "learning_rate", None), property):
        optimizer.learning_rate = value
        return
    current = getattr(optimizer, "learning_rate", None)
    if isinstance(current, torch.Tensor):
        with torch.no_grad():
            current.fill_(value)
    else:
        optimizer.learning_rate = value


def _storable(value):
    """`value` with numpy arrays as tensors and numpy scalars as Python numbers, so that
    `torch.load(..., weights_only=True)` reads it back."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(np.array(value, copy=True))
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    return value
