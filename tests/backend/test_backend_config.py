import random

import numpy as np
import pytest
import torch

import lamina
from lamina import backend


def test_defaults_match_keras():
    assert backend.floatx() == "float32"
    assert backend.epsilon() == 1e-7
    assert backend.image_data_format() == "channels_last"
    assert backend.backend() == "torch"
    assert lamina.config.floatx() == "float32"


def test_setters_round_trip_and_validate():
    try:
        backend.set_floatx("float64")
        assert backend.floatx() == "float64"
        backend.set_epsilon(1e-5)
        assert backend.epsilon() == 1e-5
        backend.set_image_data_format("channels_first")
        assert lamina.config.image_data_format() == "channels_first"
    finally:
        backend.set_floatx("float32")
        backend.set_epsilon(1e-7)
        backend.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="Unknown floatx type"):
        backend.set_floatx("float13")
    with pytest.raises(ValueError, match="channels_first"):
        backend.set_image_data_format("nhwc")


def test_floatx_controls_new_float_variables():
    try:
        backend.set_floatx("float64")
        assert lamina.Variable([1.0]).dtype == torch.float64
    finally:
        backend.set_floatx("float32")


def test_device_default_and_override():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert backend.get_device().type == expected
    try:
        backend.set_device("cpu")
        assert backend.get_device() == torch.device("cpu")
        assert lamina.Variable([1.0]).device.type == "cpu"
    finally:
        backend.set_device(None)


def test_set_random_seed_seeds_python_numpy_and_torch():
    from lamina.utils import set_random_seed

    set_random_seed(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    set_random_seed(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b


def test_clear_session_resets_automatic_names():
    class Thing(lamina.Layer):
        pass

    assert Thing().name == "thing"
    assert Thing().name == "thing_1"
    backend.clear_session()
    assert Thing().name == "thing"
