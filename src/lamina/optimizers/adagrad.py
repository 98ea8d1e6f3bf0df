"""`Adagrad`: per-coordinate step sizes from the sum of squared gradients."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, check_range, foreach_addcdiv_scaled_


class Adagrad(Optimizer):
    """Adagrad: `A += g**2`, `variable -= lr * g / sqrt(A + epsilon)`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        initial_accumulator_value: starting value of `A` (>= 0).
        epsilon: added inside the square root.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.Adagrad(learning_rate=0.1).apply([torch.tensor([2.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.9012
    """

    def __init__(
        self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        check_range("initial_accumulator_value", initial_accumulator_value, 0, float("inf"))
        check_range("epsilon", epsilon, 0, float("inf"))
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator")
        with torch.no_grad():
            for accumulator in self._accumulators:
                if accumulator is not None:
                    accumulator.fill_(self.initial_accumulator_value)

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        accumulators = plan.gather(self._accumulators)
        torch._foreach_addcmul_(accumulators, grads, grads)
        denominators = torch._foreach_add(accumulators, self.epsilon)
        torch._foreach_sqrt_(denominators)
        foreach_addcdiv_scaled_(variables, grads, denominators, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({
            "initial_accumulator_value": self.initial_accumulator_value,
            "epsilon": self.epsilon,
        })
        return config
