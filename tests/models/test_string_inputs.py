"""Functional and Sequential models with `Input(dtype="string")`: text layers infer their
outputs from their own shape rules, string arrays reach them unconverted, `.keras` works."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers, ops
from lamina.backend.dtypes import result_type, standardize_dtype, to_torch_dtype

VOCAB = ["good", "great", "bad", "awful", "movie"]
TEXTS = np.array([["good movie"], ["great movie"], ["bad movie"], ["awful movie"]] * 8)
LABELS = np.array([1, 1, 0, 0] * 8, dtype="float32")


def text_classifier(**vectorizer):
    inputs = lamina.Input(shape=(1,), dtype="string", name="text")
    x = layers.TextVectorization(max_tokens=100, output_sequence_length=8,
                                 vocabulary=VOCAB, **vectorizer)(inputs)
    x = layers.Embedding(102, 8)(x)
    x = layers.GlobalAveragePooling1D()(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    return lamina.Model(inputs, outputs)


def test_string_input_is_a_string_keras_tensor():
    x = lamina.Input(shape=(1,), dtype="string")
    assert (x.shape, x.dtype) == ((None, 1), "string")
    assert standardize_dtype(str) == "string"
    with pytest.raises(ValueError, match="'string' has no torch dtype"):
        to_torch_dtype("string")
    with pytest.raises(ValueError, match="'string' is not a valid dtype for Keras type"):
        result_type("string", "int32")


def test_functional_text_classifier_trains_and_predicts():
    torch.manual_seed(0)
    model = text_classifier()
    assert model._takes_strings
    model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy")
    history = model.fit(TEXTS, LABELS, epochs=8, batch_size=8, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < losses[0] - 0.1
    predictions = model.predict(TEXTS[:4], verbose=0)
    assert predictions.shape == (4, 1)
    assert predictions[0, 0] > 0.5 > predictions[2, 0]
    # eager calls take (batch, 1) or (batch,) string arrays alike
    np.testing.assert_allclose(model(TEXTS[:4]).detach().numpy(), predictions, rtol=1e-5)
    np.testing.assert_allclose(model(TEXTS[:4, 0]).detach().numpy(), predictions, rtol=1e-5)
    assert model.evaluate(TEXTS, LABELS, verbose=0) == pytest.approx(losses[-1], abs=0.1)


def test_functional_string_model_rejects_tensors_and_wrong_shapes():
    model = text_classifier()
    with pytest.raises(ValueError, match="dtype 'string'.*not a torch tensor"):
        model(torch.zeros(2, 1))
    with pytest.raises(ValueError, match="dtype 'string', but received an array of dtype"):
        model(np.zeros((2, 1)))
    with pytest.raises(ValueError, match="expected shape"):
        model(np.array([["a", "b"]]))


def test_text_layer_output_specs_follow_keras():
    text = lamina.Input(shape=(1,), dtype="string")
    ints = layers.TextVectorization(vocabulary=VOCAB, output_sequence_length=8)(text)
    assert (ints.shape, ints.dtype) == ((None, 8), "int64")
    ragged = layers.TextVectorization(vocabulary=VOCAB)(text)
    assert (ragged.shape, ragged.dtype) == ((None, None), "int64")
    hot = layers.TextVectorization(vocabulary=VOCAB, output_mode="multi_hot")(text)
    assert (hot.shape, hot.dtype) == ((None, 6), "float32")
    tokens = lamina.Input(shape=(3,), dtype="string")
    lookup = layers.StringLookup(vocabulary=VOCAB)(tokens)
    assert (lookup.shape, lookup.dtype) == ((None, 3), "int64")
    counts = layers.StringLookup(vocabulary=VOCAB, output_mode="count")(tokens)
    assert (counts.shape, counts.dtype) == ((None, 6), "float32")
    inverse = layers.StringLookup(vocabulary=VOCAB, invert=True)(lamina.Input((3,), dtype="int64"))
    assert (inverse.shape, inverse.dtype) == ((None, 3), "string")


def test_multi_hot_model_runs_on_strings():
    inputs = lamina.Input(shape=(), dtype="string")
    outputs = layers.TextVectorization(vocabulary=VOCAB, output_mode="multi_hot")(inputs)
    model = lamina.Model(inputs, outputs)
    got = model(np.array(["good movie", "bad"]))
    np.testing.assert_array_equal(np.asarray(got), [[0, 1, 0, 0, 0, 1], [0, 0, 0, 1, 0, 0]])


def test_sequential_with_string_input():
    model = lamina.Sequential([
        lamina.Input(shape=(1,), dtype="string"),
        layers.TextVectorization(vocabulary=VOCAB, output_sequence_length=4),
        layers.Embedding(8, 2),
    ])
    assert model.output_shape == (None, 4, 2)
    assert model.predict(TEXTS[:3], verbose=0).shape == (3, 4, 2)


def test_numeric_op_on_string_tensor_names_the_dtype():
    text = lamina.Input(shape=(1,), dtype="string", name="text")
    with pytest.raises(ValueError, match="dtype.*'string'"):
        ops.add(text, 1)
    with pytest.raises(ValueError, match="'text' has dtype 'string'"):
        layers.Dense(2)(text)


def test_keras_round_trip(tmp_path):
    model = text_classifier()
    path = str(tmp_path / "text.keras")
    model.save(path)
    restored = lamina.models.load_model(path)
    assert restored.inputs[0].dtype == "string"
    assert restored.layers[0].get_config()["dtype"] == "string"
    np.testing.assert_allclose(restored.predict(TEXTS[:4], verbose=0),
                               model.predict(TEXTS[:4], verbose=0), rtol=1e-6)


def test_input_layer_config_matches_keras():
    keras = pytest.importorskip("keras")
    theirs = keras.Input(shape=(1,), dtype="string", name="text")._keras_history[0]
    ours = lamina.Input(shape=(1,), dtype="string", name="text")._keras_history[0]
    expected = dict(theirs.get_config(), batch_shape=list(theirs.get_config()["batch_shape"]))
    assert ours.get_config() == expected
    assert lamina.layers.InputLayer.from_config(theirs.get_config()).dtype == "string"


def test_hashing_layers_on_string_inputs():
    text = lamina.Input(shape=(1,), dtype="string")
    number = lamina.Input(shape=(1,), dtype="int64")
    hashed = layers.Hashing(num_bins=5)(text)
    assert (hashed.shape, hashed.dtype) == ((None, 1), "int64")
    hot = layers.Hashing(num_bins=5, output_mode="multi_hot")(text)
    assert (hot.shape, hot.dtype) == ((None, 5), "float32")
    crossed = layers.HashedCrossing(num_bins=7, output_mode="one_hot")([text, number])
    assert (crossed.shape, crossed.dtype) == ((None, 7), "float32")
    model = lamina.Model([text, number], [hashed, crossed])
    words, ids = np.array([["a"], ["b"]]), np.array([[1], [2]])
    got_hashed, got_crossed = model([words, ids])
    np.testing.assert_array_equal(got_hashed, layers.Hashing(num_bins=5)(words))
    np.testing.assert_array_equal(
        got_crossed, layers.HashedCrossing(num_bins=7, output_mode="one_hot")([words, ids]))


def test_string_model_nests_in_functional_and_sequential():
    inner = text_classifier()
    text = lamina.Input(shape=(1,), dtype="string")
    scores = inner(text)
    assert (scores.shape, scores.dtype) == ((None, 1), "float32")
    assert len(inner.layers[1]._inbound_nodes) == 1  # the spec replay records no nodes
    outer = lamina.Model(text, layers.Dense(2)(scores))
    assert outer.predict(TEXTS[:3], verbose=0).shape == (3, 2)
    stacked = lamina.Sequential([lamina.Input(shape=(1,), dtype="string"), inner])
    np.testing.assert_allclose(stacked.predict(TEXTS[:3], verbose=0),
                               inner.predict(TEXTS[:3], verbose=0), rtol=1e-6)
