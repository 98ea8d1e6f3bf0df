"""fit/evaluate/predict read `tf.data.Dataset`s and Grain datasets (both installed by the
dev extra): their batches train exactly as the same arrays do, steps come from tf.data's
cardinality, and importing lamina imports neither library."""

import subprocess
import sys

import grain
import numpy as np
import pytest
import tensorflow as tf
import torch

import lamina
from lamina.trainers.data import EpochIterator, unpack_x_y_sample_weight
from lamina.trainers.data.grain_dataset import is_grain_dataset
from lamina.trainers.data.tf_dataset import is_tf_dataset

RNG = np.random.default_rng(5)
X = RNG.normal(size=(10, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]], "float32")).astype("float32")
W = RNG.uniform(0.5, 2.0, size=(10,)).astype("float32")


def grain_batches(*arrays, batch_size=4):
    """A grain.MapDataset of `arrays`' rows, batched (a tuple per batch)."""
    return grain.MapDataset.source(np.arange(len(arrays[0]))).map(
        lambda i: tuple(a[i] for a in arrays)).batch(batch_size)


def tf_batches(*arrays, batch_size=4):
    return tf.data.Dataset.from_tensor_slices(tuple(arrays)).batch(batch_size)


def make_model(seed=3):
    lamina.utils.set_random_seed(seed)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.SGD(0.05), loss="mse")
    return model


def weights_after_fit(data, **kwargs):
    model = make_model()
    history = model.fit(data, epochs=2, verbose=0, **kwargs)
    return [w.detach().numpy() for w in model.weights], history.history["loss"]


@pytest.fixture(scope="module")
def reference():
    """Training on the arrays themselves, unshuffled: what every dataset must reproduce."""
    return weights_after_fit(X, y=Y, sample_weight=W, batch_size=4, shuffle=False)


def assert_same_training(result, expected):
    for ours, theirs in zip(result[0], expected[0]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(result[1], expected[1], rtol=1e-5)


@pytest.mark.parametrize("make", [
    pytest.param(lambda: tf_batches(X, Y, W), id="tf.data"),
    pytest.param(lambda: grain_batches(X, Y, W), id="grain.MapDataset"),
    pytest.param(lambda: grain_batches(X, Y, W).to_iter_dataset(), id="grain.IterDataset"),
    pytest.param(lambda: grain.DataLoader(
        data_source=list(zip(X, Y, W)), sampler=grain.samplers.IndexSampler(
            10, shuffle=False, num_epochs=1),
        operations=[grain.transforms.Batch(4)]), id="grain.DataLoader"),
])
def test_fit_on_a_dataset_trains_as_on_its_arrays(make, reference):
    assert_same_training(weights_after_fit(make()), reference)


def test_tf_dataset_steps_come_from_its_cardinality():
    it = EpochIterator(tf_batches(X, Y), device="cpu")
    assert it.num_batches == 3
    assert [tuple(b[0].shape) for _, b in it.enumerate_epoch()] == [(4, 3), (4, 3), (2, 3)]
    unknown = tf_batches(X, Y).filter(lambda x, y: True)
    assert EpochIterator(unknown, device="cpu").num_batches is None


def test_batches_become_torch_tensors_in_floatx_with_their_structure():
    ds = tf.data.Dataset.from_tensor_slices(
        ({"a": X.astype("float64"), "b": np.arange(10)}, Y)).batch(5)
    (step, batch), _ = EpochIterator(ds, device="cpu").enumerate_epoch()
    x, y, sample_weight = unpack_x_y_sample_weight(batch)
    assert sorted(x) == ["a", "b"] and sample_weight is None
    assert x["a"].dtype == torch.float32 and x["b"].dtype == torch.int64
    assert isinstance(y, torch.Tensor) and y.shape == (5, 1)
    np.testing.assert_array_equal(x["b"].numpy(), np.arange(5))


def test_repeating_datasets_need_steps_per_epoch():
    for endless in (tf_batches(X, Y).repeat(), grain_batches(X, Y).repeat()):
        with pytest.raises(ValueError, match="repeats forever.*`steps_per_epoch`"):
            EpochIterator(endless, device="cpu")
    model = make_model()
    history = model.fit(tf_batches(X, Y).repeat(), steps_per_epoch=5, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.evaluate(grain_batches(X, Y).repeat(), steps=2, verbose=0) > 0


@pytest.mark.parametrize("dataset", [tf_batches(X, Y), grain_batches(X, Y)],
                         ids=["tf.data", "grain"])
def test_targets_beside_a_dataset_are_rejected(dataset):
    with pytest.raises(ValueError, match="`y` should not be passed"):
        make_model().fit(dataset, y=Y, verbose=0)


def test_evaluate_and_predict_read_datasets_with_or_without_targets():
    model = make_model()
    expected = model.predict(X, verbose=0)
    for data in (tf_batches(X, Y), tf_batches(X), grain_batches(X, Y)):
        np.testing.assert_allclose(model.predict(data, verbose=0), expected, rtol=1e-6)
    loss = model.evaluate(X, Y, batch_size=4, verbose=0)
    assert model.evaluate(tf_batches(X, Y), verbose=0) == pytest.approx(loss, rel=1e-6)
    assert model.evaluate(grain_batches(X, Y), verbose=0) == pytest.approx(loss, rel=1e-6)
    val = make_model().fit(X, Y, epochs=1, verbose=0, validation_data=tf_batches(X, Y))
    assert "val_loss" in val.history


def test_class_weight_applies_to_tf_batches_as_to_arrays():
    labels = (X[:, :1] > 0).astype("float32")
    weights = {0: 1.0, 1: 3.0}
    arrays = weights_after_fit(X, y=labels, batch_size=4, shuffle=False, class_weight=weights)
    assert_same_training(weights_after_fit(tf_batches(X, labels), class_weight=weights),
                         arrays)


def test_string_tensors_reach_text_layers_as_bytes():
    vectorize = lamina.layers.TextVectorization(vocabulary=["a", "b", "c"])
    model = lamina.Sequential([lamina.Input(shape=(), dtype="string"), vectorize])
    texts = ["a b", "c d", "b a", "d c"]
    expected = model.predict(np.array(texts), verbose=0)
    ds = tf.data.Dataset.from_tensor_slices(texts).batch(2)
    np.testing.assert_array_equal(model.predict(ds, verbose=0), expected)


def test_ragged_batches_are_refused_with_the_fix():
    ragged = tf.data.Dataset.from_tensor_slices(tf.ragged.constant([[1.0], [2.0, 3.0]])).batch(2)
    with pytest.raises(ValueError, match="RaggedTensor.*to_tensor"):
        make_model().predict(ragged, verbose=0)


def test_detection_is_by_type_not_by_shape():
    assert is_tf_dataset(tf_batches(X)) and not is_tf_dataset(X)
    assert is_grain_dataset(grain_batches(X)) and is_grain_dataset(
        grain_batches(X).to_iter_dataset())
    assert not is_grain_dataset(tf_batches(X)) and not is_tf_dataset(grain_batches(X))


def test_importing_lamina_imports_neither_tensorflow_nor_grain():
    code = ("import sys, lamina, numpy as np; "
            "from lamina.trainers.data import EpochIterator; "
            "EpochIterator(np.zeros((2, 1)), device='cpu'); "
            "print(sorted(m for m in ('tensorflow', 'grain') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
