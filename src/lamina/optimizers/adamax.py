"""`Adamax`: Adam with the infinity norm in place of the second moment."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import (
    base_arguments,
    check_range,
    foreach_addcdiv_scaled_,
    one_minus_power,
)


class Adamax(Optimizer):
    """Adamax: `u = max(beta_2 * u, |g|)`, `variable -= lr * m / ((1 - beta_1**t) * (u + eps))`.

    `m` is the moving average of the gradient (decay `beta_1`).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first-moment average.
        beta_2: decay of the infinity norm.
        epsilon: added to `u` for stability.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0, -1.0], name="w")
    >>> lamina.optimizers.Adamax(learning_rate=0.1).apply([torch.tensor([3.0, -2.0])], [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.9, -0.9]
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        check_range("beta_1", beta_1, 0, 1, high_inclusive=False)
        check_range("beta_2", beta_2, 0, 1, high_inclusive=False)
        check_range("epsilon", epsilon, 0, float("inf"))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        m, u = plan.gather(self._m), plan.gather(self._u)
        t = self._update_count(on_host=isinstance(learning_rate, float))
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(u, self.beta_2)
        torch._foreach_maximum_(u, torch._foreach_abs(grads))
        denominators = torch._foreach_add(u, self.epsilon)
        torch._foreach_mul_(denominators, one_minus_power(self.beta_1, t))
        foreach_addcdiv_scaled_(variables, m, denominators, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
