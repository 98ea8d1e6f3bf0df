"""keras.io guide "Save, serialize, and export models" (Keras 3 edition), as a function.

The guide's code runs inside `run(keras, workdir)` against lamina or Keras 3.
Changes: files are written under `workdir`; the classes are defined inside `run` so
each library registers its own; lines marked `# fact` only record what the guide
shows. The guide's random data (`np.random.random`) is kept, from a fixed seed.
"""

import os

import numpy as np
from guide_support import numpy_of


def run(keras, workdir):
    ops = keras.ops
    facts = {}
    np.random.seed(0)

    def path(name):
        return os.path.join(workdir, name)

    # ## Saving
    def get_model():
        # Create a simple model.
        inputs = keras.Input(shape=(32,))
        outputs = keras.layers.Dense(1)(inputs)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.Adam(), loss="mean_squared_error")
        return model

    model = get_model()

    # Train the model.
    test_input = np.random.random((128, 32))
    test_target = np.random.random((128, 1))
    model.fit(test_input, test_target)

    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save(path("my_model.keras"))

    # It can be used to reconstruct the model identically.
    reconstructed_model = keras.models.load_model(path("my_model.keras"))

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )
    facts["reloaded_optimizer_iterations"] = (  # fact
        int(numpy_of(model.optimizer.iterations)),
        int(numpy_of(reconstructed_model.optimizer.iterations)),
    )
    facts["reloaded_optimizer_variables_equal"] = all(  # fact
        np.array_equal(numpy_of(a), numpy_of(b))
        for a, b in zip(model.optimizer.variables, reconstructed_model.optimizer.variables)
    ) and len(model.optimizer.variables) == len(reconstructed_model.optimizer.variables)

    # #### Registering custom objects (**preferred**)

    # Clear all previously registered custom objects
    keras.saving.get_custom_objects().clear()

    # Upon registration, you can optionally specify a package or a name.
    # If left blank, the package defaults to `Custom` and the name defaults to
    # the class name.
    @keras.saving.register_keras_serializable(package="MyLayers")
    class CustomLayer(keras.layers.Layer):
        def __init__(self, factor):
            super().__init__()
            self.factor = factor

        def call(self, x):
            return x * self.factor

        def get_config(self):
            return {"factor": self.factor}

    @keras.saving.register_keras_serializable(package="my_package", name="custom_fn")
    def custom_fn(x):
        return x**2

    # Create the model.
    def get_model():
        inputs = keras.Input(shape=(4,))
        mid = CustomLayer(0.5)(inputs)
        outputs = keras.layers.Dense(1, activation=custom_fn)(mid)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        return model

    # Train the model.
    def train_model(model):
        input = np.random.random((4, 4))
        target = np.random.random((4, 1))
        model.fit(input, target)
        return model

    test_input = np.random.random((4, 4))
    test_target = np.random.random((4, 1))

    model = get_model()
    model = train_model(model)
    model.save(path("custom_model.keras"))

    # Now, we can simply load without worrying about our custom objects.
    reconstructed_model = keras.models.load_model(path("custom_model.keras"))

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )
    facts["registered_names"] = sorted(keras.saving.get_custom_objects())  # fact

    # #### Passing custom objects to `load_model()`
    model = get_model()
    model = train_model(model)

    # Calling `save('my_model.keras')` creates a zip archive `my_model.keras`.
    model.save(path("custom_model.keras"))

    # Upon loading, pass a dict containing the custom objects used in the
    # `custom_objects` argument of `keras.models.load_model()`.
    reconstructed_model = keras.models.load_model(
        path("custom_model.keras"),
        custom_objects={"CustomLayer": CustomLayer, "custom_fn": custom_fn},
    )

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # #### Using a custom object scope
    model = get_model()
    model = train_model(model)
    model.save(path("custom_model.keras"))

    # Pass the custom objects dictionary to a custom object scope and place
    # the `keras.models.load_model()` call within the scope.
    custom_objects = {"CustomLayer": CustomLayer, "custom_fn": custom_fn}

    with keras.saving.custom_object_scope(custom_objects):
        reconstructed_model = keras.models.load_model(path("custom_model.keras"))

    # Let's check:
    np.testing.assert_allclose(
        model.predict(test_input), reconstructed_model.predict(test_input)
    )

    # #### In-memory model cloning
    new_model = keras.models.clone_model(model)
    facts["clone"] = {  # fact
        "layer_classes": [type(layer).__name__ for layer in new_model.layers],
        "same_weights": all(
            np.array_equal(numpy_of(a), numpy_of(b))
            for a, b in zip(model.weights, new_model.weights)),
        "compiled": getattr(new_model, "optimizer", None) is not None,
    }

    # #### `get_config()` and `from_config()`
    layer = keras.layers.Dense(3, activation="relu")
    layer_config = layer.get_config()
    print(layer_config)
    facts["dense_config"] = layer_config  # fact

    new_layer = keras.layers.Dense.from_config(layer_config)
    facts["dense_from_config"] = new_layer.get_config()  # fact

    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    config = model.get_config()
    new_model = keras.Sequential.from_config(config)
    facts["sequential_from_config"] = (  # fact
        [type(layer).__name__ for layer in new_model.layers], new_model.output_shape)

    inputs = keras.Input((32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.Model(inputs, outputs)
    config = model.get_config()
    new_model = keras.Model.from_config(config)
    facts["functional_from_config"] = (  # fact
        [type(layer).__name__ for layer in new_model.layers], new_model.output_shape)

    # #### `to_json()` and `keras.models.model_from_json()`
    model = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1)])
    json_config = model.to_json()
    new_model = keras.models.model_from_json(json_config)
    facts["json_roundtrip"] = (  # fact
        [type(layer).__name__ for layer in new_model.layers], new_model.output_shape)

    # #### Arbitrary object serialization and deserialization
    my_reg = keras.regularizers.L1(0.005)
    config = keras.saving.serialize_keras_object(my_reg)
    print(config)
    facts["regularizer_config"] = config  # fact

    new_reg = keras.saving.deserialize_keras_object(config)
    facts["regularizer_roundtrip"] = (type(new_reg).__name__, new_reg.get_config())  # fact

    # ***Transfering weights from one layer to another, in memory***
    def create_layer():
        layer = keras.layers.Dense(64, activation="relu", name="dense_2")
        layer.build((None, 784))
        return layer

    layer_1 = create_layer()
    layer_2 = create_layer()

    # Copy weights from layer 1 to layer 2
    layer_2.set_weights(layer_1.get_weights())
    facts["layer_weights_copied"] = all(  # fact
        np.array_equal(a, b) for a, b in zip(layer_1.get_weights(), layer_2.get_weights()))

    # ***Transfering weights from one model to another model with a compatible
    # architecture, in memory***

    # Create a simple functional model
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    # Define a subclassed model with the same architecture
    class SubclassedModel(keras.Model):
        def __init__(self, output_dim, name=None):
            super().__init__(name=name)
            self.output_dim = output_dim
            self.dense_1 = keras.layers.Dense(64, activation="relu", name="dense_1")
            self.dense_2 = keras.layers.Dense(64, activation="relu", name="dense_2")
            self.dense_3 = keras.layers.Dense(output_dim, name="predictions")

        def call(self, inputs):
            x = self.dense_1(inputs)
            x = self.dense_2(x)
            x = self.dense_3(x)
            return x

        def get_config(self):
            return {"output_dim": self.output_dim, "name": self.name}

    subclassed_model = SubclassedModel(10)
    # Call the subclassed model once to create the weights.
    subclassed_model(np.ones((1, 784)))

    # Copy weights from functional_model to subclassed_model.
    subclassed_model.set_weights(functional_model.get_weights())

    assert len(functional_model.weights) == len(subclassed_model.weights)
    for a, b in zip(functional_model.weights, subclassed_model.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy())
    probe = np.random.random((2, 784)).astype("float32")
    facts["subclassed_matches_functional"] = np.allclose(  # fact
        numpy_of(functional_model(probe)), numpy_of(subclassed_model(probe)), atol=1e-6)

    # ***The case of stateless layers***
    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model = keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    inputs = keras.Input(shape=(784,), name="digits")
    x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
    x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)

    # Add a dropout layer, which does not contain any weights.
    x = keras.layers.Dropout(0.5)(x)
    outputs = keras.layers.Dense(10, name="predictions")(x)
    functional_model_with_dropout = keras.Model(
        inputs=inputs, outputs=outputs, name="3_layer_mlp"
    )

    functional_model_with_dropout.set_weights(functional_model.get_weights())
    facts["dropout_model_matches"] = np.allclose(  # fact: Dropout is off at inference
        numpy_of(functional_model(probe)), numpy_of(functional_model_with_dropout(probe)),
        atol=1e-6)

    # #### APIs for saving weights to disk & loading them back

    # Runnable example
    sequential_model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="digits"),
            keras.layers.Dense(64, activation="relu", name="dense_1"),
            keras.layers.Dense(64, activation="relu", name="dense_2"),
            keras.layers.Dense(10, name="predictions"),
        ]
    )
    sequential_model.save_weights(path("my_model.weights.h5"))
    before = numpy_of(sequential_model(probe))
    for variable in sequential_model.weights:  # fact: loading must undo this
        variable.assign(np.zeros(variable.shape))
    sequential_model.load_weights(path("my_model.weights.h5"))
    facts["weights_file_roundtrip"] = np.array_equal(  # fact
        before, numpy_of(sequential_model(probe)))

    class NestedDenseLayer(keras.layers.Layer):
        def __init__(self, units, name=None):
            super().__init__(name=name)
            self.dense_1 = keras.layers.Dense(units, name="dense_1")
            self.dense_2 = keras.layers.Dense(units, name="dense_2")

        def call(self, inputs):
            return self.dense_2(self.dense_1(inputs))

    nested_model = keras.Sequential([keras.Input((784,)), NestedDenseLayer(10, "nested")])
    variable_names = [v.name for v in nested_model.weights]
    print(f"variables: {variable_names}")

    print("\nChanging trainable status of one of the nested layers...")
    nested_model.get_layer("nested").dense_1.trainable = False

    variable_names_2 = [v.name for v in nested_model.weights]
    print(f"\nvariables: {variable_names_2}")
    print("variable ordering changed:", variable_names != variable_names_2)
    facts["nested_variable_names"] = (variable_names, variable_names_2)  # fact

    # ##### **Transfer learning example**
    def create_functional_model():
        inputs = keras.Input(shape=(784,), name="digits")
        x = keras.layers.Dense(64, activation="relu", name="dense_1")(inputs)
        x = keras.layers.Dense(64, activation="relu", name="dense_2")(x)
        outputs = keras.layers.Dense(10, name="predictions")(x)
        return keras.Model(inputs=inputs, outputs=outputs, name="3_layer_mlp")

    functional_model = create_functional_model()
    functional_model.save_weights(path("pretrained.weights.h5"))

    # In a separate program:
    pretrained_model = create_functional_model()
    pretrained_model.load_weights(path("pretrained.weights.h5"))
    facts["pretrained_loaded"] = all(  # fact
        np.array_equal(a, b)
        for a, b in zip(functional_model.get_weights(), pretrained_model.get_weights()))

    # Create a new model by extracting layers from the original model:
    extracted_layers = pretrained_model.layers[:-1]
    extracted_layers.append(keras.layers.Dense(5, name="dense_3"))
    model = keras.Sequential(extracted_layers)
    model.summary()
    facts["extracted"] = {  # fact
        "layers": [layer.name for layer in model.layers],
        "output_shape": model.output_shape,
        "params": model.count_params(),
    }

    # #### Defining the config methods
    @keras.saving.register_keras_serializable(package="MyLayers", name="KernelMult")
    class MyDense(keras.layers.Layer):
        def __init__(
            self,
            units,
            *,
            kernel_regularizer=None,
            kernel_initializer=None,
            nested_model=None,
            **kwargs
        ):
            super().__init__(**kwargs)
            self.hidden_units = units
            self.kernel_regularizer = kernel_regularizer
            self.kernel_initializer = kernel_initializer
            self.nested_model = nested_model

        def get_config(self):
            config = super().get_config()
            # Update the config with the custom layer's parameters
            config.update(
                {
                    "units": self.hidden_units,
                    "kernel_regularizer": self.kernel_regularizer,
                    "kernel_initializer": self.kernel_initializer,
                    "nested_model": self.nested_model,
                }
            )
            return config

        def build(self, input_shape):
            input_units = input_shape[-1]
            self.kernel = self.add_weight(
                name="kernel",
                shape=(input_units, self.hidden_units),
                regularizer=self.kernel_regularizer,
                initializer=self.kernel_initializer,
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.kernel)

    layer = MyDense(units=16, kernel_regularizer="l1", kernel_initializer="ones")
    layer3 = MyDense(units=64, nested_model=layer)

    config = keras.layers.serialize(layer3)

    print(config)
    facts["mydense_nested_config"] = config  # fact

    new_layer = keras.layers.deserialize(config)

    print(new_layer)
    facts["mydense_deserialized"] = (  # fact
        type(new_layer).__name__, new_layer.hidden_units, new_layer.nested_model)

    @keras.saving.register_keras_serializable(package="ComplexModels")
    class CustomModel(keras.layers.Layer):
        def __init__(self, first_layer, second_layer=None, **kwargs):
            super().__init__(**kwargs)
            self.first_layer = first_layer
            if second_layer is not None:
                self.second_layer = second_layer
            else:
                self.second_layer = keras.layers.Dense(8)

        def get_config(self):
            config = super().get_config()
            config.update(
                {
                    "first_layer": self.first_layer,
                    "second_layer": self.second_layer,
                }
            )
            return config

        @classmethod
        def from_config(cls, config):
            # Note that you can also use `keras.saving.deserialize_keras_object` here
            config["first_layer"] = keras.layers.deserialize(config["first_layer"])
            config["second_layer"] = keras.layers.deserialize(config["second_layer"])
            return cls(**config)

        def call(self, inputs):
            return self.first_layer(self.second_layer(inputs))

    # Let's make our first layer the custom layer from the previous example (MyDense)
    inputs = keras.Input((32,))
    outputs = CustomModel(first_layer=layer)(inputs)
    model = keras.Model(inputs, outputs)

    config = model.get_config()
    new_model = keras.Model.from_config(config)
    facts["complex_model"] = {  # fact
        "output_shape": new_model.output_shape,
        "weight_shapes": [tuple(w.shape) for w in new_model.weights],
    }

    # #### How custom objects are serialized
    layer = MyDense(
        units=16,
        kernel_regularizer=keras.regularizers.L1L2(l1=1e-5, l2=1e-4),
        kernel_initializer="ones",
    )
    config = keras.layers.serialize(layer)
    print(config)
    facts["mydense_config"] = config  # fact
    return facts
