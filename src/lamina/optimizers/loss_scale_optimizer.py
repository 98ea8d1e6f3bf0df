"""`LossScaleOptimizer`: dynamic loss scaling around another optimizer, with no host sync."""

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import all_tensors
from lamina.serialization import serialization


class LossScaleOptimizer(Optimizer):
    """Wraps `inner_optimizer` with a dynamic loss scale (for float16 training).

    Multiply the loss by `scale_loss(loss)` before backpropagating; `apply` divides the
    gradients by the scale. If any gradient is not finite, the step is skipped (weights and
    the inner optimizer's state are left as they were), the scale is halved and the growth
    counter resets; after `dynamic_growth_steps` finite steps in a row the scale doubles.

    The decision is taken on the device: the inner optimizer always runs (on zeroed
    gradients when skipping) and a masked select keeps or reverts its effect, so a step
    never waits for the host. That costs one copy of the weights and optimizer state.

    Args:
        inner_optimizer: the `Optimizer` that does the updates.
        initial_scale: starting loss scale.
        dynamic_growth_steps: finite steps between doublings of the scale.
        name: optimizer name.

    >>> import torch, lamina
    >>> opt = lamina.optimizers.LossScaleOptimizer(lamina.optimizers.SGD(1.0), initial_scale=8.0)
    >>> w = lamina.Variable([1.0], name="w")
    >>> opt.apply([torch.tensor([float("inf")])], [w])
    >>> float(w.numpy()[0]), float(opt.dynamic_scale)
    (1.0, 4.0)
    >>> opt.apply([torch.tensor([4.0])], [w])
    >>> float(w.numpy()[0])
    0.0
    """

    def __init__(self, inner_optimizer, initial_scale=2.0**15, dynamic_growth_steps=2000,
                 name=None, **kwargs):
        if not isinstance(inner_optimizer, Optimizer):
            raise ValueError(
                "Argument `inner_optimizer` must be an `Optimizer` instance. Received: "
                f"inner_optimizer={inner_optimizer!r}"
            )
        if kwargs.pop("loss_scale_factor", None) is not None:
            raise ValueError(
                "LossScaleOptimizer does not support `loss_scale_factor`. Instead, set "
                "`loss_scale_factor` on the `inner_optimizer`."
            )
        if not initial_scale > 0:
            raise ValueError(
                f"Argument `initial_scale` must be > 0. Received: initial_scale={initial_scale}"
            )
        if int(dynamic_growth_steps) != dynamic_growth_steps or dynamic_growth_steps < 1:
            raise ValueError(
                "Argument `dynamic_growth_steps` must be an integer >= 1. Received: "
                f"dynamic_growth_steps={dynamic_growth_steps}"
            )
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.inner_optimizer = inner_optimizer
        self.initial_scale = initial_scale
        self.dynamic_growth_steps = dynamic_growth_steps
        # Skipped steps are decided on the device, so the inner optimizer may not trust a
        # host copy of its step count.
        inner_optimizer._host_step_trusted = False

    def build(self, var_list):
        if self.built:
            return
        var_list = list(var_list)
        device = var_list[0].device if var_list else None
        self.step_counter = self._new_variable(
            torch.zeros((), dtype=torch.int32, device=device), "step_counter", dtype="int32")
        self.dynamic_scale = self._new_variable(
            torch.tensor(float(self.initial_scale), dtype=torch.float32, device=device),
            "dynamic_scale", dtype="float32")
        self.inner_optimizer.build(var_list)
        self._trainable_variables = var_list
        self._state = None
        self.built = True

    @property
    def variables(self):
        return self._variables[:] + self.inner_optimizer.variables

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self.inner_optimizer.learning_rate = value

    def scale_loss(self, loss):
        """`loss` times the current scale (the initial scale before the first step)."""
        scale = self.dynamic_scale if self.built else self.initial_scale
        return loss * scale

    def _state_lists(self, variables):
        # Everything an inner step may write: the weights and the inner optimizer's state,
        # float tensors (reverted with one foreach lerp) apart from the others.
        if self._state is None or self._state[0] != [id(v) for v in variables]:
            tensors = list(variables) + self.inner_optimizer.variables
            floats = [t for t in tensors if t.is_floating_point()]
            others = [t for t in tensors if not t.is_floating_point()]
            backup = [torch.empty_like(t) for t in floats]
            self._state = ([id(v) for v in variables], floats, others, backup)
        return self._state[1:]

    def apply(self, grads, trainable_variables=None):
        """Unscale `grads` and let the inner optimizer update, unless one is not finite."""
        grads = list(grads)
        variables = self._trainable_variables if trainable_variables is None else list(
            trainable_variables)
        if not self.built:
            self.build(variables)
        if not all_tensors(grads):
            grads = self._gradients_as_tensors(grads, variables)
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            return self.inner_optimizer.apply(grads, variables)  # raises its own error
        with torch.no_grad():
            present = [g for g, _ in kept]
            finite = torch.isfinite(torch.stack(torch._foreach_norm(present, ord=float("inf"))))
            finite = finite.all()
            skip = (~finite).to(torch.float32)
            unscaled = torch._foreach_div(present, self.dynamic_scale)
            unscaled = [torch.where(finite, g, 0.0) for g in unscaled]
            floats, others, backup = self._state_lists(variables)
            torch._foreach_copy_(backup, floats)
            saved = [t.clone() for t in others]
        self.inner_optimizer.apply(_refill(grads, unscaled), variables)
        with torch.no_grad():
            torch._foreach_lerp_(floats, backup, skip)
            for tensor, old in zip(others, saved):
                tensor.copy_(torch.where(finite, tensor, old))
            grow = finite & (self.step_counter >= self.dynamic_growth_steps - 1)
            self.dynamic_scale.mul_(torch.where(grow, 2.0, torch.where(finite, 1.0, 0.5)))
            self.step_counter.copy_(torch.where(finite & ~grow, self.step_counter + 1, 0))

    def finalize_variable_values(self, var_list):
        """Delegates to the inner optimizer."""
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        return {
            "name": self.name,
            "inner_optimizer": serialization.serialize_keras_object(self.inner_optimizer),
            "initial_scale": self.initial_scale,
            "dynamic_growth_steps": self.dynamic_growth_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from lamina.optimizers import deserialize  # cycle: lamina.optimizers imports us

        config = dict(config)
        config["inner_optimizer"] = deserialize(config["inner_optimizer"],
                                                custom_objects=custom_objects)
        return cls(**config)


def _refill(grads, present):
    """`grads` with the non-None entries replaced, in order, by `present`."""
    present = iter(present)
    return [None if g is None else next(present) for g in grads]
