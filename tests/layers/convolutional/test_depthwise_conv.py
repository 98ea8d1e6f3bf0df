import numpy as np
import pytest
import torch

from lamina.layers.convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from lamina.serialization.registry import CustomObjectScope
from lamina.testing import run_layer_test


def layer_test(cls, init_kwargs, **kwargs):
    """`run_layer_test`, with the class resolvable by name for the JSON config round trip
    (whether or not `lamina.layers` re-exports it yet)."""
    with CustomObjectScope({cls.__name__: cls}):
        return run_layer_test(cls, init_kwargs, **kwargs)



@pytest.mark.parametrize(("cls", "kwargs", "shape", "expected"), [
    (DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 7, 3), (2, 5, 6)),
    (DepthwiseConv2D, {"kernel_size": 2, "strides": 2, "padding": "same",
                       "dilation_rate": 1}, (2, 5, 5, 3), (2, 3, 3, 3)),
    (DepthwiseConv2D, {"kernel_size": 3, "data_format": "channels_first",
                       "depthwise_regularizer": "l2", "use_bias": False}, (1, 2, 5, 6),
     (1, 2, 3, 4)),
])
def test_depthwise_conv_passes_layer_test(cls, kwargs, shape, expected):
    layer_test(cls, kwargs, input_shape=shape, expected_output_shape=expected,
               expected_num_trainable_weights=1 + kwargs.get("use_bias", True))


def test_depthwise_conv2d_matches_numpy_per_channel_filters():
    layer = DepthwiseConv2D(3, depth_multiplier=2, bias_initializer="random_normal")
    x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)).astype("float32")
    got = layer(x).detach().numpy()
    kernel, bias = layer.get_weights()  # (3, 3, in=3, m=2)
    want = np.zeros((2, 3, 4, 6))
    for c in range(3):
        for m in range(2):
            for i in range(3):
                for j in range(4):
                    patch = x[:, i:i + 3, j:j + 3, c]
                    want[:, i, j, c * 2 + m] = np.einsum("nab,ab->n", patch, kernel[..., c, m])
    np.testing.assert_allclose(got, want + bias, atol=1e-5)


def test_depthwise_conv_allows_strides_with_dilation_like_keras():
    layer = DepthwiseConv1D(3, strides=2, dilation_rate=2, padding="same")
    assert layer(torch.ones(1, 9, 2)).shape == (1, 5, 2)


def test_depthwise_conv_weights_have_keras_layout():
    layer = DepthwiseConv2D((3, 2), depth_multiplier=3, name="dw")
    layer(torch.ones(1, 5, 5, 2))
    assert [(w.path, tuple(w.shape)) for w in layer.weights] == [
        ("dw/kernel", (3, 2, 2, 3)), ("dw/bias", (6,))]
    assert layer.get_config()["depthwise_initializer"]["class_name"] == "GlorotUniform"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"depth_multiplier": 0}, "`depth_multiplier` must be a positive integer. "
                              "Received: depth_multiplier=0"),
    ({"padding": "causal"}, r"`padding` must be one of \('valid', 'same'\)"),
    ({"kernel_size": (2, 2, 2)}, "`kernel_size` must be an int or a tuple of 2 positive"),
])
def test_depthwise_conv_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DepthwiseConv2D(**{"kernel_size": 3, **kwargs})


def test_depthwise_conv_rejects_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"DepthwiseConv2D 'depthwise_conv2d': the kernel"):
        DepthwiseConv2D(5)(torch.ones(1, 3, 3, 1))
