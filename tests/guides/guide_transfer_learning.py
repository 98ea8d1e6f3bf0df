"""keras.io guide "Transfer learning & fine-tuning" (Keras 3 edition), as a function.

The guide's code runs inside `run(keras, workdir)` against lamina or Keras 3.
Changes: the pretrained Xception (a weights download) becomes `xception_stand_in`, a
tiny network built from the same kinds of layers (Conv2D, SeparableConv2D,
BatchNormalization, residual add, no top) with fresh weights; the cats-vs-dogs
TFDS download becomes random uint8 images of assorted sizes with 0/1 labels, so the
guide's `Resizing` step still has work to do; `tf.data`'s `map`/`batch` become the same
calls on arrays and `Batches` (a `PyDataset` of batches of 64); plots are left out;
the training epochs are cut to 1; the guide's TensorFlow-only `GradientTape` loop is
not run. Lines marked `# fact` only record what the guide shows.
"""

import numpy as np
from guide_support import numpy_of


def xception_stand_in(keras, input_shape):
    """A small Xception-like feature extractor (no classifier top) in place of the
    pretrained `keras.applications.Xception(include_top=False)`."""
    layers = keras.layers
    inputs = keras.Input(shape=input_shape)
    x = layers.Conv2D(8, 3, strides=2, use_bias=False)(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    # NOTE: Xception's shortcut is a 1x1 stride-2 conv; Keras 3 on torch 2.13 segfaults
    # training that on CPU (a oneDNN bug lamina's Conv steps around), so the stand-in
    # uses a 3x3 one to keep the Keras side of the comparison alive.
    residual = layers.Conv2D(16, 3, strides=2, padding="same", use_bias=False)(x)
    residual = layers.BatchNormalization()(residual)
    x = layers.SeparableConv2D(16, 3, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
    outputs = layers.add([x, residual])
    return keras.Model(inputs, outputs, name="xception")


def cats_vs_dogs(count, seed):
    """Stand-in for a TFDS split: (image, label) pairs, uint8 images of varied sizes."""
    rng = np.random.default_rng(seed)
    sizes = [(160, 120), (150, 150), (120, 180)]
    return [(rng.integers(0, 256, (*sizes[i % 3], 3), dtype="uint8"), int(rng.integers(2)))
            for i in range(count)]


def run(keras, workdir=None):
    """Each half of the guide on its own: its facts, or the error it raised."""
    facts = {}
    np.random.seed(0)
    for section in (trainable_api, end_to_end):
        facts[section.__name__] = found = {}
        try:
            section(keras, found)
        except Exception as error:  # the test names the section and the error
            found.update(raised=type(error).__name__, message=str(error))
    return facts


def trainable_api(keras, facts):
    """## Freezing layers: understanding the `trainable` attribute, and its recursion."""
    layer = keras.layers.Dense(3)
    layer.build((None, 4))  # Create the weights

    print("weights:", len(layer.weights))
    print("trainable_weights:", len(layer.trainable_weights))
    print("non_trainable_weights:", len(layer.non_trainable_weights))
    facts["dense_counts"] = (  # fact
        len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights))

    layer = keras.layers.BatchNormalization()
    layer.build((None, 4))  # Create the weights

    print("weights:", len(layer.weights))
    print("trainable_weights:", len(layer.trainable_weights))
    print("non_trainable_weights:", len(layer.non_trainable_weights))
    facts["batchnorm_counts"] = (  # fact
        len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights))

    layer = keras.layers.Dense(3)
    layer.build((None, 4))  # Create the weights
    layer.trainable = False  # Freeze the layer

    print("weights:", len(layer.weights))
    print("trainable_weights:", len(layer.trainable_weights))
    print("non_trainable_weights:", len(layer.non_trainable_weights))
    facts["frozen_dense_counts"] = (  # fact
        len(layer.weights), len(layer.trainable_weights), len(layer.non_trainable_weights))

    # Make a model with 2 layers
    layer1 = keras.layers.Dense(3, activation="relu")
    layer2 = keras.layers.Dense(3, activation="sigmoid")
    model = keras.Sequential([keras.Input(shape=(3,)), layer1, layer2])

    # Freeze the first layer
    layer1.trainable = False

    # Keep a copy of the weights of layer1 for later reference
    initial_layer1_weights_values = layer1.get_weights()
    initial_layer2_weights_values = layer2.get_weights()  # fact

    # Train the model
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.random.random((2, 3)), np.random.random((2, 3)))

    # Check that the weights of layer1 have not changed during training
    final_layer1_weights_values = layer1.get_weights()
    np.testing.assert_allclose(
        initial_layer1_weights_values[0], final_layer1_weights_values[0]
    )
    np.testing.assert_allclose(
        initial_layer1_weights_values[1], final_layer1_weights_values[1]
    )
    facts["unfrozen_layer_trained"] = not all(  # fact
        np.array_equal(a, b)
        for a, b in zip(initial_layer2_weights_values, layer2.get_weights()))

    # ## Recursive setting of the `trainable` attribute
    inner_model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(3, activation="relu"),
            keras.layers.Dense(3, activation="relu"),
        ]
    )

    model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            inner_model,
            keras.layers.Dense(3, activation="sigmoid"),
        ]
    )

    model.trainable = False  # Freeze the outer model

    assert inner_model.trainable == False  # All layers in `model` are now frozen  # noqa: E712
    assert inner_model.layers[0].trainable == False  # `trainable` is propagated  # noqa: E712
    facts["recursive_frozen"] = (  # fact
        inner_model.trainable, inner_model.layers[0].trainable, len(model.trainable_weights))


def end_to_end(keras, facts):
    """## An end-to-end example: fine-tuning an image classifier on cats vs. dogs."""
    layers = keras.layers

    # ### Getting the data
    train_ds, validation_ds, test_ds = (
        cats_vs_dogs(64, seed=1), cats_vs_dogs(16, seed=2), cats_vs_dogs(16, seed=3))

    print(f"Number of training samples: {len(train_ds)}")
    print(f"Number of validation samples: {len(validation_ds)}")
    print(f"Number of test samples: {len(test_ds)}")

    # ### Standardizing the data
    resize_fn = keras.layers.Resizing(150, 150)

    train_ds = [(resize_fn(x), y) for x, y in train_ds]
    validation_ds = [(resize_fn(x), y) for x, y in validation_ds]
    test_ds = [(resize_fn(x), y) for x, y in test_ds]
    facts["resized_shapes"] = sorted({tuple(x.shape) for x, _ in train_ds})  # fact

    # ### Using random data augmentation
    augmentation_layers = [
        layers.RandomFlip("horizontal"),
        layers.RandomRotation(0.1),
    ]

    def data_augmentation(x):
        for layer in augmentation_layers:
            x = layer(x)
        return x

    train_ds = [(data_augmentation(x), y) for x, y in train_ds]

    batch_size = 64

    train_ds = Batches(keras, train_ds, batch_size)
    validation_ds = Batches(keras, validation_ds, batch_size)
    test_ds = Batches(keras, test_ds, batch_size)

    images, labels = train_ds[0]
    first_image = images[0]
    augmented = [data_augmentation(np.expand_dims(first_image, 0)) for i in range(9)]
    facts["augmented"] = {  # fact
        "shape": tuple(augmented[0].shape),
        "all_differ_from_input": all(
            not np.allclose(numpy_of(a)[0], first_image) for a in augmented),
        "range": (float(min(numpy_of(a).min() for a in augmented)),
                  float(max(numpy_of(a).max() for a in augmented))),
    }

    # ## Build a model
    base_model = xception_stand_in(keras, input_shape=(150, 150, 3))

    # Freeze the base_model
    base_model.trainable = False

    # Create new model on top
    inputs = keras.Input(shape=(150, 150, 3))

    # Pre-trained Xception weights requires that input be scaled
    # from (0, 255) to a range of (-1., +1.), the rescaling layer
    # outputs: `(inputs * scale) + offset`
    scale_layer = keras.layers.Rescaling(scale=1 / 127.5, offset=-1)
    x = scale_layer(inputs)

    # The base model contains batchnorm layers. We want to keep them in inference mode
    # when we unfreeze the base model for fine-tuning, so we make sure that the
    # base_model is running in inference mode here.
    x = base_model(x, training=False)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)  # Regularize with dropout
    outputs = keras.layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    model.summary(show_trainable=True)
    facts["frozen_counts"] = (  # fact
        len(model.trainable_weights), len(model.non_trainable_weights))

    # ## Train the top layer
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy()],
    )

    base_before = [numpy_of(w).copy() for w in base_model.weights]  # fact
    head_before = [numpy_of(w).copy() for w in model.layers[-1].weights]  # fact
    epochs = 1
    print("Fitting the top layer of the model")
    model.fit(train_ds, epochs=epochs, validation_data=validation_ds)
    facts["top_fit"] = {  # fact
        "history_keys": sorted(model.history.history),
        "base_unchanged": all(np.array_equal(a, numpy_of(w))
                              for a, w in zip(base_before, base_model.weights)),
        "head_changed": not all(np.array_equal(a, numpy_of(w))
                                for a, w in zip(head_before, model.layers[-1].weights)),
    }

    # ## Do a round of fine-tuning of the entire model

    # Unfreeze the base_model. Note that it keeps running in inference mode
    # since we passed `training=False` when calling it. This means that
    # the batchnorm layers will not update their batch statistics.
    # This prevents the batchnorm layers from undoing all the training
    # we've done so far.
    base_model.trainable = True
    model.summary(show_trainable=True)
    facts["unfrozen_counts"] = (  # fact
        len(model.trainable_weights), len(model.non_trainable_weights))

    model.compile(
        optimizer=keras.optimizers.Adam(1e-5),  # Low learning rate
        loss=keras.losses.BinaryCrossentropy(from_logits=True),
        metrics=[keras.metrics.BinaryAccuracy()],
    )

    statistics = [w for w in base_model.non_trainable_weights]  # fact: BN moving stats
    statistics_before = [numpy_of(w).copy() for w in statistics]  # fact
    kernels_before = [numpy_of(w).copy() for w in base_model.trainable_weights]  # fact
    epochs = 1
    print("Fitting the end-to-end model")
    model.fit(train_ds, epochs=epochs, validation_data=validation_ds)
    facts["fine_tune"] = {  # fact
        "statistics_unchanged": all(np.array_equal(a, numpy_of(w))
                                    for a, w in zip(statistics_before, statistics)),
        "base_trained": not all(np.array_equal(a, numpy_of(w))
                                for a, w in zip(kernels_before, base_model.trainable_weights)),
    }

    print("Test dataset evaluation")
    facts["test_evaluation"] = model.evaluate(test_ds)  # fact
    facts["model"], facts["test_images"] = model, test_ds[0][0]  # fact


class Batches:
    """`dataset.batch(batch_size)` for a list of (image, label) pairs, as a PyDataset."""

    def __new__(cls, keras, pairs, batch_size):
        class _Batches(keras.utils.PyDataset):
            def __init__(self):
                super().__init__()
                self.images = np.stack([numpy_of(x) for x, _ in pairs]).astype("float32")
                self.labels = np.array([y for _, y in pairs], dtype="float32")

            def __len__(self):
                return -(-len(self.labels) // batch_size)

            def __getitem__(self, index):
                part = slice(index * batch_size, (index + 1) * batch_size)
                return self.images[part], self.labels[part]

        return _Batches()
