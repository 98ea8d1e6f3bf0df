"""Write the `.keras` layout Keras 3 gives the text classifier example's model.

Run it with a Python that has Keras 3 and TensorFlow (Keras' TextVectorization needs
TensorFlow; lamina's tests do not install it):

    python tools/gen_text_classifier_reference.py

It builds the example's architecture in Keras (same layers, names and settings), adapts
and trains it for one epoch on a few sentences, saves it, and writes the archive's file
names and its config.json to tests/examples/data/keras_text_classifier_layout.json, which
tests/examples/test_text_classifier.py compares (structure, not numbers) with lamina's.
"""

import json
import pathlib
import tempfile
import zipfile

import keras
import numpy as np
import tensorflow as tf

OUT = (pathlib.Path(__file__).resolve().parents[1]
       / "tests/examples/data/keras_text_classifier_layout.json")
# Mirrors lamina/examples/text_classifier.py (the test checks these values against it).
MAX_TOKENS = 64
SEQUENCE_LENGTH = 12
SENTENCES = ["The team scored a late goal!", "Simmer the garlic in butter.",
             "Our coach was happy with the match.", "Bake the dough in the oven."] * 8


def main():
    keras.utils.set_random_seed(0)
    text = tf.constant(SENTENCES)
    labels = np.array([0, 1, 0, 1] * 8, "float32")
    vectorize = keras.layers.TextVectorization(max_tokens=MAX_TOKENS,
                                               output_sequence_length=SEQUENCE_LENGTH)
    vectorize.adapt(text)
    model = keras.Sequential([
        vectorize,
        keras.layers.Embedding(MAX_TOKENS, 16),
        keras.layers.GlobalAveragePooling1D(),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ], name="topic_classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(text, labels, batch_size=8, epochs=1, verbose=0)
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "text_classifier.keras"
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            layout = {"keras_version": keras.__version__,
                      "files": sorted(archive.namelist()),
                      "config": json.loads(archive.read("config.json"))}
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(layout, indent=1, sort_keys=True) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
