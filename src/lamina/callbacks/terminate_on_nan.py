"""`TerminateOnNaN`: stops training when the loss becomes NaN or infinite."""

import math

import torch

from lamina.callbacks.callback import Callback
from lamina.utils import io_utils


class TerminateOnNaN(Callback):
    """Stops training as soon as a batch's loss is NaN or infinite.

    Reading the loss each batch waits for the device once per batch; leave this
    callback out when that matters.

    Args:
        raise_error: raise a `RuntimeError` at once instead of setting
            `model.stop_training` (so `on_train_end` hooks do not run).

    >>> class Model:
    ...     stop_training = False
    >>> callback = TerminateOnNaN()
    >>> callback.set_model(Model())
    >>> callback.on_batch_end(3, {"loss": float("nan")})
    Batch 3: Invalid loss, terminating training
    >>> callback.model.stop_training
    True
    """

    _accepts_tensor_logs = True  # reads only `loss`; the other values stay on device

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        if isinstance(loss, torch.Tensor):
            finite = bool(torch.isfinite(loss.detach()).all())
            loss_value = loss.detach().float().mean().item() if not finite else None
        else:
            loss_value = float(loss)
            finite = math.isfinite(loss_value)
        if finite:
            return
        if self.raise_error:
            raise RuntimeError(
                f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss_value}. "
                "Terminating training immediately."
            )
        io_utils.print_msg(f"Batch {batch}: Invalid loss, terminating training")
        self.model.stop_training = True
