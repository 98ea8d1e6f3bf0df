"""`Ftrl`: Follow The Regularized Leader, with L1/L2 and shrinkage regularization."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments


def _check(name, value, expected, ok):
    if not ok:
        raise ValueError(f"`{name}` needs to be {expected}. Received: {name}={value}.")


class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013) as Keras formulates it.

    Per coordinate: `n' = n + g**2`, `z += g_s - (n'**-p - n**-p) / lr * w` (with
    `g_s = g + 2 * l2_shrinkage * w`), then
    `w = (clip(z, -l1, l1) - z) / (n'**-p / lr + 2 * (l2 + beta / (2 lr)))` and `n = n'`,
    where `p` is `learning_rate_power`.

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        learning_rate_power: `<= 0`; how the per-coordinate rate falls (-0.5: as 1/sqrt(n)).
        initial_accumulator_value: starting value of `n` (>= 0).
        l1_regularization_strength: L1 strength (>= 0).
        l2_regularization_strength: L2 strength (>= 0).
        l2_shrinkage_regularization_strength: L2 shrinkage on the gradient (>= 0).
        beta: smoothing added to the L2 term, as in the FTRL paper.
        **kwargs: the base `Optimizer` arguments (`weight_decay`, `clipnorm`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable([1.0], name="w")
    >>> lamina.optimizers.Ftrl(learning_rate=0.1).apply([torch.tensor([1.0])], [w])
    >>> round(float(w.numpy()[0]), 4)
    0.6031
    """

    def __init__(
        self, learning_rate=0.001, learning_rate_power=-0.5, initial_accumulator_value=0.1,
        l1_regularization_strength=0.0, l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0, beta=0.0,
        weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False,
        ema_momentum=0.99, ema_overwrite_frequency=None, loss_scale_factor=None,
        gradient_accumulation_steps=None, name=None, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        _check("initial_accumulator_value", initial_accumulator_value, "positive or zero",
               initial_accumulator_value >= 0)
        _check("learning_rate_power", learning_rate_power, "negative or zero",
               learning_rate_power <= 0)
        for arg, value in (("l1_regularization_strength", l1_regularization_strength),
                           ("l2_regularization_strength", l2_regularization_strength),
                           ("l2_shrinkage_regularization_strength",
                            l2_shrinkage_regularization_strength)):
            _check(arg, value, "positive or zero", value >= 0)
        self.learning_rate_power = learning_rate_power
        self.initial_accumulator_value = initial_accumulator_value
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.l2_shrinkage_regularization_strength = l2_shrinkage_regularization_strength
        self.beta = beta

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators, self._linears = self.add_optimizer_variables(
            var_list, ["accumulator", "linear"])
        with torch.no_grad():
            for accumulator in self._accumulators:
                if accumulator is not None:
                    accumulator.fill_(self.initial_accumulator_value)

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        lr = learning_rate
        power = -self.learning_rate_power
        l1 = self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        accumulators, linears = plan.gather(self._accumulators), plan.gather(self._linears)
        shrinkage = self.l2_shrinkage_regularization_strength
        shrunk = torch._foreach_add(grads, variables, alpha=2 * shrinkage) if shrinkage else grads
        new_accumulators = torch._foreach_addcmul(accumulators, grads, grads)
        new_powers = torch._foreach_pow(new_accumulators, power)
        sigmas = torch._foreach_sub(new_powers, torch._foreach_pow(accumulators, power))
        torch._foreach_div_(sigmas, lr)
        torch._foreach_add_(linears, shrunk)
        torch._foreach_sub_(linears, torch._foreach_mul(sigmas, variables))
        quadratics = torch._foreach_div(new_powers, lr)
        torch._foreach_add_(quadratics, 2 * l2)
        numerators = torch._foreach_clamp_min(linears, -l1)
        torch._foreach_clamp_max_(numerators, l1)
        torch._foreach_sub_(numerators, linears)
        torch._foreach_div_(numerators, quadratics)
        torch._foreach_copy_(variables, numerators)
        torch._foreach_copy_(accumulators, new_accumulators)

    def get_config(self):
        config = super().get_config()
        config.update({
            "learning_rate_power": self.learning_rate_power,
            "initial_accumulator_value": self.initial_accumulator_value,
            "l1_regularization_strength": self.l1_regularization_strength,
            "l2_regularization_strength": self.l2_regularization_strength,
            "l2_shrinkage_regularization_strength": self.l2_shrinkage_regularization_strength,
            "beta": self.beta,
        })
        return config
