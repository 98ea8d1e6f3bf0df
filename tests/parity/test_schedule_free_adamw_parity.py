"""ScheduleFreeAdamW against keras.optimizers.ScheduleFreeAdamW (torch backend)."""

import numpy as np
import pytest
import torch

import lamina
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPES = [(4, 3), (3,), (2, 2, 5)]
NAMES = ["kernel", "bias", "extra"]
STEPS = 20


def _np(x):
    return getattr(x, "value", x).detach().cpu().numpy()


def _initial_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return initial, grads


def _run(module, opt, initial, grads):
    variables = [module.Variable(x.copy(), name=n) for x, n in zip(initial, NAMES)]
    for step in grads:
        opt.apply([torch.tensor(g) for g in step], variables)
    return opt, variables


def _schedule(module):
    return module.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)


CASES = {
    "defaults": {},
    "decay-warmup": {"learning_rate": 0.05, "weight_decay": 0.1, "warmup_steps": 5,
                     "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "clipnorm": 1.0},
    "schedule-warmup": {"learning_rate": "schedule", "warmup_steps": 30},
    "accumulate-ema": {"learning_rate": 0.02, "gradient_accumulation_steps": 3,
                       "use_ema": True, "warmup_steps": 2},
}


def _kwargs(module, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("learning_rate") == "schedule":
        kwargs["learning_rate"] = _schedule(module)
    return kwargs


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_and_state_match_keras(K, case):
    kwargs = CASES[case]
    initial, grads = _initial_and_grads()
    k_opt, k_vars = _run(K, K.optimizers.ScheduleFreeAdamW(**_kwargs(K, kwargs)),
                         initial, grads)
    l_opt, l_vars = _run(lamina, ScheduleFreeAdamW(**_kwargs(lamina, kwargs)), initial, grads)
    for kv, lv in zip(k_vars, l_vars):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    assert int(l_opt.iterations) == int(_np(k_opt.iterations))
    assert [v.path for v in l_opt.variables] == [v.path for v in k_opt.variables]
    assert [tuple(v.shape) for v in l_opt.variables] == [tuple(v.shape) for v in k_opt.variables]
    for kv, lv in zip(k_opt.variables, l_opt.variables):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    assert l_opt.get_config() | {"name": None} == k_opt.get_config() | {"name": None}


def test_beta_1_does_not_change_the_keras_trajectory(K):
    # Pins the oracle's behaviour that lamina reproduces (see the class docstring).
    initial, grads = _initial_and_grads(1)
    finals = []
    for beta_1 in (0.9, 0.5):
        for module, cls in ((K, K.optimizers.ScheduleFreeAdamW), (lamina, ScheduleFreeAdamW)):
            _, variables = _run(module, cls(learning_rate=0.05, beta_1=beta_1), initial,
                                grads[:5])
            finals.append(_np(variables[0]))
    for final in finals[1:]:
        np.testing.assert_allclose(final, finals[0], rtol=1e-5, atol=1e-6)


def test_get_config_and_serialization_match_keras(K):
    kwargs = {"learning_rate": 0.01, "beta_1": 0.95, "beta_2": 0.99, "epsilon": 1e-6,
              "warmup_steps": 100, "weight_decay": 0.01, "global_clipnorm": 1.0}
    k_opt = K.optimizers.ScheduleFreeAdamW(**kwargs, name="opt")
    l_opt = ScheduleFreeAdamW(**kwargs, name="opt")
    assert l_opt.get_config() == k_opt.get_config()
    assert ScheduleFreeAdamW().get_config() | {"name": None} == (
        K.optimizers.ScheduleFreeAdamW().get_config() | {"name": None})
    in_keras = K.optimizers.deserialize(lamina.optimizers.serialize(l_opt))
    assert type(in_keras).__name__ == "ScheduleFreeAdamW"
    assert in_keras.get_config() == l_opt.get_config()
    restored = lamina.optimizers.deserialize(
        K.optimizers.serialize(k_opt), custom_objects={"ScheduleFreeAdamW": ScheduleFreeAdamW})
    assert isinstance(restored, ScheduleFreeAdamW)
    assert restored.get_config() == k_opt.get_config()

