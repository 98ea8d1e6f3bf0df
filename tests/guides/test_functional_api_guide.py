"""The Functional API guide runs on lamina, shows what the guide shows, and matches Keras 3."""

import guide_functional_api as guide
import numpy as np
import pytest
from guide_support import copy_weights, fact_mismatches, fresh, numpy_of

import lamina


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("functional_api")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("functional_api_keras")))


def test_inputs_carry_shape_and_dtype(facts):
    assert facts["inputs_shape"] == (None, 784)
    assert facts["inputs_dtype"] == "float32"
    assert facts["img_inputs_shape"] == (None, 32, 32, 3)


def test_mnist_model_summary_counts_parameters(facts):
    rows = facts["mnist_summary"]
    assert [row[0] for row in rows[:4]] == ["input_layer(InputLayer)", "dense(Dense)",
                                            "dense_1(Dense)", "dense_2(Dense)"]
    assert [row[2] for row in rows[1:4]] == ["50,240", "4,160", "650"]
    assert rows[4] == ["Total params: 55,050 (215.04 KB)"]


def test_mnist_training_lowers_the_loss_and_the_model_reloads(facts):
    history = facts["mnist_history"]
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert all(len(values) == 2 for values in history.values())
    before, after = facts["mnist_scores_before"], facts["mnist_scores_after"]
    assert after[0] < before[0] / 2 and after[1] > 0.5
    assert facts["mnist_reloaded_equal"]
    assert facts["mnist_reloaded_optimizer"] == "RMSprop"
    np.testing.assert_allclose(facts["mnist_reloaded_scores"], after, rtol=1e-6)


def test_one_graph_gives_encoder_and_autoencoder(facts):
    assert facts["shared_graph_shapes"] == ((None, 16), (None, 28, 28, 1))
    assert facts["shared_graph_summaries"][0][-3] == ["Total params: 18,672 (72.94 KB)"]


def test_models_nest_like_layers(facts):
    assert facts["nested_output"] == (2, 28, 28, 1)
    assert facts["nested_count_params"] == 18672 + 9569
    assert [row[0] for row in facts["nested_summary"][:3]] == [
        "img(InputLayer)", "encoder(Functional)", "decoder(Functional)"]
    assert facts["ensemble_is_mean"]


def test_multi_input_multi_output_model_trains_on_dicts(facts):
    assert facts["ticket_output_shapes"] == {"department": (3, 4), "priority": (3, 1)}
    history = facts["ticket_history"]
    assert sorted(history) == ["department_loss", "loss", "priority_loss"]
    np.testing.assert_allclose(  # the weighted sum of the two losses, as compiled
        history["loss"][-1], history["priority_loss"][-1] + 0.2 * history[
            "department_loss"][-1], rtol=0.05)


def test_toy_resnet_has_the_guides_parameter_count_and_trains(facts):
    assert facts["resnet_summary"][-3] == ["Total params: 223,242 (872.04 KB)"]
    assert sorted(facts["resnet_history"]) == ["acc", "loss", "val_acc", "val_loss"]
    assert facts["resnet_y_train_shape"] == (40, 10)


def test_shared_layers_and_feature_extraction(facts):
    assert facts["shared_embedding"] == ((None, None, 128), (None, None, 128), 1)
    assert facts["extracted_shapes"] == [(1, 224, 224, 3), (1, 224, 224, 8), (1, 56, 56, 8),
                                         (1, 56, 56, 8), (1, 14, 14, 8), (1, 1568), (1, 10)]
    assert facts["extracted_last_equals_model"]


def test_custom_layers_serialize_and_mix_with_functional_models(facts):
    assert facts["custom_dense_output"] == (None, 10)
    assert facts["from_config"] == ((None, 10), [(4, 10), (10,)],
                                    ["InputLayer", "CustomDense"])
    assert facts["custom_rnn_output"] == (1, 1)
    assert facts["rnn_in_functional_output"] == (16, 8, 1)
    assert facts["rnn_in_functional_call"] == (16, 8, 1)
    assert facts["rnn_standalone_output"] == (1, 10, 1)


PARITY_KEYS = [
    "inputs_shape", "inputs_dtype", "img_inputs_shape", "mnist_summary", "mnist_history",
    "mnist_reloaded_equal", "mnist_reloaded_optimizer", "shared_graph_summaries",
    "shared_graph_shapes", "nested_summary", "nested_output", "nested_count_params",
    "ensemble_is_mean", "ensemble_summary", "ticket_history", "ticket_output_shapes",
    "ticket_summary", "resnet_summary", "resnet_history", "resnet_y_train_shape",
    "shared_embedding", "extracted_shapes", "extracted_last_equals_model",
    "custom_dense_output", "from_config", "custom_rnn_output", "rnn_in_functional_output",
    "rnn_in_functional_call", "rnn_standalone_output",
]


def test_guide_facts_match_keras(facts, keras_facts):
    assert not fact_mismatches(facts, keras_facts, PARITY_KEYS), "\n".join(
        fact_mismatches(facts, keras_facts, PARITY_KEYS))


def test_guide_models_compute_like_keras_with_equal_weights(facts, keras_facts):
    x = facts["mnist_x_test"]
    lamina_model, keras_model = facts["mnist_model"], keras_facts["mnist_model"]
    copy_weights(lamina_model, keras_model)
    np.testing.assert_allclose(numpy_of(lamina_model.predict(x, verbose=0)),
                               numpy_of(keras_model.predict(x, verbose=0)),
                               rtol=1e-4, atol=1e-5)

    rng = np.random.default_rng(7)
    inputs = [rng.integers(0, 10000, (4, 10)), rng.integers(0, 10000, (4, 100)),
              rng.integers(0, 2, (4, 12)).astype("float32")]
    lamina_model, keras_model = facts["ticket_model"], keras_facts["ticket_model"]
    copy_weights(lamina_model, keras_model)
    mine = lamina_model.predict(inputs, verbose=0)
    theirs = keras_model.predict(inputs, verbose=0)
    for key in ("priority", "department"):
        np.testing.assert_allclose(numpy_of(mine[key]), numpy_of(theirs[key]),
                                   rtol=1e-4, atol=1e-5)


def test_lamina_saved_model_loads_in_keras_with_equal_outputs(facts, keras_facts,
                                                             tmp_path):
    keras = pytest.importorskip("keras")
    path = str(tmp_path / "lamina_mnist.keras")
    facts["mnist_model"].save(path)
    reloaded = keras.models.load_model(path)
    x = facts["mnist_x_test"]
    np.testing.assert_allclose(numpy_of(reloaded.predict(x, verbose=0)),
                               numpy_of(facts["mnist_model"].predict(x, verbose=0)),
                               rtol=1e-4, atol=1e-5)
