"""keras.io guide "The Functional API" (fchollet; Keras 3 edition), as an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. Changes:
MNIST/CIFAR-10 downloads become small synthetic sets of the same shapes
(`guide_support`), so reshapes use the sample count instead of 60000/10000;
`plot_model` calls are left out (they need pydot and graphviz); the pretrained VGG19
(a weights download) becomes a small VGG-style stack built in the same way; files go
to `workdir`. Lines marked `# fact` only record what the guide shows.
"""

import os

import numpy as np
from guide_support import cifar10_load_data, mnist_load_data, numpy_of, shape_of, summary_rows


def run(keras, workdir):
    layers = keras.layers
    ops = keras.ops
    facts = {}

    inputs = keras.Input(shape=(784,))
    img_inputs = keras.Input(shape=(32, 32, 3))
    facts["inputs_shape"] = tuple(inputs.shape)  # fact
    facts["inputs_dtype"] = str(inputs.dtype)  # fact
    facts["img_inputs_shape"] = tuple(img_inputs.shape)  # fact

    dense = layers.Dense(64, activation="relu")
    x = dense(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10)(x)
    model = keras.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    model.summary()
    facts["mnist_summary"] = summary_rows(model)  # fact

    (x_train, y_train), (x_test, y_test) = mnist_load_data()
    x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
    x_test = x_test.reshape(len(x_test), 784).astype("float32") / 255

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer=keras.optimizers.RMSprop(),
        metrics=["accuracy"],
    )
    facts["mnist_scores_before"] = model.evaluate(x_test, y_test, verbose=0)  # fact
    history = model.fit(x_train, y_train, batch_size=64, epochs=2, validation_split=0.2)
    test_scores = model.evaluate(x_test, y_test, verbose=2)
    print("Test loss:", test_scores[0])
    print("Test accuracy:", test_scores[1])
    facts["mnist_history"] = history.history  # fact
    facts["mnist_scores_after"] = test_scores  # fact
    facts["mnist_model"] = model  # fact
    facts["mnist_x_test"] = x_test  # fact
    predictions_before_save = numpy_of(model.predict(x_test, verbose=0))  # fact

    model.save(os.path.join(workdir, "my_model.keras"))
    del model
    model = keras.models.load_model(os.path.join(workdir, "my_model.keras"))
    facts["mnist_reloaded_equal"] = bool(np.allclose(  # fact
        numpy_of(model.predict(x_test, verbose=0)), predictions_before_save, atol=1e-6))
    facts["mnist_reloaded_optimizer"] = type(model.optimizer).__name__  # fact
    facts["mnist_reloaded_scores"] = model.evaluate(x_test, y_test, verbose=0)  # fact

    encoder_input = keras.Input(shape=(28, 28, 1), name="img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)

    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    encoder.summary()

    x = layers.Reshape((4, 4, 1))(encoder_output)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    autoencoder = keras.Model(encoder_input, decoder_output, name="autoencoder")
    autoencoder.summary()
    facts["shared_graph_summaries"] = [summary_rows(encoder), summary_rows(autoencoder)]  # fact
    facts["shared_graph_shapes"] = (encoder.output_shape, autoencoder.output_shape)  # fact

    encoder_input = keras.Input(shape=(28, 28, 1), name="original_img")
    x = layers.Conv2D(16, 3, activation="relu")(encoder_input)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.Conv2D(16, 3, activation="relu")(x)
    encoder_output = layers.GlobalMaxPooling2D()(x)

    encoder = keras.Model(encoder_input, encoder_output, name="encoder")
    encoder.summary()

    decoder_input = keras.Input(shape=(16,), name="encoded_img")
    x = layers.Reshape((4, 4, 1))(decoder_input)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    x = layers.Conv2DTranspose(32, 3, activation="relu")(x)
    x = layers.UpSampling2D(3)(x)
    x = layers.Conv2DTranspose(16, 3, activation="relu")(x)
    decoder_output = layers.Conv2DTranspose(1, 3, activation="relu")(x)

    decoder = keras.Model(decoder_input, decoder_output, name="decoder")
    decoder.summary()

    autoencoder_input = keras.Input(shape=(28, 28, 1), name="img")
    encoded_img = encoder(autoencoder_input)
    decoded_img = decoder(encoded_img)
    autoencoder = keras.Model(autoencoder_input, decoded_img, name="autoencoder")
    autoencoder.summary()
    facts["nested_summary"] = summary_rows(autoencoder)  # fact
    facts["nested_output"] = shape_of(autoencoder(np.zeros((2, 28, 28, 1), "float32")))  # fact
    facts["nested_count_params"] = autoencoder.count_params()  # fact

    def get_model():
        inputs = keras.Input(shape=(128,))
        outputs = layers.Dense(1)(inputs)
        return keras.Model(inputs, outputs)

    model1 = get_model()
    model2 = get_model()
    model3 = get_model()

    inputs = keras.Input(shape=(128,))
    y1 = model1(inputs)
    y2 = model2(inputs)
    y3 = model3(inputs)
    outputs = layers.average([y1, y2, y3])
    ensemble_model = keras.Model(inputs=inputs, outputs=outputs)
    probe = np.random.default_rng(3).normal(size=(4, 128)).astype("float32")  # fact
    facts["ensemble_is_mean"] = bool(np.allclose(  # fact
        numpy_of(ensemble_model(probe)),
        np.mean([numpy_of(m(probe)) for m in (model1, model2, model3)], axis=0), atol=1e-6))
    facts["ensemble_summary"] = summary_rows(ensemble_model)  # fact

    num_tags = 12
    num_words = 10000
    num_departments = 4

    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")

    title_features = layers.Embedding(num_words, 64)(title_input)
    body_features = layers.Embedding(num_words, 64)(body_input)

    title_features = layers.LSTM(128)(title_features)
    body_features = layers.LSTM(32)(body_features)

    x = layers.concatenate([title_features, body_features, tags_input])

    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)

    model = keras.Model(
        inputs=[title_input, body_input, tags_input],
        outputs={"priority": priority_pred, "department": department_pred},
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=[
            keras.losses.BinaryCrossentropy(from_logits=True),
            keras.losses.CategoricalCrossentropy(from_logits=True),
        ],
        loss_weights=[1.0, 0.2],
    )

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss={
            "priority": keras.losses.BinaryCrossentropy(from_logits=True),
            "department": keras.losses.CategoricalCrossentropy(from_logits=True),
        },
        loss_weights={"priority": 1.0, "department": 0.2},
    )

    # The guide uses 1280 samples; 32 keep the same shapes.
    title_data = np.random.randint(num_words, size=(32, 10))
    body_data = np.random.randint(num_words, size=(32, 100))
    tags_data = np.random.randint(2, size=(32, num_tags)).astype("float32")

    priority_targets = np.random.random(size=(32, 1))
    dept_targets = np.random.randint(2, size=(32, num_departments))

    history = model.fit(
        {"title": title_data, "body": body_data, "tags": tags_data},
        {"priority": priority_targets, "department": dept_targets},
        epochs=2,
        batch_size=32,
    )
    facts["ticket_model"] = model  # fact
    facts["ticket_history"] = history.history  # fact
    facts["ticket_output_shapes"] = {  # fact
        key: shape_of(value) for key, value in
        model.predict([title_data[:3], body_data[:3], tags_data[:3]], verbose=0).items()}
    facts["ticket_summary"] = summary_rows(model)  # fact

    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])

    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])

    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10)(x)

    model = keras.Model(inputs, outputs, name="toy_resnet")
    model.summary()
    facts["resnet_summary"] = summary_rows(model)  # fact

    (x_train, y_train), (x_test, y_test) = cifar10_load_data()

    x_train = x_train.astype("float32") / 255.0
    x_test = x_test.astype("float32") / 255.0
    y_train = keras.utils.to_categorical(y_train, 10)
    y_test = keras.utils.to_categorical(y_test, 10)

    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.CategoricalCrossentropy(from_logits=True),
        metrics=["acc"],
    )
    history = model.fit(
        x_train[:1000],
        y_train[:1000],
        batch_size=64,
        epochs=1,
        validation_split=0.2,
    )
    facts["resnet_history"] = history.history  # fact
    facts["resnet_y_train_shape"] = y_train.shape  # fact

    shared_embedding = layers.Embedding(1000, 128)
    text_input_a = keras.Input(shape=(None,), dtype="int32")
    text_input_b = keras.Input(shape=(None,), dtype="int32")
    encoded_input_a = shared_embedding(text_input_a)
    encoded_input_b = shared_embedding(text_input_b)
    facts["shared_embedding"] = (tuple(encoded_input_a.shape),  # fact
                                 tuple(encoded_input_b.shape),
                                 len(shared_embedding.weights))

    # In place of `keras.applications.VGG19()` (an ImageNet weights download): a
    # small VGG-style stack, queried the same way.
    img_input = keras.Input(shape=(224, 224, 3))
    x = layers.Conv2D(8, 3, activation="relu", padding="same", name="block1_conv1")(img_input)
    x = layers.MaxPooling2D(4, name="block1_pool")(x)
    x = layers.Conv2D(8, 3, activation="relu", padding="same", name="block2_conv1")(x)
    x = layers.MaxPooling2D(4, name="block2_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(10, activation="softmax", name="predictions")(x)
    vgg19 = keras.Model(img_input, x, name="vgg19")

    features_list = [layer.output for layer in vgg19.layers]
    feat_extraction_model = keras.Model(inputs=vgg19.input, outputs=features_list)

    img = np.random.random((1, 224, 224, 3)).astype("float32")
    extracted_features = feat_extraction_model(img)
    facts["extracted_shapes"] = [shape_of(f) for f in extracted_features]  # fact
    facts["extracted_last_equals_model"] = bool(np.allclose(  # fact
        numpy_of(extracted_features[-1]), numpy_of(vgg19(img)), atol=1e-6))

    class CustomDense(layers.Layer):
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

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)

    model = keras.Model(inputs, outputs)
    facts["custom_dense_output"] = model.output_shape  # fact

    class CustomDense(layers.Layer):  # noqa: F811 (the guide redefines it)
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

    inputs = keras.Input((4,))
    outputs = CustomDense(10)(inputs)

    model = keras.Model(inputs, outputs)
    config = model.get_config()

    new_model = keras.Model.from_config(config, custom_objects={"CustomDense": CustomDense})
    facts["from_config"] = (new_model.output_shape,  # fact
                            [tuple(w.shape) for w in new_model.weights],
                            [type(layer).__name__ for layer in new_model.layers])

    units = 32
    timesteps = 10
    input_dim = 5

    inputs = keras.Input((None, units))
    x = layers.GlobalAveragePooling1D()(inputs)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)

    class CustomRNN(layers.Layer):
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = model

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            print(features.shape)
            return self.classifier(features)

    rnn_model = CustomRNN()
    facts["custom_rnn_output"] = shape_of(rnn_model(ops.zeros((1, timesteps, input_dim))))  # fact

    units = 32
    timesteps = 10
    input_dim = 5
    batch_size = 16

    class CustomRNN(layers.Layer):  # noqa: F811 (the guide redefines it)
        def __init__(self):
            super().__init__()
            self.units = units
            self.projection_1 = layers.Dense(units=units, activation="tanh")
            self.projection_2 = layers.Dense(units=units, activation="tanh")
            self.classifier = layers.Dense(1)

        def call(self, inputs):
            outputs = []
            state = ops.zeros(shape=(inputs.shape[0], self.units))
            for t in range(inputs.shape[1]):
                x = inputs[:, t, :]
                h = self.projection_1(x)
                y = h + self.projection_2(state)
                state = y
                outputs.append(y)
            features = ops.stack(outputs, axis=1)
            return self.classifier(features)

    inputs = keras.Input(batch_shape=(batch_size, timesteps, input_dim))
    x = layers.Conv1D(32, 3)(inputs)
    outputs = CustomRNN()(x)

    model = keras.Model(inputs, outputs)
    facts["rnn_in_functional_output"] = model.output_shape  # fact
    facts["rnn_in_functional_call"] = shape_of(  # fact
        model(np.zeros((batch_size, timesteps, input_dim), "float32")))

    rnn_model = CustomRNN()
    _ = rnn_model(ops.zeros((1, 10, 5)))
    facts["rnn_standalone_output"] = shape_of(_)  # fact
    return facts
