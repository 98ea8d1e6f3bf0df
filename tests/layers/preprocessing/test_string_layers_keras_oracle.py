"""The string and lookup layers (StringLookup, IntegerLookup, Hashing, HashedCrossing,
TextVectorization) against Keras 3 itself: Keras runs them on TensorFlow whatever its
backend, so these oracle checks need tensorflow (a dev dependency). Same config, same
adapt data or vocabulary, same inputs -> same outputs, vocabularies and configs; adapted
layers in `.keras` files written by one library and read by the other."""

import json

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

WORDS = np.array([["a", "b", "b"], ["c", "b", "d"], ["a", "e", "b"], ["a", "a", "f"]])
QUERY = np.array([["a", "b"], ["c", "zz"], ["", "f"]])
INTS = np.array([[3, 5, 5, 0], [7, 5, 9, 3], [3, 3, 1, 0]])
INT_QUERY = np.array([[3, 5], [42, 0], [9, 1]])
CORPUS = np.array(["The quick brown fox.", "jumped over the LAZY dog!",
                   "the dog, the fox; the end", "Ünïcode ÀB  cd", "  spaces   here "])
TEXTS = np.array(["the fox and the dog", "unknown words only", "", "Ünïcode àb"])

CASES = [
    # (layer, kwargs, adapt data or None, inputs)
    ("StringLookup", {}, WORDS, QUERY),
    ("StringLookup", {"max_tokens": 4, "num_oov_indices": 2}, WORDS, QUERY),
    ("StringLookup", {"mask_token": "", "oov_token": "[OOV]"}, WORDS, QUERY),
    ("StringLookup", {"output_mode": "one_hot"}, WORDS, QUERY[:, 0]),
    ("StringLookup", {"output_mode": "multi_hot", "max_tokens": 9,
                      "pad_to_max_tokens": True}, WORDS, QUERY),
    ("StringLookup", {"output_mode": "count"}, WORDS, QUERY),
    ("StringLookup", {"output_mode": "tf_idf"}, WORDS, QUERY),
    ("StringLookup", {"vocabulary": ["b", "a", "c"], "output_mode": "tf_idf",
                      "idf_weights": [0.5, 1.0, 2.0]}, None, QUERY),
    ("StringLookup", {"vocabulary": ["b", "a", "c"], "num_oov_indices": 0}, None,
     QUERY[:1]),
    ("IntegerLookup", {}, INTS, INT_QUERY),
    ("IntegerLookup", {"mask_token": 0, "max_tokens": 4}, INTS, INT_QUERY),
    ("IntegerLookup", {"output_mode": "multi_hot"}, INTS, INT_QUERY),
    ("IntegerLookup", {"output_mode": "tf_idf"}, INTS, INT_QUERY),
    ("IntegerLookup", {"vocabulary": [5, 3, 9], "oov_token": -7}, None, INT_QUERY),
    ("Hashing", {"num_bins": 7}, None, QUERY),
    ("Hashing", {"num_bins": 7, "mask_value": ""}, None, QUERY),
    ("Hashing", {"num_bins": 11, "salt": 133}, None, QUERY),
    ("Hashing", {"num_bins": 11, "salt": [5, 9]}, None, INT_QUERY),
    ("Hashing", {"num_bins": 5}, None, np.array([[1.5, -2.0], [0.0, 3.25]], "float32")),
    ("Hashing", {"num_bins": 6, "output_mode": "one_hot"}, None, QUERY[:, 0]),
    ("Hashing", {"num_bins": 6, "output_mode": "count"}, None, QUERY),
    ("TextVectorization", {}, CORPUS, TEXTS),
    ("TextVectorization", {"max_tokens": 6, "output_sequence_length": 4}, CORPUS, TEXTS),
    ("TextVectorization", {"ngrams": (1, 3), "output_sequence_length": 12}, CORPUS, TEXTS),
    ("TextVectorization", {"output_mode": "multi_hot", "ngrams": 2}, CORPUS, TEXTS),
    ("TextVectorization", {"output_mode": "count", "split": "character"}, CORPUS, TEXTS),
    ("TextVectorization", {"output_mode": "tf_idf", "max_tokens": 8,
                           "pad_to_max_tokens": True}, CORPUS, TEXTS),
    ("TextVectorization", {"standardize": "lower", "split": None}, CORPUS, TEXTS),
    ("TextVectorization", {"standardize": "strip_punctuation"}, CORPUS, TEXTS[:, None]),
    ("TextVectorization", {"standardize": None, "vocabulary": ["the", "fox", "dog"]}, None,
     TEXTS),
]
IDS = [f"{name}-{i}" for i, (name, *_) in enumerate(CASES)]


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return keras.ops.convert_to_numpy(x)


def make_both(name, kwargs, adapt):
    ours = getattr(lamina.layers, name)(name="layer", **kwargs)
    theirs = getattr(keras.layers, name)(name="layer", **kwargs)
    if adapt is not None:
        ours.adapt(adapt)
        theirs.adapt(adapt)
    return ours, theirs


@pytest.mark.parametrize("name,kwargs,adapt,inputs", CASES, ids=IDS)
def test_outputs_vocabulary_and_config_equal_keras(name, kwargs, adapt, inputs):
    ours, theirs = make_both(name, kwargs, adapt)
    got, want = as_numpy(ours(inputs)), as_numpy(theirs(inputs))
    assert got.shape == want.shape
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)
    if hasattr(theirs, "get_vocabulary"):
        assert ours.get_vocabulary() == [
            t.decode() if isinstance(t, bytes) else t for t in theirs.get_vocabulary()]
        assert ours.vocabulary_size() == theirs.vocabulary_size()
    assert normalize(ours.get_config()) == normalize(theirs.get_config())


def test_hashed_crossing_equals_keras():
    for kwargs in ({"num_bins": 5}, {"num_bins": 8, "output_mode": "one_hot"}):
        ours = lamina.layers.HashedCrossing(**kwargs)
        theirs = keras.layers.HashedCrossing(**kwargs)
        for pair in ((QUERY[:, 0], INT_QUERY[:, 0]), (QUERY[:, 1], QUERY[:, 0])):
            np.testing.assert_array_equal(as_numpy(ours(pair)), as_numpy(theirs(pair)))
        assert normalize(ours.get_config()) == normalize(theirs.get_config())


def test_inverted_lookups_equal_keras():
    import tensorflow as tf

    ids = np.array([[1, 2], [0, 3]])
    ours = lamina.layers.StringLookup(vocabulary=["a", "b", "c"], invert=True)
    theirs = keras.layers.StringLookup(vocabulary=["a", "b", "c"], invert=True)
    # Keras' inverted StringLookup needs a tf tensor (a numpy batch fails inside Keras).
    want = theirs(tf.constant(ids)).numpy().astype(str)
    np.testing.assert_array_equal(np.asarray(ours(ids)).astype(str), want)
    ours = lamina.layers.IntegerLookup(vocabulary=[7, 8], invert=True)
    theirs = keras.layers.IntegerLookup(vocabulary=[7, 8], invert=True)
    np.testing.assert_array_equal(as_numpy(ours(ids)), as_numpy(theirs(tf.constant(ids))))


def build(ns):
    """The same adapted layers in each library, wrapped in a Sequential so the `.keras`
    file carries their vocabularies and statistics."""
    lookup = ns.layers.StringLookup(output_mode="multi_hot", name="lookup")
    lookup.adapt(WORDS)
    ints = ns.layers.IntegerLookup(output_mode="tf_idf", name="ints")
    ints.adapt(INTS)
    text = ns.layers.TextVectorization(max_tokens=10, ngrams=2, output_sequence_length=6,
                                       name="text")
    text.adapt(CORPUS)
    hashing = ns.layers.Hashing(num_bins=9, salt=3, name="hash")
    return {layer.name: ns.Sequential([layer]) for layer in (lookup, ints, text, hashing)}


INPUTS = {"lookup": QUERY, "ints": INT_QUERY, "text": TEXTS, "hash": QUERY}


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_adapted_layers_move_between_lamina_and_keras_files(tmp_path, writer):
    writer_ns, reader = (lamina, keras.saving) if writer == "lamina" else (keras,
                                                                            lamina.saving)
    for name, model in build(writer_ns).items():
        path = str(tmp_path / f"{name}.keras")
        model.save(path)
        original, loaded = model.layers[0], reader.load_model(path).layers[0]
        assert normalize(loaded.get_config()) == normalize(original.get_config())
        if hasattr(original, "get_vocabulary"):
            assert [t.decode() if isinstance(t, bytes) else t
                    for t in loaded.get_vocabulary()] == [
                t.decode() if isinstance(t, bytes) else t for t in original.get_vocabulary()]
        # Keras' torch backend cannot pass numpy strings through a Sequential call, so
        # each library calls the layer itself.
        np.testing.assert_allclose(as_numpy(loaded(INPUTS[name])),
                                   as_numpy(original(INPUTS[name])), rtol=1e-6)
