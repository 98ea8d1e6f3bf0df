"""lamina.optimizers against keras.optimizers (torch backend): same gradients, same weights."""

import numpy as np
import pytest
import torch

import lamina

# Keras' own `Variable.numpy()` trips numpy 2's `__array__(copy=...)` deprecation.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

SHAPES = [(4, 3), (3,), (2, 2, 5)]
STEPS = 20


def _np(x):
    """A Keras (torch backend) variable or tensor as numpy, without Keras' `__array__`."""
    x = getattr(x, "value", x)
    return x.detach().cpu().numpy()


def _initial_and_grads(seed=0):
    rng = np.random.default_rng(seed)
    initial = [rng.normal(size=s).astype("float32") for s in SHAPES]
    grads = [[rng.normal(size=s).astype("float32") for s in SHAPES] for _ in range(STEPS)]
    return initial, grads


def _keras_run(K, cls_name, kwargs, initial, grads, names):
    variables = [K.Variable(x.copy(), name=n) for x, n in zip(initial, names)]
    opt = getattr(K.optimizers, cls_name)(**kwargs)
    for step in grads:
        opt.apply([torch.tensor(g) for g in step], variables)
    return opt, variables


def _lamina_run(cls_name, kwargs, initial, grads, names):
    variables = [lamina.Variable(x.copy(), name=n) for x, n in zip(initial, names)]
    opt = getattr(lamina.optimizers, cls_name)(**kwargs)
    for step in grads:
        opt.apply([torch.tensor(g) for g in step], variables)
    return opt, variables


def _kwargs_for(K, module, kwargs):
    kwargs = dict(kwargs)
    if kwargs.get("learning_rate") == "schedule":
        kwargs["learning_rate"] = module.optimizers.schedules.ExponentialDecay(0.05, 5, 0.5)
    if kwargs.get("learning_rate") == "staircase":
        kwargs["learning_rate"] = module.optimizers.schedules.ExponentialDecay(
            0.05, 3, 0.7, staircase=True)
    return kwargs


CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.01}),
    ("Adam", {}),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-3}),
    ("Adam", {"learning_rate": 0.01, "weight_decay": 0.1}),
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}),
    ("Adam", {"learning_rate": 0.01, "clipvalue": 0.3}),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 1.0}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9}),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_overwrite_frequency": 3}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 3}),
    ("Adam", {"learning_rate": 0.01, "gradient_accumulation_steps": 2, "use_ema": True,
              "ema_overwrite_frequency": 2, "clipnorm": 1.0}),
    ("Adam", {"learning_rate": "schedule"}),
    ("Adam", {"learning_rate": 0.01, "loss_scale_factor": 8.0}),
    ("AdamW", {}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
    ("AdamW", {"learning_rate": "staircase", "global_clipnorm": 2.0}),
    ("RMSprop", {}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "rho": 0.8}),
    ("RMSprop", {"learning_rate": 0.01, "weight_decay": 0.05, "clipvalue": 0.5}),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.5, "gradient_accumulation_steps": 4,
             "use_ema": True}),
    ("Adadelta", {}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9, "epsilon": 1e-5, "weight_decay": 0.01}),
    ("Adagrad", {}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "clipnorm": 0.5}),
    ("Adagrad", {"learning_rate": "schedule", "weight_decay": 0.1}),
    ("Adamax", {}),
    ("Adamax", {"learning_rate": 0.01, "beta_1": 0.5, "weight_decay": 0.1}),
    ("Adamax", {"learning_rate": "schedule", "clipvalue": 0.5}),
    ("Nadam", {}),
    ("Nadam", {"learning_rate": 0.01, "beta_2": 0.9, "clipnorm": 0.5, "weight_decay": 0.05}),
    ("Nadam", {"learning_rate": "schedule", "gradient_accumulation_steps": 2}),
    ("Ftrl", {}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.7, "beta": 0.5,
              "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
              "l2_shrinkage_regularization_strength": 0.03}),
    ("Ftrl", {"learning_rate": "schedule", "weight_decay": 0.1, "global_clipnorm": 1.0,
              "initial_accumulator_value": 0.0, "l1_regularization_strength": 0.1}),
    ("Lion", {}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "weight_decay": 0.1,
              "global_clipnorm": 1.0}),
    ("Lion", {"learning_rate": "schedule", "use_ema": True}),
    ("Lamb", {}),
    ("Lamb", {"learning_rate": 0.01, "weight_decay": 0.01, "clipvalue": 0.5}),
    ("Lamb", {"learning_rate": "staircase", "beta_1": 0.5, "epsilon": 1e-3}),
    ("Adafactor", {}),
    ("Adafactor", {"learning_rate": 0.01, "clip_threshold": 0.5, "weight_decay": 0.01,
                   "beta_2_decay": -0.5, "epsilon_2": 0.01}),
    ("Adafactor", {"learning_rate": "schedule", "relative_step": False, "clipnorm": 1.0}),
    ("Muon", {}),
    ("Muon", {"learning_rate": 0.01, "rms_rate": None, "nesterov": False, "clipnorm": 1.0,
              "momentum": 0.8, "ns_steps": 3}),
    ("Muon", {"learning_rate": "schedule", "adam_lr_ratio": 0.5, "weight_decay": 0.1,
              "adam_weight_decay": 0.05, "epsilon": 1e-4}),
    ("Muon", {"learning_rate": 0.02, "exclude_layers": ["kern"], "adam_beta_1": 0.5}),
]


@pytest.mark.parametrize("cls_name,kwargs", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_trajectory_matches_keras(K, cls_name, kwargs):
    initial, grads = _initial_and_grads()
    names = ["kernel", "bias", "extra"]
    k_opt, k_vars = _keras_run(K, cls_name, _kwargs_for(K, K, kwargs), initial, grads, names)
    l_opt, l_vars = _lamina_run(cls_name, _kwargs_for(K, lamina, kwargs), initial, grads, names)
    for kv, lv in zip(k_vars, l_vars):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    assert int(l_opt.iterations) == int(_np(k_opt.iterations))
    # Optimizer state: same count, names, shapes and values, in the same order.
    assert [v.path for v in l_opt.variables] == [v.path for v in k_opt.variables]
    assert [tuple(v.shape) for v in l_opt.variables] == [tuple(v.shape) for v in k_opt.variables]
    for kv, lv in zip(k_opt.variables, l_opt.variables):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    if kwargs.get("use_ema"):
        k_opt.finalize_variable_values(k_vars)
        l_opt.finalize_variable_values(l_vars)
        for kv, lv in zip(k_vars, l_vars):
            np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cls_name,kwargs", CASES, ids=[f"{c}-{k}" for c, k in CASES])
def test_get_config_matches_keras(K, cls_name, kwargs):
    k_opt = getattr(K.optimizers, cls_name)(**_kwargs_for(K, K, kwargs), name="opt")
    l_opt = getattr(lamina.optimizers, cls_name)(**_kwargs_for(K, lamina, kwargs), name="opt")
    assert l_opt.get_config() == k_opt.get_config()


def test_variable_names_follow_layer_paths(K):
    k_layer = K.layers.Dense(3)
    k_layer.build((None, 2))
    k_opt = K.optimizers.Adam(use_ema=True)
    k_opt.build(k_layer.trainable_variables)
    kernel = lamina.Variable(np.zeros((2, 3), "float32"), name="kernel")
    bias = lamina.Variable(np.zeros((3,), "float32"), name="bias")
    kernel._path, bias._path = "dense/kernel", "dense/bias"
    l_opt = lamina.optimizers.Adam(use_ema=True)
    l_opt.build([kernel, bias])
    assert [v.path for v in l_opt.variables] == [v.path for v in k_opt.variables]
    assert [v.name for v in l_opt.variables] == [v.name for v in k_opt.variables]
    assert [str(v.dtype) for v in l_opt.variables] == [
        f"torch.{v.dtype}" for v in k_opt.variables]


def test_keras_serialized_optimizer_loads_in_lamina(K):
    k_opt = K.optimizers.Adam(
        learning_rate=K.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9), amsgrad=True)
    restored = lamina.optimizers.deserialize(K.optimizers.serialize(k_opt))
    assert isinstance(restored, lamina.optimizers.Adam)
    assert restored.get_config() == k_opt.get_config()


def test_lamina_serialized_optimizer_loads_in_keras(K):
    l_opt = lamina.optimizers.RMSprop(learning_rate=0.02, centered=True, clipnorm=1.0)
    restored = K.optimizers.deserialize(lamina.optimizers.serialize(l_opt))
    assert type(restored).__name__ == "RMSprop"
    assert restored.get_config() == l_opt.get_config()


def test_exponential_decay_matches_keras(K):
    for staircase in (False, True):
        k_s = K.optimizers.schedules.ExponentialDecay(0.3, 7, 0.6, staircase=staircase)
        l_s = lamina.optimizers.schedules.ExponentialDecay(0.3, 7, 0.6, staircase=staircase)
        for step in (0, 1, 6, 7, 8, 50):
            np.testing.assert_allclose(float(l_s(step)), float(k_s(step)), rtol=1e-6)
        assert l_s.get_config() == k_s.get_config()
        assert lamina.optimizers.schedules.serialize(l_s) == K.optimizers.schedules.serialize(
            k_s)


def test_weight_decay_exclusions_match_keras(K):
    initial, grads = _initial_and_grads(1)
    names = ["kernel", "bias", "extra"]
    k_vars = [K.Variable(x.copy(), name=n) for x, n in zip(initial, names)]
    l_vars = [lamina.Variable(x.copy(), name=n) for x, n in zip(initial, names)]
    k_opt = K.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5)
    l_opt = lamina.optimizers.AdamW(learning_rate=0.05, weight_decay=0.5)
    k_opt.exclude_from_weight_decay(var_list=[k_vars[2]], var_names=["bias"])
    l_opt.exclude_from_weight_decay(var_list=[l_vars[2]], var_names=["bias"])
    for step in grads[:5]:
        k_opt.apply([torch.tensor(g) for g in step], k_vars)
        l_opt.apply([torch.tensor(g) for g in step], l_vars)
    for kv, lv in zip(k_vars, l_vars):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("inner,kwargs", [("Adam", {"learning_rate": 0.01}),
                                          ("Nadam", {"learning_rate": 0.01})])
def test_loss_scale_optimizer_matches_keras_with_skipped_steps(K, inner, kwargs):
    initial, grads = _initial_and_grads(2)
    grads[3][1][0] = np.inf
    grads[8][0][1, 1] = np.nan
    grads = [[g * 8.0 for g in step] for step in grads]
    names = ["kernel", "bias", "extra"]
    runs = []
    for module in (K, lamina):
        variables = [module.Variable(x.copy(), name=n) for x, n in zip(initial, names)]
        opt = module.optimizers.LossScaleOptimizer(
            getattr(module.optimizers, inner)(**kwargs), initial_scale=8.0,
            dynamic_growth_steps=3)
        for step in grads:
            opt.apply([torch.tensor(g) for g in step], variables)
        runs.append((opt, variables))
    (k_opt, k_vars), (l_opt, l_vars) = runs
    for kv, lv in zip(k_vars, l_vars):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    # Keras prefixes the inner slots' paths with the wrapper's scope when `apply` builds them
    # (not when `build` does); names, shapes and values agree either way. Keras' wrapper
    # also loses track of Nadam's momentum product ("variable", last): compare the rest.
    l_state = l_opt.variables[:len(k_opt.variables)]
    assert len(l_opt.variables) == len(k_opt.variables) + (inner == "Nadam")
    assert [v.name for v in l_state] == [v.name for v in k_opt.variables]
    for kv, lv in zip(k_opt.variables, l_state):
        np.testing.assert_allclose(lv.numpy(), _np(kv), rtol=1e-5, atol=1e-6)
    assert int(l_opt.iterations) == int(_np(k_opt.iterations)) == STEPS - 2
    k_loss = k_opt.scale_loss(torch.tensor(1.5))
    assert float(l_opt.scale_loss(torch.tensor(1.5))) == float(k_loss)
    l_config, k_config = l_opt.get_config(), k_opt.get_config()
    # Keras' torch backend records a private module path for the inner Adam; same config.
    l_inner, k_inner = l_config.pop("inner_optimizer"), k_config.pop("inner_optimizer")
    assert l_config == k_config
    assert l_inner["class_name"] == k_inner["class_name"]
    assert l_inner["config"] == k_inner["config"]
    restored = lamina.optimizers.deserialize(K.optimizers.serialize(k_opt))
    assert isinstance(restored.inner_optimizer, getattr(lamina.optimizers, inner))
    in_keras = K.optimizers.deserialize(lamina.optimizers.serialize(l_opt))
    assert in_keras.inner_optimizer.get_config() == l_opt.inner_optimizer.get_config()
    assert in_keras.dynamic_growth_steps == 3 and in_keras.initial_scale == 8.0
