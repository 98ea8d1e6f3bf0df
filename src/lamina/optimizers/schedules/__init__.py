"""lamina.optimizers.schedules: learning rates as functions of the optimizer step."""

from lamina.optimizers.schedules.learning_rate_schedule import (
    ExponentialDecay,
    LearningRateSchedule,
    deserialize,
    get,
    serialize,
)

__all__ = ["ExponentialDecay", "LearningRateSchedule", "deserialize", "get", "serialize"]
