"""Acceptance test: the keras.io guide "Understanding masking & padding", lamina and Keras 3."""

import numpy as np
import pytest
from guide_masking_and_padding import run
from guide_support import fresh, numpy_of

import lamina

PADDED = np.array([[711, 632, 71, 0, 0, 0],
                   [73, 8, 3215, 55, 927, 0],
                   [83, 91, 1, 645, 1253, 927]], dtype="int32")


@pytest.fixture(scope="module")
def facts():
    fresh(lamina)
    return run(lamina)


@pytest.fixture(scope="module")
def keras_facts():
    keras = pytest.importorskip("keras")
    fresh(keras)
    return run(keras)


def test_pad_sequences_pads_at_the_end(facts):
    assert facts["padded_inputs"].dtype == np.int32
    np.testing.assert_array_equal(facts["padded_inputs"], PADDED)


def test_embedding_and_masking_attach_the_padding_mask(facts):
    np.testing.assert_array_equal(facts["embedding_mask"], PADDED != 0)
    np.testing.assert_array_equal(facts["masking_mask"], PADDED != 0)


@pytest.mark.parametrize("name", ["sequential", "functional"])
def test_lstm_fed_by_a_masking_embedding_ignores_the_padding(facts, name):
    model, out = facts[f"{name}_model"], facts[f"{name}_output"]
    assert out.shape == (3, 32)
    for row, length in enumerate((3, 5, 6)):
        unpadded = numpy_of(model(PADDED[row:row + 1, :length]))
        np.testing.assert_allclose(out[row], unpadded[0], atol=1e-6)


def test_layer_passes_a_computed_mask_to_its_lstm(facts):
    assert facts["my_layer_output_shape"] == (32, 32)
    layer, x = facts["my_layer"], facts["my_layer_input"]
    mask = numpy_of(layer.embedding.compute_mask(x))
    np.testing.assert_array_equal(mask, x != 0)
    explicit = layer.lstm(layer.embedding(x), mask=mask)
    np.testing.assert_allclose(numpy_of(layer(x)), numpy_of(explicit), atol=1e-6)


def test_compute_mask_splits_the_mask_with_the_tensor(facts):
    first, second = facts["split_masks"]
    np.testing.assert_array_equal(first, PADDED[:, :3] != 0)
    np.testing.assert_array_equal(second, PADDED[:, 3:] != 0)


def test_custom_embedding_generates_a_mask_from_its_input(facts):
    custom = facts["custom_embedding"]
    # The guide's `ops.take` has no axis, so it indexes the flattened table.
    assert custom["output_shape"] == (3, 10)
    np.testing.assert_array_equal(custom["mask"], custom["input"] != 0)
    np.testing.assert_array_equal(custom["attached_mask"], custom["input"] != 0)


def test_supports_masking_passes_the_mask_along(facts):
    assert facts["symbolic_mask"] == ((None, None), "bool")
    assert facts["activation_model_output_shape"] == (32, 32)


def test_mask_consuming_layer_receives_the_mask(facts):
    softmax = facts["temporal_softmax"]
    mask = softmax["input"] != 0
    out = softmax["output"][..., 0]
    # The guide normalises over the last axis, of size 1: kept steps give exactly 1,
    # masked steps 0/0.
    np.testing.assert_array_equal(out[mask], 1.0)
    assert np.isnan(out[~mask]).all() and (~mask).any()
    np.testing.assert_array_equal(softmax["mask"], mask)


def test_guide_shows_the_same_as_keras(facts, keras_facts):
    for key in ("padded_inputs", "embedding_mask", "masking_mask"):
        np.testing.assert_array_equal(facts[key], keras_facts[key])
    for ours, theirs in zip(facts["split_masks"], keras_facts["split_masks"]):
        np.testing.assert_array_equal(ours, theirs)
    for key in ("my_layer_output_shape", "symbolic_mask", "activation_model_output_shape"):
        assert facts[key] == keras_facts[key]
    for key in ("output_shape", "mask", "attached_mask"):
        np.testing.assert_array_equal(facts["custom_embedding"][key],
                                      keras_facts["custom_embedding"][key])
    np.testing.assert_array_equal(facts["temporal_softmax"]["output"],
                                  keras_facts["temporal_softmax"]["output"])
    np.testing.assert_array_equal(facts["temporal_softmax"]["mask"],
                                  keras_facts["temporal_softmax"]["mask"])


@pytest.mark.parametrize("name", ["sequential", "functional"])
def test_masked_lstm_matches_keras_with_the_same_weights(facts, keras_facts, name):
    ours, theirs = facts[f"{name}_model"], keras_facts[f"{name}_model"]
    assert [w.shape for w in ours.get_weights()] == [w.shape for w in theirs.get_weights()]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(numpy_of(ours(PADDED)), numpy_of(theirs(PADDED)),
                               rtol=1e-5, atol=1e-6)
