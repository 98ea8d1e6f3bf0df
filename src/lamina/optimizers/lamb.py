"""`Lamb`: Adam's direction with a per-layer trust ratio (layer-wise adaptive moments)."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import (
    base_arguments,
    check_range,
    foreach_add_scaled_,
    one_minus_power,
)


class Lamb(Optimizer):
    """LAMB (You et al., 2019): `variable -= lr * r * u` per tensor, where `u` is the
    bias-corrected Adam direction `m_hat / (sqrt(v_hat) + eps)` and the trust ratio is
    `r = ||variable|| / ||u||` (1 when either norm is 0).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first-moment average.
        beta_2: decay of the second-moment average.
        epsilon: added to `sqrt(v_hat)` for stability.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([3.0, 4.0], name="w")
    >>> lamina.optimizers.Lamb(learning_rate=0.1).apply([torch.tensor([1.0, 1.0])], [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [2.6464, 3.6464]
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
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"])

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        b1, b2 = self.beta_1, self.beta_2
        m, v = plan.gather(self._momentums), plan.gather(self._velocities)
        t = self._update_count(on_host=isinstance(learning_rate, float))
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        updates = torch._foreach_div(m, one_minus_power(b1, t))
        denominators = torch._foreach_div(v, one_minus_power(b2, t))
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        torch._foreach_div_(updates, denominators)
        # All trust ratios in one vectorized computation over the stacked norms.
        w_norms = torch.stack(torch._foreach_norm(variables))
        u_norms = torch.stack(torch._foreach_norm(updates))
        ratios = torch.where((w_norms > 0) & (u_norms > 0), w_norms / u_norms, 1.0)
        torch._foreach_mul_(updates, list(ratios.unbind()))
        foreach_add_scaled_(variables, updates, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
