"""Normalization, Discretization and CategoryEncoding against Keras 3 (torch backend):
configs, outputs and dtypes, adapted statistics, and `.keras` files both ways."""

import json
import types

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")
from keras.src.layers.preprocessing import discretization as keras_discretization  # noqa: E402
from keras.src.layers.preprocessing import normalization as keras_normalization  # noqa: E402

RNG = np.random.default_rng(21)


@pytest.fixture
def K(K, monkeypatch):
    # Keras' adapt asks `isinstance(data, tf.data.Dataset)` before it reads a generator or a
    # list, which imports TensorFlow; a stand-in whose Dataset nothing is lets the oracle run
    # the same (numpy and torch) code without it.
    no_tf = types.SimpleNamespace(data=types.SimpleNamespace(Dataset=type("NoDataset", (), {})),
                                  is_tensor=lambda x: False)
    monkeypatch.setattr(keras_discretization, "tf", no_tf)
    monkeypatch.setattr(keras_normalization, "tf", no_tf)
    return K


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def as_numpy(x):
    if not isinstance(x, torch.Tensor):
        return np.asarray(x)
    x = x.detach().cpu()
    return (x.float() if x.dtype == torch.bfloat16 else x).numpy()


def assert_same(ours, theirs):
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    np.testing.assert_array_equal(as_numpy(ours), as_numpy(theirs))


def both(K, name, **kwargs):
    return getattr(lamina.layers, name)(name="layer", **kwargs), getattr(K.layers, name)(
        name="layer", **kwargs)


def assert_same_config(ours, theirs):
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    # Each library builds the other's layer from its config.
    assert normalize(type(ours).from_config(normalize(theirs.get_config())).get_config()) == \
        normalize(theirs.get_config())
    assert normalize(type(theirs).from_config(normalize(ours.get_config())).get_config()) == \
        normalize(theirs.get_config())


# -- Normalization ----------------------------------------------------------------------

FEATURES = RNG.normal(3.0, 2.0, (64, 4, 3)).astype("float32")


@pytest.mark.parametrize("kwargs", [
    {}, {"axis": None}, {"axis": (1, 2)}, {"axis": 1}, {"axis": -1, "invert": True},
    {"axis": (-2,), "dtype": "float64"},
])
@pytest.mark.parametrize("source", ["numpy", "torch", "generator", "list", "int64"])
def test_adapted_normalization_equals_keras(K, kwargs, source):
    ours, theirs = both(K, "Normalization", **kwargs)
    data = {"numpy": FEATURES, "torch": torch.from_numpy(FEATURES),
            "int64": (FEATURES * 10).astype("int64")}.get(source)
    if source == "generator":
        for layer in (ours, theirs):
            layer.adapt(FEATURES[i:i + 10] for i in range(0, 64, 10))
    elif source == "list":
        for layer in (ours, theirs):
            layer.adapt([(FEATURES[:50], None), (FEATURES[50:], None)])
    else:
        ours.adapt(data)
        theirs.adapt(data)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    for mine, other in zip(ours.get_weights(), theirs.get_weights()):
        assert mine.dtype == other.dtype
        np.testing.assert_array_equal(mine, other)
    x = RNG.normal(3.0, 2.0, (5, 4, 3)).astype("float32")
    for inputs in (x, x.astype("float64"), (x * 10).astype("int32")):
        assert_same(ours(inputs), theirs(inputs))
    assert_same_config(ours, theirs)
    assert ours.get_build_config() == theirs.get_build_config()
    assert_same(ours.mean, theirs.mean)
    assert_same(ours.variance, theirs.variance)


@pytest.mark.parametrize("kwargs", [
    {"mean": 2.0, "variance": 4.0},
    {"mean": [1.0, 2.0, 3.0], "variance": [1.0, 0.5, 0.0]},
    {"mean": [[1.0, 2.0, 3.0]] * 4, "variance": [[2.0, 2.0, 3.0]] * 4, "axis": (1, 2)},
    {"mean": [1, 2, 3, 4], "variance": [4, 3, 2, 1], "axis": 1, "invert": True},
    {"mean": 0.5, "variance": 2.0, "dtype": "mixed_float16"},
    {"mean": [0.5, 1.0, 2.0], "variance": [2.0, 1.0, 3.0], "dtype": "bfloat16"},
    {"mean": np.array([0.1, 1 / 3, 0.7]), "variance": np.array([1.0, 0.3, 2.0]),
     "dtype": "float64"},
    {"mean": [0.1, 1 / 3, 0.7], "variance": [1.0, 0.3, 2.0], "dtype": "float64"},
])
def test_normalization_with_given_statistics_equals_keras(K, kwargs):
    ours, theirs = both(K, "Normalization", **kwargs)
    x = RNG.normal(1.0, 2.0, (6, 4, 3)).astype("float32")
    for inputs in (x, x.astype("float64"), np.round(x).astype("int64")):
        assert_same(ours(inputs), theirs(inputs))
    assert ours.weights == [] and theirs.weights == []
    assert_same(ours.mean, theirs.mean)
    assert_same_config(ours, theirs)


# -- Discretization ---------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {"num_bins": 4}, {"num_bins": 10, "epsilon": 0.001}, {"num_bins": 3, "epsilon": 0.1},
    {"num_bins": 200}, {"num_bins": 5, "output_mode": "one_hot"},
])
@pytest.mark.parametrize("source", ["numpy", "torch", "batches", "skewed"])
def test_adapted_discretization_boundaries_equal_keras(K, kwargs, source):
    ours, theirs = both(K, "Discretization", **kwargs)
    values = RNG.gamma(2.0, 3.0, (257, 3)).astype("float32")
    if source == "skewed":  # ties and repeated values
        values = np.round(values).astype("float64")
    data = {"torch": torch.from_numpy(values)}.get(source, values)
    if source == "batches":
        data = [values[i:i + 40] for i in range(0, len(values), 40)]
        ours.adapt(iter(data), steps=5)
        theirs.adapt(iter(data), steps=5)
    else:
        ours.adapt(data)
        theirs.adapt(data)
    assert ours.bin_boundaries == theirs.bin_boundaries
    x = RNG.gamma(2.0, 3.0, (6, 3)).astype("float32")
    assert_same(ours(x), theirs(x))
    assert_same_config(ours, theirs)


def test_discretization_reads_a_list_of_numbers_as_batches_of_one_like_keras(K):
    # Past 1 / epsilon values the summary compresses after each batch, so batches of one
    # value learn other boundaries than the same values in one array.
    values = RNG.exponential(2.0, 300).round(3).tolist()
    ours, theirs = both(K, "Discretization", num_bins=5, epsilon=0.02)
    ours.adapt(values)
    theirs.adapt(values)
    whole = lamina.layers.Discretization(num_bins=5, epsilon=0.02)
    whole.adapt(np.array(values))
    assert ours.bin_boundaries == theirs.bin_boundaries != whole.bin_boundaries


def test_discretization_streams_batches_through_keras_state_methods(K):
    ours, theirs = both(K, "Discretization", num_bins=6, epsilon=0.05)
    for layer in (ours, theirs):
        layer.reset_state()
        for start in range(0, 300, 70):
            layer.update_state(np.linspace(start, start + 90, 70))
        layer.finalize_state()
    np.testing.assert_array_equal(ours.summary, theirs.summary)
    assert ours.bin_boundaries == theirs.bin_boundaries


def test_normalization_finalize_state_picks_up_assigned_statistics(K):
    ours, theirs = both(K, "Normalization")
    for layer in (ours, theirs):
        layer.build((None, 3))
        layer.adapt_mean.assign(np.array([1.0, 2.0, 3.0], "float32"))
        layer.adapt_variance.assign(np.array([4.0, 1.0, 0.25], "float32"))
        layer.finalize_state()
    x = RNG.normal(size=(4, 3)).astype("float32")
    assert_same(ours(x), theirs(x))


@pytest.mark.parametrize("output_mode", ["int", "one_hot", "multi_hot", "count"])
@pytest.mark.parametrize("shape", [(7,), (7, 1), (7, 3), (2, 4, 3), ()])
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "bool"])
def test_discretization_outputs_equal_keras(K, output_mode, shape, dtype):
    ours, theirs = both(K, "Discretization", bin_boundaries=[-1.0, 0.0, 0.5, 2.0],
                        output_mode=output_mode)
    x = np.round(RNG.normal(0.0, 2.0, shape), 1).astype(dtype)
    x.reshape(-1)[:2] = [0.0, 0.5] if x.size >= 2 else x.reshape(-1)[:2]  # on a boundary
    assert_same(ours(x), theirs(x))
    assert tuple(ours.compute_output_shape((None, *shape[1:]) if shape else ())) == tuple(
        theirs.compute_output_shape((None, *shape[1:]) if shape else ()))
    assert_same_config(ours, theirs)


def test_discretization_policy_sets_the_encoded_dtype_as_in_keras(K):
    ours, theirs = both(K, "Discretization", bin_boundaries=[0.0, 1.0],
                        output_mode="one_hot", dtype="mixed_float16")
    x = np.array([[-1.0], [0.5], [1.0]], "float32")
    assert_same(ours(x), theirs(x))
    assert_same_config(ours, theirs)


# -- CategoryEncoding -------------------------------------------------------------------

@pytest.mark.parametrize("output_mode", ["one_hot", "multi_hot", "count", "binary"])
@pytest.mark.parametrize("inputs", [
    np.array([[0, 1, 1, 3], [2, 2, 2, 0]]), np.array([3, 1]), np.array(2),
    np.array([[1], [3]], "int32"), np.array([[[1, 2], [1, 1]]]), np.array([[0, -1, 2]]),
    np.array([[1.7, 3.2]], "float32"),
])
@pytest.mark.parametrize("dtype", [None, "float64", "mixed_float16"])
def test_category_encoding_equals_keras(K, output_mode, inputs, dtype):
    ours, theirs = both(K, "CategoryEncoding", num_tokens=4, output_mode=output_mode,
                        dtype=dtype)
    assert_same(ours(inputs), theirs(inputs))
    shape = (None, *inputs.shape[1:]) if inputs.ndim else ()
    assert tuple(ours.compute_output_shape(shape)) == tuple(theirs.compute_output_shape(shape))
    assert_same_config(ours, theirs)


@pytest.mark.parametrize("dtype", [None, "float64"])
def test_category_encoding_count_weights_equal_keras(K, dtype):
    ours, theirs = both(K, "CategoryEncoding", num_tokens=5, output_mode="count", dtype=dtype)
    x = np.array([[0, 1, 1, 4], [2, 2, 3, 0]])
    weights = RNG.uniform(0, 2, x.shape).astype("float32")
    assert_same(ours(x, count_weights=weights), theirs(x, count_weights=weights))


def test_category_encoding_rejects_indices_past_num_tokens_like_keras(K):
    x = np.array([[0, 1, 4]])
    with pytest.raises(RuntimeError):
        K.layers.CategoryEncoding(4, output_mode="one_hot")(x)
    with pytest.raises(ValueError, match=r"index in \[0, 4\).*holds 4"):
        lamina.layers.CategoryEncoding(4, output_mode="one_hot")(x)


# -- .keras files -----------------------------------------------------------------------

def build(ns, adapt_data, codes):
    # ns.layers.* for both libraries: the same model in each, adapted on the same data.
    normalization = ns.layers.Normalization(name="norm")
    normalization.adapt(adapt_data)
    discretization = ns.layers.Discretization(num_bins=4, output_mode="count", name="bins")
    discretization.adapt(adapt_data)
    numbers = ns.Input((3,), name="numbers")
    categories = ns.Input((2,), dtype="int32", name="codes")
    encoded = ns.layers.CategoryEncoding(6, output_mode="multi_hot", name="codes_hot")(
        categories)
    given = ns.layers.Normalization(mean=[1.0, 2.0, 0.0], variance=[4.0, 1.0, 2.0],
                                    invert=True, name="given")(numbers)
    merged = ns.layers.Concatenate()([normalization(numbers), discretization(numbers),
                                      encoded, given])
    return ns.Model([numbers, categories], ns.layers.Dense(2, name="head")(merged))


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_an_adapted_model_moves_between_lamina_and_keras(K, tmp_path, writer):
    adapt_data = RNG.normal(2.0, 3.0, (100, 3)).astype("float32")
    x = [RNG.normal(2.0, 3.0, (8, 3)).astype("float32"),
         RNG.integers(0, 6, (8, 2)).astype("int32")]
    path = str(tmp_path / "model.keras")
    writer_ns, reader = (lamina, K.saving) if writer == "lamina" else (K, lamina.saving)
    original = build(writer_ns, adapt_data, x[1])
    original.save(path)
    loaded = reader.load_model(path)
    for name in ("norm", "bins", "codes_hot", "given"):
        ours, theirs = loaded.get_layer(name), original.get_layer(name)
        assert normalize(ours.get_config()) == normalize(theirs.get_config())
        for mine, other in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(mine, other)
    np.testing.assert_array_equal(loaded.get_layer("norm").get_weights()[0],
                                  adapt_data.mean(axis=0))
    np.testing.assert_allclose(as_numpy(loaded.predict(x, verbose=0)),
                               as_numpy(original.predict(x, verbose=0)), rtol=1e-6, atol=1e-6)
