"""lamina.optimizers.schedules against keras.optimizers.schedules over 1,000 steps."""

import numpy as np
import pytest
import torch

import lamina

STEPS = 1000

CASES = [
    ("ExponentialDecay", (0.1, 30, 0.9), {"staircase": True}),
    ("PiecewiseConstantDecay", ([100, 250, 600], [1.0, 0.5, 0.1, 0.01]), {}),
    ("PiecewiseConstantDecay", ([99.5, 500.0], [0.3, 0.2, 0.1]), {}),
    ("PolynomialDecay", (0.1, 700), {}),
    ("PolynomialDecay", (0.1, 300, 0.001), {"power": 2.0, "cycle": True}),
    ("InverseTimeDecay", (0.1, 50, 0.5), {}),
    ("InverseTimeDecay", (0.1, 50, 0.5), {"staircase": True}),
    ("CosineDecay", (0.1, 800), {"alpha": 0.1}),
    ("CosineDecay", (0.0, 600), {"warmup_target": 0.2, "warmup_steps": 100}),
    ("CosineDecayRestarts", (0.1, 100), {}),
    ("CosineDecayRestarts", (0.1, 90), {"t_mul": 1.0, "m_mul": 0.8, "alpha": 0.05}),
    ("CosineDecayRestarts", (0.1, 70), {"t_mul": 1.5, "m_mul": 0.5}),
]


def _keras_values(schedule, steps):
    """Keras' schedule at every step: in one call where Keras vectorizes, else one by one
    (its piecewise schedule and warmup branch take scalar steps only)."""
    try:
        values = schedule(steps)
        if tuple(values.shape) == tuple(steps.shape):
            return values.detach().numpy()
    except Exception:  # noqa: BLE001 - any failure means "not vectorizable"
        pass
    return np.array([float(schedule(step)) for step in steps])


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_schedule_matches_keras_over_1000_steps(K, name, args, kwargs):
    k_schedule = getattr(K.optimizers.schedules, name)(*args, **kwargs)
    l_schedule = getattr(lamina.optimizers.schedules, name)(*args, **kwargs)
    steps = torch.arange(STEPS, dtype=torch.int32)
    expected = _keras_values(k_schedule, steps)
    got = l_schedule(steps)
    assert got.dtype == torch.float32 and got.shape == (STEPS,)
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-5, atol=1e-7)
    assert l_schedule.get_config() == k_schedule.get_config()
    serialized = lamina.optimizers.schedules.serialize(l_schedule)
    assert serialized == K.optimizers.schedules.serialize(k_schedule)
    from_keras = lamina.optimizers.schedules.deserialize(K.optimizers.schedules.serialize(
        k_schedule))
    assert type(from_keras) is type(l_schedule)
    assert K.optimizers.schedules.deserialize(serialized).get_config() == serialized["config"]


def test_optimizer_with_each_new_schedule_matches_keras(K):
    rng = np.random.default_rng(0)
    start = rng.normal(size=(3, 2)).astype("float32")
    grads = [rng.normal(size=(3, 2)).astype("float32") for _ in range(12)]
    for name, args, kwargs in CASES[1::2]:
        runs = []
        for module in (K, lamina):
            w = module.Variable(start.copy(), name="w")
            opt = module.optimizers.SGD(getattr(module.optimizers.schedules, name)(*args,
                                                                                 **kwargs))
            for g in grads:
                opt.apply([torch.tensor(g)], [w])
            runs.append(getattr(w, "value", w).detach().numpy())
        np.testing.assert_allclose(runs[1], runs[0], rtol=1e-5, atol=1e-7, err_msg=name)
