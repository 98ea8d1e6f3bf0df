"""keras.io guide "Working with RNNs" (Keras 3 edition), as a function of the keras module.

The guide's code runs inside `run(keras, workdir)` against lamina or Keras 3.
Changes: MNIST is a synthetic set of the same shapes (`guide_support`), 128 + 32 images;
the guide's TensorFlow calls become their `keras.ops`/numpy twins (`tf.TensorShape([n])`
-> `(n,)`, `tf.nest.flatten` -> `keras.tree.flatten`, `tf.matmul`/`tf.einsum` ->
`ops.matmul`/`ops.einsum`, `tf.argmax`/`tf.expand_dims` -> `ops.argmax`/`np.expand_dims`,
`tf.device("CPU:0")` and the matplotlib plot are dropped); the nested-input RNN trains on
2 batches of 16 sequences of 5 steps instead of 10 batches of 64 of 50 (same feature
shapes); the guide's `get_config` typo (`unit_2` for `self.unit_2`) is kept. Lines
marked `# fact` only record what the guide shows.
"""
# ruff: noqa: UP031  (the guide's own %-formatting, kept as written)

import numpy as np
from guide_support import mnist_load_data, numpy_of, summary_rows


def run(keras, workdir=None):
    layers = keras.layers
    ops = keras.ops
    facts = {}
    np.random.seed(0)

    # ## Built-in RNN layers: a simple example
    model = keras.Sequential()
    # Add an Embedding layer expecting input vocab of size 1000, and
    # output embedding dimension of size 64.
    model.add(layers.Embedding(input_dim=1000, output_dim=64))

    # Add a LSTM layer with 128 internal units.
    model.add(layers.LSTM(128))

    # Add a Dense layer with 10 units.
    model.add(layers.Dense(10))

    model.summary()
    facts["simple_summary"] = summary_rows(model)  # fact
    tokens = np.random.randint(0, 1000, size=(2, 7))
    facts["simple_output_shape"] = tuple(model(tokens).shape)  # fact

    # ## Outputs and states
    model = keras.Sequential()
    model.add(layers.Embedding(input_dim=1000, output_dim=64))

    # The output of GRU will be a 3D tensor of shape (batch_size, timesteps, 256)
    model.add(layers.GRU(256, return_sequences=True))

    # The output of SimpleRNN will be a 2D tensor of shape (batch_size, 128)
    model.add(layers.SimpleRNN(128))

    model.add(layers.Dense(10))

    model.summary()
    facts["sequences_output_shape"] = tuple(model(tokens).shape)  # fact
    facts["gru_output_shape"] = tuple(model.layers[1].output.shape)  # fact
    facts["sequences_params"] = [layer.count_params() for layer in model.layers]  # fact

    encoder_vocab = 1000
    decoder_vocab = 2000

    encoder_input = layers.Input(shape=(None,))
    encoder_embedded = layers.Embedding(input_dim=encoder_vocab, output_dim=64)(
        encoder_input
    )

    # Return states in addition to output
    output, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(
        encoder_embedded
    )
    encoder_state = [state_h, state_c]
    facts["encoder_shapes"] = [tuple(t.shape) for t in (output, state_h, state_c)]  # fact

    decoder_input = layers.Input(shape=(None,))
    decoder_embedded = layers.Embedding(input_dim=decoder_vocab, output_dim=64)(
        decoder_input
    )

    # Pass the 2 states to a new LSTM layer, as initial state
    decoder_output = layers.LSTM(64, name="decoder")(
        decoder_embedded, initial_state=encoder_state
    )
    output = layers.Dense(10)(decoder_output)

    model = keras.Model([encoder_input, decoder_input], output)
    model.summary()
    facts["seq2seq_summary"] = summary_rows(model)  # fact
    facts["seq2seq_model"] = model  # fact
    facts["seq2seq_inputs"] = [  # fact
        np.random.randint(0, encoder_vocab, size=(3, 6)),
        np.random.randint(0, decoder_vocab, size=(3, 4))]

    # ## Cross-batch statefulness
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)
    output = lstm_layer(paragraph3)
    stateful = {"output_3": numpy_of(output)}  # fact

    # reset_states() will reset the cached state to the original initial_state.
    # If no initial_state was provided, zero-states will be used by default.
    lstm_layer.reset_states()
    stateful["state_after_reset"] = [numpy_of(s) for s in lstm_layer.states]  # fact
    stateful["fresh_output_1"] = numpy_of(lstm_layer(paragraph1))  # fact
    stateful["paragraphs"] = (paragraph1, paragraph2, paragraph3)  # fact
    stateful["layer"] = lstm_layer  # fact
    facts["stateful"] = stateful

    # ### RNN State Reuse
    paragraph1 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph2 = np.random.random((20, 10, 50)).astype(np.float32)
    paragraph3 = np.random.random((20, 10, 50)).astype(np.float32)

    lstm_layer = layers.LSTM(64, stateful=True)
    output = lstm_layer(paragraph1)
    output = lstm_layer(paragraph2)

    existing_state = lstm_layer.states

    new_lstm_layer = layers.LSTM(64)
    new_output = new_lstm_layer(paragraph3, initial_state=existing_state)
    facts["state_reuse"] = {  # fact
        "state_shapes": [tuple(s.shape) for s in existing_state],
        "output_shape": tuple(new_output.shape),
        "weights_in_layer": len(lstm_layer.weights),
    }

    # ## Bidirectional RNNs
    model = keras.Sequential()

    model.add(
        layers.Bidirectional(layers.LSTM(64, return_sequences=True), input_shape=(5, 10))
    )
    model.add(layers.Bidirectional(layers.LSTM(32)))
    model.add(layers.Dense(10))

    model.summary()
    facts["bidirectional_summary"] = summary_rows(model)  # fact
    facts["bidirectional_model"] = model  # fact

    # ### Using CuDNN kernels when available
    batch_size = 64
    # Each MNIST image batch is a tensor of shape (batch_size, 28, 28).
    # Each input sequence will be of size (28, 28) (height is treated like time).
    input_dim = 28

    units = 64
    output_size = 10  # labels are from 0 to 9

    # Build the RNN model
    def build_model(allow_cudnn_kernel=True):
        # CuDNN is only available at the layer level, and not at the cell level.
        # This means `LSTM(units)` will use the CuDNN kernel,
        # while RNN(LSTMCell(units)) will run on non-CuDNN kernel.
        if allow_cudnn_kernel:
            # The LSTM layer with default options uses CuDNN.
            lstm_layer = keras.layers.LSTM(units, input_shape=(None, input_dim))
        else:
            # Wrapping a LSTMCell in a RNN layer will not use CuDNN.
            lstm_layer = keras.layers.RNN(
                keras.layers.LSTMCell(units), input_shape=(None, input_dim)
            )
        model = keras.models.Sequential(
            [
                lstm_layer,
                keras.layers.BatchNormalization(),
                keras.layers.Dense(output_size),
            ]
        )
        return model

    (x_train, y_train), (x_test, y_test) = mnist_load_data(n_train=128, n_test=32)
    x_train, x_test = x_train / 255.0, x_test / 255.0
    sample, sample_label = x_train[0], y_train[0]

    model = build_model(allow_cudnn_kernel=True)

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer="sgd",
        metrics=["accuracy"],
    )

    model.fit(
        x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size, epochs=1
    )
    facts["lstm_history"] = model.history.history  # fact

    noncudnn_model = build_model(allow_cudnn_kernel=False)
    noncudnn_model.set_weights(model.get_weights())
    facts["cell_model_matches_layer_model"] = np.allclose(  # fact
        numpy_of(model.predict(x_test, verbose=0)),
        numpy_of(noncudnn_model.predict(x_test, verbose=0)), atol=1e-5)
    noncudnn_model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        optimizer="sgd",
        metrics=["accuracy"],
    )
    noncudnn_model.fit(
        x_train, y_train, validation_data=(x_test, y_test), batch_size=batch_size, epochs=1
    )
    facts["cell_history"] = noncudnn_model.history.history  # fact

    cpu_model = build_model(allow_cudnn_kernel=True)
    cpu_model.set_weights(model.get_weights())
    result = ops.argmax(cpu_model.predict_on_batch(np.expand_dims(sample, 0)), axis=1)
    print(
        "Predicted result is: %s, target result is: %s" % (numpy_of(result), sample_label)
    )
    facts["cpu_model_result"] = (  # fact
        numpy_of(result), numpy_of(ops.argmax(model.predict_on_batch(sample[None]), axis=1)))
    facts["mnist_model"], facts["mnist_sample"] = model, x_test[:8]  # fact

    try:
        facts["nested"] = nested_inputs(keras)
    except Exception as error:  # Keras 3 fails here; the test compares the outcomes
        facts["nested"] = {"raised": type(error).__name__, "message": str(error)}
    return facts


def nested_inputs(keras):
    """## RNNs with list/dict inputs, or nested inputs"""
    ops = keras.ops
    facts = {}

    # ### Define a custom cell that supports nested input/output
    @keras.saving.register_keras_serializable()
    class NestedCell(keras.layers.Layer):
        def __init__(self, unit_1, unit_2, unit_3, **kwargs):
            self.unit_1 = unit_1
            self.unit_2 = unit_2
            self.unit_3 = unit_3
            self.state_size = [(unit_1,), (unit_2, unit_3)]
            self.output_size = [(unit_1,), (unit_2, unit_3)]
            super().__init__(**kwargs)

        def build(self, input_shapes):
            # expect input_shape to contain 2 items, [(batch, i1), (batch, i2, i3)]
            i1 = input_shapes[0][1]
            i2 = input_shapes[1][1]
            i3 = input_shapes[1][2]

            self.kernel_1 = self.add_weight(
                shape=(i1, self.unit_1), initializer="uniform", name="kernel_1"
            )
            self.kernel_2_3 = self.add_weight(
                shape=(i2, i3, self.unit_2, self.unit_3),
                initializer="uniform",
                name="kernel_2_3",
            )

        def call(self, inputs, states):
            # inputs should be in [(batch, input_1), (batch, input_2, input_3)]
            # state should be in shape [(batch, unit_1), (batch, unit_2, unit_3)]
            input_1, input_2 = keras.tree.flatten(inputs)
            s1, s2 = states

            output_1 = ops.matmul(input_1, self.kernel_1)
            output_2_3 = ops.einsum("bij,ijkl->bkl", input_2, self.kernel_2_3)
            state_1 = s1 + output_1
            state_2_3 = s2 + output_2_3

            output = (output_1, output_2_3)
            new_states = (state_1, state_2_3)

            return output, new_states

        def get_config(self):
            return {"unit_1": self.unit_1, "unit_2": unit_2, "unit_3": self.unit_3}

    # ### Build a RNN model with nested input/output
    unit_1 = 10
    unit_2 = 20
    unit_3 = 30

    i1 = 32
    i2 = 64
    i3 = 32
    batch_size = 16
    num_batches = 2
    timestep = 5

    cell = NestedCell(unit_1, unit_2, unit_3)
    rnn = keras.layers.RNN(cell)

    input_1 = keras.Input((None, i1))
    input_2 = keras.Input((None, i2, i3))

    outputs = rnn((input_1, input_2))
    facts["nested_output_shapes"] = [tuple(t.shape) for t in outputs]  # fact

    model = keras.models.Model([input_1, input_2], outputs)

    model.compile(optimizer="adam", loss="mse", metrics=["accuracy"])

    input_1_data = np.random.random((batch_size * num_batches, timestep, i1))
    input_2_data = np.random.random((batch_size * num_batches, timestep, i2, i3))
    target_1_data = np.random.random((batch_size * num_batches, unit_1))
    target_2_data = np.random.random((batch_size * num_batches, unit_2, unit_3))
    input_data = [input_1_data, input_2_data]
    target_data = [target_1_data, target_2_data]

    model.fit(input_data, target_data, batch_size=batch_size)
    facts["nested_history_keys"] = sorted(model.history.history)  # fact
    facts["nested_weight_shapes"] = [tuple(w.shape) for w in model.weights]  # fact
    facts["nested_model"], facts["nested_inputs"] = model, [  # fact
        input_1_data[:4], input_2_data[:4]]
    return facts
