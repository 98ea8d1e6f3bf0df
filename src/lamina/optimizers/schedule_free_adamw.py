"""`ScheduleFreeAdamW`: schedule-free AdamW (Defazio et al., 2024), as Keras 3.15.1 runs it."""

import numbers

import numpy as np
import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import (
    base_arguments,
    check_range,
    foreach_addcdiv_scaled_,
    one_minus_power,
)


class ScheduleFreeAdamW(Optimizer):
    """Schedule-free AdamW: Adam steps on a base sequence `z`, averaged into the weights.

    At step `t` (1-based), with `lr_t = learning_rate * min(t / warmup_steps, 1)`
    (no warmup when `warmup_steps=0`):

        v = beta_2 * v + (1 - beta_2) * g**2
        z = z - lr_t * g / (sqrt(v / (1 - beta_2**t)) + epsilon)
        w = w + (z - w) / t

    so the weights `w` are the running uniform average of the `z` iterates, which start at
    the initial weights. Decoupled weight decay (`w *= 1 - weight_decay * learning_rate`,
    without warmup) is applied to `w` before the step. State per weight: `momentum` (`z`)
    and `velocity` (`v`), in Keras' order.

    NOTE: Keras 3.15.1 (torch backend, the reference) writes `z` in place before reading
    its old value back for the `beta_1` interpolation, which makes that interpolation
    cancel: `beta_1` is kept and serialized but does not change the trajectory. lamina
    reproduces that update, and like Keras has no train/eval weight swap.

    Args:
        learning_rate: float, schedule or callable (default 0.0025).
        beta_1: interpolation factor (kept for Keras compatibility, see the note).
        beta_2: decay of the squared-gradient average.
        epsilon: added to the bias-corrected RMS for stability.
        warmup_steps: steps over which the learning rate rises linearly to its value.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW
    >>> w = lamina.Variable([1.0, -1.0], name="w")
    >>> ScheduleFreeAdamW(learning_rate=0.1).apply([torch.tensor([3.0, -2.0])], [w])
    >>> [round(x, 4) for x in w.numpy().tolist()]
    [0.9, -0.9]
    """

    def __init__(
        self,
        learning_rate=0.0025,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        warmup_steps=0,
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
        check_range("beta_1", beta_1, 0, 1)
        check_range("beta_2", beta_2, 0, 1, high_inclusive=False)
        check_range("epsilon", epsilon, 0, float("inf"))
        if (isinstance(warmup_steps, bool) or not isinstance(warmup_steps, numbers.Real)
                or warmup_steps < 0 or int(warmup_steps) != warmup_steps):
            raise ValueError(
                "Argument `warmup_steps` of ScheduleFreeAdamW must be a non-negative integer. "
                f"Received: warmup_steps={warmup_steps!r}"
            )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.warmup_steps = warmup_steps

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(
            var_list, ["momentum", "velocity"]
        )
        with torch.no_grad():
            for momentum, variable in zip(self._momentums, var_list):
                if momentum is not None:
                    momentum.copy_(variable)

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        z = plan.gather(self._momentums)
        v = plan.gather(self._velocities)
        t = self._update_count(on_host=isinstance(learning_rate, float))
        if isinstance(t, int):
            # float32 host arithmetic, rounding like the device path (and Keras).
            f32 = np.float32
            if self.warmup_steps:
                learning_rate = float(
                    f32(learning_rate) * min(f32(t) / f32(self.warmup_steps), f32(1)))
            average_weight = float(f32(1) / f32(t))
        else:
            if self.warmup_steps:
                learning_rate = learning_rate * torch.clamp(t / self.warmup_steps, max=1.0)
            average_weight = 1.0 / t
        bias_correction = one_minus_power(self.beta_2, t)
        torch._foreach_lerp_(v, torch._foreach_mul(grads, grads), 1 - self.beta_2)
        denominators = torch._foreach_div(v, bias_correction)
        torch._foreach_sqrt_(denominators)
        torch._foreach_add_(denominators, self.epsilon)
        foreach_addcdiv_scaled_(z, grads, denominators, -learning_rate)
        torch._foreach_lerp_(variables, z, average_weight)

    def get_config(self):
        config = super().get_config()
        config.update({
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "warmup_steps": self.warmup_steps,
        })
        return config
