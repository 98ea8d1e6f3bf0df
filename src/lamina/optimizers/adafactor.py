"""`Adafactor`: Adam-like steps with a factored (row x column) second moment."""

import math

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018), as Keras formulates it.

    For tensors of rank >= 2 the second moment is kept as row and column averages over the
    last two axes (memory `O(n + m)` instead of `O(nm)`); lower-rank tensors keep it whole.
    With `t` the step: `beta_2_t = 1 - t**beta_2_decay`, `rho_t = min(lr, 1 / sqrt(t))`,
    `alpha_t = max(epsilon_2, rms(variable)) * rho_t`, `u = g / sqrt(v)`, and
    `variable -= alpha_t * u / max(1, rms(u) / clip_threshold)`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        beta_2_decay: exponent of the second-moment decay schedule.
        epsilon_1: added to `g**2`.
        epsilon_2: lower bound of `rms(variable)` in the step size.
        clip_threshold: update clipping threshold on `rms(u)`.
        relative_step: cap the learning rate by `1 / sqrt(t)` (only for a float rate).
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([[1.0, 2.0], [3.0, 4.0]], name="w")
    >>> lamina.optimizers.Adafactor(learning_rate=0.1).apply([torch.ones(2, 2)], [w])
    >>> [[round(x, 4) for x in row] for row in w.numpy().tolist()]
    [[0.7261, 1.7261], [2.7261, 3.7261]]
    """

    def __init__(
        self, learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
        clip_threshold=1.0, relative_step=True,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        self.beta_2_decay = beta_2_decay
        self.epsilon_1 = epsilon_1
        self.epsilon_2 = epsilon_2
        self.clip_threshold = clip_threshold
        self.relative_step = relative_step

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._r, self._c, self._v = [], [], []
        for variable in var_list:
            if getattr(variable, "overwrite_with_gradient", False):
                self._r.append(None)
                self._c.append(None)
                self._v.append(None)
                continue
            shape = tuple(variable.shape)
            if len(shape) < 2:
                # Unfactored: Keras still makes two scalar int placeholders named like the
                # variable; kept so the saved state lines up with Keras'.
                for factors in (self._r, self._c):
                    factors.append(self._new_variable(
                        torch.zeros((), dtype=torch.int32, device=variable.device),
                        variable.name, dtype="int32"))
            else:
                for factors, factor_shape in ((self._r, shape[:-1]),
                                              (self._c, shape[:-2] + shape[-1:])):
                    factor = self.add_variable(factor_shape, dtype=variable.dtype,
                                               name=variable.name)
                    if factor.device != variable.device:
                        factor.data = factor.data.to(variable.device)
                    factors.append(factor)
            self._v.append(self.add_variable_from_reference(variable, "velocity"))

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        t = self._update_count(on_host=isinstance(learning_rate, float))
        if isinstance(t, int):
            rho = min(learning_rate, 1 / math.sqrt(t))
            beta = 1 - t ** self.beta_2_decay
        else:
            rho = torch.minimum(torch.as_tensor(learning_rate, device=t.device),
                                torch.rsqrt(t))
            beta = 1 - torch.pow(t, self.beta_2_decay)
        squares = torch._foreach_mul(grads, grads)
        torch._foreach_add_(squares, self.epsilon_1)
        velocities = plan.gather(self._v)
        rows, columns = plan.gather(self._r), plan.gather(self._c)
        for square, v, r, c in zip(squares, velocities, rows, columns):
            if square.dim() < 2:
                v.lerp_(square, 1 - beta)
                continue
            r.lerp_(square.mean(dim=-1), 1 - beta)
            c.lerp_(square.mean(dim=-2), 1 - beta)
            v.copy_((r / r.mean(dim=-1, keepdim=True)).unsqueeze(-1) * c.unsqueeze(-2))
        updates = torch._foreach_sqrt(velocities)
        torch._foreach_reciprocal_(updates)
        torch._foreach_mul_(updates, grads)
        # Per-tensor step sizes, from the stacked RMS of variables and updates at once.
        sizes = getattr(plan, "rms_sizes", None)
        if sizes is None:
            sizes = plan.rms_sizes = torch.tensor(
                [math.sqrt(max(v.numel(), 1)) for v in variables], device=variables[0].device)
        w_rms = torch.stack(torch._foreach_norm(variables)) / sizes
        u_rms = torch.stack(torch._foreach_norm(updates)) / sizes
        alpha = torch.clamp(w_rms, min=self.epsilon_2) * rho
        scales = alpha / torch.clamp(u_rms / self.clip_threshold, min=1.0)
        torch._foreach_mul_(updates, list(scales.unbind()))
        torch._foreach_sub_(variables, updates)

    def get_config(self):
        config = super().get_config()
        config.update({
            "beta_2_decay": self.beta_2_decay,
            "epsilon_1": self.epsilon_1,
            "epsilon_2": self.epsilon_2,
            "clip_threshold": self.clip_threshold,
            "relative_step": self.relative_step,
        })
        return config
