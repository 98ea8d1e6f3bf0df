"""Keras 2 serialization (`keras.legacy.saving`) agrees with Keras' own."""

import pytest

import lamina
from lamina.legacy.saving import deserialize_keras_object, serialize_keras_object


def test_serialize_matches_keras_for_objects_and_functions():
    import keras

    ours = serialize_keras_object(lamina.initializers.GlorotUniform(seed=1))
    theirs = keras.legacy.saving.serialize_keras_object(keras.initializers.GlorotUniform(seed=1))
    assert ours == theirs
    assert serialize_keras_object(lamina.activations.relu) == "relu"
    assert serialize_keras_object(None) is None


def test_deserialize_resolves_through_module_objects_and_custom_objects():
    config = {"class_name": "Dense", "config": {"units": 3}}
    layer = deserialize_keras_object(config, module_objects={"Dense": lamina.layers.Dense})
    assert isinstance(layer, lamina.layers.Dense) and layer.units == 3
    ones = deserialize_keras_object("Ones", custom_objects={"Ones": lamina.initializers.Ones})
    assert isinstance(ones, lamina.initializers.Ones)
    with pytest.raises(ValueError, match="Unknown layer: 'Dense'"):
        deserialize_keras_object(config, printable_module_name="layer")


def test_utils_legacy_is_the_same_api():
    assert lamina.utils.legacy.serialize_keras_object is serialize_keras_object
    assert lamina.legacy.saving.deserialize_keras_object is deserialize_keras_object
