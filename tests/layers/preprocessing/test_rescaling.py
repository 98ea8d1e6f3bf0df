import json

import numpy as np
import pytest
import torch

import lamina
from lamina import backend
from lamina.layers.preprocessing import Rescaling
from lamina.testing import run_layer_test


@pytest.fixture
def channels_first():
    backend.set_image_data_format("channels_first")
    yield
    backend.set_image_data_format("channels_last")


def test_rescaling_maps_uint8_pixels_to_minus_one_one_in_float32():
    x = np.array([[0, 127, 255], [51, 204, 1]], dtype="uint8")
    out = run_layer_test(Rescaling, {"scale": 1 / 127.5, "offset": -1}, input_data=x,
                         expected_output=x.astype("float32") * np.float32(1 / 127.5) - 1,
                         expected_output_dtype="float32", expected_num_trainable_weights=0,
                         expected_num_non_trainable_weights=0, supports_masking=True)
    assert out.min() == -1 and out.max() == 1


def test_rescaling_per_channel_scale_and_offset_on_the_last_axis():
    x = np.arange(24, dtype="float32").reshape(2, 2, 2, 3)
    scale, offset = np.array([1.0, 2.0, 3.0]), [0.0, 10.0, 20.0]
    out = Rescaling(scale, offset)(x)
    np.testing.assert_allclose(out.numpy(), x * scale + np.array(offset), rtol=1e-6)


def test_rescaling_per_channel_constants_follow_channels_first(channels_first):
    x = np.arange(24, dtype="float32").reshape(2, 3, 2, 2)
    out = Rescaling([1.0, 2.0, 3.0], offset=[0.0, 10.0, 20.0])(x)
    want = x * np.array([1.0, 2.0, 3.0])[:, None, None] + np.array([0, 10, 20])[:, None, None]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)


@pytest.mark.parametrize("dtype,want", [("float64", torch.float64),
                                        ("mixed_float16", torch.float16),
                                        ("bfloat16", torch.bfloat16)])
def test_rescaling_outputs_its_compute_dtype(dtype, want):
    layer = Rescaling(0.5, dtype=dtype)
    assert layer(np.array([2, 4], dtype="int32")).dtype == want
    assert layer(np.array([2.0, 4.0], dtype="float32")).dtype == want


def test_rescaling_in_a_functional_model_keeps_the_shape():
    inputs = lamina.Input((4, 4, 3), dtype="uint8")
    outputs = Rescaling(1 / 255)(inputs)
    assert tuple(outputs.shape) == (None, 4, 4, 3) and outputs.dtype == "float32"
    assert Rescaling(2.0).compute_output_shape((None, 5, 3)) == (None, 5, 3)
    model = lamina.Model(inputs, outputs)
    x = np.full((2, 4, 4, 3), 255, dtype="uint8")
    np.testing.assert_allclose(model.predict(x, verbose=0), np.ones((2, 4, 4, 3)))


def test_rescaling_config_holds_numpy_and_tensor_constants_as_keras_does():
    layer = Rescaling(np.array([0.5, 2.0], dtype="float32"), offset=torch.tensor([1.0, -1.0]))
    config = json.loads(json.dumps(layer.get_config()))
    assert config["scale"] == {"class_name": "__numpy__",
                               "config": {"value": [0.5, 2.0], "dtype": "float32"}}
    assert config["offset"] == {"class_name": "__tensor__",
                                "config": {"value": [1.0, -1.0], "dtype": "float32"}}
    clone = Rescaling.from_config(config)
    assert isinstance(clone.scale, np.ndarray) and isinstance(clone.offset, torch.Tensor)
    x = torch.ones(3, 2)
    torch.testing.assert_close(clone(x), layer(x))
    assert clone(x).tolist() == [[1.5, 1.0]] * 3


def test_rescaling_supports_masks():
    x = torch.ones(2, 3, 1)
    x._keras_mask = torch.tensor([[True, True, False], [True, False, False]])
    out = Rescaling(3.0)(x)
    assert torch.equal(out._keras_mask, x._keras_mask)


@pytest.mark.parametrize("kwargs,arg", [({"scale": "a"}, "scale"),
                                        ({"scale": 1.0, "offset": [1, None]}, "offset")])
def test_rescaling_rejects_non_numeric_constants(kwargs, arg):
    with pytest.raises(ValueError, match=f"`{arg}` must be a number or an array of numbers"):
        Rescaling(**kwargs)(np.ones((2, 2), dtype="float32"))
