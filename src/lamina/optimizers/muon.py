"""`Muon`: orthogonalized momentum for matrices, AdamW for everything else."""

import re

import torch

from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.update_utils import base_arguments, foreach_addcdiv_scaled_, one_minus_power


class Muon(Optimizer):
    """Muon (Jordan et al., 2024): each 2-D weight steps along its orthogonalized momentum.

    For a matrix: `m = momentum * m + g`; `d = g + momentum * m` (Nesterov) or `m`;
    `O` = Newton-Schulz iteration on `d / ||d||` (coefficients `muon_a/b/c`, `ns_steps`
    steps), an approximation of `U V^T` from `d`'s SVD; `variable -= lr * O`, times
    `rms_rate * sqrt(max(rows, cols))` when `rms_rate` is set so the update's RMS matches
    AdamW's (Moonlight, 2025). Variables that are not 2-D, whose path contains
    "embedding" (with `exclude_embeddings`) or matches a pattern in `exclude_layers` are
    updated with AdamW instead (`learning_rate * adam_lr_ratio`, `adam_beta_1/2`,
    `epsilon`, decay `adam_weight_decay`).

    Args:
        learning_rate: float, schedule or callable (default 0.001).
        adam_beta_1, adam_beta_2: AdamW's moment decays.
        adam_weight_decay: AdamW's decoupled weight decay.
        epsilon: AdamW's epsilon.
        weight_decay: decoupled weight decay of the Muon-updated matrices.
        exclude_layers: regular expressions; matching variable paths use AdamW.
        exclude_embeddings: update embedding tables with AdamW.
        muon_a, muon_b, muon_c: Newton-Schulz polynomial coefficients.
        adam_lr_ratio: AdamW's learning rate as a fraction of `learning_rate`.
        momentum: Muon's momentum.
        ns_steps: number of Newton-Schulz iterations.
        nesterov: use Nesterov momentum.
        rms_rate: target update RMS (None: no rescaling).
        **kwargs: the base `Optimizer` arguments (`clipnorm`, `use_ema`, ...).

    >>> import torch, lamina
    >>> w = lamina.Variable(torch.eye(2), name="w")
    >>> opt = lamina.optimizers.Muon(learning_rate=0.1, weight_decay=0.0, rms_rate=None)
    >>> opt.apply([torch.tensor([[1.0, 0.0], [0.0, 0.0]])], [w])
    >>> [[round(x, 1) for x in row] for row in w.numpy().tolist()]
    [[0.9, 0.0], [0.0, 1.0]]
    """

    def __init__(
        self, learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
        epsilon=1e-7, weight_decay=0.004, clipnorm=None, clipvalue=None, global_clipnorm=None,
        use_ema=False, ema_momentum=0.99, ema_overwrite_frequency=None,
        loss_scale_factor=None, gradient_accumulation_steps=None, name=None,
        exclude_layers=None, exclude_embeddings=True, muon_a=3.4445, muon_b=-4.775,
        muon_c=2.0315, adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True,
        rms_rate=0.2, **kwargs,
    ):
        super().__init__(learning_rate=learning_rate, **base_arguments(locals()))
        self.adam_beta_1 = adam_beta_1
        self.adam_beta_2 = adam_beta_2
        self.adam_weight_decay = adam_weight_decay
        self.epsilon = epsilon
        self.exclude_layers = exclude_layers or []
        self.exclude_embeddings = exclude_embeddings
        self.muon_a = muon_a
        self.muon_b = muon_b
        self.muon_c = muon_c
        self.adam_lr_ratio = adam_lr_ratio
        self.momentum = momentum
        self.ns_steps = ns_steps
        self.nesterov = nesterov
        self.rms_rate = rms_rate

    def _should_use_adamw(self, variable):
        if variable.dim() != 2:
            return True
        path = str(getattr(variable, "path", None) or variable.name)
        if self.exclude_embeddings and "embedding" in path.lower():
            return True
        return any(re.search(pattern, path) for pattern in self.exclude_layers)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = [], []
        for variable in var_list:
            if getattr(variable, "overwrite_with_gradient", False):
                self._momentums.append(None)
                self._velocities.append(None)
                continue
            self._momentums.append(self.add_variable_from_reference(variable, "momentum"))
            self._velocities.append(
                self.add_variable_from_reference(variable, "velocity")
                if self._should_use_adamw(variable) else None)

    def _split(self, plan):
        """Positions in `plan.variables` updated by AdamW and by Muon (cached on the plan)."""
        split = getattr(plan, "muon_split", None)
        if split is None:
            velocities = plan.gather(self._velocities)
            adam = [i for i, v in enumerate(velocities) if v is not None]
            muon = [i for i, v in enumerate(velocities) if v is None]
            split = plan.muon_split = (adam, muon)
        return split

    def _apply_weight_decay(self, plan, learning_rate):
        if not plan.decay:
            return
        adam, _ = self._split(plan)
        adam_ids = {id(plan.variables[i]) for i in adam}
        for rate, group in (
            (self.adam_weight_decay, [v for v in plan.decay if id(v) in adam_ids]),
            (self.weight_decay, [v for v in plan.decay if id(v) not in adam_ids]),
        ):
            if rate is not None and group:
                torch._foreach_mul_(group, 1 - rate * learning_rate)

    def _use_weight_decay(self, variable):
        if self.weight_decay is None and self.adam_weight_decay is None:
            return False
        return not self._excluded_from_weight_decay(variable)

    def _parallel_update_step(self, grads, variables, learning_rate, plan):
        adam, muon = self._split(plan)
        momentums = plan.gather(self._momentums)
        if adam:
            self._adamw_update([grads[i] for i in adam], [variables[i] for i in adam],
                               [momentums[i] for i in adam],
                               [plan.gather(self._velocities)[i] for i in adam],
                               learning_rate * self.adam_lr_ratio)
        if muon:
            self._muon_update([grads[i] for i in muon], [variables[i] for i in muon],
                              [momentums[i] for i in muon], learning_rate)

    def _adamw_update(self, grads, variables, m, v, learning_rate):
        b1, b2 = self.adam_beta_1, self.adam_beta_2
        t = self._update_count(on_host=isinstance(learning_rate, float))
        if isinstance(t, int):
            alpha = learning_rate * one_minus_power(b2, t) ** 0.5 / one_minus_power(b1, t)
        else:
            alpha = learning_rate * torch.sqrt(one_minus_power(b2, t)) / one_minus_power(b1, t)
        torch._foreach_lerp_(m, grads, 1 - b1)
        torch._foreach_mul_(v, b2)
        torch._foreach_addcmul_(v, grads, grads, value=1 - b2)
        denominators = torch._foreach_sqrt(v)
        torch._foreach_add_(denominators, self.epsilon)
        foreach_addcdiv_scaled_(variables, m, denominators, -alpha)

    def _muon_update(self, grads, variables, m, learning_rate):
        torch._foreach_mul_(m, self.momentum)
        torch._foreach_add_(m, grads)
        directions = torch._foreach_add(grads, m, alpha=self.momentum) if self.nesterov else m
        # Matrices of one shape are orthogonalized together, as a batch.
        groups = {}
        for i, d in enumerate(directions):
            groups.setdefault(tuple(d.shape), []).append(i)
        for shape, positions in groups.items():
            batch = torch.stack([directions[i] for i in positions])
            updates = self.zeropower_via_newtonschulz5(batch, self.ns_steps)
            scale = learning_rate
            if self.rms_rate is not None:
                scale = scale * max(shape[0], shape[1]) ** 0.5 * self.rms_rate
            foreach_scaled = list(updates.unbind())
            torch._foreach_mul_(foreach_scaled, scale)
            torch._foreach_sub_([variables[i] for i in positions], foreach_scaled)

    def zeropower_via_newtonschulz5(self, x, steps):
        """Approximately orthogonalize the last two axes of `x` by Newton-Schulz iteration."""
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[-2] > x.shape[-1]
        if tall:
            x = x.transpose(-2, -1)
        x = x / (torch.linalg.matrix_norm(x, keepdim=True) + 1e-7)
        for _ in range(steps):
            gram = x @ x.transpose(-2, -1)
            poly = b * gram + c * (gram @ gram)
            x = a * x + poly @ x
        return x.transpose(-2, -1) if tall else x

    def get_config(self):
        config = super().get_config()
        config.update({
            "adam_beta_1": self.adam_beta_1,
            "adam_beta_2": self.adam_beta_2,
            "epsilon": self.epsilon,
            "exclude_layers": self.exclude_layers,
            "muon_a": self.muon_a,
            "muon_b": self.muon_b,
            "muon_c": self.muon_c,
            "adam_lr_ratio": self.adam_lr_ratio,
            "ns_steps": self.ns_steps,
            "exclude_embeddings": self.exclude_embeddings,
            "adam_weight_decay": self.adam_weight_decay,
            "rms_rate": self.rms_rate,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
        })
        return config
