"""Helpers the update formulas share: argument checks, scaled multi-tensor updates, and
the base keyword arguments every optimizer passes on."""

import itertools

import numpy as np
import torch

_TENSOR = itertools.repeat(torch.Tensor)


def all_tensors(values):
    """Whether every item of `values` is a tensor (one C-level pass, no Python loop)."""
    return all(map(isinstance, values, _TENSOR))


def check_non_negative(name, value):
    if value is not None and value < 0:
        raise ValueError(f"Argument `{name}` must be >= 0. Received: {name}={value}")


def check_range(name, value, low, high, high_inclusive=True):
    """Raise a ValueError naming `name` unless `low <= value <= high` (or `< high`)."""
    ok = low <= value <= high if high_inclusive else low <= value < high
    if not ok:
        bracket = "]" if high_inclusive else ")"
        raise ValueError(
            f"Argument `{name}` must be in [{low}, {high}{bracket}. Received: {name}={value}"
        )


def foreach_add_scaled_(targets, tensors, scale):
    """`targets += scale * tensors`, for a float or 0-d tensor `scale`."""
    if isinstance(scale, torch.Tensor):
        torch._foreach_add_(targets, torch._foreach_mul(tensors, scale))
    else:
        torch._foreach_add_(targets, tensors, alpha=scale)


def foreach_addcdiv_scaled_(targets, numerators, denominators, scale):
    """`targets += scale * numerators / denominators` (may overwrite `denominators`)."""
    if isinstance(scale, torch.Tensor):
        torch._foreach_div_(denominators, scale)
        torch._foreach_addcdiv_(targets, numerators, denominators)
    else:
        torch._foreach_addcdiv_(targets, numerators, denominators, value=scale)


def one_minus_power(beta, t):
    """`1 - beta**t` in float32: a Python float when `t` is an int (host step), else a tensor.

    Host values are rounded like the device computation (and Keras'), so both paths agree.
    """
    if isinstance(t, int):
        return float(np.float32(1) - np.float32(beta) ** np.float32(t))
    return 1 - torch.pow(torch.tensor(beta, dtype=torch.float32, device=t.device), t)


BASE_ARGUMENTS = (
    "weight_decay", "clipnorm", "clipvalue", "global_clipnorm", "use_ema", "ema_momentum",
    "ema_overwrite_frequency", "loss_scale_factor", "gradient_accumulation_steps", "name",
)


def base_arguments(arguments):
    """The base `Optimizer` keyword arguments out of a subclass' `locals()`."""
    kwargs = {k: arguments[k] for k in BASE_ARGUMENTS}
    kwargs.update(arguments.get("kwargs", {}))
    return kwargs
