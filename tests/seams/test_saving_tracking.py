"""Seam: saving and layer tracking.

A `.keras` file holds what tracking finds: sublayers kept in lists and dicts,
extra Variables, non-trainable state and the optimizer's variables. A file
written by one library must load in the other with equal outputs, and a
resumed training run must follow the uninterrupted one.
"""

import functools

import numpy as np
import pytest
from seam_support import assert_same, fresh, keras_module, run_both, to_numpy, twin_models

import lamina

RNG = np.random.default_rng(3)
X = RNG.normal(size=(16, 4)).astype("float32")
Y = RNG.normal(size=(16, 2)).astype("float32")


@functools.cache
def custom_classes(api):
    """A registered layer and model whose state lives in lists, dicts and Variables.

    Defined once per library: Keras refuses to register a name twice.
    """

    @api.saving.register_keras_serializable(package="seams")
    class Block(api.layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.stack = [api.layers.Dense(units, activation="relu")]
            self.stack.append(api.layers.BatchNormalization(momentum=0.5))  # tracked too
            self.stack += [api.layers.Dense(units)]
            self.heads = {"mean": api.layers.Dense(2), "scale": api.layers.Dense(2)}

        def build(self, input_shape):
            shape = input_shape
            for layer in self.stack:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
            for layer in self.heads.values():
                layer.build(shape)
            self.gain = self.add_weight(shape=(self.units,), initializer="ones", name="gain")
            self.offset = api.Variable(np.zeros(self.units, "float32") + 0.25,
                                       trainable=False, name="offset")

        def call(self, x, training=None):
            for layer in self.stack:
                x = layer(x, training=training)
            x = x * self.gain + self.offset
            return self.heads["mean"](x) * api.ops.sigmoid(self.heads["scale"](x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @api.saving.register_keras_serializable(package="seams")
    class Stacked(api.Model):
        def __init__(self, widths=(5, 3), **kwargs):
            super().__init__(**kwargs)
            self.widths = list(widths)
            self.blocks = [Block(w) for w in self.widths]
            self.out = api.layers.Dense(2)

        def build(self, input_shape):
            shape = input_shape
            for block in self.blocks:
                block.build(shape)
                shape = (*shape[:-1], 2)
            self.out.build(shape)

        def call(self, x, training=None):
            for block in self.blocks:
                x = block(x, training=training)
            return self.out(x)

        def get_config(self):
            return {"widths": self.widths, "name": self.name}

    @api.saving.register_keras_serializable(package="seams")
    class LateState(api.layers.Layer):
        """Creates a sublayer and Variables held in a dict and a list inside `build`."""

        def build(self, input_shape):
            self.proj = api.layers.Dense(3)
            self.proj.build(input_shape)
            self.table = {"scale": self.add_weight(shape=(3,), initializer="ones",
                                                   name="scale"),
                          "shift": api.Variable(np.full(3, 0.5, "float32"), name="shift")}
            self.extras = [api.Variable(np.full(3, 2.0, "float32"), trainable=False,
                                        name="extra")]

        def call(self, x):
            return self.proj(x) * self.table["scale"] + self.table["shift"] + self.extras[0]

    return {"Block": Block, "Stacked": Stacked, "LateState": LateState}


def functional_with_block(api):
    block = custom_classes(api)["Block"]
    inputs = api.Input((4,))
    return api.Model(inputs, api.layers.Dense(2)(block(6)(inputs)))


def subclassed_model(api):
    model = custom_classes(api)["Stacked"]()
    model(X[:2])
    return model


def _compile(api, model):
    model.compile(optimizer=api.optimizers.Adam(0.02), loss="mse", metrics=["mae"])


def _fit(model, epochs, initial_epoch=0):
    return model.fit(X, Y, batch_size=4, epochs=epochs, initial_epoch=initial_epoch,
                     shuffle=False, verbose=0).history


BUILDS = {"functional": functional_with_block, "subclassed": subclassed_model}


@pytest.mark.parametrize("build", sorted(BUILDS))
def test_tracked_weights_line_up_with_keras(build):
    def program(api, model):
        return {"paths": sorted(w.path.split("/", 1)[-1] for w in model.weights),
                "counts": [len(model.trainable_weights), len(model.non_trainable_weights)],
                "predict": model.predict(X, verbose=0)}

    mine, theirs = run_both(BUILDS[build], program)
    assert_same(mine, theirs, rtol=1e-5)


@pytest.mark.parametrize("build", sorted(BUILDS))
@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_keras_file_moves_between_libraries_with_equal_outputs(build, writer, tmp_path):
    keras = keras_module()
    lmodel, kmodel = twin_models(BUILDS[build])
    for api, model in ((lamina, lmodel), (keras, kmodel)):
        _compile(api, model)
        _fit(model, 1)  # moves the BatchNormalization statistics and the optimizer
    source, reader = (lmodel, keras) if writer == "lamina" else (kmodel, lamina)
    path = str(tmp_path / "model.keras")
    source.save(path)
    loaded = reader.saving.load_model(path)
    assert type(loaded).__name__ == type(source).__name__
    assert_same(loaded.predict(X, verbose=0), source.predict(X, verbose=0), rtol=1e-5)
    assert_same(loaded.get_weights(), source.get_weights())
    assert_same([to_numpy(v) for v in loaded.optimizer.variables],
                [to_numpy(v) for v in source.optimizer.variables])


@pytest.mark.parametrize("resume_in", ["lamina", "keras"])
def test_resumed_training_matches_uninterrupted_training(resume_in, tmp_path):
    """lamina trains one epoch and saves; the file resumes for a second epoch in
    `resume_in`; an uninterrupted two-epoch run gives the same weights."""
    keras = keras_module()
    fresh(lamina)
    model = functional_with_block(lamina)
    initial = model.get_weights()
    _compile(lamina, model)
    _fit(model, 1)
    path = str(tmp_path / "half.keras")
    model.save(path)

    api = lamina if resume_in == "lamina" else keras
    resumed = api.saving.load_model(path)
    _fit(resumed, 2, initial_epoch=1)

    fresh(lamina)
    straight = functional_with_block(lamina)
    straight.set_weights(initial)
    _compile(lamina, straight)
    _fit(straight, 2)
    assert_same(resumed.get_weights(), straight.get_weights(), rtol=1e-4, atol=1e-5)
    assert int(to_numpy(resumed.optimizer.iterations)) == 8


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_weights_file_fills_a_fresh_model_in_the_other_library(writer, tmp_path):
    keras = keras_module()
    lmodel, kmodel = twin_models(subclassed_model)
    for api, model in ((lamina, lmodel), (keras, kmodel)):
        _compile(api, model)
        _fit(model, 1)
    source, reader = (lmodel, keras) if writer == "lamina" else (kmodel, lamina)
    path = str(tmp_path / "model.weights.h5")
    source.save_weights(path)
    fresh(reader)
    target = subclassed_model(reader)
    target.load_weights(path)
    assert_same(target.get_weights(), source.get_weights())
    assert_same(target.predict(X, verbose=0), source.predict(X, verbose=0), rtol=1e-5)


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_frozen_flags_and_compiled_metrics_survive_the_file(writer, tmp_path):
    def build(api):
        inputs = api.Input((4,))
        h = api.layers.Dense(4, trainable=False, name="frozen")(inputs)
        h = api.layers.BatchNormalization(name="bn")(h)
        return api.Model(inputs, api.layers.Dense(2, name="head")(h))

    keras = keras_module()
    lmodel, kmodel = twin_models(build)
    for api, model in ((lamina, lmodel), (keras, kmodel)):
        model.get_layer("bn").trainable = False
        model.compile(optimizer=api.optimizers.Adam(0.01), loss="mse",
                      metrics=["mae", api.metrics.RootMeanSquaredError(name="rmse")],
                      weighted_metrics=["mse"])
        _fit(model, 1)
    source, reader = (lmodel, keras) if writer == "lamina" else (kmodel, lamina)
    path = str(tmp_path / "frozen.keras")
    source.save(path)
    loaded = reader.saving.load_model(path)
    assert [layer.trainable for layer in loaded.layers] == [
        layer.trainable for layer in source.layers]
    assert [len(loaded.trainable_weights), len(loaded.non_trainable_weights)] == [
        len(source.trainable_weights), len(source.non_trainable_weights)]
    assert_same(loaded.evaluate(X, Y, verbose=0, return_dict=True),
                source.evaluate(X, Y, verbose=0, return_dict=True), rtol=1e-5)
    _fit(loaded, 1)
    _fit(source, 1)
    assert_same(loaded.get_weights(), source.get_weights(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_state_created_in_build_and_ema_optimizer_state_move_between_libraries(
        writer, tmp_path):
    def build(api):
        inputs = api.Input((4,))
        late = custom_classes(api)["LateState"]()
        return api.Model(inputs, api.layers.Dense(2)(late(inputs)))

    keras = keras_module()
    lmodel, kmodel = twin_models(build)
    assert [w.path for w in lmodel.weights] == [w.path for w in kmodel.weights]
    for api, model in ((lamina, lmodel), (keras, kmodel)):
        model.compile(optimizer=api.optimizers.Adam(0.01, use_ema=True,
                                                    gradient_accumulation_steps=2),
                      loss="mse")
        _fit(model, 1)
    assert_same(lmodel.get_weights(), kmodel.get_weights(), rtol=1e-4, atol=1e-5)
    source, reader = (lmodel, keras) if writer == "lamina" else (kmodel, lamina)
    path = str(tmp_path / "late.keras")
    source.save(path)
    loaded = reader.saving.load_model(path)
    assert_same([to_numpy(v) for v in loaded.optimizer.variables],
                [to_numpy(v) for v in source.optimizer.variables])
    _fit(loaded, 1)
    _fit(source, 1)
    assert_same(loaded.get_weights(), source.get_weights(), rtol=1e-4, atol=1e-5)
