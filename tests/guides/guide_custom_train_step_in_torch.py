"""keras.io guide "Customizing what happens in `fit()` with PyTorch" (fchollet, 2024
edition), as an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. Changes: the
guide's 1000-sample random arrays become 128 samples of the same shapes and its
epochs are cut to 2; the GAN trains on 64 synthetic 28x28x1 digits (`guide_support`)
instead of the MNIST download. What each `train_step`/`test_step` receives is recorded
by wrapping the method (`record_calls`), outside the guide's code. Lines marked
`# fact` only record what the guide shows.
"""

import numpy as np
import torch
from guide_support import mnist_load_data, numpy_of, record_calls


def run(keras, workdir):
    layers = keras.layers
    facts = {}

    class CustomModel(keras.Model):
        def train_step(self, data):
            x, y = data

            self.zero_grad()

            y_pred = self(x, training=True)
            loss = self.compute_loss(y=y, y_pred=y_pred)

            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)

            return {m.name: m.result() for m in self.metrics}

    received = []  # fact
    record_calls(CustomModel, "train_step", received)  # fact

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])

    x = np.random.random((128, 32))
    y = np.random.random((128, 1))
    facts["simple_before"] = model.evaluate(x, y, verbose=0)  # fact
    history = model.fit(x, y, epochs=2)
    facts["simple_history"] = history.history  # fact
    facts["simple_after"] = model.evaluate(x, y, verbose=0)  # fact
    facts["simple_received"] = received[:2]  # fact
    facts["simple_steps"] = len(received)  # fact
    facts["simple_metric_names"] = [m.name for m in model.metrics]  # fact

    class CustomModel(keras.Model):  # noqa: F811 (the guide redefines it)
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            self.mae_metric = keras.metrics.MeanAbsoluteError(name="mae")
            self.loss_fn = keras.losses.MeanSquaredError()

        def train_step(self, data):
            x, y = data

            self.zero_grad()

            y_pred = self(x, training=True)
            loss = self.loss_fn(y, y_pred)

            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            self.loss_tracker.update_state(loss)
            self.mae_metric.update_state(y, y_pred)
            return {
                "loss": self.loss_tracker.result(),
                "mae": self.mae_metric.result(),
            }

        @property
        def metrics(self):
            return [self.loss_tracker, self.mae_metric]

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)

    model.compile(optimizer="adam")

    x = np.random.random((128, 32))
    y = np.random.random((128, 1))
    history = model.fit(x, y, epochs=2)
    facts["manual_history"] = history.history  # fact
    # The trackers restart each epoch: the second epoch's loss is that epoch's mean.
    facts["manual_weights"] = [tuple(w.shape) for w in model.weights]  # fact

    class CustomModel(keras.Model):  # noqa: F811 (the guide redefines it)
        def train_step(self, data):
            if len(data) == 3:
                x, y, sample_weight = data
            else:
                sample_weight = None
                x, y = data

            self.zero_grad()

            y_pred = self(x, training=True)
            loss = self.compute_loss(
                y=y,
                y_pred=y_pred,
                sample_weight=sample_weight,
            )

            loss.backward()

            trainable_weights = [v for v in self.trainable_weights]
            gradients = [v.value.grad for v in trainable_weights]

            with torch.no_grad():
                self.optimizer.apply(gradients, trainable_weights)

            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred, sample_weight=sample_weight)

            return {m.name: m.result() for m in self.metrics}

    received = []  # fact
    record_calls(CustomModel, "train_step", received)  # fact

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])

    x = np.random.random((128, 32))
    y = np.random.random((128, 1))
    sw = np.random.random((128, 1))
    history = model.fit(x, y, sample_weight=sw, epochs=2)
    facts["weighted_history"] = history.history  # fact
    facts["weighted_received"] = received[:1]  # fact
    facts["weighted_model"], facts["weighted_data"] = model, (x, y, sw)  # fact

    class CustomModel(keras.Model):  # noqa: F811 (the guide redefines it)
        def test_step(self, data):
            x, y = data
            y_pred = self(x, training=False)
            loss = self.compute_loss(y=y, y_pred=y_pred)
            for metric in self.metrics:
                if metric.name == "loss":
                    metric.update_state(loss)
                else:
                    metric.update_state(y, y_pred)
            return {m.name: m.result() for m in self.metrics}

    received = []  # fact
    record_calls(CustomModel, "test_step", received)  # fact

    inputs = keras.Input(shape=(32,))
    outputs = keras.layers.Dense(1)(inputs)
    model = CustomModel(inputs, outputs)
    model.compile(loss="mse", metrics=["mae"])

    x = np.random.random((128, 32))
    y = np.random.random((128, 1))
    facts["evaluate_result"] = model.evaluate(x, y)  # fact
    facts["evaluate_received"] = received[:1]  # fact
    facts["evaluate_steps"] = len(received)  # fact
    facts["evaluate_model"], facts["evaluate_data"] = model, (x, y)  # fact

    discriminator = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(64, (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(128, (3, 3), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.GlobalMaxPooling2D(),
            layers.Dense(1),
        ],
        name="discriminator",
    )

    latent_dim = 128
    generator = keras.Sequential(
        [
            keras.Input(shape=(latent_dim,)),
            layers.Dense(7 * 7 * 128),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Reshape((7, 7, 128)),
            layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(128, (4, 4), strides=(2, 2), padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(1, (7, 7), padding="same", activation="sigmoid"),
        ],
        name="generator",
    )

    class GAN(keras.Model):
        def __init__(self, discriminator, generator, latent_dim):
            super().__init__()
            self.discriminator = discriminator
            self.generator = generator
            self.latent_dim = latent_dim
            self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
            self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
            self.seed_generator = keras.random.SeedGenerator(1337)
            self.built = True

        @property
        def metrics(self):
            return [self.d_loss_tracker, self.g_loss_tracker]

        def compile(self, d_optimizer, g_optimizer, loss_fn):
            super().compile()
            self.d_optimizer = d_optimizer
            self.g_optimizer = g_optimizer
            self.loss_fn = loss_fn

        def train_step(self, real_images):
            device = "cuda" if torch.cuda.is_available() else "cpu"
            if isinstance(real_images, tuple) or isinstance(real_images, list):
                real_images = real_images[0]
            batch_size = real_images.shape[0]
            random_latent_vectors = keras.random.normal(
                shape=(batch_size, self.latent_dim), seed=self.seed_generator
            )

            generated_images = self.generator(random_latent_vectors)

            real_images = torch.tensor(real_images, device=device)
            combined_images = torch.concat([generated_images, real_images], axis=0)

            labels = torch.concat(
                [
                    torch.ones((batch_size, 1), device=device),
                    torch.zeros((batch_size, 1), device=device),
                ],
                axis=0,
            )
            labels += 0.05 * keras.random.uniform(labels.shape, seed=self.seed_generator)

            self.zero_grad()
            predictions = self.discriminator(combined_images)
            d_loss = self.loss_fn(labels, predictions)
            d_loss.backward()
            grads = [v.value.grad for v in self.discriminator.trainable_weights]
            with torch.no_grad():
                self.d_optimizer.apply(grads, self.discriminator.trainable_weights)

            random_latent_vectors = keras.random.normal(
                shape=(batch_size, self.latent_dim), seed=self.seed_generator
            )

            misleading_labels = torch.zeros((batch_size, 1), device=device)

            self.zero_grad()
            predictions = self.discriminator(self.generator(random_latent_vectors))
            g_loss = self.loss_fn(misleading_labels, predictions)
            grads = g_loss.backward()
            grads = [v.value.grad for v in self.generator.trainable_weights]
            with torch.no_grad():
                self.g_optimizer.apply(grads, self.generator.trainable_weights)

            self.d_loss_tracker.update_state(d_loss)
            self.g_loss_tracker.update_state(g_loss)
            return {
                "d_loss": self.d_loss_tracker.result(),
                "g_loss": self.g_loss_tracker.result(),
            }

    received = []  # fact
    record_calls(GAN, "train_step", received)  # fact

    batch_size = 64
    (x_train, _), (x_test, _) = mnist_load_data(n_train=48, n_test=16)
    all_digits = np.concatenate([x_train, x_test])
    all_digits = all_digits.astype("float32") / 255.0
    all_digits = np.reshape(all_digits, (-1, 28, 28, 1))

    dataset = torch.utils.data.TensorDataset(
        torch.from_numpy(all_digits), torch.from_numpy(all_digits)
    )
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)

    gan = GAN(discriminator=discriminator, generator=generator, latent_dim=latent_dim)
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        g_optimizer=keras.optimizers.Adam(learning_rate=0.0003),
        loss_fn=keras.losses.BinaryCrossentropy(from_logits=True),
    )
    weights_before = [numpy_of(w).copy() for w in gan.weights]  # fact

    history = gan.fit(dataloader, epochs=1)
    facts["gan_history"] = history.history  # fact
    facts["gan_received"] = received[:1]  # fact
    facts["gan_steps"] = len(received)  # fact
    facts["gan_all_weights_moved"] = all(  # fact
        not np.array_equal(a, numpy_of(b)) for a, b in zip(weights_before, gan.weights)
        if b.trainable)
    facts["gan_counts"] = (generator.count_params(), discriminator.count_params(),  # fact
                           len(gan.d_optimizer.variables), len(gan.g_optimizer.variables))
    facts["gan_sample_shape"] = tuple(generator(  # fact
        keras.random.normal((2, latent_dim))).shape)
    return facts
