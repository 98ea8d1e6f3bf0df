import numpy as np
import pytest
import torch

import lamina
from lamina.layers.reshaping.cropping import Cropping1D, Cropping2D, Cropping3D
from lamina.layers.reshaping.upsampling import UpSampling1D, UpSampling2D, UpSampling3D
from lamina.layers.reshaping.zero_padding import ZeroPadding1D, ZeroPadding2D, ZeroPadding3D
from lamina.testing import run_layer_test

CLASSES = (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D, UpSampling3D,
           ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)


@pytest.fixture(autouse=True)
def _exported(monkeypatch):
    # NOTE: deserialization resolves classes through `lamina.layers`; until it re-exports
    # these layers, expose them there for the duration of each test.
    for cls in CLASSES:
        monkeypatch.setattr(lamina.layers, cls.__name__, cls, raising=False)


X3 = np.random.default_rng(0).standard_normal((2, 4, 3)).astype("float32")
X4 = np.random.default_rng(1).standard_normal((2, 4, 5, 3)).astype("float32")
X5 = np.random.default_rng(2).standard_normal((1, 3, 4, 5, 2)).astype("float32")


# -- UpSampling ------------------------------------------------------------------------
def test_upsampling1d_repeats_steps():
    run_layer_test(UpSampling1D, {"size": 3}, input_data=X3, expected_output_shape=(2, 12, 3),
                   expected_output=np.repeat(X3, 3, axis=1), supports_masking=False)


@pytest.mark.parametrize("data_format,axes", [("channels_last", (1, 2)),
                                              ("channels_first", (2, 3))])
def test_upsampling2d_nearest_repeats_rows_and_columns(data_format, axes):
    want = np.repeat(np.repeat(X4, 2, axis=axes[0]), 3, axis=axes[1])
    run_layer_test(UpSampling2D, {"size": (2, 3), "data_format": data_format},
                   input_data=X4, expected_output=want)


def test_upsampling2d_bilinear_matches_half_pixel_formula():
    x = torch.tensor([[[[0.0], [4.0]]]])  # one row, two columns
    out = UpSampling2D((1, 2), interpolation="bilinear")(x)
    # Half-pixel centres: output columns sample 0.25 and 0.75 of the way between inputs,
    # clamped at the edges.
    assert out.flatten().tolist() == [0.0, 1.0, 3.0, 4.0]
    run_layer_test(UpSampling2D, {"size": 2, "interpolation": "bilinear"}, input_data=X4,
                   expected_output_shape=(2, 8, 10, 3))


def test_upsampling3d_repeats_three_axes():
    want = np.repeat(np.repeat(np.repeat(X5, 1, 1), 2, 2), 3, 3)
    run_layer_test(UpSampling3D, {"size": (1, 2, 3)}, input_data=X5, expected_output=want)


def test_upsampling_keeps_integer_dtype_and_unknown_sizes():
    x = torch.arange(4, dtype=torch.int32).reshape(1, 2, 2, 1)
    assert UpSampling2D()(x).dtype == torch.int32
    assert UpSampling2D(interpolation="bilinear")(x).dtype == torch.int32
    assert UpSampling2D(3)(lamina.Input((None, 4, 2))).shape == (None, None, 12, 2)


def test_upsampling_rejects_bad_arguments():
    with pytest.raises(TypeError, match="Expected an integer value for `size`"):
        UpSampling1D(size=2.5)
    with pytest.raises(ValueError, match="should be a positive integer. Received: size=0"):
        UpSampling1D(size=0)
    with pytest.raises(ValueError, match="tuple of 2 integers. Received size=\\(2,\\)"):
        UpSampling2D(size=(2,))
    with pytest.raises(ValueError, match="including values \\{0\\} that do not satisfy"):
        UpSampling2D(size=(2, 0))
    with pytest.raises(ValueError, match="`interpolation` must be one of"):
        UpSampling2D(interpolation="cubic")
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        UpSampling1D()(torch.ones(2, 3))


# -- ZeroPadding -----------------------------------------------------------------------
def test_zero_padding1d():
    run_layer_test(ZeroPadding1D, {"padding": (1, 2)}, input_data=X3,
                   expected_output=np.pad(X3, ((0, 0), (1, 2), (0, 0))))


@pytest.mark.parametrize("padding,data_format,pads", [
    (1, "channels_last", ((0, 0), (1, 1), (1, 1), (0, 0))),
    ((1, 2), "channels_last", ((0, 0), (1, 1), (2, 2), (0, 0))),
    (((1, 0), (2, 3)), "channels_first", ((0, 0), (0, 0), (1, 0), (2, 3))),
])
def test_zero_padding2d(padding, data_format, pads):
    run_layer_test(ZeroPadding2D, {"padding": padding, "data_format": data_format},
                   input_data=X4, expected_output=np.pad(X4, pads))


def test_zero_padding3d_and_config():
    layer = ZeroPadding3D((1, 0, 2))
    assert layer.get_config()["padding"] == ((1, 1), (0, 0), (2, 2))
    run_layer_test(ZeroPadding3D, {"padding": ((0, 1), (2, 0), (1, 1))}, input_data=X5,
                   expected_output=np.pad(X5, ((0, 0), (0, 1), (2, 0), (1, 1), (0, 0))))


def test_zero_padding_symbolic_unknown_size():
    out = ZeroPadding2D(data_format="channels_first")(lamina.Input((3, None, 4)))
    assert out.shape == (None, 3, None, 6)


def test_zero_padding_rejects_bad_padding():
    with pytest.raises(ValueError, match="tuple of 2 integers. Received padding=\\(1, 2, 3\\)"):
        ZeroPadding1D(padding=(1, 2, 3))
    with pytest.raises(ValueError, match="do not satisfy `value >= 0`"):
        ZeroPadding1D(padding=-1)
    with pytest.raises(ValueError, match="`padding` should have two elements"):
        ZeroPadding2D(padding=(1, 2, 3))
    with pytest.raises(ValueError, match="1st entry of padding"):
        ZeroPadding2D(padding=((1, -2), (3, 4)))
    with pytest.raises(ValueError, match="`padding` should have 3 elements"):
        ZeroPadding3D(padding=(1, 2))


# -- Cropping --------------------------------------------------------------------------
def test_cropping1d():
    run_layer_test(Cropping1D, {"cropping": (1, 2)}, input_data=X3,
                   expected_output=X3[:, 1:2])


@pytest.mark.parametrize("cropping,data_format,index", [
    (1, "channels_last", np.s_[:, 1:3, 1:4, :]),
    (((1, 0), (2, 1)), "channels_last", np.s_[:, 1:, 2:4, :]),
    ((0, 1), "channels_first", np.s_[:, :, 0:, 1:2]),
])
def test_cropping2d(cropping, data_format, index):
    run_layer_test(Cropping2D, {"cropping": cropping, "data_format": data_format},
                   input_data=X4, expected_output=X4[index])


def test_cropping3d():
    run_layer_test(Cropping3D, {"cropping": ((1, 1), (0, 2), (1, 0))}, input_data=X5,
                   expected_output=X5[:, 1:2, 0:2, 1:])


def test_cropping_returns_a_view_and_keeps_unknown_sizes():
    x = torch.ones(2, 6, 3)
    assert Cropping1D(1)(x).data_ptr() == x[:, 1:].data_ptr()
    assert Cropping1D((2, 3))(lamina.Input((None, 3))).shape == (None, None, 3)


def test_cropping_rejects_too_much_cropping():
    with pytest.raises(ValueError, match="must be smaller than the input length"):
        Cropping1D((2, 2))(torch.ones(2, 4, 3))
    with pytest.raises(ValueError, match="should be smaller than the corresponding spatial"):
        Cropping2D(2)(torch.ones(2, 4, 4, 3))
    with pytest.raises(ValueError, match="should be smaller than the corresponding spatial"):
        Cropping2D(((3, 2), (0, 0)))(lamina.Input((4, 4, 3)))


def test_cropping_rejects_bad_cropping():
    with pytest.raises(ValueError, match="tuple of 2 integers. Received cropping=\\(1, 2, 3\\)"):
        Cropping1D(cropping=(1, 2, 3))
    with pytest.raises(ValueError, match="2nd entry of cropping"):
        Cropping2D(cropping=((1, 2), (3,)))
    with pytest.raises(ValueError, match="expected ndim=5, found ndim=3"):
        Cropping3D(1)(torch.ones(2, 4, 5))
