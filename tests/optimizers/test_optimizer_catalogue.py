"""The rest of Keras' optimizer catalogue: numpy references, loss scaling, names, bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers

GRADS = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 0.1]]
START = (1.0, 2.0, -3.0)


def _run(opt, grads=GRADS, start=START):
    w = lamina.Variable(np.asarray(start, "float32"), name="w")
    for g in grads:
        opt.apply([torch.tensor(g, dtype=torch.float32)], [w])
    return w.numpy()


# -- update math against numpy -----------------------------------------------------------
def test_adagrad_matches_numpy():
    lr, eps = 0.1, 1e-7
    w, acc = np.array(START), np.full(3, 0.3)
    for g in map(np.array, GRADS):
        acc = acc + g * g
        w = w - lr * g / np.sqrt(acc + eps)
    got = _run(optimizers.Adagrad(lr, initial_accumulator_value=0.3))
    np.testing.assert_allclose(got, w, rtol=1e-6)


def test_lion_moves_every_coordinate_by_the_learning_rate():
    lr, b1, b2 = 0.1, 0.9, 0.99
    w, m = np.array(START), np.zeros(3)
    for g in map(np.array, GRADS):
        w = w - lr * np.sign(b1 * m + (1 - b1) * g)
        m = b2 * m + (1 - b2) * g
    np.testing.assert_allclose(_run(optimizers.Lion(lr)), w, rtol=1e-6)


def test_adamax_matches_numpy():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w, m, u = np.array(START), np.zeros(3), np.zeros(3)
    for t, g in enumerate(map(np.array, GRADS), start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        w = w - lr * m / ((1 - b1**t) * (u + eps))
    np.testing.assert_allclose(_run(optimizers.Adamax(lr)), w, rtol=1e-5)


def test_adadelta_matches_numpy():
    lr, rho, eps = 1.0, 0.95, 1e-7
    w, eg, ed = np.array(START), np.zeros(3), np.zeros(3)
    for g in map(np.array, GRADS):
        eg = rho * eg + (1 - rho) * g * g
        delta = np.sqrt(ed + eps) / np.sqrt(eg + eps) * g
        ed = rho * ed + (1 - rho) * delta * delta
        w = w - lr * delta
    np.testing.assert_allclose(_run(optimizers.Adadelta(lr)), w, rtol=1e-5)


def test_lamb_scales_each_tensor_by_its_trust_ratio():
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w, m, v = np.array(START), np.zeros(3), np.zeros(3)
    for t, g in enumerate(map(np.array, GRADS), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        update = (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
        w = w - lr * np.linalg.norm(w) / np.linalg.norm(update) * update
    np.testing.assert_allclose(_run(optimizers.Lamb(lr)), w, rtol=1e-5)


def test_ftrl_with_strong_l1_keeps_weights_at_zero():
    got = _run(optimizers.Ftrl(0.1, l1_regularization_strength=100.0))
    np.testing.assert_array_equal(got, np.zeros(3))


def test_adafactor_factors_the_second_moment_of_matrices():
    opt = optimizers.Adafactor(0.1)
    w = lamina.Variable(np.ones((3, 4), "float32"), name="kernel")
    b = lamina.Variable(np.ones((4,), "float32"), name="bias")
    opt.apply([torch.ones(3, 4), torch.ones(4)], [w, b])
    shapes = [tuple(v.shape) for v in opt.variables]
    assert shapes == [(), (), (3,), (4,), (3, 4), (), (), (4,)]
    # A constant gradient normalizes to a unit update of size min(lr, 1) * rms(w).
    np.testing.assert_allclose(w.numpy(), np.full((3, 4), 0.9), rtol=1e-6)
    np.testing.assert_allclose(b.numpy(), np.full((4,), 0.9), rtol=1e-6)


def test_muon_update_of_a_matrix_is_nearly_orthogonal():
    opt = optimizers.Muon(learning_rate=1.0, weight_decay=0.0, rms_rate=None, momentum=0.0)
    w = lamina.Variable(np.zeros((6, 4), "float32"), name="kernel")
    g = torch.randn(6, 4, generator=torch.Generator().manual_seed(0))
    opt.apply([g], [w])
    singular_values = torch.linalg.svdvals(torch.as_tensor(w.numpy()))
    assert torch.all((singular_values > 0.6) & (singular_values < 1.3)), singular_values
    assert [v.name for v in opt.variables] == ["iteration", "learning_rate", "kernel_momentum"]


def test_muon_batches_same_shape_matrices_like_single_ones():
    torch.manual_seed(0)
    grads = [torch.randn(3, 5), torch.randn(3, 5), torch.randn(5, 3)]
    together = [lamina.Variable(np.ones(tuple(g.shape), "float32"), name=f"w{i}")
                for i, g in enumerate(grads)]
    optimizers.Muon(0.1).apply(grads, together)
    for i, g in enumerate(grads):
        alone = lamina.Variable(np.ones(tuple(g.shape), "float32"), name=f"w{i}")
        optimizers.Muon(0.1).apply([g], [alone])
        np.testing.assert_allclose(alone.numpy(), together[i].numpy(), rtol=1e-5, atol=1e-7)


def test_nadam_steps_do_not_read_the_device(no_host_reads):
    opt = optimizers.Nadam(learning_rate=0.01)
    w = lamina.Variable(np.ones(3, "float32"), name="w")
    opt.apply([torch.ones(3)], [w])
    with no_host_reads():
        opt.apply([torch.ones(3)], [w])
    assert int(opt.iterations) == 2


# -- LossScaleOptimizer ------------------------------------------------------------------
def test_loss_scale_optimizer_skips_non_finite_steps_and_adapts_the_scale():
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.1), initial_scale=4.0,
                                        dynamic_growth_steps=2)
    assert float(opt.scale_loss(torch.tensor(1.0))) == 4.0  # before build: initial scale
    w = lamina.Variable(np.ones(2, "float32"), name="w")
    opt.apply([torch.tensor([4.0, 4.0])], [w])
    after_one = w.numpy().copy()
    state = [v.numpy().copy() for v in opt.inner_optimizer.variables]
    opt.apply([torch.tensor([np.nan, 1.0])], [w])
    np.testing.assert_array_equal(w.numpy(), after_one)
    for before, v in zip(state, opt.inner_optimizer.variables):
        np.testing.assert_array_equal(v.numpy(), before)
    assert float(opt.dynamic_scale) == 2.0 and int(opt.step_counter) == 0
    assert int(opt.iterations) == 1
    for _ in range(2):
        opt.apply([torch.tensor([2.0, 2.0])], [w])
    assert float(opt.dynamic_scale) == 4.0 and int(opt.step_counter) == 0
    assert int(opt.iterations) == 3


def test_loss_scale_optimizer_steps_do_not_read_the_device(no_host_reads):
    opt = optimizers.LossScaleOptimizer(optimizers.Adam(0.1))
    w = lamina.Variable(np.ones(3, "float32"), name="w")
    opt.apply([torch.ones(3)], [w])
    with no_host_reads():
        opt.apply([torch.tensor([1.0, np.inf, 1.0])], [w])
        opt.apply([torch.ones(3)], [w])
    assert int(opt.iterations) == 2


def test_loss_scale_optimizer_delegates_learning_rate_and_round_trips():
    inner = optimizers.SGD(0.1)
    opt = optimizers.LossScaleOptimizer(inner, initial_scale=8.0, dynamic_growth_steps=10)
    opt.learning_rate = 0.5
    assert float(inner.learning_rate) == 0.5
    restored = optimizers.deserialize(optimizers.serialize(opt))
    assert isinstance(restored.inner_optimizer, optimizers.SGD)
    assert restored.get_config() == opt.get_config()


def test_loss_scale_optimizer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`inner_optimizer` must be an `Optimizer`.*'adam'"):
        optimizers.LossScaleOptimizer("adam")
    with pytest.raises(ValueError, match="does not support `loss_scale_factor`"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), loss_scale_factor=2.0)
    with pytest.raises(ValueError, match="`initial_scale` must be > 0. Received: initial_scale=0"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), initial_scale=0)
    with pytest.raises(ValueError, match="`dynamic_growth_steps` must be an integer >= 1"):
        optimizers.LossScaleOptimizer(optimizers.SGD(), dynamic_growth_steps=0)


# -- names, configs, bad input -----------------------------------------------------------
KERAS_NAMES = ["adadelta", "adafactor", "adagrad", "adam", "adamax", "adamw", "ftrl", "lamb",
               "lion", "muon", "nadam", "rmsprop", "sgd"]


@pytest.mark.parametrize("name", KERAS_NAMES)
def test_get_by_name_and_config_round_trip(name):
    opt = optimizers.get(name)
    assert type(opt).__name__.lower() == name
    assert type(optimizers.get(type(opt).__name__)) is type(opt)
    restored = type(opt).from_config(opt.get_config())
    assert restored.get_config() == opt.get_config()
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == opt.get_config()


def test_get_lists_close_matches_for_unknown_names():
    with pytest.raises(ValueError, match="'nadamm'.*Did you mean: 'nadam'"):
        optimizers.get("nadamm")
    with pytest.raises(ValueError, match="'adafacter'.*Did you mean: 'adafactor'"):
        optimizers.get("adafacter")
    with pytest.raises(ValueError, match="LossScaleOptimizer wraps another optimizer"):
        optimizers.get("lossscaleoptimizer")


@pytest.mark.parametrize("make,match", [
    (lambda: optimizers.Adagrad(learning_rate=-1.0), "`learning_rate` must be >= 0"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-0.1),
     r"`initial_accumulator_value` must be in \[0, inf\]"),
    (lambda: optimizers.Adadelta(rho=1.5), r"`rho` must be in \[0, 1\]. Received: rho=1.5"),
    (lambda: optimizers.Adamax(beta_1=1.0), r"`beta_1` must be in \[0, 1\)"),
    (lambda: optimizers.Nadam(beta_2=-0.1), r"`beta_2` must be in \[0, 1\)"),
    (lambda: optimizers.Lamb(epsilon=-1.0), "`epsilon` must be in"),
    (lambda: optimizers.Lion(beta_1=0.0), "`beta_1` must be in the \\[0, 1\\] range.*SignSGD"),
    (lambda: optimizers.Ftrl(learning_rate_power=0.5),
     "`learning_rate_power` needs to be negative or zero. Received: learning_rate_power=0.5"),
    (lambda: optimizers.Ftrl(l1_regularization_strength=-1),
     "`l1_regularization_strength` needs to be positive or zero"),
    (lambda: optimizers.Muon(learning_rate="fast"), "`learning_rate` should be float"),
    (lambda: optimizers.Adafactor(clipnorm=1.0, clipvalue=1.0), "Only one of `clipnorm`"),
])
def test_bad_arguments_are_rejected(make, match):
    with pytest.raises(ValueError, match=match):
        make()
