"""Convolution layers against keras.layers: config, weight names/shapes/order, outputs with
weights copied by `set_weights`, `compute_output_shape`, gradients and penalties."""

import json

import numpy as np
import pytest
import torch

from lamina.layers.convolutional.conv import Conv1D, Conv2D, Conv3D
from lamina.layers.convolutional.conv_transpose import (
    Conv1DTranspose,
    Conv2DTranspose,
    Conv3DTranspose,
)
from lamina.layers.convolutional.depthwise_conv import DepthwiseConv1D, DepthwiseConv2D
from lamina.layers.convolutional.separable_conv import SeparableConv1D, SeparableConv2D

OURS = {cls.__name__: cls for cls in (
    Conv1D, Conv2D, Conv3D, Conv1DTranspose, Conv2DTranspose, Conv3DTranspose,
    DepthwiseConv1D, DepthwiseConv2D, SeparableConv1D, SeparableConv2D)}

# (class, kwargs, channels_last input shape). Every argument appears at least once;
# "same" with even kernels and strides > 1 is where Keras pads asymmetrically.
CASES = [
    ("Conv1D", {"filters": 3, "kernel_size": 3}, (2, 9, 2)),
    ("Conv1D", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"}, (2, 9, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "strides": 3, "padding": "same"}, (2, 10, 2)),
    ("Conv1D", {"filters": 3, "kernel_size": 3, "padding": "causal", "dilation_rate": 2},
     (2, 9, 2)),
    ("Conv1D", {"filters": 2, "kernel_size": 2, "padding": "causal", "strides": 2}, (2, 9, 3)),
    ("Conv1D", {"filters": 4, "kernel_size": 3, "groups": 2, "activation": "relu"},
     (2, 8, 4)),
    ("Conv2D", {"filters": 4, "kernel_size": 3}, (2, 7, 8, 3)),
    ("Conv2D", {"filters": 4, "kernel_size": (4, 2), "strides": 2, "padding": "same"},
     (2, 7, 8, 3)),
    ("Conv2D", {"filters": 3, "kernel_size": 2, "strides": (2, 3), "padding": "same"},
     (2, 8, 9, 2)),
    ("Conv2D", {"filters": 4, "kernel_size": 3, "dilation_rate": (2, 1), "padding": "same"},
     (2, 8, 7, 2)),
    ("Conv2D", {"filters": 6, "kernel_size": 3, "groups": 3, "use_bias": False,
                "activation": "tanh"}, (2, 6, 6, 3)),
    ("Conv2D", {"filters": 2, "kernel_size": (3, 1), "strides": (2, 1)}, (1, 9, 5, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 3}, (1, 5, 6, 4, 2)),
    ("Conv3D", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"},
     (1, 5, 6, 3, 2)),
    ("Conv3D", {"filters": 4, "kernel_size": 2, "groups": 2, "dilation_rate": 2},
     (1, 5, 5, 5, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3}, (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"},
     (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 1, "strides": 2, "padding": "same"},
     (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 3, "strides": 3, "padding": "same",
                         "output_padding": 1}, (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 3, "kernel_size": 2, "strides": 2, "output_padding": 1},
     (2, 5, 2)),
    ("Conv1DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                         "padding": "same"}, (2, 6, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same"},
     (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (3, 4), "strides": (2, 3),
                         "padding": "same", "output_padding": (1, 2)}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 5, "strides": 4, "padding": "same",
                         "output_padding": 3}, (1, 3, 4, 2)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 0,
                         "activation": "relu"}, (2, 4, 4, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                         "padding": "same", "use_bias": False}, (2, 5, 5, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 3, 4, 2, 2)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                         "output_padding": 1}, (1, 3, 3, 2, 2)),
    ("DepthwiseConv1D", {"kernel_size": 3}, (2, 8, 3)),
    ("DepthwiseConv1D", {"kernel_size": 4, "strides": 2, "padding": "same",
                         "depth_multiplier": 2}, (2, 9, 3)),
    ("DepthwiseConv1D", {"kernel_size": 3, "strides": 2, "dilation_rate": 2,
                         "padding": "same"}, (2, 9, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3}, (2, 6, 7, 3)),
    ("DepthwiseConv2D", {"kernel_size": (4, 3), "strides": 2, "padding": "same",
                         "depth_multiplier": 2, "activation": "relu"}, (2, 7, 8, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "dilation_rate": 2, "padding": "same",
                         "use_bias": False}, (2, 7, 7, 2)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3}, (2, 8, 3)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 4, "strides": 2, "padding": "same",
                         "depth_multiplier": 2}, (2, 9, 3)),
    ("SeparableConv1D", {"filters": 2, "kernel_size": 3, "dilation_rate": 2,
                         "padding": "same"}, (2, 8, 2)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3}, (2, 6, 7, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 2, "strides": 2, "padding": "same",
                         "depth_multiplier": 2, "activation": "relu"}, (2, 7, 8, 3)),
    ("SeparableConv2D", {"filters": 3, "kernel_size": 3, "dilation_rate": (1, 2),
                         "use_bias": False}, (2, 7, 8, 2)),
]


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def to_format(shape, data_format):
    if data_format == "channels_last":
        return shape
    return (shape[0], shape[-1], *shape[1:-1])


def check_parity(K, class_name, kwargs, input_shape, data_format):
    kwargs = {**kwargs, "data_format": data_format, "name": "c"}
    theirs = getattr(K.layers, class_name)(**kwargs)
    ours = OURS[class_name](**kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    shape = to_format(input_shape, data_format)
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    want = K.ops.convert_to_numpy(theirs(x))
    ours(x)
    assert [(w.path, tuple(w.shape)) for w in ours.weights] == [
        (w.path, tuple(w.shape)) for w in theirs.weights]
    ours.set_weights(theirs.get_weights())
    got = ours(x).detach().numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert ours.count_params() == theirs.count_params()
    for batch_shape in (shape, (None, *shape[1:])):
        assert tuple(ours.compute_output_shape(batch_shape)) == tuple(
            theirs.compute_output_shape(batch_shape))
    assert tuple(ours.compute_output_shape(shape)) == got.shape
    return ours, theirs, x


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
@pytest.mark.parametrize(("class_name", "kwargs", "input_shape"), CASES,
                         ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_conv_layer_matches_keras(K, class_name, kwargs, input_shape, data_format):
    check_parity(K, class_name, kwargs, input_shape, data_format)


@pytest.mark.parametrize("class_name", ["Conv2D", "Conv1D", "Conv3D"])
def test_conv_same_padding_covers_every_stride_phase_like_keras(K, class_name):
    # Keras' "same" padding depends on input length mod stride: sweep the lengths.
    rank = int(class_name[4])
    for length in range(5, 9):
        shape = (1, *(length,) * rank, 2)
        check_parity(K, class_name, {"filters": 2, "kernel_size": 4, "strides": 3,
                                     "padding": "same"}, shape, "channels_last")


def test_conv_transpose_with_symbolic_unknown_sizes_matches_keras(K):
    kwargs = {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}
    ours, theirs = Conv2DTranspose(**kwargs), K.layers.Conv2DTranspose(**kwargs)
    shape = (None, None, 7, 3)
    assert tuple(ours.compute_output_shape(shape)) == tuple(theirs.compute_output_shape(shape))


@pytest.mark.parametrize(("class_name", "kwargs", "input_shape"), [
    ("Conv2D", {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"},
     (2, 7, 6, 2)),
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"},
     (2, 4, 5, 2)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 6, 2)),
    ("SeparableConv1D", {"filters": 3, "kernel_size": 3, "padding": "same"}, (2, 7, 2)),
])
def test_conv_gradients_match_keras(K, class_name, kwargs, input_shape):
    ours, theirs, x = check_parity(K, class_name, kwargs, input_shape, "channels_last")
    xt = torch.tensor(x)
    (theirs(xt) ** 2).sum().backward()
    (ours(xt) ** 2).sum().backward()
    for mine, keras_var in zip(ours.trainable_weights, theirs.trainable_weights):
        np.testing.assert_allclose(mine.grad.numpy(), keras_var.value.grad.cpu().numpy(),
                                   rtol=1e-5, atol=1e-4)


def test_conv_regularization_losses_match_keras(K):
    kwargs = {"filters": 3, "kernel_size": 3, "kernel_regularizer": "l2",
              "bias_regularizer": "l1", "activity_regularizer": "l1",
              "bias_initializer": "ones", "kernel_constraint": "non_neg"}
    ours, theirs, x = check_parity(K, "Conv2D", kwargs, (2, 5, 5, 2), "channels_last")
    theirs(x)
    ours(x)
    want = sorted(float(K.ops.convert_to_numpy(v)) for v in theirs.losses)
    got = sorted(float(v.detach()) for v in ours.losses)
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_separable_penalties_match_keras(K):
    kwargs = {"filters": 3, "kernel_size": 2, "depthwise_regularizer": "l2",
              "pointwise_regularizer": "l1", "depthwise_constraint": "unit_norm",
              "pointwise_initializer": "he_normal"}
    ours, theirs, x = check_parity(K, "SeparableConv2D", kwargs, (1, 4, 4, 2),
                                   "channels_last")
    want = sorted(float(K.ops.convert_to_numpy(v)) for v in theirs.losses)
    np.testing.assert_allclose(sorted(float(v.detach()) for v in ours.losses), want, rtol=1e-5)


def test_conv_automatic_names_match_keras(K):
    for class_name, cls in OURS.items():
        args = {} if class_name.startswith("Depthwise") else {"filters": 2}
        assert [cls(kernel_size=3, **args).name for _ in range(2)] == [
            getattr(K.layers, class_name)(kernel_size=3, **args).name for _ in range(2)]
