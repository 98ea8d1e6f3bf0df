import numpy as np
import pytest
import torch

import lamina.layers.pooling as family
from lamina.layers.pooling.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling3D,
)
from lamina.layers.pooling.global_pooling import (
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAveragePooling3D,
    GlobalAvgPool1D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    GlobalMaxPooling3D,
)
from lamina.serialization.registry import custom_object_scope
from lamina.testing import run_layer_test


@pytest.fixture(autouse=True)
def _classes_resolvable_by_name():
    """Config round trips find these classes before `lamina.layers` re-exports them."""
    with custom_object_scope({n: getattr(family, n) for n in dir(family) if n[0].isupper()}):
        yield


@pytest.mark.parametrize("cls,reduce,kwargs,shape", [
    (GlobalAveragePooling1D, np.mean, {}, (2, 5, 3)),
    (GlobalAveragePooling2D, np.mean, {"keepdims": True}, (2, 4, 5, 3)),
    (GlobalAveragePooling3D, np.mean, {"data_format": "channels_first"}, (2, 3, 2, 3, 4)),
    (GlobalMaxPooling1D, np.max, {"data_format": "channels_first", "keepdims": True},
     (2, 3, 5)),
    (GlobalMaxPooling2D, np.max, {}, (2, 4, 5, 3)),
    (GlobalMaxPooling3D, np.max, {"keepdims": True}, (2, 2, 3, 4, 3)),
])
def test_global_pooling_matches_numpy(cls, reduce, kwargs, shape):
    rank = len(shape) - 2
    first = 2 if kwargs.get("data_format") == "channels_first" else 1
    axes = tuple(range(first, first + rank))
    out = run_layer_test(cls, kwargs, input_shape=shape)
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(1337)).numpy()
    want = reduce(x, axis=axes, keepdims=kwargs.get("keepdims", False))
    np.testing.assert_allclose(out.numpy(), want, atol=1e-6)


def test_global_average_pooling1d_leaves_masked_steps_out():
    x = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, False, True, True]])
    layer = GlobalAveragePooling1D()
    got = layer(x, mask=mask)
    want = torch.stack([x[0, :2].mean(0), x[1, [0, 2, 3]].mean(0)])
    torch.testing.assert_close(got, want)
    assert layer.supports_masking and layer.compute_mask(x, mask) is None
    first = GlobalAveragePooling1D(data_format="channels_first", keepdims=True)
    torch.testing.assert_close(first(x.movedim(-1, 1), mask=mask), want[..., None])
    x._keras_mask = mask  # a mask carried by the input (as from Embedding) is used too
    torch.testing.assert_close(layer(x), want)


def test_global_max_pooling1d_ignores_masks_like_keras():
    x = torch.randn(2, 4, 3)
    x._keras_mask = torch.tensor([[True, False, False, False]] * 2)
    layer = GlobalMaxPooling1D()
    with pytest.warns(UserWarning, match="does not support masking"):  # Keras warns too
        out = layer(x)
    torch.testing.assert_close(out, x.amax(1))
    assert not layer.supports_masking


def test_global_pooling_shapes_config_and_aliases():
    layer = GlobalAveragePooling2D(keepdims=True, data_format="channels_first")
    assert layer.compute_output_shape((None, 3, 5, 5)) == (None, 3, 1, 1)
    assert GlobalMaxPooling3D().compute_output_shape((None, 2, 3, 4, 5)) == (None, 5)
    assert layer.get_config()["keepdims"] is True
    assert GlobalAvgPool1D is GlobalAveragePooling1D
    with pytest.raises(ValueError, match=r"global_average_pooling2d_1.*expected ndim=4"):
        GlobalAveragePooling2D()(torch.ones(2, 3))
    with pytest.raises(ValueError, match="data_format"):
        GlobalMaxPooling2D(data_format="NHWC")


def adaptive_reference(x, size, reduce):
    n = x.shape[1]
    cells = [x[:, (i * n) // size: -(-((i + 1) * n) // size)] for i in range(size)]
    return np.stack([reduce(c, axis=1) for c in cells], axis=1)


@pytest.mark.parametrize("size", [3, 4, 5, 9])
def test_adaptive_pooling1d_matches_cell_rule(size):
    x = np.random.randn(2, 7, 3).astype("float32")
    avg = AdaptiveAveragePooling1D(size)(torch.from_numpy(x)).numpy()
    mx = AdaptiveMaxPooling1D(size, data_format="channels_first")(
        torch.from_numpy(x).movedim(-1, 1)).movedim(1, -1).numpy()
    np.testing.assert_allclose(avg, adaptive_reference(x, size, np.mean), atol=1e-6)
    np.testing.assert_allclose(mx, adaptive_reference(x, size, np.max), atol=1e-6)


def test_adaptive_pooling_layer_test_and_config():
    run_layer_test(AdaptiveAveragePooling2D, {"output_size": (2, 3)}, input_shape=(2, 5, 7, 4),
                   expected_output_shape=(2, 2, 3, 4))
    run_layer_test(AdaptiveMaxPooling3D, {"output_size": 2, "data_format": "channels_first"},
                   input_shape=(1, 2, 4, 5, 3), expected_output_shape=(1, 2, 2, 2, 2))
    assert AdaptiveMaxPooling3D(2).get_config()["output_size"] == (2, 2, 2)


@pytest.mark.parametrize("size,error,match", [
    ((2, 2), ValueError, r"tuple of 1 integers. Received: output_size=\(2, 2\)"),
    (2.5, TypeError, "must be an integer or a tuple of 1 integers"),
    (0, ValueError, "must be positive"),
])
def test_adaptive_pooling_rejects_bad_output_size(size, error, match):
    with pytest.raises(error, match=match):
        AdaptiveAveragePooling1D(size)
