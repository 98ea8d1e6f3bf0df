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


def test_new_schedules_follow_their_closed_forms():
    steps = torch.arange(0, 40, dtype=torch.int32)
    s = steps.double().numpy()
    cases = [
        (schedules.PiecewiseConstantDecay([5, 20], [0.3, 0.2, 0.1]),
         np.where(s <= 5, 0.3, np.where(s <= 20, 0.2, 0.1))),
        (schedules.PolynomialDecay(0.5, 30, 0.1, power=2.0),
         (0.5 - 0.1) * (1 - np.minimum(s, 30) / 30) ** 2 + 0.1),
        (schedules.InverseTimeDecay(0.5, 10, 2.0, staircase=True),
         0.5 / (1 + 2.0 * np.floor(s / 10))),
        (schedules.CosineDecay(0.5, 30, alpha=0.2),
         0.5 * (0.8 * 0.5 * (1 + np.cos(np.pi * np.minimum(s, 30) / 30)) + 0.2)),
        (schedules.CosineDecay(0.0, 30, warmup_target=1.0, warmup_steps=10),
         np.where(s < 10, s / 10, 0.5 * (1 + np.cos(np.pi * np.minimum(s - 10, 30) / 30)))),
        (schedules.CosineDecayRestarts(1.0, 10, t_mul=1.0, m_mul=0.5),
         0.5 ** np.floor(s / 10) * 0.5 * (1 + np.cos(np.pi * (s / 10 - np.floor(s / 10))))),
    ]
    for schedule, expected in cases:
        got = schedule(steps)
        assert got.dtype == torch.float32, schedule
        np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-6,
                                   err_msg=type(schedule).__name__)


def test_cosine_decay_restarts_lengthens_periods_by_t_mul():
    schedule = schedules.CosineDecayRestarts(1.0, 10, t_mul=2.0)
    # Periods [0, 10), [10, 30), [30, 70): each restarts at the full rate.
    for restart in (0, 10, 30):
        assert float(schedule(restart)) == pytest.approx(1.0, abs=1e-5)
    assert float(schedule(20)) == pytest.approx(0.5, abs=1e-5)


def test_new_schedules_round_trip_through_serialize():
    for schedule in (schedules.PiecewiseConstantDecay([3], [1.0, 0.1], name="p"),
                     schedules.PolynomialDecay(0.1, 5, cycle=True),
                     schedules.InverseTimeDecay(0.1, 5, 0.3),
                     schedules.CosineDecay(0.1, 5, warmup_target=0.2, warmup_steps=2),
                     schedules.CosineDecayRestarts(0.1, 5, t_mul=3.0, m_mul=0.9, alpha=0.1)):
        restored = schedules.deserialize(schedules.serialize(schedule))
        assert type(restored) is type(schedule)
        assert restored.get_config() == schedule.get_config()
        np.testing.assert_allclose(restored(torch.arange(20)).numpy(),
                                   schedule(torch.arange(20)).numpy())


def test_schedules_evaluate_without_host_reads(no_host_reads):
    step = torch.tensor(7, dtype=torch.int32)
    for schedule in (schedules.PiecewiseConstantDecay([3], [1.0, 0.1]),
                     schedules.PolynomialDecay(0.1, 5, cycle=True),
                     schedules.CosineDecay(0.1, 5, warmup_target=0.2, warmup_steps=2),
                     schedules.CosineDecayRestarts(0.1, 5)):
        schedule(step)  # builds any per-device table
        with no_host_reads():
            value = schedule(step)
        assert isinstance(value, torch.Tensor) and value.device == step.device


@pytest.mark.parametrize("make,match", [
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [1.0, 0.5]),
     "length of boundaries should be 1 less than the length of values"),
    (lambda: schedules.PolynomialDecay(0.1, 0), "`decay_steps` must be > 0"),
    (lambda: schedules.InverseTimeDecay(0.1, -1, 0.5), "`decay_steps` must be > 0"),
    (lambda: schedules.CosineDecay(0.1, 0), "`decay_steps` must be > 0. Received: decay_steps=0"),
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "`first_decay_steps` must be > 0"),
])
def test_new_schedules_reject_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_get_lists_close_matches_for_schedule_names():
    with pytest.raises(ValueError, match="'CosineDecy'.*Did you mean: 'CosineDecay'"):
        schedules.get("CosineDecy")
