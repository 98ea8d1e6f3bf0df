"""A Transformer encoder block, built with the functional API, learns whether token 7
appears in a random sequence.

Run it with `python -m lamina.examples.transformer_encoder` (a few seconds on a CPU).
"""

import argparse

import numpy as np
import torch

import lamina as keras
from lamina import ops
from lamina.layers.attention import MultiHeadAttention
from lamina.layers.core.dense import Dense
from lamina.layers.core.embedding import Embedding
from lamina.layers.normalization import LayerNormalization

TARGET_TOKEN = 7


class TokenAndPositionEmbedding(keras.Layer):
    """Token embedding plus a learned embedding of each position."""

    def __init__(self, sequence_length, vocabulary_size, dim, **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = sequence_length
        self.vocabulary_size = vocabulary_size
        self.dim = dim
        self.tokens = Embedding(vocabulary_size, dim)
        self.positions = Embedding(sequence_length, dim)

    def call(self, inputs):
        positions = torch.arange(inputs.shape[-1], device=inputs.device)
        return self.tokens(inputs) + self.positions(positions)

    def get_config(self):
        config = super().get_config()
        config.update(sequence_length=self.sequence_length,
                      vocabulary_size=self.vocabulary_size, dim=self.dim)
        return config


def encoder_block(x, num_heads, key_dim, ff_dim):
    """Self-attention and a feed-forward network, each with a residual add and norm."""
    dim = x.shape[-1]
    attended = MultiHeadAttention(num_heads=num_heads, key_dim=key_dim)(x, x)
    x = LayerNormalization(epsilon=1e-6)(ops.add(x, attended))
    hidden = Dense(ff_dim, activation="relu")(x)
    return LayerNormalization(epsilon=1e-6)(ops.add(x, Dense(dim)(hidden)))


def build_model(sequence_length=12, vocabulary_size=20, dim=16, num_heads=2, ff_dim=32):
    tokens = keras.Input(shape=(sequence_length,), dtype="int32")
    x = TokenAndPositionEmbedding(sequence_length, vocabulary_size, dim)(tokens)
    x = encoder_block(x, num_heads=num_heads, key_dim=dim // num_heads, ff_dim=ff_dim)
    x = ops.mean(x, axis=1)
    outputs = Dense(1, activation="sigmoid")(x)
    return keras.Model(tokens, outputs, name="transformer_encoder")


def make_data(n, sequence_length=12, vocabulary_size=20, seed=0):
    """Random sequences without token 7, half of them with 7 written at a random place."""
    rng = np.random.default_rng(seed)
    others = np.array([t for t in range(1, vocabulary_size) if t != TARGET_TOKEN])
    x = rng.choice(others, size=(n, sequence_length)).astype("int32")
    y = (rng.random(n) < 0.5).astype("float32")
    rows = np.flatnonzero(y)
    x[rows, rng.integers(0, sequence_length, rows.size)] = TARGET_TOKEN
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=448)
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    keras.utils.set_random_seed(0)
    x_train, y_train = make_data(args.samples, seed=0)
    x_test, y_test = make_data(256, seed=1)
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
