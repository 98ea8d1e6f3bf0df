"""`RMSprop`: gradients scaled by a moving root-mean-square."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, check_range, foreach_addcdiv_scaled_


class RMSprop(Optimizer):
    """RMSprop: `variable -= learning_rate * g / sqrt(v + epsilon)`.

    `v` is a moving average of `g**2` (decay `rho`); `centered` subtracts the squared
    moving average of `g` inside the root; `momentum` accumulates the increments.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: decay of the moving averages.
        momentum: momentum of the increments (0: none, and no momentum state).
        epsilon: added inside the square root (Keras' default 1e-7).
        centered: normalise by the estimated variance instead of the second moment.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.RMSprop(learning_rate=0.01).apply([torch.tensor([1.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.9684
    """

    def __init__(
        self,
        learning_rate=0.001,
        rho=0.9,
        momentum=0.0,
        epsilon=1e-7,
        centered=False,
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
        check_range("rho", rho, 0, 1)
        check_range("momentum", momentum, 0, float("inf"))
        check_range("epsilon", epsilon, 0, float("inf"))
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list,
                                                                   "average_gradient")

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        rho = self.rho
        v = plan.gather(self._velocities)
        torch._foreach_mul_(v, rho)
        torch._foreach_addcmul_(v, grads, grads, value=1 - rho)
        denominators = torch._foreach_add(v, self.epsilon)
        if self.centered:
            average = plan.gather(self._average_gradients)
            torch._foreach_lerp_(average, grads, 1 - rho)
            torch._foreach_addcmul_(denominators, average, average, value=-1)
        torch._foreach_sqrt_(denominators)
        if self.momentum > 0:
            m = plan.gather(self._momentums)
            torch._foreach_mul_(m, self.momentum)
            foreach_addcdiv_scaled_(m, grads, denominators, learning_rate)
            torch._foreach_sub_(variables, m)
        else:
            foreach_addcdiv_scaled_(variables, grads, denominators, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        })
        return config
