"""`LearningRateSchedule`: a learning rate that is a function of the optimizer step.

Schedules are evaluated on the step *tensor* (the optimizer's `iterations` Variable), so a
train step never reads the step back to the host.
"""

import torch

from lamina.saving import serialization


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


ALL_OBJECTS = (LearningRateSchedule, ExponentialDecay)
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
