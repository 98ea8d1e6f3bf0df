"""The subclassing guide runs on lamina, shows what the guide shows, and matches Keras 3."""

import guide_subclassing as guide
import numpy as np
import pytest
from guide_support import fact_mismatches, fresh

import lamina


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("subclassing")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("subclassing_keras")))


def test_layer_holds_state_and_computation(facts):
    assert facts["linear_output"] == (2, 4)
    assert facts["linear_equals_formula"] and facts["linear_weights_tracked"]


def test_non_trainable_weight_accumulates(facts):
    assert facts["sum_first"] == [2.0, 2.0] and facts["sum_second"] == [4.0, 4.0]
    assert facts["sum_weight_counts"] == (1, 1, 0)


def test_build_defers_weights_and_layers_nest(facts):
    assert facts["lazy_weights_before"] == 0
    assert facts["lazy_weights_after"] == [(2, 32), (32,)]
    assert facts["mlp"] == ((3, 1), 6, 6)


def test_add_loss_and_regularizer_losses(facts):
    assert facts["losses_reset_each_call"]
    assert facts["regularizer_losses"] == 1 and facts["regularizer_value_ok"]
    assert len(facts["add_loss_with_compiled_loss"]) == 1
    assert len(facts["add_loss_only_loss"]) == 1


def test_config_round_trip(facts):
    assert facts["config_plain"] == ({"units": 64}, 64)
    config, units, name = facts["config_with_base"]
    assert units == 64 and config["units"] == 64 and config["name"] == name
    assert config["trainable"] is True


def test_training_argument_switches_custom_dropout(facts):
    inference_is_identity, training_is_identity, values = facts["custom_dropout"]
    assert inference_is_identity and not training_is_identity
    assert values == [0.0, 2.0]


def test_vae_trains_with_its_kl_loss(facts):
    history = facts["vae_history"]
    assert list(history) == ["loss"] and history["loss"][1] < history["loss"][0]
    assert facts["vae_output"] == (5, 784)
    assert facts["vae_losses"] == 1
    assert [shape for _, shape in facts["vae_weights"]] == [
        (784, 64), (64,), (64, 32), (32,), (64, 32), (32,), (32, 64), (64,), (64, 784), (784,)]


def test_guide_facts_match_keras(facts, keras_facts):
    numbers = ("add_loss_with_compiled_loss", "add_loss_only_loss")
    keys = [key for key in facts if key not in numbers]
    mismatches = fact_mismatches(facts, keras_facts, keys)
    for key in numbers:  # the model has no weights: the losses depend on the data only
        if not np.allclose(facts[key], keras_facts[key], rtol=1e-4):
            mismatches.append(f"{key}: lamina {facts[key]} keras {keras_facts[key]}")
    assert not mismatches, "\n".join(mismatches)
