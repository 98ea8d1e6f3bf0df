"""lamina.optimizers.schedules: closed forms, device tensors, config, bad input."""

import numpy as np
import pytest
import torch

from lamina.optimizers import schedules


@pytest.mark.parametrize("staircase", [False, True])
def test_exponential_decay_closed_form(staircase):
    schedule = schedules.ExponentialDecay(0.2, 4, 0.3, staircase=staircase)
    for step in (0, 1, 3, 4, 9, 100):
        power = step // 4 if staircase else step / 4
        np.testing.assert_allclose(float(schedule(step)), 0.2 * 0.3**power, rtol=1e-6)


def test_schedule_of_a_tensor_step_is_a_float32_tensor_without_host_reads():
    step = torch.tensor(8, dtype=torch.int32)
    value = schedules.ExponentialDecay(1.0, 4, 0.5)(step)
    assert isinstance(value, torch.Tensor) and value.dtype == torch.float32
    assert value.device == step.device and float(value) == 0.25


def test_config_serialize_deserialize_round_trip():
    schedule = schedules.ExponentialDecay(0.1, 10, 0.9, staircase=True, name="decay")
    config = schedules.serialize(schedule)
    assert config["module"] == "keras.optimizers.schedules"
    assert config["class_name"] == "ExponentialDecay"
    restored = schedules.deserialize(config)
    assert restored.get_config() == schedule.get_config()
    assert schedules.get(config).get_config() == schedule.get_config()
    assert schedules.get(schedule) is schedule


def test_custom_schedule_subclass_serializes_through_get_config():
    class Constant(schedules.LearningRateSchedule):
        def __init__(self, value):
            self.value = value

        def __call__(self, step):
            return torch.full((), self.value)

        def get_config(self):
            return {"value": self.value}

    restored = Constant.from_config(Constant(0.3).get_config())
    assert float(restored(5)) == pytest.approx(0.3)


def test_decay_steps_must_be_positive():
    with pytest.raises(ValueError, match="`decay_steps` must be > 0. Received: decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.9)


def test_base_schedule_requires_call_and_get_config():
    with pytest.raises(NotImplementedError, match=r"must override `__call__\(self, step\)`"):
        schedules.LearningRateSchedule()(1)
    with pytest.raises(NotImplementedError, match="must override `get_config"):
        schedules.LearningRateSchedule().get_config()


def test_get_rejects_unknown_identifiers():
    with pytest.raises(ValueError, match="'ExponentialDecy'.*Did you mean: 'ExponentialDecay'"):
        schedules.get("ExponentialDecy")
    with pytest.raises(ValueError, match="Could not interpret learning rate schedule"):
        schedules.get(3)
