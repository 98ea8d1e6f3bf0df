"""The built-in training & evaluation guide runs on lamina, shows what the guide shows,
and matches Keras 3."""

import guide_training_with_built_in_methods as guide
import numpy as np
import pytest
from guide_support import copy_weights, fact_mismatches, fresh, numpy_of

import lamina

# The guide's `loss=[None, ...]` model leaves one output's weights without gradients, and
# the optimizer says so (Keras too).
pytestmark = pytest.mark.filterwarnings("ignore:Gradients do not exist:UserWarning")

HISTORY_KEYS = ["loss", "sparse_categorical_accuracy", "val_loss",
                "val_sparse_categorical_accuracy"]


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("built_in_methods")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("built_in_methods_keras")))


def test_end_to_end_fit_evaluate_predict(facts):
    history = facts["first_history"]
    assert sorted(history) == HISTORY_KEYS and len(history["loss"]) == 2
    assert facts["first_results"][0] < 0.75 * facts["first_scores_before"][0]
    assert facts["first_predictions"] == ("ndarray", (3, 10), True)


def test_custom_losses_and_metrics(facts):
    assert list(facts["custom_fn_history"]) == ["loss"]
    assert list(facts["custom_class_history"]) == ["loss"]
    assert facts["one_hot"] == ((128, 10), "torch.float32")
    probe = np.random.default_rng(5).random((4, 10))
    target = np.eye(10)[[1, 2, 3, 4]]
    expected = np.mean((target - probe) ** 2 + 0.1 * (0.5 - probe) ** 2, axis=-1).mean()
    np.testing.assert_allclose(facts["custom_mse_value"], expected, rtol=1e-5)
    assert facts["custom_metric_keys"] == ["categorical_true_positives", "loss"]
    assert facts["custom_metric_value"] == 1.0


def test_add_loss_layers_train_without_a_compiled_loss(facts):
    assert list(facts["activity_history"]) == ["loss"]
    assert facts["endpoint_history_keys"] == ["loss"]


def test_every_data_source_trains_and_evaluates_alike(facts):
    for key in ("validation_split_keys", "py_dataset_keys", "py_dataset_workers_keys",
                "dataloader_keys"):
        assert facts[key] == HISTORY_KEYS, key
    assert facts["py_dataset_matches_arrays"] and facts["dataloader_matches_arrays"]
    assert facts["class_weight_keys"] == facts["sample_weight_keys"] == [
        "loss", "sparse_categorical_accuracy"]


def test_multi_input_multi_output_compile_forms(facts):
    for key in ("multi_io_list_keys", "multi_io_dict_keys"):
        assert {"loss", "score_output_loss", "class_output_loss"} <= set(facts[key])
    assert "score_output_loss" not in facts["multi_io_list_none_loss_keys"]
    assert "class_output_categorical_accuracy" in facts["multi_io_weighted_metrics_keys"]


def test_callbacks_checkpoints_and_schedules(facts):
    assert facts["early_stopping_epochs"] == 3
    assert facts["loss_history_batches"] == 2
    assert facts["checkpoint_files"] == ["mymodel_1.keras", "mymodel_2.keras"]
    assert facts["checkpoint_reload_equal"]
    assert facts["fault_tolerance_files"] == 0
    assert facts["fault_tolerance_restored"] == ("Functional", 55050, True)
    np.testing.assert_allclose(facts["schedule_lr"], 0.1)
    np.testing.assert_allclose(facts["schedule_values"], [0.1, 0.1, 0.096, 0.09216],
                               rtol=1e-6)
    assert facts["tensorboard"] == "TensorBoard"


PARITY_KEYS = [
    "first_history", "first_predictions", "custom_fn_history", "one_hot", "custom_class_history",
    "custom_metric_keys", "custom_metric_value", "activity_history", "endpoint_history_keys",
    "validation_split_keys", "py_dataset_keys", "py_dataset_matches_arrays",
    "py_dataset_workers_keys", "dataloader_keys", "dataloader_matches_arrays",
    "class_weight_keys", "sample_weight_keys", "multi_io_weighted_metrics_keys",
    "multi_io_list_none_loss_keys", "multi_io_list_keys", "multi_io_dict_keys",
    "loss_history_batches", "checkpoint_files", "checkpoint_reload_equal",
    "fault_tolerance_files", "fault_tolerance_restored",
    "tensorboard",
]


def test_guide_facts_match_keras(facts, keras_facts):
    mismatches = fact_mismatches(facts, keras_facts, PARITY_KEYS)
    for key in ("custom_mse_value", "schedule_lr", "schedule_values"):
        if not np.allclose(facts[key], keras_facts[key], rtol=1e-6):
            mismatches.append(f"{key}: lamina {facts[key]} keras {keras_facts[key]}")
    assert not mismatches, "\n".join(mismatches)


def test_guide_models_compute_like_keras_with_equal_weights(facts, keras_facts):
    x, y = facts["x_test"], facts["y_test"]
    lamina_model, keras_model = facts["first_model"], keras_facts["first_model"]
    copy_weights(lamina_model, keras_model)
    np.testing.assert_allclose(lamina_model.evaluate(x, y, verbose=0),
                               keras_model.evaluate(x, y, verbose=0), rtol=1e-4)

    lamina_model, keras_model = facts["activity_model"], keras_facts["activity_model"]
    copy_weights(lamina_model, keras_model)
    lamina_model.compile(loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    keras_model.compile(loss=type(keras_model.loss)(from_logits=True))
    np.testing.assert_allclose(lamina_model.evaluate(x, y, verbose=0),
                               keras_model.evaluate(x, y, verbose=0), rtol=1e-4)

    lamina_model, keras_model = facts["endpoint_model"], keras_facts["endpoint_model"]
    copy_weights(lamina_model, keras_model)
    data = facts["endpoint_data"]
    np.testing.assert_allclose(numpy_of(lamina_model.predict(data, verbose=0)),
                               numpy_of(keras_model.predict(data, verbose=0)),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(lamina_model.evaluate(data, verbose=0),
                               keras_model.evaluate(data, verbose=0), rtol=1e-4)

    lamina_model, keras_model = facts["multi_io_model"], keras_facts["multi_io_model"]
    copy_weights(lamina_model, keras_model)
    inputs, targets = facts["multi_io_data"]
    for mine, theirs in zip(lamina_model.predict(inputs, verbose=0),
                            keras_model.predict(inputs, verbose=0)):
        np.testing.assert_allclose(numpy_of(mine), numpy_of(theirs), rtol=1e-4, atol=1e-5)
