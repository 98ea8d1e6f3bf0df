"""`Nadam`: Adam with Nesterov momentum and a momentum warm-up schedule."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import (
    base_arguments,
    check_range,
    foreach_addcdiv_scaled_,
    one_minus_power,
)


class Nadam(Optimizer):
    """Nadam (Dozat, 2016), with Keras' momentum schedule `mu_t = beta_1 (1 - 0.96**t / 2)`.

    The update looks one step ahead: `m_hat = mu_{t+1} m / (1 - prod mu_{..t+1})
    + (1 - mu_t) g / (1 - prod mu_{..t})`, `variable -= lr * m_hat / (sqrt(v_hat) + eps)`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first-moment average.
        beta_2: decay of the second-moment average.
        epsilon: added to `sqrt(v_hat)` for stability.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.Nadam(learning_rate=0.1).apply([torch.tensor([2.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.8937
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
        # The running product of the momentum schedule, named as Keras names it.
        reference = var_list[0] if var_list else torch.zeros(())
        self._u_product = self._new_variable(
            torch.ones((), dtype=reference.dtype, device=reference.device), "variable")

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        b1, b2 = self.beta_1, self.beta_2
        t = self._update_count(on_host=False)
        decay = torch.tensor(0.96, dtype=torch.float32, device=t.device)
        u_t = b1 * (1.0 - 0.5 * torch.pow(decay, t))
        u_t_1 = b1 * (1.0 - 0.5 * torch.pow(decay, t + 1))
        u_product = self._u_product
        u_product.mul_(u_t.to(u_product.dtype))
        momentum_scale = u_t_1 / (1 - u_product * u_t_1)
        gradient_scale = (1 - u_t) / (1 - u_product)
        m, v = plan.gather(self._momentums), plan.gather(self._velocities)
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        m_hat = torch._foreach_mul(m, momentum_scale)
        torch._foreach_add_(m_hat, torch._foreach_mul(grads, gradient_scale))
        denominators = torch._foreach_div(v, one_minus_power(b2, t))
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        foreach_addcdiv_scaled_(variables, m_hat, denominators, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
