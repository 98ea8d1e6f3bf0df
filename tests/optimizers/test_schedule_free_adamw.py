"""ScheduleFreeAdamW: numpy reference, state, paths without host reads, config, bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW

RNG = np.random.default_rng(3)
START = RNG.normal(size=(2, 3)).astype("float32")
GRADS = [RNG.normal(size=(2, 3)).astype("float32") for _ in range(8)]


def _reference(learning_rate=0.0025, beta_2=0.999, epsilon=1e-8, warmup_steps=0, weight_decay=None):
    """The update in float64: Adam-normalised steps on `z`, weights = running mean of `z`."""
    w = START.astype("float64")
    z, v = w.copy(), np.zeros_like(w)
    for i, g in enumerate(GRADS):
        t = i + 1
        step_lr = learning_rate * min(t / warmup_steps, 1.0) if warmup_steps else learning_rate
        if weight_decay:
            w = w * (1 - weight_decay * learning_rate)
        v = beta_2 * v + (1 - beta_2) * g * g
        z = z - step_lr * g / (np.sqrt(v / (1 - beta_2**t)) + epsilon)
        w = w + (z - w) / t
    return w, z, v


def _run(opt, grads=GRADS):
    w = lamina.Variable(START.copy(), name="w")
    for g in grads:
        opt.apply([torch.tensor(g)], [w])
    return w


@pytest.mark.parametrize("kwargs", [
    {},
    {"learning_rate": 0.05, "beta_2": 0.9, "epsilon": 1e-3, "warmup_steps": 3,
     "weight_decay": 0.2},
])
def test_trajectory_matches_numpy_reference(kwargs):
    opt = ScheduleFreeAdamW(**kwargs)
    w = _run(opt)
    ref_w, ref_z, ref_v = _reference(**kwargs)
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.variables[2].numpy(), ref_z, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(opt.variables[3].numpy(), ref_v, rtol=1e-5, atol=1e-7)


def test_first_step_moves_each_weight_by_the_learning_rate():
    w = _run(ScheduleFreeAdamW(learning_rate=0.1), GRADS[:1])
    np.testing.assert_allclose(w.numpy(), START - 0.1 * np.sign(GRADS[0]), rtol=1e-5)


def test_warmup_scales_the_first_step():
    w = _run(ScheduleFreeAdamW(learning_rate=0.1, warmup_steps=4), GRADS[:1])
    np.testing.assert_allclose(w.numpy(), START - 0.025 * np.sign(GRADS[0]), rtol=1e-5)


def test_state_is_momentum_then_velocity_with_momentum_starting_at_the_weights():
    w = lamina.Variable(START.copy(), name="kernel")
    b = lamina.Variable(np.zeros(3, "float32"), name="bias")
    opt = ScheduleFreeAdamW(name="sf")
    opt.build([w, b])
    assert [v.path for v in opt.variables] == [
        "sf/iteration", "sf/learning_rate", "sf/kernel_momentum", "sf/kernel_velocity",
        "sf/bias_momentum", "sf/bias_velocity"]
    np.testing.assert_array_equal(opt.variables[2].numpy(), START)
    np.testing.assert_array_equal(opt.variables[3].numpy(), np.zeros_like(START))
    assert ScheduleFreeAdamW().name.startswith("schedule_free_adam_w")


def test_device_path_matches_host_path_and_reads_nothing_from_the_device(no_host_reads):
    host = _run(ScheduleFreeAdamW(learning_rate=0.05, warmup_steps=3, weight_decay=0.1))
    # A callable learning rate takes the tensor path (step count and rate stay on device).
    lr = torch.tensor(0.05)
    opt = ScheduleFreeAdamW(learning_rate=lambda: lr, warmup_steps=3, weight_decay=0.1)
    w = _run(opt, GRADS[:1])
    with no_host_reads():
        for g in GRADS[1:]:
            opt.apply([torch.tensor(g)], [w])
    np.testing.assert_allclose(w.numpy(), host.numpy(), rtol=1e-6, atol=1e-7)
    plain = ScheduleFreeAdamW(learning_rate=0.05)
    w = _run(plain, GRADS[:1])
    with no_host_reads():
        plain.apply([torch.tensor(GRADS[1])], [w])


def test_update_step_of_one_variable_matches_the_multi_tensor_step():
    together = _run(ScheduleFreeAdamW(learning_rate=0.05), GRADS[:1])
    opt = ScheduleFreeAdamW(learning_rate=0.05)
    w = lamina.Variable(START.copy(), name="w")
    opt.build([w])
    with torch.no_grad():
        opt.update_step(torch.tensor(GRADS[0]), w, 0.05)
    np.testing.assert_allclose(w.numpy(), together.numpy(), rtol=1e-6)


def test_config_round_trips():
    opt = ScheduleFreeAdamW(learning_rate=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                            warmup_steps=10, weight_decay=0.01, clipnorm=1.0, name="sf")
    config = opt.get_config()
    assert config["warmup_steps"] == 10 and config["beta_1"] == 0.8
    restored = ScheduleFreeAdamW.from_config(config)
    assert restored.get_config() == config
    assert lamina.optimizers.deserialize(
        {"class_name": "ScheduleFreeAdamW", "config": config},
        custom_objects={"ScheduleFreeAdamW": ScheduleFreeAdamW},
    ).get_config() == config


@pytest.mark.parametrize("kwargs,match", [
    ({"learning_rate": -0.1}, r"`learning_rate` must be >= 0. Received: learning_rate=-0.1"),
    ({"learning_rate": "fast"}, r"`learning_rate` should be float"),
    ({"warmup_steps": -1}, r"`warmup_steps` of ScheduleFreeAdamW must be a non-negative "
                           r"integer. Received: warmup_steps=-1"),
    ({"warmup_steps": 2.5}, r"warmup_steps=2.5"),
    ({"beta_2": 1.0}, r"`beta_2` must be in \[0, 1\)\. Received: beta_2=1.0"),
    ({"beta_1": 1.5}, r"`beta_1` must be in \[0, 1\]\. Received: beta_1=1.5"),
    ({"epsilon": -1e-8}, r"`epsilon` must be in"),
    ({"weight_decay": -0.1}, r"`weight_decay` must be >= 0"),
    ({"momentum": 0.9}, r"Argument\(s\) not recognized"),
])
def test_bad_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ScheduleFreeAdamW(**kwargs)
