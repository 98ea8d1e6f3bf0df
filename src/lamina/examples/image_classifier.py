"""A small convnet with augmentation layers classifies digit images read from a folder.

The bundled 8x8 digits are written as PNG files into `train/<digit>/` and `test/<digit>/`
class folders, read back with `image_dataset_from_directory`, and learned by a model
whose first layers augment the images (active only in training) and rescale them. The
trained model is saved to a `.keras` file that Keras 3 loads.

Run it with `python -m lamina.examples.image_classifier` (needs Pillow, the `image`
extra; 10 to 20 seconds on a CPU).
"""

import argparse
import pathlib
import tempfile

import lamina as keras
from lamina import layers

IMAGE_SIZE = (16, 16)


def write_image_folders(directory):
    """Write the digits as grey PNG files, one folder per class, under `directory`/train
    and `directory`/test; return the two folders."""
    (x_train, y_train), (x_test, y_test) = keras.datasets.digits.load_data()
    directory = pathlib.Path(directory)
    for split, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        for i, (image, label) in enumerate(zip(images, labels)):
            folder = directory / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            # Pixels count 0..16 set bits: stretch them to 0..255 grey levels.
            pixels = (image.astype("float32") * (255 / 16)).round()[..., None]
            keras.utils.save_img(folder / f"{i:04d}.png", pixels, scale=False)
    return directory / "train", directory / "test"


def build_model(num_classes=10):
    # Augmentation works on 0..255 pixels (RandomContrast's default value range), so it
    # comes before Rescaling; in predict and evaluate these layers pass images through.
    # No RandomFlip: a mirrored 2, 3 or 7 is no longer that digit.
    augmentation = keras.Sequential([
        layers.RandomRotation(0.05, fill_mode="constant"),
        layers.RandomZoom(0.1, fill_mode="constant"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        layers.RandomContrast(0.2),
    ], name="augmentation")
    return keras.Sequential([
        keras.Input(shape=(*IMAGE_SIZE, 1)),
        augmentation,
        layers.Rescaling(1.0 / 255),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(num_classes, activation="softmax"),
    ], name="digits_convnet")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--output", default="image_classifier.keras",
                        help="where to save the trained model")
    parser.add_argument("--data-dir", default=None,
                        help="folder for the PNG files (a temporary one by default)")
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    keras.utils.set_random_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        train_dir, test_dir = write_image_folders(args.data_dir or tmp)
        train_ds, val_ds = keras.utils.image_dataset_from_directory(
            train_dir, validation_split=0.1, subset="both", seed=0, color_mode="grayscale",
            image_size=IMAGE_SIZE, batch_size=32, verbose=verbose != 0)
        test_ds = keras.utils.image_dataset_from_directory(
            test_dir, shuffle=False, color_mode="grayscale", image_size=IMAGE_SIZE,
            batch_size=64, verbose=verbose != 0)
        print(f"classes: {train_ds.class_names}")

        model = build_model(len(train_ds.class_names))
        model.compile(optimizer=keras.optimizers.Adam(3e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(train_ds, validation_data=val_ds, epochs=args.epochs, verbose=verbose)
        loss, accuracy = model.evaluate(test_ds, verbose=0)
    model.save(args.output)
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    print(f"saved the model to {args.output}")
    return accuracy


if __name__ == "__main__":
    main()
