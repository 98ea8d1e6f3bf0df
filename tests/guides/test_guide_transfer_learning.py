"""Acceptance test: the keras.io guide "Transfer learning & fine-tuning", lamina and Keras 3."""

import numpy as np
import pytest
from guide_support import fresh, numpy_of
from guide_transfer_learning import run

import lamina


@pytest.fixture(scope="module")
def facts():
    fresh(lamina)
    return run(lamina)


@pytest.fixture(scope="module")
def keras_facts():
    keras = pytest.importorskip("keras")
    fresh(keras)
    return run(keras)


def _section(facts, name):
    section = facts[name]
    assert "raised" not in section, f"{section['raised']}: {section['message']}"
    return section


def test_trainable_attribute_moves_weights_between_lists(facts):
    trainable = _section(facts, "trainable_api")
    assert trainable["dense_counts"] == (2, 2, 0)
    assert trainable["batchnorm_counts"] == (4, 2, 2)
    assert trainable["frozen_dense_counts"] == (2, 0, 2)
    # (The guide itself asserts the frozen layer's weights did not move.)
    assert trainable["unfrozen_layer_trained"]
    assert trainable["recursive_frozen"] == (False, False, 0)


def test_data_is_resized_and_augmented(facts):
    end = _section(facts, "end_to_end")
    assert end["resized_shapes"] == [(150, 150, 3)]
    augmented = end["augmented"]
    assert augmented["shape"] == (1, 150, 150, 3) and augmented["all_differ_from_input"]
    low, high = augmented["range"]
    assert 0.0 <= low and high <= 255.0  # reflect-filled rotation keeps pixel values


def test_frozen_base_trains_only_the_new_head(facts):
    end = _section(facts, "end_to_end")
    # Base: 3 convolution kernels + 3 BatchNormalizations (gamma, beta, mean, variance).
    assert end["frozen_counts"] == (2, 16)
    assert end["top_fit"] == {
        "history_keys": ["binary_accuracy", "loss", "val_binary_accuracy", "val_loss"],
        "base_unchanged": True, "head_changed": True}


def test_fine_tuning_keeps_batchnorm_in_inference_mode(facts):
    end = _section(facts, "end_to_end")
    assert end["unfrozen_counts"] == (12, 6)
    # `base_model(x, training=False)` keeps BatchNormalization's statistics fixed while
    # the unfrozen kernels train: the guide's point, and lamina's training-flag rule
    # (an explicit `training=` wins over the one `fit` sets).
    assert end["fine_tune"] == {"statistics_unchanged": True, "base_trained": True}
    assert len(end["test_evaluation"]) == 2


def test_guide_shows_the_same_as_keras(facts, keras_facts):
    assert facts["trainable_api"] == keras_facts["trainable_api"]
    ours, theirs = _section(facts, "end_to_end"), _section(keras_facts, "end_to_end")
    for key in ("resized_shapes", "frozen_counts", "top_fit", "unfrozen_counts"):
        assert ours[key] == theirs[key], key
    for key in ("shape", "all_differ_from_input"):
        assert ours["augmented"][key] == theirs["augmented"][key]
    assert ours["fine_tune"]["base_trained"] == theirs["fine_tune"]["base_trained"]
    # Not compared: whether BatchNormalization statistics moved while fine-tuning. Keras
    # 3's functional models let `fit`'s training=True override the `training=False`
    # recorded in the graph, so its statistics move, against the guide
    # (keras-team/keras#20285); lamina keeps the guide's behaviour.


def test_model_matches_keras_with_the_same_weights(facts, keras_facts):
    ours = _section(facts, "end_to_end")
    theirs = _section(keras_facts, "end_to_end")
    images = ours["test_images"]
    theirs["model"].set_weights(ours["model"].get_weights())
    np.testing.assert_allclose(numpy_of(ours["model"].predict(images, verbose=0)),
                               numpy_of(theirs["model"].predict(images, verbose=0)),
                               rtol=1e-4, atol=1e-4)
