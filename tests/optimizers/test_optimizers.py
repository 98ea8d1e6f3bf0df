"""Behaviour of lamina.optimizers against numpy references, and bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina import optimizers


def _var(values, name="w", dtype="float32"):
    return lamina.Variable(np.asarray(values, dtype=dtype), name=name)


def _g(values, dtype=torch.float32):
    return torch.tensor(values, dtype=dtype)


# -- update math against numpy -----------------------------------------------------------
GRADS = [[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 1.0, 0.1]]


def _run(opt, grads=GRADS, start=(1.0, 2.0, -3.0)):
    w = _var(start)
    for g in grads:
        opt.apply([_g(g)], [w])
    return w.numpy()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_matches_numpy(nesterov):
    lr, mom = 0.1, 0.9
    w, m = np.array([1.0, 2.0, -3.0]), np.zeros(3)
    for g in map(np.array, GRADS):
        m = mom * m - lr * g
        w = w + (mom * m - lr * g if nesterov else m)
    got = _run(optimizers.SGD(lr, momentum=mom, nesterov=nesterov))
    np.testing.assert_allclose(got, w, rtol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adam_matches_numpy(amsgrad):
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-7
    w, m, v, vhat = np.array([1.0, 2.0, -3.0]), np.zeros(3), np.zeros(3), np.zeros(3)
    for t, g in enumerate(map(np.array, GRADS), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        vhat = np.maximum(vhat, v)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        w = w - alpha * m / (np.sqrt(vhat if amsgrad else v) + eps)
    got = _run(optimizers.Adam(lr, amsgrad=amsgrad))
    np.testing.assert_allclose(got, w, rtol=1e-5)


def test_adamw_decays_before_the_adam_step():
    lr, wd = 0.1, 0.2
    adam_only = _run(optimizers.Adam(lr), grads=GRADS[:1], start=(1.0, 2.0, -3.0) )
    decayed_start = tuple(np.array([1.0, 2.0, -3.0]) * (1 - wd * lr))
    expected = _run(optimizers.Adam(lr), grads=GRADS[:1], start=decayed_start)
    got = _run(optimizers.AdamW(lr, weight_decay=wd), grads=GRADS[:1])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    assert not np.allclose(got, adam_only)


@pytest.mark.parametrize("centered,momentum", [(False, 0.0), (True, 0.0), (True, 0.5)])
def test_rmsprop_matches_numpy(centered, momentum):
    lr, rho, eps = 0.01, 0.9, 1e-7
    w, v, a, mom = np.array([1.0, 2.0, -3.0]), np.zeros(3), np.zeros(3), np.zeros(3)
    for g in map(np.array, GRADS):
        v = rho * v + (1 - rho) * g * g
        a = rho * a + (1 - rho) * g
        inc = lr * g / np.sqrt(v + eps - (a * a if centered else 0))
        mom = momentum * mom + inc
        w = w - (mom if momentum else inc)
    got = _run(optimizers.RMSprop(lr, centered=centered, momentum=momentum))
    np.testing.assert_allclose(got, w, rtol=1e-5)


def test_clipnorm_clips_each_gradient_to_the_norm():
    w1, w2 = _var([0.0, 0.0], "a"), _var([0.0], "b")
    optimizers.SGD(1.0, clipnorm=1.0).apply([_g([3.0, 4.0]), _g([0.5])], [w1, w2])
    np.testing.assert_allclose(w1.numpy(), [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), [-0.5], rtol=1e-6)


def test_global_clipnorm_scales_all_gradients_together():
    w1, w2 = _var([0.0, 0.0], "a"), _var([0.0], "b")
    optimizers.SGD(1.0, global_clipnorm=2.6).apply([_g([3.0, 4.0]), _g([12.0])], [w1, w2])
    np.testing.assert_allclose(w1.numpy(), [-0.6, -0.8], rtol=1e-6)
    np.testing.assert_allclose(w2.numpy(), [-2.4], rtol=1e-6)


def test_clipping_leaves_the_callers_gradients_untouched():
    grad = _g([3.0, -4.0])
    optimizers.SGD(1.0, clipvalue=1.0).apply([grad], [_var([0.0, 0.0])])
    np.testing.assert_array_equal(grad.numpy(), [3.0, -4.0])


def test_loss_scale_factor_divides_gradients_and_scales_loss():
    opt = optimizers.SGD(1.0, loss_scale_factor=4.0)
    got = _run(opt, grads=[[4.0, 8.0, -4.0]], start=(0.0, 0.0, 0.0))
    np.testing.assert_allclose(got, [-1.0, -2.0, 1.0])
    assert float(opt.scale_loss(torch.tensor(2.0))) == 8.0


def test_gradient_accumulation_updates_every_n_steps_with_the_mean():
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    w = _var([0.0])
    opt.apply([_g([1.0])], [w])
    assert w.numpy()[0] == 0.0 and int(opt.iterations) == 0
    opt.apply([_g([3.0])], [w])
    assert w.numpy()[0] == -2.0 and int(opt.iterations) == 1
    assert int(opt._iterations) == 2


def test_ema_average_and_finalize():
    opt = optimizers.SGD(1.0, use_ema=True, ema_momentum=0.5)
    w = _var([0.0])
    for g in ([-1.0], [-2.0]):
        opt.apply([_g(g)], [w])
    # w: 1 then 3; average: 1 (first step copies) then 0.5 * 1 + 0.5 * 3.
    assert w.numpy()[0] == 3.0
    opt.finalize_variable_values([w])
    assert w.numpy()[0] == 2.0


def test_host_step_follows_iterations_written_from_outside():
    opt = optimizers.SGD(1.0, gradient_accumulation_steps=2)
    w = _var([0.0])
    opt.build([w])
    opt._iterations.assign(1)  # as when resuming from a checkpoint mid-accumulation
    opt.apply([_g([2.0])], [w])
    assert w.numpy()[0] == -1.0


def test_constraint_is_applied_after_the_update():
    w = _var([1.0, -1.0])
    w.constraint = lambda x: torch.clamp(x, min=0.0)
    optimizers.SGD(1.0).apply([_g([2.0, 2.0])], [w])
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])


def test_overwrite_with_gradient_copies_the_gradient():
    w, scale = _var([1.0]), _var([5.0], "scale")
    scale.overwrite_with_gradient = True
    optimizers.SGD(0.5).apply([_g([1.0]), _g([7.0])], [w, scale])
    assert scale.numpy()[0] == 7.0 and w.numpy()[0] == 0.5


def test_exclude_from_weight_decay_by_name_and_variable():
    a, b, c = _var([1.0], "kernel"), _var([1.0], "bias"), _var([1.0], "other")
    opt = optimizers.SGD(1.0, weight_decay=0.5)
    opt.exclude_from_weight_decay(var_list=[c], var_names=["bias"])
    opt.apply([_g([0.0])] * 3, [a, b, c])
    assert [a.numpy()[0], b.numpy()[0], c.numpy()[0]] == [0.5, 1.0, 1.0]


def test_none_gradients_are_skipped_with_a_warning():
    a, b = _var([1.0], "a"), _var([1.0], "b")
    opt = optimizers.SGD(1.0)
    with pytest.warns(UserWarning, match=r"Gradients do not exist for variables \['a'\]"):
        opt.apply([None, _g([1.0])], [a, b])
    assert a.numpy()[0] == 1.0 and b.numpy()[0] == 0.0
    with pytest.raises(ValueError, match="No gradients provided for any variable"):
        opt.apply([None, None], [a, b])


def test_apply_gradients_takes_pairs_and_returns_iterations():
    w = _var([1.0])
    opt = optimizers.SGD(0.5)
    assert int(opt.apply_gradients(zip([_g([1.0])], [w]))) == 1
    assert w.numpy()[0] == 0.5


def test_apply_without_variables_uses_the_built_list():
    w = _var([1.0])
    opt = optimizers.SGD(0.5)
    opt.build([w])
    opt.apply([_g([1.0])])
    assert w.numpy()[0] == 0.5


def test_state_follows_variable_dtype():
    w = _var([1.0, 2.0], dtype="float64")
    opt = optimizers.Adam(0.1)
    opt.apply([_g([1.0, 1.0], torch.float64)], [w])
    assert {str(v.dtype) for v in opt.variables[2:]} == {"torch.float64"}
    assert w.dtype == torch.float64


# -- Keras' subclassing contract ---------------------------------------------------------
def test_user_subclass_with_build_and_update_step_trains():
    class MomentumSGD(optimizers.Optimizer):
        def build(self, var_list):
            super().build(var_list)
            self.velocity = [self.add_variable_from_reference(v, "velocity") for v in var_list]

        def update_step(self, gradient, variable, learning_rate):
            velocity = self.velocity[self._get_variable_index(variable)]
            self.assign(velocity, 0.5 * velocity + gradient)
            self.assign_sub(variable, learning_rate * velocity)

    w = _var([1.0], "w")
    opt = MomentumSGD(learning_rate=0.1)
    for _ in range(2):
        opt.apply([_g([1.0])], [w])
    np.testing.assert_allclose(w.numpy(), [1.0 - 0.1 - 0.15], rtol=1e-6)
    assert [v.path for v in opt.variables] == [
        "momentum_sgd/iteration", "momentum_sgd/learning_rate", "momentum_sgd/w_velocity"]


def test_subclass_overriding_update_step_of_a_builtin_is_used():
    calls = []

    class Traced(optimizers.Adam):
        def update_step(self, gradient, variable, learning_rate):
            calls.append(variable.name)
            super().update_step(gradient, variable, learning_rate)

    a, b = _var([1.0], "a"), _var([2.0], "b")
    Traced(0.1).apply([_g([1.0]), _g([1.0])], [a, b])
    assert calls == ["a", "b"]
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [0.9, 1.9], rtol=1e-5)



def test_subclass_with_only_a_parallel_update_step_is_stepped_in_one_call():
    calls = []

    class HalfStep(optimizers.Optimizer):
        def _parallel_update_step(self, grads, variables, learning_rate, plan):
            calls.append([v.name for v in variables])
            torch._foreach_add_(variables, grads, alpha=-0.5 * learning_rate)

    a, b = _var([1.0], "a"), _var([2.0], "b")
    opt = HalfStep(1.0)
    opt.apply([_g([1.0]), _g([2.0])], [a, b])
    assert calls == [["a", "b"]]
    with torch.no_grad():  # as inside `apply`
        opt.update_step(_g([1.0]), b, 1.0)  # the base runs it on a one-variable plan
    assert calls[-1] == ["b"]
    np.testing.assert_allclose([a.numpy()[0], b.numpy()[0]], [0.5, 0.5])

# -- learning rate, state, config ---------------------------------------------------------
def test_learning_rate_setter_writes_into_the_variable():
    opt = optimizers.Adam(0.1)
    lr_var = opt.variables[1]
    opt.learning_rate = 0.5
    assert opt.learning_rate is lr_var and float(lr_var) == 0.5


def test_learning_rate_schedule_is_evaluated_at_iterations():
    schedule = optimizers.schedules.ExponentialDecay(1.0, 1, 0.5)
    opt = optimizers.SGD(schedule)
    w = _var([0.0])
    for _ in range(3):
        opt.apply([_g([1.0])], [w])
    np.testing.assert_allclose(w.numpy(), [-(1 + 0.5 + 0.25)], rtol=1e-6)
    assert [v.name for v in opt.variables] == ["iteration"]
    with pytest.raises(TypeError, match="not settable"):
        opt.learning_rate = 0.1


def test_callable_learning_rate_is_called_each_step():
    opt = optimizers.SGD(lambda: 0.25)
    assert _run(opt, grads=[[1.0, 1.0, 1.0]], start=(0.0, 0.0, 0.0)).tolist() == [-0.25] * 3


def test_save_and_load_own_variables_resume_the_trajectory():
    first = optimizers.Adam(0.1)
    w = _var([1.0, 2.0, -3.0])
    for g in GRADS[:2]:
        first.apply([_g(g)], [w])
    store = {}
    first.save_own_variables(store)
    resumed = optimizers.Adam(0.1)
    w2 = _var(w.numpy())
    resumed.build([w2])
    resumed.load_own_variables(store)
    first.apply([_g(GRADS[2])], [w])
    resumed.apply([_g(GRADS[2])], [w2])
    np.testing.assert_array_equal(w.numpy(), w2.numpy())
    assert int(resumed.iterations) == 3


def test_load_own_variables_warns_on_count_mismatch():
    opt = optimizers.Adam()
    opt.build([_var([1.0])])
    with pytest.warns(UserWarning, match="Skipping variable loading for optimizer 'adam'"):
        opt.load_own_variables({"0": np.array(1)})


def test_iterations_is_an_int32_variable_named_like_keras():
    opt = optimizers.SGD(name="sgd")
    assert isinstance(opt.iterations, lamina.Variable)
    assert opt.iterations.dtype == torch.int32 and opt.iterations.path == "sgd/iteration"
    assert not opt.iterations.trainable


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.AdamW,
                                 optimizers.RMSprop])
def test_config_round_trip(cls):
    opt = cls(learning_rate=optimizers.schedules.ExponentialDecay(0.1, 5, 0.9), clipnorm=2.0)
    restored = cls.from_config(opt.get_config())
    assert restored.get_config() == opt.get_config()
    assert isinstance(restored._learning_rate, optimizers.schedules.ExponentialDecay)


def test_get_serialize_deserialize_by_name():
    assert isinstance(optimizers.get("adam"), optimizers.Adam)
    assert isinstance(optimizers.get("RMSprop"), optimizers.RMSprop)
    assert isinstance(optimizers.get("adamw"), optimizers.AdamW)
    sgd = optimizers.SGD(0.3, momentum=0.5)
    assert optimizers.get(sgd) is sgd
    restored = optimizers.deserialize(optimizers.serialize(sgd))
    assert restored.get_config() == sgd.get_config()
    assert optimizers.serialize(sgd)["module"] == "keras.optimizers"


# -- bad input -----------------------------------------------------------------------------
def test_unknown_optimizer_name_lists_close_matches():
    with pytest.raises(ValueError, match=r"'adamm'.*Did you mean: 'adam', 'nadam', 'adamw'"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier: 3"):
        optimizers.get(3)


@pytest.mark.parametrize("cls,kwargs,match", [
    (optimizers.Adam, {"learning_rate": -0.1}, "`learning_rate` must be >= 0"),
    (optimizers.Adam, {"learning_rate": "fast"}, "Argument `learning_rate` should be float"),
    (optimizers.Adam, {"beta_1": 1.0}, r"`beta_1` must be in \[0, 1\)"),
    (optimizers.Adam, {"beta_2": -0.1}, "`beta_2`"),
    (optimizers.Adam, {"epsilon": -1e-7}, "`epsilon`"),
    (optimizers.RMSprop, {"rho": 1.5}, r"`rho` must be in \[0, 1\]"),
    (optimizers.RMSprop, {"momentum": -0.5}, "`momentum`"),
    (optimizers.SGD, {"momentum": 1.5}, r"`momentum` must be a float between \[0, 1\]"),
    (optimizers.SGD, {"weight_decay": -0.1}, "`weight_decay` must be >= 0"),
    (optimizers.SGD, {"clipnorm": -1.0}, "`clipnorm` must be >= 0"),
    (optimizers.SGD, {"clipnorm": 1.0, "clipvalue": 1.0}, "Only one of `clipnorm`"),
    (optimizers.SGD, {"use_ema": True, "ema_momentum": 1.5}, "`ema_momentum` must be in"),
    (optimizers.SGD, {"ema_overwrite_frequency": 2.5}, "`ema_overwrite_frequency`"),
    (optimizers.SGD, {"loss_scale_factor": 0.0}, "`loss_scale_factor` must be > 0"),
    (optimizers.SGD, {"gradient_accumulation_steps": 1},
     "`gradient_accumulation_steps` must be an integer >= 2"),
    (optimizers.AdamW, {"weight_decay": None}, "`weight_decay` must be a float"),
    (optimizers.SGD, {"lr": 0.1}, r"Argument\(s\) not recognized: \{'lr': 0.1\}"),
])
def test_invalid_arguments_raise_value_error(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_negative_learning_rate_assignment_raises():
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="`learning_rate` must be >= 0"):
        opt.learning_rate = -1.0


def test_decay_argument_is_ignored_with_a_warning():
    with pytest.warns(UserWarning, match="`decay` is no longer supported"):
        optimizers.SGD(decay=0.1)


def test_gradient_and_variable_counts_must_match():
    opt = optimizers.SGD()
    with pytest.raises(ValueError, match="one gradient per variable. Received 2 gradients "
                                         "for 1 variables"):
        opt.apply([_g([1.0]), _g([1.0])], [_var([1.0])])


def test_unknown_variable_after_build_raises():
    opt = optimizers.SGD()
    opt.apply([_g([1.0])], [_var([1.0], "a")])
    with pytest.raises(ValueError, match="Unknown variable: 'b'.*originally built with"):
        opt.apply([_g([1.0])], [_var([1.0], "b")])


def test_apply_without_variables_before_build_raises():
    with pytest.raises(ValueError, match="before being built"):
        optimizers.SGD().apply([_g([1.0])])


def test_base_update_step_must_be_implemented():
    with pytest.raises(NotImplementedError, match="Optimizer must implement `update_step"):
        optimizers.Optimizer(0.1).apply([_g([1.0])], [_var([1.0])])


def test_learning_rate_written_between_steps_is_used():
    opt = optimizers.SGD(1.0)
    w = _var([0.0])
    opt.apply([_g([1.0])], [w])
    opt.learning_rate.assign(0.0)  # as a callback would, straight into the Variable
    opt.apply([_g([1.0])], [w])
    opt.learning_rate = 0.5
    opt.apply([_g([1.0])], [w])
    assert w.numpy()[0] == -1.5


@pytest.mark.parametrize("cls,kwargs", [
    (optimizers.SGD, {"momentum": 0.9, "nesterov": True}),
    (optimizers.Adam, {"amsgrad": True, "weight_decay": 0.1}),
    (optimizers.RMSprop, {"momentum": 0.5, "centered": True}),
])
def test_device_scalar_path_matches_host_scalar_path(monkeypatch, cls, kwargs):
    host = _run(cls(0.1, **kwargs))
    # Under torch.compile the learning rate and step stay device tensors.
    monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
    device = _run(cls(0.1, **kwargs))
    np.testing.assert_allclose(device, host, rtol=1e-6)


def test_array_and_list_gradients_take_the_variables_dtype():
    grad = np.array([0.5, -1.0], "float64")
    ours = lamina.Variable(np.ones(2, "float32"))
    optimizers.SGD(0.1).apply_gradients([(grad, ours)])
    expected = np.ones(2, "float32") - np.float32(0.1) * grad.astype("float32")
    assert ours.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-7)
    listed = lamina.Variable(np.ones(2, "float32"))
    optimizers.SGD(0.1).apply([grad.tolist()], [listed])
    np.testing.assert_array_equal(listed.numpy(), ours.numpy())


def test_array_gradients_next_to_a_missing_one_are_converted_and_filtered():
    kept, missing = lamina.Variable(np.ones(2, "float32")), lamina.Variable(np.ones(1, "float32"))
    with pytest.warns(UserWarning, match="Gradients do not exist"):
        optimizers.SGD(1.0).apply([np.array([1.0, 2.0], "float32"), None], [kept, missing])
    assert kept.numpy().tolist() == [0.0, -1.0] and missing.numpy().tolist() == [1.0]


def test_a_bad_gradient_names_the_method_and_what_it_got():
    variable = lamina.Variable(np.ones(2, "float32"))
    with pytest.raises(ValueError, match=r"^SGD\.apply_gradients: .* a ragged nested list"):
        optimizers.SGD(0.1).apply_gradients([([[1.0], [2.0, 3.0]], variable)])
    with pytest.raises(TypeError, match=r"^Adam\.apply: .* Received: .*'abc', a str"):
        optimizers.Adam().apply(["abc"], [variable])
