"""The "customizing fit() with PyTorch" guide runs on lamina, shows what the guide shows,
and matches Keras 3 (including what `train_step` and `test_step` receive)."""

import guide_custom_train_step_in_torch as guide
import numpy as np
import pytest
from guide_support import copy_weights, fact_mismatches, fresh, numpy_of

import lamina

# The guide's GAN step calls `torch.tensor()` on a batch that is already a tensor; torch
# warns about that copy, in lamina and in Keras alike.
pytestmark = pytest.mark.filterwarnings("ignore:To copy construct from a tensor:UserWarning")


@pytest.fixture(scope="module")
def facts(tmp_path_factory):
    fresh(lamina)
    return guide.run(lamina, str(tmp_path_factory.mktemp("custom_train_step")))


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("the Keras oracle runs on its torch backend")
    fresh(keras)
    return guide.run(keras, str(tmp_path_factory.mktemp("custom_train_step_keras")))


def test_custom_train_step_receives_x_y_and_lowers_the_loss(facts):
    assert facts["simple_received"] == [("tuple", [(32, 32), (32, 1)])] * 2
    assert facts["simple_steps"] == 8
    assert facts["simple_metric_names"] == ["loss", "compile_metrics"]
    assert sorted(facts["simple_history"]) == ["loss", "mae"]
    assert facts["simple_after"][0] < facts["simple_before"][0]


def test_own_metrics_listed_in_metrics_are_reset_each_epoch(facts):
    history = facts["manual_history"]
    assert sorted(history) == ["loss", "mae"] and len(history["loss"]) == 2
    assert history["loss"][1] < history["loss"][0]
    assert facts["manual_weights"] == [(32, 1), (1,)]


def test_sample_weights_reach_train_step(facts):
    assert facts["weighted_received"] == [("tuple", [(32, 32), (32, 1), (32, 1)])]
    assert sorted(facts["weighted_history"]) == ["loss", "mae"]


def test_custom_test_step_drives_evaluate(facts):
    assert facts["evaluate_received"] == [("tuple", [(32, 32), (32, 1)])]
    assert facts["evaluate_steps"] == 4
    assert len(facts["evaluate_result"]) == 2


def test_gan_trains_both_networks_from_a_dataloader(facts):
    assert facts["gan_received"] == [("list", [(64, 28, 28, 1), (64, 28, 28, 1)])]
    assert facts["gan_steps"] == 1
    assert sorted(facts["gan_history"]) == ["d_loss", "g_loss"]
    assert facts["gan_all_weights_moved"]
    assert facts["gan_counts"] == (1339905, 74625, 14, 18)
    assert facts["gan_sample_shape"] == (2, 28, 28, 1)


PARITY_KEYS = [
    "simple_received", "simple_steps", "simple_metric_names", "simple_history",
    "manual_history", "manual_weights", "weighted_received", "weighted_history",
    "evaluate_received", "evaluate_steps", "gan_received", "gan_steps", "gan_history",
    "gan_all_weights_moved", "gan_counts", "gan_sample_shape",
]


def test_guide_facts_match_keras(facts, keras_facts):
    mismatches = fact_mismatches(facts, keras_facts, PARITY_KEYS)
    assert not mismatches, "\n".join(mismatches)


def test_custom_steps_compute_like_keras_with_equal_weights(facts, keras_facts):
    keras = pytest.importorskip("keras")
    x, y, sw = facts["weighted_data"]
    lamina_model, keras_model = facts["weighted_model"], keras_facts["weighted_model"]
    copy_weights(lamina_model, keras_model)
    for api, model in ((lamina, lamina_model), (keras, keras_model)):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss="mse", metrics=["mae"])
    mine = lamina_model.fit(x, y, sample_weight=sw, epochs=1, shuffle=False, verbose=0)
    theirs = keras_model.fit(x, y, sample_weight=sw, epochs=1, shuffle=False, verbose=0)
    for key in ("loss", "mae"):
        np.testing.assert_allclose(mine.history[key], theirs.history[key], rtol=1e-4)
    for a, b in zip(lamina_model.get_weights(), keras_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    x, y = facts["evaluate_data"]
    lamina_model, keras_model = facts["evaluate_model"], keras_facts["evaluate_model"]
    copy_weights(lamina_model, keras_model)
    np.testing.assert_allclose(lamina_model.evaluate(x, y, verbose=0),
                               keras_model.evaluate(x, y, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(numpy_of(lamina_model.predict(x[:4], verbose=0)),
                               numpy_of(keras_model.predict(x[:4], verbose=0)), rtol=1e-5)
