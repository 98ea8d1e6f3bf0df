"""`lamina.config`'s switches behave as `keras.config`'s: caps reach fit/evaluate/predict."""

import numpy as np
import pytest

import lamina
from lamina import config, layers


@pytest.fixture
def restore_settings():
    saved = dict(config._SETTINGS)
    yield
    config._SETTINGS.update(saved)


def _model():
    model = lamina.Sequential([layers.Input((2,)), layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_max_epochs_caps_fit_with_keras_warning(restore_settings):
    config.set_max_epochs(2)
    assert config.max_epochs() == 2
    with pytest.warns(UserWarning, match="Limiting epochs to 2"):
        history = _model().fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=5, verbose=0)
    assert len(history.history["loss"]) == 2


def test_max_steps_per_epoch_caps_fit_evaluate_and_predict(restore_settings):
    config.set_max_steps_per_epoch(2)
    model = _model()
    seen = []
    counter = lamina.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: seen.append(b))
    x, y = np.zeros((10, 2)), np.zeros((10, 1))
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[counter])
    assert seen == [0, 1]
    with pytest.warns(UserWarning, match="Limiting steps_per_epoch to 2"):
        assert model.predict(x, batch_size=2, verbose=0).shape == (4, 1)


def test_caps_off_by_default_and_after_reset(restore_settings):
    config.set_max_epochs(None)
    config.set_max_steps_per_epoch(None)
    history = _model().fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=3, verbose=0)
    assert len(history.history["loss"]) == 3


def test_flash_attention_switch_reaches_new_attention_layers(restore_settings):
    assert config.is_flash_attention_enabled() is None
    config.disable_flash_attention()
    assert config.is_flash_attention_enabled() is False
    layer = layers.MultiHeadAttention(num_heads=2, key_dim=2)
    assert layer._flash_attention is False
    config.enable_flash_attention()
    assert layers.MultiHeadAttention(num_heads=2, key_dim=2)._flash_attention is None


def test_traceback_filtering_switch_round_trips(restore_settings):
    assert config.is_traceback_filtering_enabled() is True
    config.disable_traceback_filtering()
    assert config.is_traceback_filtering_enabled() is False
    config.enable_traceback_filtering()
    assert config.is_traceback_filtering_enabled() is True


def test_set_backend_rejects_other_backends_and_names_keras():
    config.set_backend("torch")
    with pytest.raises(ValueError, match="PyTorch only.*backend='jax'.*use Keras itself"):
        config.set_backend("jax")
    assert config.is_nnx_enabled() is False
