"""The export zoo: tiny models covering every exportable layer family, fixed inputs for
them, and their artifacts (exported once per session, on first use).

The inputs have batch 5, not the trace size (2), so every check also exercises the
dynamic batch axis.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def image_model():
    """Preprocessing (Normalization, Rescaling, Resizing, CenterCrop), convolutions
    (plain, depthwise, transposed, separable), batch/group normalization, padding,
    pooling, Dropout, Dense."""
    inputs = lamina.Input((10, 10, 3), name="image")
    x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3])(inputs)
    x = layers.Rescaling(2.0, offset=-0.5)(x)
    x = layers.Resizing(12, 12)(x)
    x = layers.CenterCrop(8, 8)(x)
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.DepthwiseConv2D(3)(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2DTranspose(4, 2, strides=2)(x)
    x = layers.GroupNormalization(groups=2)(x)
    x = layers.ZeroPadding2D(1)(x)
    x = layers.SeparableConv2D(4, 2, padding="same")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    outputs = layers.Dense(3, activation="softmax", name="probs")(x)
    model = lamina.Model(inputs, outputs)
    _randomize_statistics(model)
    return model


def sequence_model():
    """Embedding with `mask_zero`; masked LSTM, bidirectional GRU, dot-product attention
    and pooling."""
    inputs = lamina.Input((5,), dtype="int32", name="tokens")
    x = layers.Embedding(12, 6, mask_zero=True)(inputs)
    x = layers.LSTM(5, return_sequences=True)(x)
    x = layers.Bidirectional(layers.GRU(2, return_sequences=True))(x)
    x = layers.Attention()([x, x])
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(2, name="logits")(x)
    return lamina.Model(inputs, outputs)


def attention_model():
    """Two named inputs (a dict), attention, layer normalization, Conv1D, merging."""
    sequence = lamina.Input((4, 8), name="sequence")
    extra = lamina.Input((3,), name="extra")
    attended = layers.MultiHeadAttention(num_heads=2, key_dim=4)(sequence, sequence)
    x = layers.LayerNormalization()(layers.Add()([sequence, attended]))
    x = layers.Conv1D(6, 2, padding="same", activation="gelu")(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Concatenate()([x, layers.Dense(4, activation="tanh")(extra)])
    outputs = layers.Dense(3, name="out")(x)
    return lamina.Model({"sequence": sequence, "extra": extra}, outputs)


def _inputs_for(kind, batch=5, seed=0):
    """Fixed inputs for zoo model `kind`, as numpy arrays (tokens right- and
    left-padded with zeros, so masks matter)."""
    rng = np.random.default_rng(seed)
    if kind == "image":
        return rng.random((batch, 10, 10, 3), dtype=np.float32)
    if kind == "tabular":
        return rng.standard_normal((batch, 3), dtype=np.float32) * 1.5
    if kind == "sequence":
        tokens = rng.integers(1, 12, size=(batch, 5)).astype("int32")
        tokens[1, 3:] = 0
        tokens[3, :2] = 0
        return tokens
    return {"sequence": rng.standard_normal((batch, 4, 8), dtype=np.float32),
            "extra": rng.standard_normal((batch, 3), dtype=np.float32)}


def _randomize_statistics(model):
    """Moving statistics away from 0/1, so exports that drop them would differ."""
    rng = np.random.default_rng(1)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            size = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.standard_normal(size).astype("float32"))
            layer.moving_variance.assign(rng.uniform(0.5, 2.0, size).astype("float32"))


def tabular_model():
    """Numeric preprocessing: Discretization into bins, then Dense. (ExecuTorch has no
    kernel for the bucketize op: that export names the layer instead.)"""
    inputs = lamina.Input((3,), name="features")
    bins = layers.Discretization(bin_boundaries=[-1.0, 0.0, 1.0], output_mode="int")(inputs)
    x = layers.Concatenate()([inputs, layers.Rescaling(1 / 3)(bins)])
    outputs = layers.Dense(2, name="scores")(x)
    return lamina.Model(inputs, outputs)


ZOO = {"image": image_model, "sequence": sequence_model, "attention": attention_model,
       "tabular": tabular_model}


EXTENSIONS = {"onnx": "onnx", "torch": "pt2", "executorch": "pte"}


@pytest.fixture(scope="session")
def zoo_models():
    torch.manual_seed(0)
    return {kind: build() for kind, build in ZOO.items()}


@pytest.fixture(scope="session")
def zoo_inputs():
    """`zoo_inputs(kind) -> numpy inputs`."""
    return _inputs_for


@pytest.fixture(scope="session")
def zoo_artifact(zoo_models, tmp_path_factory):
    """`zoo_artifact(kind, format) -> path`, exported on first use."""
    folder = tmp_path_factory.mktemp("artifacts")
    cache = {}

    def get(kind, format):
        if (kind, format) not in cache:
            path = str(folder / f"{kind}.{EXTENSIONS[format]}")
            # NOTE: ExecuTorch takes conv programs up to a batch of 15 (test_export.py).
            options = {"max_batch_size": 8} if format == "executorch" else {}
            zoo_models[kind].export(path, format=format, verbose=False, **options)
            cache[kind, format] = path
        return cache[kind, format]

    return get
