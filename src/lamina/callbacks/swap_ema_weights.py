"""`SwapEMAWeights`: evaluates (and optionally checkpoints) with the optimizer's EMA weights."""

import torch

from lamina.callbacks.callback import Callback


class SwapEMAWeights(Callback):
    """Swaps the model's weights with the optimizer's moving averages around evaluation.

    Before `evaluate`/`predict` (and validation in `fit`) the trainable weights take
    the EMA values; afterwards the training values come back. The swap is in place.
    Needs an optimizer created with `use_ema=True`: it exposes
    `_model_variables_moving_average`, one average per `model.trainable_variables`
    entry, in the same order.

    Args:
        swap_on_epoch: also hold the EMA weights from each epoch's end to the next
            epoch's start, so later callbacks (e.g. checkpoints) see them; after the
            last epoch the model keeps the EMA weights.

    >>> import torch
    >>> class Optimizer:
    ...     use_ema = True
    ...     _model_variables_moving_average = [torch.tensor([2.0])]
    >>> class Model:
    ...     optimizer = Optimizer()
    ...     trainable_variables = [torch.tensor([1.0])]
    >>> callback = SwapEMAWeights()
    >>> callback.set_model(Model())
    >>> callback.on_test_begin()
    >>> Model.trainable_variables[0].tolist()
    [2.0]
    >>> callback.on_test_end()
    >>> Model.trainable_variables[0].tolist()
    [1.0]
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = swap_on_epoch
        self._ema_weights_in_model = False

    def _pairs(self):
        optimizer = self.model.optimizer
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # loss-scale wrapper
        averages = getattr(optimizer, "_model_variables_moving_average", None)
        if averages is None:
            raise ValueError(
                "SwapEMAWeights must be used when `use_ema=True` is set on the optimizer. "
                f"Received: use_ema={getattr(optimizer, 'use_ema', None)}"
            )
        variables = list(self.model.trainable_variables)
        if len(variables) != len(averages):
            raise ValueError(
                f"SwapEMAWeights: the optimizer holds {len(averages)} moving averages but the "
                f"model has {len(variables)} trainable variables. Build the optimizer for "
                "this model before fitting."
            )
        return variables, list(averages)

    @torch.no_grad()
    def _swap_variables(self):
        variables, averages = self._pairs()
        if not variables:
            return
        saved = [v.detach().clone() for v in variables]
        torch._foreach_copy_(variables, averages)
        torch._foreach_copy_(averages, saved)

    @torch.no_grad()
    def _finalize_ema_values(self):
        # At the end of `fit` the optimizer copies its averages into the model; the
        # averages were swapped out, so put the EMA values back in them first.
        variables, averages = self._pairs()
        if variables:
            torch._foreach_copy_(averages, [v.detach() for v in variables])

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch and self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch and not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True
            if self.params and epoch == self.params.get("epochs", 0) - 1:
                self._finalize_ema_values()

    def on_test_begin(self, logs=None):
        if not self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = True

    def on_test_end(self, logs=None):
        if self._ema_weights_in_model:
            self._swap_variables()
            self._ema_weights_in_model = False

    def on_predict_begin(self, logs=None):
        self.on_test_begin(logs)

    def on_predict_end(self, logs=None):
        self.on_test_end(logs)
