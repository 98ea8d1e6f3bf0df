"""Train a small classifier on the bundled 8x8 digits, with Keras code on PyTorch.

Run it with `python -m lamina.examples.quickstart` (about 10 seconds on a laptop CPU).
"""

import argparse

import numpy as np

import lamina as keras
from lamina import layers


def build_model():
    return keras.Sequential([
        keras.Input(shape=(8, 8)),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dropout(0.1),
        layers.Dense(64, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="digits_mlp")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    keras.utils.set_random_seed(0)
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    x_train = x_train.astype("float32") / 16.0
    x_test = x_test.astype("float32") / 16.0

    model = build_model()
    model.summary()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, validation_split=0.1,
              verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    predictions = np.argmax(model.predict(x_test[:5], verbose=0), axis=-1)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    print(f"first predictions: {predictions.tolist()} (labels {y_test[:5].tolist()})")
    return accuracy


if __name__ == "__main__":
    main()
