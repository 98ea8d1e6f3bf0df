"""Quantized models against Keras 3 (torch backend) as the oracle: the same quantized
values, the same outputs, and `.keras` files that load both ways."""

import os
import warnings
from unittest import mock

import numpy as np
import pytest

import lamina

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

MODES = [("int8", None), ("int4", None), ("int4", -1), ("float8", None)]
DATA = np.array([[1, 2, 3, 0], [4, 5, 9, 7]])


def _model(lib):
    inputs = lib.Input((4,), dtype="int32")
    x = lib.layers.Embedding(10, 12, name="embed")(inputs)
    x = lib.layers.EinsumDense("abc,cde->abde", (4, 3, 5), bias_axes="de", name="heads")(x)
    x = lib.layers.EinsumDense("abde,deg->abg", (4, 6), name="merge")(x)
    x = lib.layers.Dense(9, activation="relu", name="hidden")(x)
    x = lib.layers.Dense(5, activation="softmax", name="head")(x)
    return lib.Model(inputs, x)


def _config(lib, mode, block_size):
    if block_size is None:
        return None
    return lib.quantizers.Int4QuantizationConfig(block_size=block_size)


def _quantize(model, lib, mode, block_size):
    config = _config(lib, mode, block_size)
    # NOTE: Keras runs a full `gc.collect()` per replaced variable (seconds in a big test
    # process); skipping it changes nothing but the time.
    with warnings.catch_warnings(), mock.patch("gc.collect", lambda *args: 0):
        # Both libraries warn about the layers they skip (InputLayer; Embedding in float8).
        warnings.simplefilter("ignore", UserWarning)
        model.quantize(mode if config is None else None, config=config)


def _variables(model):
    return {v.path: np.asarray(v.numpy() if hasattr(v, "numpy") else v) for v in model.weights}


@pytest.fixture(scope="module")
def pair():
    """A Keras model and a lamina model with the same float weights."""
    keras.backend.clear_session(free_memory=False)
    theirs = _model(keras)
    ours = _model(lamina)
    ours.set_weights(theirs.get_weights())
    return theirs, ours


@pytest.mark.parametrize("mode,block_size", MODES)
def test_quantize_gives_keras_values_and_outputs(mode, block_size):
    keras.backend.clear_session(free_memory=False)
    theirs = _model(keras)
    ours = _model(lamina)
    ours.set_weights(theirs.get_weights())
    _quantize(theirs, keras, mode, block_size)
    _quantize(ours, lamina, mode, block_size)
    expected = {v.path: keras.ops.convert_to_numpy(v) for v in theirs.weights}
    got = _variables(ours)
    assert sorted(got) == sorted(expected)
    for path, value in expected.items():
        np.testing.assert_array_equal(got[path], value, err_msg=path)
    for layer in theirs.layers[1:]:
        assert ours.get_layer(layer.name).dtype_policy.name == layer.dtype_policy.name
    np.testing.assert_allclose(ours.predict(DATA, verbose=0),
                               keras.ops.convert_to_numpy(theirs(DATA)), atol=1e-6)


@pytest.mark.parametrize("mode,block_size", MODES)
def test_keras_quantized_file_loads_in_lamina_and_back(mode, block_size, tmp_path):
    keras.backend.clear_session(free_memory=False)
    theirs = _model(keras)
    _quantize(theirs, keras, mode, block_size)
    path = str(tmp_path / "keras.keras")
    theirs.save(path)
    ours = lamina.saving.load_model(path)
    expected = keras.ops.convert_to_numpy(theirs(DATA))
    np.testing.assert_allclose(ours.predict(DATA, verbose=0), expected, atol=1e-6)
    assert ours.get_layer("head").quantization_mode == mode
    back = str(tmp_path / "lamina.keras")
    ours.save(back)
    again = keras.saving.load_model(back)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(again(DATA)), expected, atol=1e-6)
    assert again.get_layer("head").dtype_policy == theirs.get_layer("head").dtype_policy
