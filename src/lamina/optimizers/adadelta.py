"""`Adadelta`: step sizes from the ratio of moving RMS of updates and of gradients."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, check_range, foreach_add_scaled_


class Adadelta(Optimizer):
    """Adadelta: `delta = sqrt(D + eps) / sqrt(G + eps) * g`, `variable -= lr * delta`.

    `G` and `D` are moving averages (decay `rho`) of `g**2` and of `delta**2`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        rho: decay of both moving averages.
        epsilon: added inside the square roots.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.Adadelta(learning_rate=1.0).apply([torch.tensor([1.0])], [w])
    >>> round(float(w.numpy()[0]), 6)
    0.998586
    """

    def __init__(
        self, learning_rate=0.001, rho=0.95, epsilon=1e-7,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        check_range("rho", rho, 0, 1)
        check_range("epsilon", epsilon, 0, float("inf"))
        self.rho = rho
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulated_grads, self._accumulated_delta_vars = self.add_optimizer_variables(
            var_list, ["accumulated_grad", "accumulated_delta_var"])

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        rho, eps = self.rho, self.epsilon
        acc_grads = plan.gather(self._accumulated_grads)
        acc_deltas = plan.gather(self._accumulated_delta_vars)
        torch._foreach_mul_(acc_grads, rho)
        torch._foreach_addcmul_(acc_grads, grads, grads, value=1 - rho)
        deltas = torch._foreach_add(acc_deltas, eps)
        torch._foreach_sqrt_(deltas)
        torch._foreach_mul_(deltas, grads)
        grad_rms = torch._foreach_add(acc_grads, eps)
        torch._foreach_sqrt_(grad_rms)
        torch._foreach_div_(deltas, grad_rms)
        torch._foreach_mul_(acc_deltas, rho)
        torch._foreach_addcmul_(acc_deltas, deltas, deltas, value=1 - rho)
        foreach_add_scaled_(variables, deltas, -learning_rate)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "epsilon": self.epsilon})
        return config
