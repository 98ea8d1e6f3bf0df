import math

import numpy as np
import pytest
import torch

import lamina.layers.pooling as family
from lamina.layers.pooling.average_pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AveragePooling3D,
    AvgPool2D,
)
from lamina.layers.pooling.max_pooling import MaxPool2D, MaxPooling1D, MaxPooling2D, MaxPooling3D
from lamina.serialization.registry import custom_object_scope
from lamina.testing import run_layer_test


@pytest.fixture(autouse=True)
def _classes_resolvable_by_name():
    """Config round trips find these classes before `lamina.layers` re-exports them."""
    with custom_object_scope({n: getattr(family, n) for n in dir(family) if n[0].isupper()}):
        yield


def reference_pool(x, pool, strides, padding, mode):
    """Pooling in numpy, channels-last, with padding left out of every window."""
    spatial = x.shape[1:-1]
    if padding == "same":
        outs = [math.ceil(n / s) for n, s in zip(spatial, strides)]
        before = [max((o - 1) * s + k - n, 0) // 2
                  for o, s, k, n in zip(outs, strides, pool, spatial)]
    else:
        outs = [(n - k) // s + 1 for n, k, s in zip(spatial, pool, strides)]
        before = [0] * len(spatial)
    out = np.zeros((x.shape[0], *outs, x.shape[-1]), x.dtype)
    for idx in np.ndindex(*outs):
        window = tuple(slice(max(i * s - b, 0), min(i * s - b + k, n))
                       for i, s, b, k, n in zip(idx, strides, before, pool, spatial))
        block = x[(slice(None), *window, slice(None))]
        axes = tuple(range(1, 1 + len(spatial)))
        out[(slice(None), *idx, slice(None))] = (
            block.max(axis=axes) if mode == "max" else block.mean(axis=axes))
    return out


CASES = [
    (MaxPooling1D, "max", {"pool_size": 3, "strides": 2, "padding": "valid"}, (2, 9, 3)),
    (MaxPooling1D, "max", {"pool_size": 4, "strides": 1, "padding": "same"}, (2, 7, 3)),
    (MaxPooling2D, "max", {"pool_size": (2, 3), "padding": "same"}, (2, 5, 7, 3)),
    (MaxPooling3D, "max", {"pool_size": 2, "strides": (1, 2, 2)}, (1, 4, 5, 4, 2)),
    (AveragePooling1D, "average", {"pool_size": 2, "strides": 1, "padding": "same"},
     (2, 5, 3)),
    (AveragePooling2D, "average", {"pool_size": (2, 3), "strides": 1, "padding": "same"},
     (2, 5, 5, 3)),
    (AveragePooling2D, "average", {"pool_size": 3, "strides": 2, "padding": "same"},
     (2, 6, 7, 2)),
    (AveragePooling3D, "average", {"pool_size": 2, "padding": "same"}, (1, 3, 4, 5, 2)),
]


@pytest.mark.parametrize("cls,mode,kwargs,shape", CASES)
def test_pooling_matches_numpy_reference_both_formats(cls, mode, kwargs, shape):
    x = np.random.randn(*shape).astype("float32")
    rank = len(shape) - 2
    pool = tuple(np.broadcast_to(kwargs["pool_size"], (rank,)))
    strides = tuple(np.broadcast_to(kwargs.get("strides", pool), (rank,)))
    want = reference_pool(x, pool, strides, kwargs.get("padding", "valid"), mode)
    got = cls(**kwargs)(torch.from_numpy(x))
    np.testing.assert_allclose(got.numpy(), want, atol=1e-6)
    first = cls(**kwargs, data_format="channels_first")(torch.from_numpy(x).movedim(-1, 1))
    np.testing.assert_allclose(first.movedim(1, -1).numpy(), want, atol=1e-6)


def test_average_pooling_same_leaves_padding_out_of_the_mean():
    x = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0]).reshape(1, 5, 1)
    # windows (pad,1,2,3) (1..4) (2..5) (3,4,5,pad) (4,5,pad,pad): padding not counted
    got = AveragePooling1D(4, strides=1, padding="same")(x).flatten().tolist()
    assert got == pytest.approx([2.0, 2.5, 3.5, 4.0, 4.5])


@pytest.mark.parametrize("cls,kwargs,shape,out_shape", [
    (MaxPooling2D, {}, (2, 6, 5, 3), (2, 3, 2, 3)),
    (AveragePooling2D, {"pool_size": 3, "padding": "same", "data_format": "channels_first"},
     (2, 3, 7, 5), (2, 3, 3, 2)),
    (MaxPooling1D, {"strides": 1}, (2, 6, 3), (2, 5, 3)),
    (AveragePooling3D, {"pool_size": (1, 2, 2)}, (1, 2, 4, 4, 3), (1, 2, 2, 2, 3)),
])
def test_pooling_passes_layer_test(cls, kwargs, shape, out_shape):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0)


def test_pooling_defaults_and_config():
    config = MaxPooling2D().get_config()
    assert (config["pool_size"], config["strides"], config["padding"], config["data_format"]) \
        == ((2, 2), (2, 2), "valid", "channels_last")
    config = AveragePooling1D(3, strides=1, padding="SAME").get_config()
    assert (config["pool_size"], config["strides"], config["padding"]) == ((3,), (1,), "same")
    assert MaxPool2D is MaxPooling2D and AvgPool2D is AveragePooling2D
    assert AveragePooling2D(2).compute_output_shape((None, None, 7, 3)) == (None, None, 3, 3)
    assert AveragePooling2D(2, padding="same").compute_output_shape((None, 5, 7, 3)) == (
        None, 3, 4, 3)


def test_pooling_channels_last_output_keeps_no_extra_copy_of_input():
    x = torch.randn(2, 8, 8, 4)
    y = MaxPooling2D()(x)
    assert y.shape == (2, 4, 4, 4)
    assert y.is_contiguous()  # torch's channels_last kernel wrote NHWC directly


def test_pooling_rejects_wrong_rank_naming_the_layer():
    with pytest.raises(ValueError, match=r"layer 'max_pooling2d' \(MaxPooling2D\).*expected "
                                         r"ndim=4, found ndim=3"):
        MaxPooling2D()(torch.ones(2, 3, 4))


@pytest.mark.parametrize("kwargs,match", [
    ({"pool_size": 0}, r"`pool_size` argument must be a tuple of 1 integers.*value > 0"),
    ({"pool_size": (2, 2)}, r"`pool_size` argument must be a tuple of 1 integers"),
    ({"pool_size": 2.5}, r"`pool_size` argument must be a tuple of 1 integers"),
    ({"pool_size": 2, "strides": -1}, r"`strides` argument.*values \{-1\}"),
    ({"pool_size": 2, "strides": 0}, r"`strides` argument.*values \{0\}"),
    ({"pool_size": 2, "padding": "full"}, r"padding.*expected 'valid' or 'same'.*'full'"),
    ({"pool_size": 2, "data_format": "nchw"}, r"data_format.*'nchw'"),
])
def test_pooling_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AveragePooling1D(**kwargs)
