"""keras.io guide "Customizing Saving and Serialization" (Keras 3 edition), as a function.

The guide's code runs inside `run(keras, workdir)` against lamina or Keras 3.
Changes: files are written under `workdir`; the classes are defined inside `run` so
each library registers its own; lines marked `# fact` only record what the guide
shows. The guide's random data (`np.random.random`) is kept, from a fixed seed.
"""

import functools
import io
import os
import zipfile

import h5py
import numpy as np
from guide_support import numpy_of


def run(keras, workdir):
    """Each section of the guide on its own: its facts, or the error it raised."""
    facts = {}
    np.random.seed(0)
    for section in (custom_variables, custom_assets, custom_build, custom_compile):
        facts[section.__name__] = found = {}
        try:
            section(keras, workdir, found)
        except Exception as error:  # the test names the section and the error
            found.update(raised=type(error).__name__, message=str(error))
    return facts


def _saved_variables(path, layer_name):
    """{key: shape} of one layer's entries in the weights file inside a `.keras` archive."""
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as raw:
        with h5py.File(io.BytesIO(raw.read()), "r") as weights:
            group = weights[f"layers/{layer_name}/vars"]
            return {key: tuple(group[key].shape) for key in group}


def _path(workdir, name):
    return os.path.join(workdir, name)


def custom_variables(keras, workdir, facts):
    """### `save_own_variables()` and `load_own_variables()`"""
    path = functools.partial(_path, workdir)

    @keras.utils.register_keras_serializable(package="my_custom_package")
    class LayerWithCustomVariable(keras.layers.Dense):
        def __init__(self, units, **kwargs):
            super().__init__(units, **kwargs)
            self.my_variable = keras.Variable(
                np.random.random((units,)), name="my_variable", dtype="float32"
            )

        def save_own_variables(self, store):
            super().save_own_variables(store)
            # Stores the value of the variable upon saving
            store["variables"] = self.my_variable.numpy()

        def load_own_variables(self, store):
            # Assigns the value of the variable upon loading
            self.my_variable.assign(store["variables"])
            # Load the remaining weights
            for i, v in enumerate(self.weights):
                v.assign(store[f"{i}"])
            # Note: You must specify how all variables (including layer weights)
            # are loaded in `load_own_variables.`

        def call(self, inputs):
            dense_out = super().call(inputs)
            return dense_out + self.my_variable

    model = keras.Sequential([LayerWithCustomVariable(1)])

    ref_input = np.random.random((8, 10))
    ref_output = np.random.random((8, 10))
    model.compile(optimizer="adam", loss="mean_squared_error")
    model.fit(ref_input, ref_output)

    model.save(path("custom_vars_model.keras"))
    facts["saved_variables"] = _saved_variables(  # fact: the layout Keras reads
        path("custom_vars_model.keras"), model.layers[0].name)
    restored_model = keras.models.load_model(path("custom_vars_model.keras"))

    np.testing.assert_allclose(
        model.layers[0].my_variable.numpy(),
        restored_model.layers[0].my_variable.numpy(),
    )
    facts["weights"] = [v.name for v in model.layers[0].weights]  # fact
    facts["restored_outputs_equal"] = np.allclose(  # fact
        numpy_of(model.predict(ref_input, verbose=0)),
        numpy_of(restored_model.predict(ref_input, verbose=0)))


def custom_assets(keras, workdir, facts):
    """### `save_assets()` and `load_assets()`"""
    path = functools.partial(_path, workdir)

    @keras.saving.register_keras_serializable(package="my_custom_package")
    class LayerWithCustomAssets(keras.layers.Dense):
        def __init__(self, vocab=None, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.vocab = vocab

        def save_assets(self, inner_path):
            # Writes the vocab (sentence) to text file at save time.
            with open(os.path.join(inner_path, "vocabulary.txt"), "w") as f:
                f.write(self.vocab)

        def load_assets(self, inner_path):
            # Reads the vocab (sentence) from text file at load time.
            with open(os.path.join(inner_path, "vocabulary.txt")) as f:
                text = f.read()
            self.vocab = text.replace("<unk>", "little")

    model = keras.Sequential(
        [LayerWithCustomAssets(vocab="Mary had a <unk> lamb.", units=5)]
    )

    x = np.random.random((10, 10))
    y = model(x)

    model.save(path("custom_assets_model.keras"))
    restored_model = keras.models.load_model(path("custom_assets_model.keras"))

    np.testing.assert_string_equal(
        restored_model.layers[0].vocab, "Mary had a little lamb."
    )
    facts["vocab"] = restored_model.layers[0].vocab  # fact
    facts["outputs_equal"] = np.allclose(  # fact
        numpy_of(y), numpy_of(restored_model(x)))


def custom_build(keras, workdir, facts):
    """### `get_build_config()` and `build_from_config()`"""
    path = functools.partial(_path, workdir)

    @keras.saving.register_keras_serializable(package="my_custom_package")
    class LayerWithCustomBuild(keras.layers.Layer):
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def call(self, inputs):
            return keras.ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return dict(units=self.units, **super().get_config())

        def build(self, input_shape, layer_init):
            # Note the overriding of `build()` to add an extra argument.
            # Therefore, we will need to manually call build with `layer_init` argument
            # before the first execution of `call()`.
            super().build(input_shape)
            self._input_shape = input_shape
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer=layer_init,
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,),
                initializer=layer_init,
                trainable=True,
            )
            self.layer_init = layer_init

        def get_build_config(self):
            build_config = {
                "layer_init": self.layer_init,
                "input_shape": self._input_shape,
            }  # Stores our initializer for `build()`
            return build_config

        def build_from_config(self, config):
            # Calls `build()` with the parameters at loading time
            self.build(config["input_shape"], config["layer_init"])

    custom_layer = LayerWithCustomBuild(units=16)
    custom_layer.build(input_shape=(8,), layer_init="random_normal")

    model = keras.Sequential(
        [
            custom_layer,
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )

    x = np.random.random((16, 8))
    y = model(x)

    model.save(path("custom_build_model.keras"))
    restored_model = keras.models.load_model(path("custom_build_model.keras"))

    np.testing.assert_equal(restored_model.layers[0].layer_init, "random_normal")
    np.testing.assert_equal(restored_model.built, True)
    facts.update({  # fact
        "layer_init": restored_model.layers[0].layer_init,
        "built": restored_model.built,
        "output_shape": tuple(y.shape),
        "outputs_equal": np.allclose(numpy_of(y), numpy_of(restored_model(x)), atol=1e-6),
    })


def custom_compile(keras, workdir, facts):
    """### `get_compile_config()` and `compile_from_config()`"""
    path = functools.partial(_path, workdir)

    @keras.saving.register_keras_serializable(package="my_custom_package")
    def small_square_sum_loss(y_true, y_pred):
        loss = keras.ops.square(y_pred - y_true)
        loss = loss / 10.0
        loss = keras.ops.sum(loss, axis=1)
        return loss

    @keras.saving.register_keras_serializable(package="my_custom_package")
    def mean_pred(y_true, y_pred):
        return keras.ops.mean(y_pred)

    @keras.saving.register_keras_serializable(package="my_custom_package")
    class ModelWithCustomCompile(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense1 = keras.layers.Dense(8, activation="relu")
            self.dense2 = keras.layers.Dense(4, activation="softmax")

        def call(self, inputs):
            x = self.dense1(inputs)
            return self.dense2(x)

        def compile(self, optimizer, loss_fn, metrics):
            super().compile(optimizer=optimizer, loss=loss_fn, metrics=metrics)
            self.model_optimizer = optimizer
            self.loss_fn = loss_fn
            self.loss_metrics = metrics

        def get_compile_config(self):
            # These parameters will be serialized at saving time.
            return {
                "model_optimizer": self.model_optimizer,
                "loss_fn": self.loss_fn,
                "metric": self.loss_metrics,
            }

        def compile_from_config(self, config):
            # Deserializes the compile parameters (important, since many are custom)
            optimizer = keras.utils.deserialize_keras_object(config["model_optimizer"])
            loss_fn = keras.utils.deserialize_keras_object(config["loss_fn"])
            metrics = keras.utils.deserialize_keras_object(config["metric"])

            # Calls compile with the deserialized parameters
            self.compile(optimizer=optimizer, loss_fn=loss_fn, metrics=metrics)

    model = ModelWithCustomCompile()
    model.compile(
        optimizer="SGD", loss_fn=small_square_sum_loss, metrics=["accuracy", mean_pred]
    )

    x = np.random.random((4, 8))
    y = np.random.random((4,))

    model.fit(x, y)
    facts["compile_history_keys"] = sorted(model.history.history)  # fact

    model.save(path("custom_compile_model.keras"))
    restored_model = keras.models.load_model(path("custom_compile_model.keras"))

    np.testing.assert_equal(model.model_optimizer, restored_model.model_optimizer)
    np.testing.assert_equal(model.loss_fn, restored_model.loss_fn)
    np.testing.assert_equal(model.loss_metrics, restored_model.loss_metrics)
    facts["restored"] = {  # fact
        "model_optimizer": restored_model.model_optimizer,
        "loss_fn": restored_model.loss_fn.__name__,
        "metrics": [m if isinstance(m, str) else m.__name__
                    for m in restored_model.loss_metrics],
        "optimizer_class": type(restored_model.optimizer).__name__,
        "outputs_equal": np.allclose(
            numpy_of(model.predict(x, verbose=0)),
            numpy_of(restored_model.predict(x, verbose=0)), atol=1e-6),
    }
