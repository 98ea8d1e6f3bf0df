"""`Adam`: adaptive moment estimation, with Keras' bias-correction placement."""

import numpy as np
import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, check_range, foreach_addcdiv_scaled_


class Adam(Optimizer):
    """Adam: `variable -= alpha * m / (sqrt(v) + epsilon)`.

    `m` and `v` are moving averages of the gradient and its square, and
    `alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)` at step `t`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_1: decay of the first-moment average.
        beta_2: decay of the second-moment average.
        epsilon: added to `sqrt(v)` for stability (Keras' default 1e-7).
        amsgrad: use the running maximum of `v` (AMSGrad).
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0, -1.0], name="w")
    >>> lamina.optimizers.Adam(learning_rate=0.1).apply([torch.tensor([3.0, -2.0])], [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.9, -0.9]
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
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
        check_range("beta_1", beta_1, 0, 1, high_inclusive=False)
        check_range("beta_2", beta_2, 0, 1, high_inclusive=False)
        check_range("epsilon", epsilon, 0, float("inf"))
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        m = plan.gather(self._momentums)
        v = plan.gather(self._velocities)
        t = self._update_count(on_host=isinstance(learning_rate, float))
        if isinstance(t, int):
            # float32 scalar arithmetic on the host, rounding like the device path (and Keras).
            f32 = np.float32
            alpha = float(f32(learning_rate) * np.sqrt(f32(1) - f32(self.beta_2) ** f32(t))
                          / (f32(1) - f32(self.beta_1) ** f32(t)))
        else:
            alpha = learning_rate * torch.sqrt(1 - self.beta_2**t) / (1 - self.beta_1**t)
        torch._foreach_lerp_(m, grads, 1 - self.beta_1)
        torch._foreach_mul_(v, self.beta_2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - self.beta_2)
        if self.amsgrad:
            v_hat = plan.gather(self._velocity_hats)
            torch._foreach_maximum_(v_hat, v)
            v = v_hat
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, self.epsilon)
        foreach_addcdiv_scaled_(variables, m, denominators, -alpha)

    def get_config(self):
        config = super().get_config()
        config.update({
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        })
        return config
