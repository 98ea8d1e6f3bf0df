"""A bag-of-embeddings model tells sports news from cooking notes, reading raw strings.

The corpus is generated from a seed: short sentences mixing filler words, words of one
topic and a few words of the other (so no single word decides). The model's first layer,
`TextVectorization`, is adapted on the training sentences and turns strings into token
indices inside the model, so the saved `.keras` file (vocabulary included) takes raw
text.

Run it with `python -m lamina.examples.text_classifier` (a few seconds on a CPU).
"""

import argparse

import numpy as np

import lamina as keras
from lamina import layers

TOPICS = {
    "sports": ["match", "goal", "team", "coach", "league", "striker", "referee", "season",
               "stadium", "score", "penalty", "defender", "trophy", "fans", "tournament",
               "keeper", "transfer", "final", "derby", "training"],
    "cooking": ["recipe", "oven", "garlic", "flour", "simmer", "sauce", "butter", "onion",
                "bake", "pepper", "dough", "skillet", "roast", "lemon", "whisk", "broth",
                "salt", "dinner", "chop", "spices"],
}
FILLER = ["the", "a", "we", "it", "was", "after", "with", "and", "then", "today", "really",
          "new", "good", "this", "week", "our", "at", "for", "very", "again"]
MAX_TOKENS = 64
SEQUENCE_LENGTH = 12


def make_corpus(n, seed=0, noise=0.25):
    """`n` sentences and their labels (0: sports, 1: cooking), the same for the same seed.

    Each sentence holds 2 to 4 words of its topic, up to 2 of the other one (each with
    probability `noise`) and filler, shuffled, with a capital and a full stop for
    `TextVectorization`'s standardization to strip.
    """
    rng = np.random.default_rng(seed)
    vocabularies = list(TOPICS.values())
    labels = rng.integers(0, 2, n)
    sentences = []
    for label in labels:
        words = list(rng.choice(vocabularies[label], rng.integers(2, 5)))
        words += list(rng.choice(vocabularies[1 - label], rng.binomial(2, noise)))
        words += list(rng.choice(FILLER, rng.integers(2, 6)))
        rng.shuffle(words)
        sentences.append(" ".join(words).capitalize() + rng.choice([".", "!", "?"]))
    return np.array(sentences), labels.astype("float32")


def build_model(train_text):
    vectorize = layers.TextVectorization(max_tokens=MAX_TOKENS,
                                         output_sequence_length=SEQUENCE_LENGTH)
    vectorize.adapt(train_text)
    return keras.Sequential([
        vectorize,
        layers.Embedding(MAX_TOKENS, 16),
        layers.GlobalAveragePooling1D(),
        layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ], name="topic_classifier")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2000,
                        help="training sentences (the test set is a quarter of that)")
    parser.add_argument("--output", default="text_classifier.keras",
                        help="where to save the trained model")
    parser.add_argument("--verbose", default="auto")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    keras.utils.set_random_seed(0)
    x_train, y_train = make_corpus(args.samples, seed=0)
    x_test, y_test = make_corpus(max(args.samples // 4, 100), seed=1)
    print(f"first sentence: {str(x_train[0])!r} ({list(TOPICS)[int(y_train[0])]})")

    model = build_model(x_train)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, validation_split=0.1,
              verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    model.save(args.output)
    samples = ["The striker scored a late goal!", "Simmer the garlic in butter."]
    scores = model.predict(np.array(samples), verbose=0)[:, 0]
    print(f"test loss: {loss:.4f} - test accuracy: {accuracy:.4f}")
    for text, score in zip(samples, scores):
        print(f"{text!r}: {list(TOPICS)[int(score > 0.5)]} ({score:.3f})")
    print(f"saved the model to {args.output}")
    return accuracy


if __name__ == "__main__":
    main()
