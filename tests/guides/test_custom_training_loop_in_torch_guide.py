"""The "training loop from scratch in PyTorch" guide runs on lamina, shows what the guide
shows, and matches Keras 3."""

import guide_custom_training_loop_in_torch as guide
import numpy as np
import pytest
import torch
from guide_support import copy_weights, fact_mismatches, fresh, numpy_of

import lamina


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("custom_training_loop")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("custom_training_loop_keras")))


def test_torch_optimizer_and_loss_train_a_lamina_model(facts):
    assert facts["labels"] == ((128, 10), "float64")
    assert facts["torch_parameter_count"] == 6
    first, second = facts["torch_optimizer_losses"]
    assert second < first


def test_keras_optimizer_and_loss_in_a_torch_loop(facts):
    first, second = facts["keras_optimizer_losses"]
    assert second < first
    assert facts["keras_optimizer_iterations"] == 8


def test_metrics_by_hand(facts):
    (first_train, first_val), (train_acc, val_acc) = facts["metric_loop_accuracies"]
    assert train_acc > first_train and val_acc >= first_val
    assert facts["metric_after_reset"] == 0.0
    assert facts["val_accuracy_by_hand"] == val_acc


def test_losses_tracked_by_the_model(facts):
    assert facts["activity_losses"] == 1
    # The guide's last loop trains a fresh `get_model()`, which adds no losses.
    assert facts["final_model_losses"] == 0
    assert len(facts["final_loop_accuracies"]) == 2


PARITY_KEYS = ["labels", "torch_parameter_count", "keras_optimizer_iterations",
               "metric_after_reset", "activity_losses", "final_model_losses"]


def test_guide_facts_match_keras(facts, keras_facts):
    mismatches = fact_mismatches(facts, keras_facts, PARITY_KEYS)
    assert not mismatches, "\n".join(mismatches)


def test_one_loop_step_matches_keras_with_equal_weights(facts, keras_facts):
    keras = pytest.importorskip("keras")
    x_val, y_val = facts["val_data"]
    lamina_model, keras_model = facts["final_model"], keras_facts["final_model"]
    copy_weights(lamina_model, keras_model)
    results = []
    for api, model in ((lamina, lamina_model), (keras, keras_model)):
        optimizer = api.optimizers.Adam(learning_rate=1e-3)
        loss_fn = api.losses.CategoricalCrossentropy(from_logits=True)
        metric = api.metrics.CategoricalAccuracy()
        inputs, targets = torch.from_numpy(x_val), torch.from_numpy(y_val)
        for _ in range(2):  # the guide's step, as written
            logits = model(inputs)
            loss = loss_fn(targets, logits)
            model.zero_grad()
            trainable_weights = [v for v in model.trainable_weights]
            loss.backward()
            gradients = [v.value.grad for v in trainable_weights]
            with torch.no_grad():
                optimizer.apply(gradients, trainable_weights)
            metric.update_state(targets, logits)
        results.append((float(loss.detach().numpy()), float(numpy_of(metric.result())),
                        model.get_weights()))
    (lamina_loss, lamina_acc, lamina_weights), (keras_loss, keras_acc, keras_weights) = results
    np.testing.assert_allclose(lamina_loss, keras_loss, rtol=1e-4)
    assert lamina_acc == keras_acc
    # The guide feeds raw 0-255 pixels: float32 sums of that size round differently from
    # run to run and library to library, and Adam turns a near-zero gradient's rounding
    # into part of a step (lr 1e-3): 1e-4 is a tenth of one step.
    for a, b in zip(lamina_weights, keras_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
