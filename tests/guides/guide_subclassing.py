"""keras.io guide "Making new layers and models via subclassing" (fchollet; Keras 3
edition), as an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. Changes: the
MNIST download becomes a small synthetic set of the same shape (`guide_support`), so
the reshape uses the sample count instead of 60000; the `ResNet` sketch (code in prose,
with `...` placeholders) is left out. Lines marked `# fact` only record what the guide
shows.
"""

import numpy as np
from guide_support import mnist_load_data, numpy_of, shape_of


def run(keras, workdir):
    ops = keras.ops
    layers = keras.layers
    facts = {}

    class Linear(keras.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = self.add_weight(
                shape=(input_dim, units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(shape=(units,), initializer="zeros", trainable=True)

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    x = ops.ones((2, 2))
    linear_layer = Linear(4, 2)
    y = linear_layer(x)
    print(y)
    facts["linear_output"] = shape_of(y)  # fact
    facts["linear_equals_formula"] = bool(np.allclose(  # fact
        numpy_of(y), np.ones((2, 2)) @ numpy_of(linear_layer.w) + numpy_of(linear_layer.b)))

    assert linear_layer.weights == [linear_layer.w, linear_layer.b]
    facts["linear_weights_tracked"] = True  # fact

    class ComputeSum(keras.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = self.add_weight(
                initializer="zeros", shape=(input_dim,), trainable=False
            )

        def call(self, inputs):
            self.total.assign_add(ops.sum(inputs, axis=0))
            return self.total

    x = ops.ones((2, 2))
    my_sum = ComputeSum(2)
    y = my_sum(x)
    print(y.numpy())
    facts["sum_first"] = numpy_of(y).tolist()  # fact
    y = my_sum(x)
    print(y.numpy())
    facts["sum_second"] = numpy_of(y).tolist()  # fact

    print("weights:", len(my_sum.weights))
    print("non-trainable weights:", len(my_sum.non_trainable_weights))
    print("trainable_weights:", my_sum.trainable_weights)
    facts["sum_weight_counts"] = (len(my_sum.weights), len(my_sum.non_trainable_weights),  # fact
                                  len(my_sum.trainable_weights))

    class Linear(keras.layers.Layer):  # noqa: F811 (the guide redefines it)
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

    linear_layer = Linear(32)
    facts["lazy_weights_before"] = len(linear_layer.weights)  # fact
    y = linear_layer(x)
    facts["lazy_weights_after"] = [tuple(w.shape) for w in linear_layer.weights]  # fact

    class MLPBlock(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = keras.activations.relu(x)
            x = self.linear_2(x)
            x = keras.activations.relu(x)
            return self.linear_3(x)

    mlp = MLPBlock()
    y = mlp(ops.ones(shape=(3, 64)))
    print("weights:", len(mlp.weights))
    print("trainable weights:", len(mlp.trainable_weights))
    facts["mlp"] = (shape_of(y), len(mlp.weights), len(mlp.trainable_weights))  # fact

    class ActivityRegularizationLayer(keras.layers.Layer):
        def __init__(self, rate=1e-2):
            super().__init__()
            self.rate = rate

        def call(self, inputs):
            self.add_loss(self.rate * ops.mean(inputs))
            return inputs

    class OuterLayer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.activity_reg = ActivityRegularizationLayer(1e-2)

        def call(self, inputs):
            return self.activity_reg(inputs)

    layer = OuterLayer()
    assert len(layer.losses) == 0

    _ = layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1

    _ = layer(ops.zeros((1, 1)))
    assert len(layer.losses) == 1
    facts["losses_reset_each_call"] = True  # fact

    class OuterLayerWithKernelRegularizer(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(
                32, kernel_regularizer=keras.regularizers.l2(1e-3)
            )

        def call(self, inputs):
            return self.dense(inputs)

    layer = OuterLayerWithKernelRegularizer()
    _ = layer(ops.zeros((1, 1)))

    print(layer.losses)
    facts["regularizer_losses"] = len(layer.losses)  # fact
    facts["regularizer_value_ok"] = bool(np.isclose(  # fact
        float(numpy_of(layer.losses[0])),
        1e-3 * float(np.sum(numpy_of(layer.dense.kernel) ** 2)), rtol=1e-5))

    inputs = keras.Input(shape=(3,))
    outputs = ActivityRegularizationLayer()(inputs)
    model = keras.Model(inputs, outputs)

    model.compile(optimizer="adam", loss="mse")
    history = model.fit(np.random.random((2, 3)), np.random.random((2, 3)))
    facts["add_loss_with_compiled_loss"] = [round(v, 5) for v in history.history["loss"]]  # fact

    model.compile(optimizer="adam")
    history = model.fit(np.random.random((2, 3)), np.random.random((2, 3)))
    facts["add_loss_only_loss"] = [round(v, 5) for v in history.history["loss"]]  # fact

    class Linear(keras.layers.Layer):  # noqa: F811 (the guide redefines it)
        def __init__(self, units=32):
            super().__init__()
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            return {"units": self.units}

    layer = Linear(64)
    config = layer.get_config()
    print(config)
    new_layer = Linear.from_config(config)
    facts["config_plain"] = (config, new_layer.units)  # fact

    class Linear(keras.layers.Layer):  # noqa: F811 (the guide redefines it)
        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def build(self, input_shape):
            self.w = self.add_weight(
                shape=(input_shape[-1], self.units),
                initializer="random_normal",
                trainable=True,
            )
            self.b = self.add_weight(
                shape=(self.units,), initializer="random_normal", trainable=True
            )

        def call(self, inputs):
            return ops.matmul(inputs, self.w) + self.b

        def get_config(self):
            config = super().get_config()
            config.update({"units": self.units})
            return config

    layer = Linear(64)
    config = layer.get_config()
    print(config)
    new_layer = Linear.from_config(config)
    facts["config_with_base"] = (config, new_layer.units, new_layer.name)  # fact

    class CustomDropout(keras.layers.Layer):
        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate

        def call(self, inputs, training=None):
            if training:
                return keras.random.dropout(inputs, rate=self.rate)
            return inputs

    dropout = CustomDropout(0.5)  # fact
    ones = np.ones((4, 100), "float32")  # fact
    facts["custom_dropout"] = (  # fact
        bool(np.array_equal(numpy_of(dropout(ones)), ones)),
        bool(np.array_equal(numpy_of(dropout(ones, training=True)), ones)),
        sorted(set(np.round(numpy_of(dropout(ones, training=True)).ravel(), 4).tolist())))

    class Sampling(layers.Layer):
        def call(self, inputs):
            z_mean, z_log_var = inputs
            batch = ops.shape(z_mean)[0]
            dim = ops.shape(z_mean)[1]
            epsilon = keras.random.normal(shape=(batch, dim))
            return z_mean + ops.exp(0.5 * z_log_var) * epsilon

    class Encoder(layers.Layer):
        def __init__(self, latent_dim=32, intermediate_dim=64, name="encoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_mean = layers.Dense(latent_dim)
            self.dense_log_var = layers.Dense(latent_dim)
            self.sampling = Sampling()

        def call(self, inputs):
            x = self.dense_proj(inputs)
            z_mean = self.dense_mean(x)
            z_log_var = self.dense_log_var(x)
            z = self.sampling((z_mean, z_log_var))
            return z_mean, z_log_var, z

    class Decoder(layers.Layer):
        def __init__(self, original_dim, intermediate_dim=64, name="decoder", **kwargs):
            super().__init__(name=name, **kwargs)
            self.dense_proj = layers.Dense(intermediate_dim, activation="relu")
            self.dense_output = layers.Dense(original_dim, activation="sigmoid")

        def call(self, inputs):
            x = self.dense_proj(inputs)
            return self.dense_output(x)

    class VariationalAutoEncoder(keras.Model):
        def __init__(
            self,
            original_dim,
            intermediate_dim=64,
            latent_dim=32,
            name="autoencoder",
            **kwargs
        ):
            super().__init__(name=name, **kwargs)
            self.original_dim = original_dim
            self.encoder = Encoder(latent_dim=latent_dim, intermediate_dim=intermediate_dim)
            self.decoder = Decoder(original_dim, intermediate_dim=intermediate_dim)

        def call(self, inputs):
            z_mean, z_log_var, z = self.encoder(inputs)
            reconstructed = self.decoder(z)
            kl_loss = -0.5 * ops.mean(
                z_log_var - ops.square(z_mean) - ops.exp(z_log_var) + 1
            )
            self.add_loss(kl_loss)
            return reconstructed

    (x_train, _), _ = mnist_load_data()
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255

    original_dim = 784
    vae = VariationalAutoEncoder(784, 64, 32)

    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    vae.compile(optimizer, loss=keras.losses.MeanSquaredError())

    history = vae.fit(x_train, x_train, epochs=2, batch_size=64)
    facts["vae_history"] = history.history  # fact
    facts["vae_output"] = shape_of(vae(x_train[:5]))  # fact
    facts["vae_losses"] = len(vae.losses)  # fact
    facts["vae_weights"] = [(w.path, tuple(w.shape)) for w in vae.weights]  # fact
    facts["vae_original_dim"] = original_dim  # fact
    return facts
