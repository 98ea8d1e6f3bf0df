"""keras.io guide "Understanding masking & padding" (Keras 3 edition), as a function.

The guide's code runs inside `run(keras, workdir)` against lamina or Keras 3; it
downloads nothing. Changes: the guide's `np.random` data comes from a fixed seed, the
models are kept in `facts` so the test can copy weights between the two libraries,
and lines marked `# fact` only record what the guide shows or prints.
"""

import numpy as np
from guide_support import numpy_of


def run(keras, workdir=None):
    ops = keras.ops
    layers = keras.layers
    facts = {}
    np.random.seed(0)

    # ## Padding sequence data
    raw_inputs = [
        [711, 632, 71],
        [73, 8, 3215, 55, 927],
        [83, 91, 1, 645, 1253, 927],
    ]

    # By default, this will pad using 0s; it is configurable via the
    # "value" parameter.
    # Note that you could use "pre" padding (at the beginning) or
    # "post" padding (at the end).
    # We recommend using "post" padding when working with RNN layers
    # (in order to be able to use the
    # CuDNN implementation of the layers).
    padded_inputs = keras.utils.pad_sequences(raw_inputs, padding="post")
    print(padded_inputs)
    facts["padded_inputs"] = padded_inputs  # fact

    # ## Mask-generating layers: `Embedding` and `Masking`
    embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
    masked_output = embedding(padded_inputs)

    print(masked_output._keras_mask)
    facts["embedding_mask"] = numpy_of(masked_output._keras_mask)  # fact

    masking_layer = layers.Masking()
    # Simulate the embedding lookup by expanding the 2D input to 3D,
    # with embedding dimension of 10.
    unmasked_embedding = ops.cast(
        ops.tile(ops.expand_dims(padded_inputs, axis=-1), [1, 1, 10]),
        dtype="float32",
    )

    masked_embedding = masking_layer(unmasked_embedding)
    print(masked_embedding._keras_mask)
    facts["masking_mask"] = numpy_of(masked_embedding._keras_mask)  # fact

    # ## Mask propagation in the Functional API and Sequential API
    model = keras.Sequential(
        [
            layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True),
            layers.LSTM(32),
        ]
    )
    facts["sequential_model"] = model  # fact
    facts["sequential_output"] = numpy_of(model(padded_inputs))  # fact

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    outputs = layers.LSTM(32)(x)

    model = keras.Model(inputs, outputs)
    facts["functional_model"] = model  # fact
    facts["functional_output"] = numpy_of(model(padded_inputs))  # fact

    # ## Passing mask tensors directly to layers
    class MyLayer(layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.embedding = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)
            self.lstm = layers.LSTM(32)

        def call(self, inputs):
            x = self.embedding(inputs)
            # Note that you could also prepare a `mask` tensor manually.
            # It only needs to be a boolean tensor
            # with the right shape, i.e. (batch_size, timesteps).
            mask = self.embedding.compute_mask(inputs)
            output = self.lstm(x, mask=mask)  # The layer will ignore the masked values
            return output

    layer = MyLayer()
    x = np.random.random((32, 10)) * 100
    x = x.astype("int32")
    facts["my_layer_output_shape"] = tuple(layer(x).shape)  # fact
    facts["my_layer"], facts["my_layer_input"] = layer, x  # fact

    # ## Supporting masking in your custom layers
    class TemporalSplit(keras.layers.Layer):
        """Split the input tensor into 2 tensors along the time dimension."""

        def call(self, inputs):
            # Expect the input to be 3D and mask to be 2D, split the input tensor into 2
            # subtensors along the time axis (axis 1).
            return ops.split(inputs, 2, axis=1)

        def compute_mask(self, inputs, mask=None):
            # Also split the mask into 2 if it presents.
            if mask is None:
                return None
            return ops.split(mask, 2, axis=1)

    first_half, second_half = TemporalSplit()(masked_embedding)
    print(first_half._keras_mask)
    print(second_half._keras_mask)
    facts["split_masks"] = (  # fact
        numpy_of(first_half._keras_mask), numpy_of(second_half._keras_mask))

    class CustomEmbedding(keras.layers.Layer):
        def __init__(self, input_dim, output_dim, mask_zero=False, **kwargs):
            super().__init__(**kwargs)
            self.input_dim = input_dim
            self.output_dim = output_dim
            self.mask_zero = mask_zero

        def build(self, input_shape):
            self.embeddings = self.add_weight(
                shape=(self.input_dim, self.output_dim),
                initializer="random_normal",
                dtype="float32",
            )

        def call(self, inputs):
            inputs = ops.cast(inputs, "int32")
            return ops.take(self.embeddings, inputs)

        def compute_mask(self, inputs, mask=None):
            if not self.mask_zero:
                return None
            return ops.not_equal(inputs, 0)

    layer = CustomEmbedding(10, 32, mask_zero=True)
    x = np.random.random((3, 10)) * 9
    x = x.astype("int32")

    y = layer(x)
    mask = layer.compute_mask(x)

    print(mask)
    facts["custom_embedding"] = {  # fact
        "input": x,
        "output_shape": tuple(y.shape),
        "mask": numpy_of(mask),
        "attached_mask": numpy_of(y._keras_mask),
    }

    # ## Opting-in to mask propagation on compatible layers
    class MyActivation(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            # Signal that the layer is safe for mask propagation
            self.supports_masking = True

        def call(self, inputs):
            return ops.relu(inputs)

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=5000, output_dim=16, mask_zero=True)(inputs)
    x = MyActivation()(x)  # Will pass the mask along
    print("Mask found:", x._keras_mask)
    facts["symbolic_mask"] = (  # fact
        tuple(x._keras_mask.shape), str(x._keras_mask.dtype).replace("torch.", ""))
    outputs = layers.LSTM(32)(x)  # Will receive the mask

    model = keras.Model(inputs, outputs)
    y = model(np.random.randint(0, 5000, size=(32, 100)))
    facts["activation_model_output_shape"] = tuple(y.shape)  # fact

    # ## Writing layers that need mask information
    class TemporalSoftmax(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.supports_masking = True

        def call(self, inputs, mask=None):
            assert mask is not None
            broadcast_float_mask = ops.expand_dims(ops.cast(mask, "float32"), -1)
            inputs_exp = ops.exp(inputs) * broadcast_float_mask
            inputs_sum = ops.sum(inputs_exp * broadcast_float_mask, axis=-1, keepdims=True)
            return inputs_exp / inputs_sum

    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(input_dim=10, output_dim=32, mask_zero=True)(inputs)
    x = layers.Dense(1)(x)
    outputs = TemporalSoftmax()(x)

    model = keras.Model(inputs, outputs)
    softmax_input = np.random.randint(0, 10, size=(32, 100))
    y = model(softmax_input)
    facts["temporal_softmax"] = {  # fact
        "input": softmax_input,
        "output": numpy_of(y),
        "mask": numpy_of(y._keras_mask) if getattr(y, "_keras_mask", None) is not None
        else None,
    }
    return facts
