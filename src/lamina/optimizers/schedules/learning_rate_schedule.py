"""`LearningRateSchedule`: a learning rate that is a function of the optimizer step.

Schedules are evaluated on the step *tensor* (the optimizer's `iterations` Variable), so a
train step never reads the step back to the host.
"""

import math

import torch

from lamina.serialization import serialization


def _step_as_float(step):
    """`step` as a float32 tensor, on the device it already lives on."""
    if isinstance(step, torch.Tensor):
        return step.to(torch.float32)
    return torch.as_tensor(step, dtype=torch.float32)


class LearningRateSchedule:
    """Base class: subclasses implement `__call__(step)` and `get_config()`.

    A schedule passed as an optimizer's `learning_rate` is called with the optimizer's
    iteration counter (a device tensor) every step and must return a scalar tensor.

    >>> import lamina
    >>> class Halving(lamina.optimizers.schedules.LearningRateSchedule):
    ...     def __init__(self, initial_learning_rate):
    ...         self.initial_learning_rate = initial_learning_rate
    ...     def __call__(self, step):
    ...         return self.initial_learning_rate * 0.5 ** (step + 0.0)
    ...     def get_config(self):
    ...         return {"initial_learning_rate": self.initial_learning_rate}
    >>> float(Halving(1.0)(2))
    0.25
    """

    def __call__(self, step):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override "
            "`__call__(self, step)`."
        )

    def get_config(self):
        raise NotImplementedError(
            f"Learning rate schedule '{type(self).__name__}' must override `get_config()` "
            "in order to be serializable."
        )

    @classmethod
    def from_config(cls, config):
        """Rebuild the schedule from `get_config()`'s output."""
        return cls(**config)


class ExponentialDecay(LearningRateSchedule):
    """`initial_learning_rate * decay_rate ** (step / decay_steps)`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps per factor of `decay_rate`.
        decay_rate: the factor applied every `decay_steps` steps.
        staircase: if True, decay in whole steps (`floor(step / decay_steps)`).
        name: name of the schedule.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    >>> round(float(schedule(20)), 6)
    0.025
    """

    def __init__(
        self,
        initial_learning_rate,
        decay_steps,
        decay_rate,
        staircase=False,
        name="ExponentialDecay",
    ):
        super().__init__()
        if decay_steps <= 0:
            raise ValueError(
                f"Argument `decay_steps` must be > 0. Received: decay_steps={decay_steps}"
            )
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        progress = _step_as_float(step) / self.decay_steps
        if self.staircase:
            progress = torch.floor(progress)
        return torch.pow(self.decay_rate, progress) * self.initial_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _check_positive(name, value):
    if value <= 0:
        raise ValueError(f"Argument `{name}` must be > 0. Received: {name}={value}")


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate per interval: `values[i]` while `boundaries[i-1] < step <= boundaries[i]`.

    Args:
        boundaries: increasing step boundaries (`len(values) - 1` of them).
        values: the rate on each interval (before the first boundary, between boundaries,
            and after the last).
        name: name of the schedule.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    >>> [round(float(schedule(s)), 2) for s in (0, 10, 11, 20, 21)]
    [1.0, 1.0, 0.5, 0.5, 0.1]
    """

    def __init__(self, boundaries, values, name="PiecewiseConstant"):
        super().__init__()
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                "The length of boundaries should be 1 less than the length of values. "
                f"Received: boundaries={boundaries} of length {len(boundaries)}, and "
                f"values={values} of length {len(values)}."
            )
        self.boundaries = boundaries
        self.values = values
        self.name = name
        self._tables = {}

    def _table(self, device):
        # Boundaries/values as tensors, made once per device (not per step).
        table = self._tables.get(device)
        if table is None:
            integral = all(float(b).is_integer() for b in self.boundaries)
            boundaries = torch.as_tensor(
                [float(b) for b in self.boundaries],
                dtype=torch.float64 if device.type != "mps" else torch.float32, device=device)
            if integral:
                boundaries = boundaries.to(torch.int64)
            values = torch.as_tensor(self.values, dtype=torch.float32, device=device)
            table = self._tables[device] = (boundaries, values)
        return table

    def __call__(self, step):
        step = torch.as_tensor(step)
        boundaries, values = self._table(step.device)
        if boundaries.dtype == torch.int64 and step.is_floating_point():
            # Compare in floating point, so fractional steps land on the right side.
            boundaries = boundaries.to(torch.float64 if step.device.type != "mps" else step.dtype)
        index = torch.bucketize(step.to(boundaries.dtype), boundaries, right=False)
        return values[index]

    def get_config(self):
        return {"boundaries": self.boundaries, "values": self.values, "name": self.name}


class PolynomialDecay(LearningRateSchedule):
    """Decay from `initial_learning_rate` to `end_learning_rate` as `(1 - p)**power`.

    `p = min(step, decay_steps) / decay_steps`; with `cycle=True` the horizon instead
    grows to the next multiple of `decay_steps` above `step`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps to reach `end_learning_rate`.
        end_learning_rate: the final rate.
        power: exponent of the polynomial (1.0: linear).
        cycle: restart the decay (with a longer horizon) after `decay_steps`.
        name: name of the schedule.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.PolynomialDecay(1.0, 10, 0.0)
    >>> [round(float(schedule(s)), 2) for s in (0, 5, 10, 20)]
    [1.0, 0.5, 0.0, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, end_learning_rate=0.0001,
                 power=1.0, cycle=False, name="PolynomialDecay"):
        super().__init__()
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.end_learning_rate = end_learning_rate
        self.power = power
        self.cycle = cycle
        self.name = name

    def __call__(self, step):
        step = _step_as_float(step)
        decay_steps = torch.full_like(step, float(self.decay_steps))
        if self.cycle:
            multiplier = torch.where(step == 0, 1.0, torch.ceil(step / decay_steps))
            decay_steps = decay_steps * multiplier
        else:
            step = torch.minimum(step, decay_steps)
        remaining = 1 - step / decay_steps
        span = self.initial_learning_rate - self.end_learning_rate
        return span * torch.pow(remaining, self.power) + self.end_learning_rate

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "end_learning_rate": self.end_learning_rate,
            "power": self.power,
            "cycle": self.cycle,
            "name": self.name,
        }


class InverseTimeDecay(LearningRateSchedule):
    """`initial_learning_rate / (1 + decay_rate * step / decay_steps)`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps per unit of `decay_rate`.
        decay_rate: how fast the rate falls.
        staircase: if True, use `floor(step / decay_steps)`.
        name: name of the schedule.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.InverseTimeDecay(1.0, 10, 0.5)
    >>> round(float(schedule(20)), 4)
    0.5
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="InverseTimeDecay"):
        super().__init__()
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.decay_rate = decay_rate
        self.staircase = staircase
        self.name = name

    def __call__(self, step):
        progress = _step_as_float(step) / float(self.decay_steps)
        if self.staircase:
            progress = torch.floor(progress)
        return self.initial_learning_rate / (1 + self.decay_rate * progress)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "decay_rate": self.decay_rate,
            "staircase": self.staircase,
            "name": self.name,
        }


def _cosine(fraction, alpha):
    """`(1 - alpha) * cos_schedule(fraction) + alpha`, half a cosine over [0, 1]."""
    return (1 - alpha) * (0.5 * (1 + torch.cos(math.pi * fraction))) + alpha


class CosineDecay(LearningRateSchedule):
    """Half-cosine decay to `alpha * initial`, optionally after a linear warmup.

    With `warmup_target`, the rate rises linearly from `initial_learning_rate` to
    `warmup_target` over `warmup_steps`, then decays from `warmup_target` over
    `decay_steps`.

    Args:
        initial_learning_rate: the rate at step 0.
        decay_steps: positive number of steps to decay over.
        alpha: the final rate as a fraction of the starting one.
        name: name of the schedule.
        warmup_target: the rate reached at the end of warmup (None: no warmup).
        warmup_steps: number of warmup steps.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.CosineDecay(1.0, 10)
    >>> [round(float(schedule(s)), 2) for s in (0, 5, 10)]
    [1.0, 0.5, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, name="CosineDecay",
                 warmup_target=None, warmup_steps=0):
        super().__init__()
        _check_positive("decay_steps", decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.decay_steps = decay_steps
        self.alpha = alpha
        self.name = name
        self.warmup_target = warmup_target
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = _step_as_float(step)
        decay_steps = float(self.decay_steps)
        if self.warmup_target is None:
            step = torch.clamp(step, max=decay_steps)
            return self.initial_learning_rate * _cosine(step / decay_steps, self.alpha)
        warmup_steps = float(self.warmup_steps)
        step = torch.clamp(step, max=decay_steps + warmup_steps)
        rise = self.warmup_target - self.initial_learning_rate
        warming = rise * (step / warmup_steps) + self.initial_learning_rate
        decaying = self.warmup_target * _cosine((step - warmup_steps) / decay_steps, self.alpha)
        return torch.where(step < warmup_steps, warming, decaying)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "decay_steps": self.decay_steps,
            "alpha": self.alpha,
            "name": self.name,
            "warmup_target": self.warmup_target,
            "warmup_steps": self.warmup_steps,
        }


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR).

    The first period lasts `first_decay_steps`; each next one is `t_mul` times longer and
    starts `m_mul` times lower. Within a period the rate follows `CosineDecay`'s curve.

    Args:
        initial_learning_rate: the rate at step 0.
        first_decay_steps: positive length of the first period.
        t_mul: period length growth factor.
        m_mul: restart rate factor.
        alpha: the rate floor, as a fraction of each period's starting rate.
        name: name of the schedule.

    >>> import lamina
    >>> schedule = lamina.optimizers.schedules.CosineDecayRestarts(1.0, 10)
    >>> [round(float(schedule(s)), 2) for s in (0, 5, 10, 20)]
    [1.0, 0.5, 1.0, 0.5]
    """

    def __init__(self, initial_learning_rate, first_decay_steps, t_mul=2.0, m_mul=1.0,
                 alpha=0.0, name="SGDRDecay"):
        super().__init__()
        _check_positive("first_decay_steps", first_decay_steps)
        self.initial_learning_rate = initial_learning_rate
        self.first_decay_steps = first_decay_steps
        self._t_mul = t_mul
        self._m_mul = m_mul
        self.alpha = alpha
        self.name = name

    def __call__(self, step):
        fraction = _step_as_float(step) / float(self.first_decay_steps)
        t_mul = self._t_mul
        if t_mul == 1.0:
            restarts = torch.floor(fraction)
            fraction = fraction - restarts
        else:
            # Periods grow geometrically: invert the geometric series to find the period.
            t_mul_tensor = torch.tensor(t_mul, dtype=torch.float32, device=fraction.device)
            restarts = torch.floor(
                torch.log(1 - fraction * (1 - t_mul_tensor)) / torch.log(t_mul_tensor))
            elapsed = (1 - torch.pow(t_mul_tensor, restarts)) / (1 - t_mul_tensor)
            fraction = (fraction - elapsed) / torch.pow(t_mul_tensor, restarts)
        m_factor = torch.pow(torch.tensor(float(self._m_mul), device=fraction.device), restarts)
        cosine = 0.5 * m_factor * (1 + torch.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "first_decay_steps": self.first_decay_steps,
            "t_mul": self._t_mul,
            "m_mul": self._m_mul,
            "alpha": self.alpha,
            "name": self.name,
        }


ALL_OBJECTS = (
    LearningRateSchedule, ExponentialDecay, PiecewiseConstantDecay, PolynomialDecay,
    InverseTimeDecay, CosineDecay, CosineDecayRestarts,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}


def serialize(learning_rate_schedule):
    """The schedule's Keras config dict (`module`, `class_name`, `config`...)."""
    return serialization.serialize_keras_object(learning_rate_schedule)


def deserialize(config, custom_objects=None):
    """Rebuild a schedule from `serialize()`'s output."""
    return serialization.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT
    )


def get(identifier):
    """A schedule from an instance, a config dict, or a class name (default arguments)."""
    if identifier is None or isinstance(identifier, LearningRateSchedule):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = serialization.get_from_identifier(
            identifier, "learning rate schedule", ALL_OBJECTS_DICT
        )
        return cls()
    raise ValueError(
        f"Could not interpret learning rate schedule identifier: {identifier!r}. Expected a "
        "LearningRateSchedule instance, a config dict or a class name."
    )
