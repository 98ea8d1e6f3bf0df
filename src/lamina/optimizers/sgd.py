"""`SGD`: gradient descent, optionally with (Nesterov) momentum."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, foreach_add_scaled_


class SGD(Optimizer):
    """Gradient descent with optional momentum, in Keras' form.

    Without momentum: `variable -= learning_rate * g`. With momentum:
    `m = momentum * m - learning_rate * g`, then `variable += m`, or with Nesterov
    `variable += momentum * m - learning_rate * g`.

    Args:
        learning_rate: float, schedule or callable (default 0.01).
        momentum: float in [0, 1]; 0 means plain descent (and no momentum state).
        nesterov: use Nesterov momentum.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.SGD(learning_rate=0.1).apply([torch.tensor([2.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.8
    """

    def __init__(
        self,
        learning_rate=0.01,
        momentum=0.0,
        nesterov=False,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not (
            0 <= momentum <= 1
        ):
            raise ValueError(
                f"Argument `momentum` must be a float between [0, 1]. Received: "
                f"momentum={momentum!r}"
            )
        self.momentum = float(momentum)
        self.nesterov = nesterov

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        # Public, unlike the other optimizers' slots: Keras' SGD exposes `momentums`.
        self.momentums = []
        if self.momentum != 0:
            self.momentums = self.add_optimizer_variables(var_list, "momentum")

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        if self.momentum == 0:
            foreach_add_scaled_(variables, grads, -learning_rate)
            return
        m = plan.gather(self.momentums)
        torch._foreach_mul_(m, self.momentum)
        foreach_add_scaled_(m, grads, -learning_rate)
        if self.nesterov:
            foreach_add_scaled_(variables, grads, -learning_rate)
            torch._foreach_add_(variables, m, alpha=self.momentum)
        else:
            torch._foreach_add_(variables, m)

    def get_config(self):
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config
