"""`lamina.distillation` against Keras 3 (torch backend) as the oracle: the same teacher,
student, weights and data give the same loss values, logs and trained student weights;
`.keras` files move both ways; bad arguments raise the error types Keras raises."""

import numpy as np
import pytest
import torch

import lamina
from lamina import distillation as ld

keras = pytest.importorskip("keras")
kd = keras.distillation

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 6)).astype("float32")
Y = RNG.integers(0, 3, 10)
LOGITS = [torch.tensor(RNG.normal(size=(4, 5)).astype("float32")) for _ in range(4)]


def _close(a, b, rtol=1e-5, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"),
                               rtol=rtol, atol=atol)


def _value(x):
    return float(x.detach()) if isinstance(x, torch.Tensor) else float(x)


def _functional(lib, name, hidden, outputs=3, inputs=6, dtype=None):
    i = lib.Input((inputs,))
    x = lib.layers.Dense(hidden, activation="relu", name="hid", dtype=dtype)(i)
    x = lib.layers.Dense(5, name="proj", dtype=dtype)(x)
    return lib.Model(i, lib.layers.Dense(outputs, name="out", dtype=dtype)(x), name=name)


def _sequential(lib, name, hidden):
    return lib.Sequential([lib.Input((6,)), lib.layers.Dense(hidden, activation="relu",
                                                              name="hid"),
                           lib.layers.Dense(5, name="proj"), lib.layers.Dense(3, name="out")],
                          name=name)


def _pair(build, name, hidden):
    """The same model in Keras and in lamina, with Keras' initial weights in both."""
    keras_model, lamina_model = build(keras, name, hidden), build(lamina, name, hidden)
    lamina_model.set_weights(keras_model.get_weights())
    return keras_model, lamina_model


def _distillers(build=_functional, losses=None, **kwargs):
    keras.utils.set_random_seed(0)
    (k_teacher, l_teacher), (k_student, l_student) = _pair(build, "t", 8), _pair(build, "s", 4)
    losses = losses or (lambda m: [m.LogitsDistillation(temperature=2.5),
                                   m.FeatureDistillation(teacher_layer_name="proj",
                                                         student_layer_name="proj")])
    k = kd.Distiller(k_teacher, k_student, losses(kd), **kwargs)
    lam = ld.Distiller(l_teacher, l_student, losses(ld), **kwargs)
    k.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
              metrics=["accuracy"])
    lam.compile(optimizer=lamina.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy",
                metrics=["accuracy"])
    return k, lam


def _assert_logs_equal(keras_logs, lamina_logs):
    assert sorted(keras_logs) == sorted(lamina_logs)
    for key in keras_logs:
        _close(keras_logs[key], lamina_logs[key])


# -- the losses ------------------------------------------------------------------------------

@pytest.mark.parametrize("temperature", [1.0, 3.0, 0.5])
@pytest.mark.parametrize("loss", ["kl_divergence", "categorical_crossentropy", "mse",
                                  "from_logits_instance"])
def test_logits_distillation_matches_keras(temperature, loss):
    def make(module, losses):
        chosen = losses.CategoricalCrossentropy(from_logits=True) if (
            loss == "from_logits_instance") else loss
        return module.LogitsDistillation(temperature=temperature, loss=chosen)

    teacher, student = LOGITS[0], LOGITS[1]
    expected = make(kd, keras.losses).compute_loss(teacher, student)
    got = make(ld, lamina.losses).compute_loss(teacher, student)
    _close(_value(got), _value(expected))


def test_logits_distillation_scales_the_logits_before_the_loss():
    # Keras 3.15 hands loss(teacher / T, student / T) the scaled logits themselves.
    t, s = LOGITS[0].numpy(), LOGITS[1].numpy()
    got = ld.LogitsDistillation(temperature=4.0, loss="mse").compute_loss(LOGITS[0], LOGITS[1])
    _close(_value(got), np.mean((t / 4.0 - s / 4.0) ** 2))


@pytest.mark.parametrize("loss, teacher, student", [
    (["kl_divergence", "mse"], [0, 1], [2, 3]),
    (["kl_divergence", None], [0, 1], [2, 3]),
    ({"x": "kl_divergence", "y": None}, {"x": 0, "y": 1}, {"x": 2, "y": 3}),
    ({"x": "mse", "y": "kl_divergence"}, {"x": 0, "y": 1}, {"x": 2, "y": 3}),
    ("kl_divergence", [0, 1], [2, 3]),  # one loss, two outputs: Keras stacks them
])
def test_structured_logits_losses_match_keras(loss, teacher, student):
    def pick(where):
        if isinstance(where, dict):
            return {k: LOGITS[v] for k, v in where.items()}
        return [LOGITS[v] for v in where]

    expected = kd.LogitsDistillation(2.0, loss).compute_loss(pick(teacher), pick(student))
    got = ld.LogitsDistillation(2.0, loss).compute_loss(pick(teacher), pick(student))
    _close(_value(got), _value(expected))


@pytest.mark.parametrize("loss", ["mse", "mae", "cosine_similarity", ["mse", None, "mae"]])
def test_feature_distillation_matches_keras(loss):
    teacher = LOGITS[:3] if isinstance(loss, list) else LOGITS[0]
    student = LOGITS[1:] if isinstance(loss, list) else LOGITS[1]
    expected = kd.FeatureDistillation(loss=loss).compute_loss(teacher, student)
    got = ld.FeatureDistillation(loss=loss).compute_loss(teacher, student)
    _close(_value(got), _value(expected))


@pytest.mark.parametrize("make", [
    lambda m: m.LogitsDistillation(temperature=5.0, loss="categorical_crossentropy"),
    lambda m: m.LogitsDistillation(loss=["kl_divergence", None]),
    lambda m: m.FeatureDistillation(loss="mae", teacher_layer_name="a",
                                    student_layer_name="b"),
])
def test_loss_configs_are_keras_configs(make):
    assert ld.__name__ == "lamina.distillation"
    assert make(ld).get_config() == make(kd).get_config()
    rebuilt = type(make(ld)).from_config(make(kd).get_config())
    assert rebuilt.get_config() == make(kd).get_config()


def test_custom_distillation_loss_subclass_trains():
    class L1(ld.DistillationLoss):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return lamina.ops.mean(lamina.ops.abs(teacher_outputs - student_outputs))

    distiller = ld.Distiller(_functional(lamina, "t", 8), _functional(lamina, "s", 4), L1(),
                             student_loss_weight=0.0)
    distiller.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    logs = distiller.evaluate(X, Y, verbose=0, return_dict=True)
    teacher = distiller.teacher.predict(X, verbose=0)
    student = distiller.student.predict(X, verbose=0)
    _close(logs["loss"], np.abs(teacher - student).mean())
    assert logs["student_loss"] == 0.0


def test_base_class_compute_loss_is_abstract_as_in_keras():
    with pytest.raises(NotImplementedError):
        kd.DistillationLoss().compute_loss(LOGITS[0], LOGITS[1])
    with pytest.raises(NotImplementedError, match="must implement `compute_loss"):
        ld.DistillationLoss().compute_loss(LOGITS[0], LOGITS[1])


# -- the Distiller ---------------------------------------------------------------------------

@pytest.mark.parametrize("build", [_functional, _sequential])
def test_distiller_losses_logs_and_trained_student_match_keras(build):
    k, lam = _distillers(build, distillation_loss_weights=[0.7, 0.3], student_loss_weight=0.4)
    _assert_logs_equal(k.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True),
                       lam.evaluate(X, Y, batch_size=4, verbose=0, return_dict=True))
    k_history = k.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    l_history = lam.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0).history
    _assert_logs_equal(k_history, l_history)
    for expected, got in zip(k.student.get_weights(), lam.student.get_weights(), strict=True):
        _close(got, expected)
    for expected, got in zip(k.teacher.get_weights(), lam.teacher.get_weights(), strict=True):
        np.testing.assert_array_equal(got, expected)  # frozen
    assert lam.metrics_names == k.metrics_names
    assert [layer.name for layer in lam.layers] == [layer.name for layer in k.layers]


@pytest.mark.parametrize("student_loss_weight", [0.0, 1.0])
def test_distiller_skips_the_part_with_no_weight_as_keras(student_loss_weight):
    k, lam = _distillers(student_loss_weight=student_loss_weight)
    _assert_logs_equal(k.evaluate(X, Y, verbose=0, return_dict=True),
                       lam.evaluate(X, Y, verbose=0, return_dict=True))


def test_distiller_ignores_sample_weights_as_keras():
    k, lam = _distillers()
    weights = np.linspace(0.0, 2.0, len(X))
    _assert_logs_equal(k.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True),
                       lam.evaluate(X, Y, sample_weight=weights, verbose=0, return_dict=True))


def test_distiller_freezes_the_teacher_and_predicts_with_the_student():
    _, lam = _distillers()
    assert not lam.teacher.trainable and lam.student.trainable
    assert {id(w) for w in lam.trainable_weights} == {id(w) for w in lam.student.weights}
    np.testing.assert_array_equal(lam.predict(X, verbose=0), lam.student.predict(X, verbose=0))


def test_a_training_step_runs_the_student_once():
    _, lam = _distillers()
    lam.train_on_batch(X[:4], Y[:4])  # the first call also builds, symbolically
    calls = []
    hook = lam.student.get_layer("out").register_forward_hook(lambda *args: calls.append(1))
    lam.train_on_batch(X[:4], Y[:4])
    hook.remove()
    assert len(calls) == 1


def test_compute_loss_on_outside_predictions_recomputes_the_features():
    _, lam = _distillers()
    logs = lam.evaluate(X, Y, batch_size=len(X), verbose=0, return_dict=True)
    lam(X)  # leaves this call's features behind; compute_loss must not reuse them
    y_pred = lam.student(torch.from_numpy(X))
    total = lam.compute_loss(torch.from_numpy(X), torch.from_numpy(Y), y_pred)
    _close(_value(total), logs["total_loss"])


def test_multi_output_models_distill_each_output():
    # Keras 3.15 cannot fit multi-output Distillers; lamina routes each output.
    def build(name):
        i = lamina.Input((6,))
        h = lamina.layers.Dense(4, name="hid")(i)
        return lamina.Model(i, [lamina.layers.Dense(3)(h), lamina.layers.Dense(2)(h)], name=name)

    distiller = ld.Distiller(build("t"), build("s"), ld.LogitsDistillation(2.0, ["mse", None]),
                             student_loss_weight=0.0)
    distiller.compile(optimizer="sgd", loss=["mse", "mse"])
    logs = distiller.evaluate(X, [np.zeros((10, 3)), np.zeros((10, 2))], batch_size=10,
                              verbose=0, return_dict=True)
    teacher = distiller.teacher.predict(X, verbose=0)[0]
    student = distiller.student.predict(X, verbose=0)[0]
    _close(logs["distillation_loss"], np.mean((teacher / 2 - student / 2) ** 2))


def test_distiller_config_is_keras_config():
    k, lam = _distillers(distillation_loss_weights=[0.7, 0.3], student_loss_weight=0.25)
    keras_config, lamina_config = k.get_config(), lam.get_config()
    assert sorted(lamina_config) == sorted(keras_config)
    for key in ("distillation_losses", "distillation_loss_weights", "student_loss_weight",
                "name", "dtype"):
        assert lamina_config[key] == keras_config[key]
    rebuilt = ld.Distiller.from_config(lamina_config)
    assert rebuilt.get_config()["distillation_losses"] == keras_config["distillation_losses"]
    assert not rebuilt.teacher.trainable


def test_keras_files_move_both_ways(tmp_path):
    k, lam = _distillers()
    k.fit(X, Y, batch_size=5, verbose=0, shuffle=False)
    lam.fit(X, Y, batch_size=5, verbose=0, shuffle=False)

    lam.save(tmp_path / "lamina.keras")
    from_lamina = keras.models.load_model(tmp_path / "lamina.keras")  # Keras: not compiled
    assert type(from_lamina) is kd.Distiller
    _close(from_lamina.predict(X, verbose=0), lam.predict(X, verbose=0))

    k.save(tmp_path / "keras.keras")
    with pytest.warns(UserWarning, match="without its training configuration"):
        from_keras = lamina.models.load_model(tmp_path / "keras.keras")
    assert type(from_keras) is ld.Distiller and not from_keras.compiled
    _close(from_keras.predict(X, verbose=0), k.predict(X, verbose=0))
    assert from_keras.get_config()["distillation_losses"] == k.get_config()[
        "distillation_losses"]

    # A lamina file also keeps the student loss: it reloads compiled and trains on.
    again = lamina.models.load_model(tmp_path / "lamina.keras")
    assert again.compiled
    _assert_logs_equal(lam.evaluate(X, Y, verbose=0, return_dict=True),
                       again.evaluate(X, Y, verbose=0, return_dict=True))
    again.fit(X, Y, batch_size=5, verbose=0, shuffle=False)
    lam.fit(X, Y, batch_size=5, verbose=0, shuffle=False)
    for expected, got in zip(lam.student.get_weights(), again.student.get_weights(),
                             strict=True):
        _close(got, expected)


# -- bad input: the error types Keras raises, with messages that say what to fix -------------

def _both(make):
    """Run `make(module)` in Keras and lamina; return (Keras' error, lamina's error)."""
    errors = []
    for module in (kd, ld):
        lib = keras if module is kd else lamina
        with pytest.raises(Exception) as info:
            make(module, lib)
        errors.append(info.value)
    return errors


def _teacher_student(lib, **student):
    return _functional(lib, "t", 8), _functional(lib, "s", 4, **student)


BAD_DISTILLERS = {
    "teacher is not a model": (
        lambda m, lib: m.Distiller("teacher", _functional(lib, "s", 4), m.LogitsDistillation()),
        "`teacher` must be a lamina.Model"),
    "student is a layer": (
        lambda m, lib: m.Distiller(_functional(lib, "t", 4), lib.layers.Dense(3),
                                   m.LogitsDistillation()),
        "`student` must be a lamina.Model"),
    "no distillation loss": (
        lambda m, lib: m.Distiller(*_teacher_student(lib), None),
        "cannot be None"),
    "weights of another length": (
        lambda m, lib: m.Distiller(*_teacher_student(lib), [m.LogitsDistillation()],
                                   distillation_loss_weights=[1.0, 2.0]),
        "has 2 entries but there are 1"),
    "student loss weight above 1": (
        lambda m, lib: m.Distiller(*_teacher_student(lib), m.LogitsDistillation(),
                                   student_loss_weight=1.5),
        "between 0.0 and 1.0"),
    "student loss weight not a number": (
        lambda m, lib: m.Distiller(*_teacher_student(lib), m.LogitsDistillation(),
                                   student_loss_weight="half"),
        "must be a number"),
    "unknown teacher layer": (
        lambda m, lib: m.Distiller(*_teacher_student(lib),
                                   m.FeatureDistillation(teacher_layer_name="nope")),
        r"In teacher model 't': No such layer: nope. Existing layers are"),
    "unknown student layer": (
        lambda m, lib: m.Distiller(*_teacher_student(lib),
                                   m.FeatureDistillation(student_layer_name="nope")),
        r"In student model 's': No such layer: nope"),
    "layer name not a string": (
        lambda m, lib: m.Distiller(*_teacher_student(lib),
                                   m.FeatureDistillation(teacher_layer_name=3)),
        "must be a layer name"),
    "output shapes differ": (
        lambda m, lib: m.Distiller(*_teacher_student(lib, outputs=5), m.LogitsDistillation()),
        r"output shapes are incompatible. Teacher: \(None, 3\), Student: \(None, 5\)"),
    "input shapes differ": (
        lambda m, lib: m.Distiller(*_teacher_student(lib, inputs=7), m.LogitsDistillation()),
        r"input shapes are incompatible. Teacher: \(None, 6\), Student: \(None, 7\)"),
    "output dtypes differ": (
        lambda m, lib: m.Distiller(*_teacher_student(lib, dtype="float16"),
                                   m.LogitsDistillation()),
        "output dtypes must match. Teacher: float32, Student: float16"),
    "temperature zero": (
        lambda m, lib: m.LogitsDistillation(temperature=0), "must be positive"),
    "temperature a string": (
        lambda m, lib: m.LogitsDistillation(temperature="hot"), "must be a positive number"),
    "every loss None": (
        lambda m, lib: m.LogitsDistillation(loss=[None, None]), "at least one loss"),
    "feature loss None": (
        lambda m, lib: m.FeatureDistillation(loss=None), "at least one loss"),
    "unknown loss name": (
        lambda m, lib: m.FeatureDistillation(loss="nope"), "nope"),
}


@pytest.mark.parametrize("case", sorted(BAD_DISTILLERS))
def test_bad_arguments_raise_keras_error_types(case):
    make, message = BAD_DISTILLERS[case]
    keras_error, lamina_error = _both(make)
    assert type(lamina_error) is type(keras_error) is ValueError
    assert pytest.raises(ValueError, make, ld, lamina).match(message)


def test_feature_layers_of_a_subclassed_model_are_refused_as_in_keras():
    def make(m, lib):
        class Sub(lib.Model):
            def __init__(self):
                super().__init__()
                self.hid = lib.layers.Dense(3, name="hid")

            def call(self, x):
                return self.hid(x)

        sub = Sub()
        sub(np.ones((2, 6), "float32"))
        return m.Distiller(sub, _functional(lib, "s", 4),
                           m.FeatureDistillation(teacher_layer_name="hid"))

    keras_error, lamina_error = _both(make)
    assert type(lamina_error) is type(keras_error) is ValueError
    assert "no symbolic inputs" in str(lamina_error)
    assert "teacher_layer_name=None" in str(lamina_error)


def test_compile_without_a_student_loss_is_refused_as_in_keras():
    k, lam = _distillers()
    with pytest.raises(ValueError):
        k.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="`loss` .* cannot be None.*student_loss_weight"):
        lam.compile(optimizer="sgd")


def test_mismatched_output_structures_are_refused():
    with pytest.raises(ValueError):
        kd.LogitsDistillation().validate_outputs([LOGITS[0]], LOGITS[1])
    with pytest.raises(ValueError, match="must have the same structure"):
        ld.LogitsDistillation().validate_outputs([LOGITS[0]], LOGITS[1])
    with pytest.raises(ValueError, match="`loss` structure"):
        ld.LogitsDistillation(loss=["mse", "mse"]).compute_loss(LOGITS[0], LOGITS[1])


def test_lamina_refuses_early_what_keras_fails_on_later():
    # Keras accepts these and fails with AttributeError/TypeError at the first step.
    teacher, student = _teacher_student(lamina)
    with pytest.raises(TypeError, match="must hold lamina.distillation.DistillationLoss"):
        ld.Distiller(teacher, student, "kl_divergence")
    with pytest.raises(TypeError, match=r"\(entry 1\)"):
        ld.Distiller(teacher, student, [ld.LogitsDistillation(), "mse"])
    with pytest.raises(TypeError, match="each entry of `loss`"):
        ld.LogitsDistillation(loss=3)
    with pytest.raises(TypeError, match="must be a list of numbers"):
        ld.Distiller(teacher, student, ld.LogitsDistillation(), distillation_loss_weights=0.5)
