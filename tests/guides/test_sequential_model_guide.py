"""The Sequential model guide runs on lamina, shows what the guide shows, and matches Keras 3."""

import guide_sequential_model as guide
import pytest
from guide_support import fact_mismatches, fresh

import lamina


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("sequential_model")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("sequential_model_keras")))


def test_sequential_equals_calling_its_layers_in_turn(facts):
    assert facts["equivalent_function_shapes"] == ((3, 4), (3, 4))
    assert facts["equivalent_function_equal"]


def test_layers_add_pop_and_names(facts):
    assert facts["layers"] == ["dense", "dense_1", "dense_2"]
    assert facts["after_pop"] == 2
    assert facts["named"] == ("my_sequential", ["layer1", "layer2", "layer3"])


def test_weights_appear_on_first_call(facts):
    assert facts["weights_before_call"] == 0
    assert facts["weights_after_call"] == [(4, 3), (3,)]
    assert facts["weights_after_model_call"] == 6
    # The guide says an unbuilt model's `weights` and `summary()` fail; Keras 3 answers
    # `[]` and a "not built" note instead, and so does lamina.
    assert facts["unbuilt_weights_error"] is None and facts["unbuilt_summary_error"] is None


def test_input_first_gives_weights_and_summary_up_front(facts):
    assert facts["input_layers"] == ["Dense"]
    assert facts["input_weights"] == 2
    assert facts["input_summary"][0] == ["dense_10(Dense)", "(None,2)", "10"]


def test_add_and_summary_debugging_workflow(facts):
    assert facts["debug_shape_1"] == (None, 40, 40, 32)
    assert facts["debug_shape_2"] == (None, 4, 4, 32)
    assert facts["debug_final"] == ((None, 10), 49002)
    assert facts["debug_summary_2"][-3] == ["Total params: 48,672 (190.12 KB)"]


def test_feature_extraction(facts):
    assert facts["all_features"] == [(1, 123, 123, 32), (1, 121, 121, 32), (1, 119, 119, 32)]
    assert facts["all_features_last_equal"]
    assert facts["one_feature"] == (1, 121, 121, 32)


def test_transfer_learning_blueprints_train_only_the_top(facts):
    assert facts["freeze_counts"] == (2, 6)
    assert facts["frozen_unchanged"] and facts["head_changed"]
    assert facts["stacked_counts"] == (2, 2)
    assert facts["base_unchanged"]
    assert facts["stacked_summary"][-1] == ["Optimizer params: 18,002 (70.32 KB)"]


def test_guide_facts_match_keras(facts, keras_facts):
    keys = [key for key in facts]
    mismatches = fact_mismatches(facts, keras_facts, keys)
    assert not mismatches, "\n".join(mismatches)
