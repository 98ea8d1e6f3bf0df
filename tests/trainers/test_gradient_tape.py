import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_gradient_of_scalar_and_non_scalar_targets():
    w = lamina.Variable([1.0, 2.0])
    with lamina.GradientTape() as tape:
        y = w * w  # non-scalar: the gradient of its sum, as TensorFlow does
    np.testing.assert_allclose(tape.gradient(y, w).numpy(), [2.0, 4.0])


def test_watch_constant_tensor_and_nested_sources():
    x = torch.tensor([3.0])
    w = lamina.Variable([2.0])
    with lamina.GradientTape() as tape:
        tape.watch(x)
        y = (x * w).sum()
    grads = tape.gradient(y, {"x": x, "w": [w]})
    assert grads["x"].tolist() == [2.0] and grads["w"][0].tolist() == [3.0]


def test_unconnected_sources_give_none_or_zero():
    a = lamina.Variable([1.0])
    b = lamina.Variable([1.0])
    with lamina.GradientTape(persistent=True) as tape:
        y = (a * 3).sum()
    assert tape.gradient(y, [a, b])[1] is None
    assert tape.gradient(y, b, unconnected_gradients="zero").tolist() == [0.0]


def test_non_persistent_tape_allows_one_gradient_call():
    w = lamina.Variable([1.0])
    with lamina.GradientTape() as tape:
        y = (w * 2).sum()
    tape.gradient(y, w)
    with pytest.raises(RuntimeError, match="non-persistent GradientTape"):
        tape.gradient(y, w)


def test_persistent_tape_allows_several_calls():
    w = lamina.Variable([1.0])
    with lamina.GradientTape(persistent=True) as tape:
        y = (w * w).sum()
        z = (w * 3).sum()
    assert tape.gradient(y, w).tolist() == [2.0]
    assert tape.gradient(z, w).tolist() == [3.0]


def test_watch_accessed_variables_false_only_tracks_watched():
    a = lamina.Variable([1.0])
    b = lamina.Variable([1.0])
    with lamina.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = (a * b).sum()
    ga, gb = tape.gradient(y, [a, b])
    assert ga.tolist() == [1.0] and gb is None


def test_tape_enables_grad_inside_no_grad():
    w = lamina.Variable([1.0])
    with torch.no_grad():
        with lamina.GradientTape() as tape:
            y = (w * 5).sum()
        assert tape.gradient(y, w).tolist() == [5.0]


def test_keras_readme_training_loop_runs_as_written():
    """The custom loop from Keras' README, with `lamina.` in place of `tf.`/`tf.keras.`."""
    keras = lamina
    rng = np.random.default_rng(0)
    x_train = rng.normal(size=(128, 4)).astype("float32")
    y_train = (x_train.sum(axis=1) > 0).astype("int64")
    model = keras.Sequential([keras.Input((4,)), layers.Dense(16, activation="relu"),
                              layers.Dense(2)])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    optimizer = keras.optimizers.Adam(learning_rate=1e-2)
    first = None
    for _ in range(30):
        for start in range(0, 128, 32):
            x_batch, y_batch = x_train[start:start + 32], y_train[start:start + 32]
            with keras.GradientTape() as tape:
                logits = model(x_batch, training=True)
                loss_value = loss_fn(y_batch, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            first = loss_value.item() if first is None else first
    assert loss_value.item() < first / 3
