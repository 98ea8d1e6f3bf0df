"""MultiOptimizer/OptimizerMap against Keras' (oracle), config round trips, legacy names."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers


def _train(lib, weights, steps=3):
    model = lib.Sequential([lib.Input((3,)), lib.layers.Dense(4, name="encoder"),
                            lib.layers.Dense(1, name="head")])
    model.set_weights(weights)
    opt = lib.optimizers.MultiOptimizer(lib.optimizers.OptimizerMap(
        lib.optimizers.SGD(0.1), {"(.*/)?encoder/.*": lib.optimizers.Adam(0.05)}))
    model.compile(optimizer=opt, loss="mse")
    x = np.linspace(-1, 1, 24, dtype="float32").reshape(8, 3)
    y = x.sum(axis=1, keepdims=True)
    for _ in range(steps):
        model.train_on_batch(x, y)
    return model, opt


def test_multi_optimizer_trains_like_keras():
    import keras

    rng = np.random.default_rng(0)
    weights = [rng.normal(size=s).astype("float32") for s in [(3, 4), (4,), (4, 1), (1,)]]
    keras_model, keras_opt = _train(keras, weights)
    model, opt = _train(lamina, weights)
    for ours, theirs in zip(model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    assert [type(o).__name__ for o in opt.optimizers] == \
        [type(o).__name__ for o in keras_opt.optimizers]
    assert int(opt.iterations) == int(keras_opt.iterations) == 3
    assert len(opt.variables) == len(keras_opt.variables)


def test_multi_optimizer_config_round_trips_through_keras():
    import keras

    opt = optimizers.MultiOptimizer(optimizers.OptimizerMap(
        optimizers.SGD(0.1), {"a/.*": optimizers.Adam(0.01)}), name="multi")
    config = optimizers.serialize(opt)
    theirs = keras.optimizers.deserialize(config)
    back = optimizers.deserialize(keras.optimizers.serialize(theirs))
    assert [type(o).__name__ for o in back.optimizers] == ["Adam", "SGD"]
    assert back.name == "multi"


def test_multi_optimizer_state_survives_keras_file(tmp_path):
    model, _ = _train(lamina, [np.ones(s, "float32") for s in [(3, 4), (4,), (4, 1), (1,)]])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    for ours, theirs in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())


def test_callable_selector_and_errors():
    adam = optimizers.Adam()
    opt = optimizers.MultiOptimizer(lambda v: adam)
    v = lamina.Variable([1.0], name="v")
    opt.apply([torch.tensor([1.0])], [v])
    assert opt.optimizers == [adam]
    with pytest.raises(AttributeError, match="individual sub-optimizers"):
        _ = opt.learning_rate
    mapping = optimizers.OptimizerMap(optimizers.SGD(), {"a.*": adam, ".*b": optimizers.SGD()})
    with pytest.raises(ValueError, match="Multiple optimizers assigned to variable ab"):
        mapping["ab"]
    with pytest.raises(ValueError, match="already exists"):
        mapping["a.*"] = optimizers.SGD()
    with pytest.raises(ValueError, match="cannot be a LossScaleOptimizer"):
        mapping["c"] = optimizers.LossScaleOptimizer(optimizers.SGD())
    with pytest.raises(TypeError, match="default_optimizer must be"):
        optimizers.OptimizerMap("sgd")


@pytest.mark.parametrize("name", ["Adam", "SGD", "RMSprop", "Adagrad", "Ftrl", "Optimizer"])
def test_legacy_optimizers_raise_import_error_like_keras(name):
    with pytest.raises(ImportError, match=f"not supported in Keras 3.*optimizers.{name}"):
        getattr(optimizers.legacy, name)(learning_rate=0.1)


