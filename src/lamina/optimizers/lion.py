"""`Lion`: sign of an interpolated momentum (evolved sign momentum)."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, foreach_add_scaled_


class Lion(Optimizer):
    """Lion: `variable -= lr * sign(beta_1 * m + (1 - beta_1) * g)`, then
    `m = beta_2 * m + (1 - beta_2) * g`.

    Every coordinate moves by exactly `lr`, so Lion usually wants a 3-10x smaller learning
    rate than Adam.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: interpolation weight of the momentum in the update, in (0, 1].
        beta_2: decay of the momentum.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0, -1.0], name="w")
    >>> lamina.optimizers.Lion(learning_rate=0.1).apply([torch.tensor([3.0, -2.0])], [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.9, -0.9]
    """

    def __init__(
        self, learning_rate=0.001, beta_1=0.9, beta_2=0.99,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        if not 0 < beta_1 <= 1:
            raise ValueError(
                "Argument `beta_1` must be in the [0, 1] range. Otherwise, the optimizer "
                f"degenerates to SignSGD. Received: beta_1={beta_1}."
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        m = plan.gather(self._momentums)
        directions = torch._foreach_lerp(m, grads, 1 - self.beta_1)
        torch._foreach_sign_(directions)
        foreach_add_scaled_(variables, directions, -learning_rate)
        torch._foreach_lerp_(m, grads, 1 - self.beta_2)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
