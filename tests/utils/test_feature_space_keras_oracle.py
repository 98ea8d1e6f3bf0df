"""`lamina.utils.FeatureSpace` against Keras 3's own (which adapts through tf.data, so
the oracle needs tensorflow, a dev dependency): every feature kind, both output modes and
crosses give Keras' encodings after adapting on the same data, and an adapted space
saved by one library encodes the same in the other."""

import numpy as np
import pytest

import lamina

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

DATA = {
    "age": np.array([20.0, 30.0, 40.0, 50.0, 33.0, 61.0]),
    "pets": np.array([1, 2, 2, 3, 7, 2]),
    "color": np.array(["red", "blue", "red", "green", "red", "teal"]),
    "score": np.array([0.1, 0.5, 0.9, 0.3, 0.7, 0.2]),
    "zip": np.array(["9410", "1000", "9410", "2000", "3000", "1000"]),
    "code": np.array([11, 12, 13, 11, 11, 14]),
    "raw": np.array([0.5, -1.0, 2.0, 0.0, 1.5, 3.0]),
    "pct": np.array([10.0, 20.0, 90.0, 50.0, 0.0, 100.0]),
}
QUERY = {"age": np.array([25.0, 70.0]), "pets": np.array([2, 9]),
         "color": np.array(["teal", "mauve"]), "score": np.array([0.0, 0.95]),
         "zip": np.array(["9410", "7777"]), "code": np.array([13, 99]),
         "raw": np.array([1.0, -2.0]), "pct": np.array([5.0, 80.0])}


def space(ns, **kwargs):
    fs = ns.utils.FeatureSpace
    features = {
        "age": fs.float_normalized(),
        "pets": fs.integer_categorical(max_tokens=4),
        "color": fs.string_categorical(num_oov_indices=2),
        "score": fs.float_discretized(num_bins=3),
        "zip": fs.string_hashed(num_bins=5),
        "code": fs.integer_hashed(num_bins=4, output_mode="one_hot"),
        "raw": fs.float(),
        "pct": fs.float_rescaled(scale=0.01, offset=-0.5),
    }
    return fs(features, **kwargs)


def adapted(ns, **kwargs):
    result = space(ns, **kwargs)
    result.adapt(tf.data.Dataset.from_tensor_slices(DATA) if ns is keras else DATA)
    return result


def as_numpy(x):
    return np.asarray(keras.ops.convert_to_numpy(x))


@pytest.mark.parametrize("make_kwargs", [
    lambda ns: {},
    lambda ns: {"output_mode": "dict"},
    lambda ns: {"crosses": [("pets", "color"), ("zip", "code")], "crossing_dim": 8},
    lambda ns: {"crosses": [ns.utils.FeatureSpace.cross(("color", "zip"), crossing_dim=6,
                                                        output_mode="int")],
                "output_mode": "dict"},
], ids=["concat", "dict", "crosses", "int-cross-dict"])
def test_encodings_equal_keras(make_kwargs):
    ours, theirs = adapted(lamina, **make_kwargs(lamina)), adapted(keras, **make_kwargs(keras))
    for data in (DATA, QUERY):
        got, want = ours(data), theirs(data)
        if isinstance(want, dict):
            assert sorted(got) == sorted(want)
            for key in want:
                np.testing.assert_allclose(as_numpy(got[key]), as_numpy(want[key]),
                                           rtol=1e-5, atol=1e-6, err_msg=key)
        else:
            np.testing.assert_allclose(as_numpy(got), as_numpy(want), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_a_saved_space_encodes_the_same_in_the_other_library(tmp_path, writer):
    kwargs = {"crosses": [("pets", "color")], "crossing_dim": 8}
    original = adapted(lamina if writer == "lamina" else keras, **kwargs)
    path = str(tmp_path / "space.keras")
    original.save(path)
    loaded = (keras.saving if writer == "lamina" else lamina.saving).load_model(path)
    np.testing.assert_allclose(as_numpy(loaded(QUERY)), as_numpy(original(QUERY)),
                               rtol=1e-5, atol=1e-6)
