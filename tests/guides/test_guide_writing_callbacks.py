"""Acceptance test: the keras.io guide "Writing your own callbacks", on lamina and Keras 3."""

import re

import numpy as np
import pytest
from guide_support import fresh
from guide_writing_callbacks import run

import lamina

# The guide prints `float(np.array(optimizer.learning_rate))`: numpy 2 warns that torch's
# `Tensor.__array__` takes no `copy` argument, for Keras' variables as for lamina's.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")

_LOSS_VALUE = re.compile(r"(?<!rate) is\s*-?\d+\.\d{2}(?!\d)")


@pytest.fixture(scope="module")
def facts():
    fresh(lamina)
    return run(lamina)


@pytest.fixture(scope="module")
def keras_facts():
    keras = pytest.importorskip("keras")
    fresh(keras)
    return run(keras)


def _masked(lines):
    """Lines with the printed loss/MAE values blanked (they depend on the random init)."""
    return [_LOSS_VALUE.sub(" is #", line) for line in lines]


def test_hooks_run_in_keras_order_with_keras_log_keys(facts):
    lines = facts["printed"]["hooks"]
    metrics = "['loss', 'mean_absolute_error']"
    with_val = "['loss', 'mean_absolute_error', 'val_loss', 'val_mean_absolute_error']"
    train_batches = []
    for i in range(4):  # 500 training samples (validation_split=0.5) in batches of 128
        train_batches += [f"...Training: start of batch {i}; got log keys: []",
                          f"...Training: end of batch {i}; got log keys: {metrics}"]

    def test_batches(n):
        out = []
        for i in range(n):
            out += [f"...Evaluating: start of batch {i}; got log keys: []",
                    f"...Evaluating: end of batch {i}; got log keys: {metrics}"]
        return out

    predict_batches = []
    for i in range(8):
        predict_batches += [f"...Predicting: start of batch {i}; got log keys: []",
                            f"...Predicting: end of batch {i}; got log keys: ['outputs']"]
    assert lines == [
        "Starting training; got log keys: []",
        "Start epoch 0 of training; got log keys: []",
        *train_batches,
        "Start testing; got log keys: []",
        *test_batches(4),
        f"Stop testing; got log keys: {metrics}",
        f"End epoch 0 of training; got log keys: {with_val}",
        f"Stop training; got log keys: {with_val}",
        "Start testing; got log keys: []",
        *test_batches(8),
        f"Stop testing; got log keys: {metrics}",
        "Start predicting; got log keys: []",
        *predict_batches,
        "Stop predicting; got log keys: []",
    ]
    assert len(facts["evaluate_result"]) == 2
    assert facts["predict_shape"] == (1000, 1)


def test_logs_carry_running_loss_and_training_lowers_it(facts):
    lines = facts["printed"]["logs"]
    assert _masked(lines[:9]) == [
        *[f"Up to batch {i}, the average loss is #." for i in range(8)],
        "The average loss for epoch 0 is # and mean absolute error is #.",
    ]
    history = facts["logs_history"]
    assert set(history) == {"loss", "mean_absolute_error"}
    assert history["loss"][1] < history["loss"][0]
    epoch_line = lines[17]
    assert f"{history['loss'][1]:7.2f}" in epoch_line
    assert f"{history['mean_absolute_error'][1]:7.2f}" in epoch_line


def test_early_stopping_callback_stops_and_restores_best_weights(facts):
    run_info = facts["early_stopping"]
    losses = run_info["losses"]
    assert run_info["epochs_run"] == len(losses) < 30
    assert run_info["stopped_epoch"] == len(losses) - 1
    assert run_info["best"] == pytest.approx(min(losses)) and losses[-1] >= min(losses)
    for best, final in zip(run_info["best_weights"], run_info["final_weights"]):
        np.testing.assert_array_equal(best, final)
    lines = facts["printed"]["early_stopping"]
    assert lines[-2:] == ["Restoring model weights from the end of the best epoch.",
                          f"Epoch {len(losses)}: early stopping"]


def test_learning_rate_callback_sets_the_optimizer_rate_each_epoch(facts):
    announced = [line for line in facts["printed"]["lr_schedule"] if "Learning rate" in line]
    rates = [float(re.search(r"is (\S+)\.$", line).group(1)) for line in announced]
    assert len(rates) == 15
    expected = [0.1] * 3 + [0.05] * 3 + [0.01] * 3 + [0.005] * 3 + [0.001] * 3
    np.testing.assert_allclose(rates, expected, rtol=1e-6)
    assert facts["final_learning_rate"] == pytest.approx(0.001)


def test_guide_prints_the_same_as_keras(facts, keras_facts):
    for section in ("hooks", "logs", "lr_schedule"):
        assert _masked(facts["printed"][section]) == _masked(keras_facts["printed"][section])
    # Where training stops depends on the random initial weights; how it ends does not.
    ours, theirs = facts["printed"]["early_stopping"], keras_facts["printed"]["early_stopping"]
    assert ours[-2] == theirs[-2]
    assert re.fullmatch(r"Epoch \d+: early stopping", theirs[-1])
    assert facts["predict_shape"] == keras_facts["predict_shape"]
    assert len(facts["evaluate_result"]) == len(keras_facts["evaluate_result"])
    assert facts["final_learning_rate"] == keras_facts["final_learning_rate"]
    assert set(facts["logs_history"]) == set(keras_facts["logs_history"])
