"""UpSampling, ZeroPadding and Cropping layers against keras.layers."""

import json

import numpy as np
import pytest

from lamina.layers.reshaping import cropping, upsampling, zero_padding

MODULES = (cropping, upsampling, zero_padding)


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def ours_class(name):
    return next(getattr(m, name) for m in MODULES if hasattr(m, name))


@pytest.mark.parametrize("name,kwargs,shape", [
    ("UpSampling1D", {"size": 3}, (2, 4, 3)),
    ("UpSampling2D", {}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (2, 3), "data_format": "channels_first"}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": (3, 2), "interpolation": "bilinear"}, (2, 3, 4, 2)),
    ("UpSampling2D", {"size": 2, "interpolation": "bilinear",
                      "data_format": "channels_first"}, (2, 3, 4, 5)),
    ("UpSampling3D", {"size": (1, 2, 3)}, (1, 2, 3, 2, 2)),
    ("UpSampling3D", {"size": 2, "data_format": "channels_first"}, (1, 2, 3, 2, 2)),
    ("ZeroPadding1D", {"padding": (1, 3)}, (2, 4, 3)),
    ("ZeroPadding2D", {"padding": (1, 2)}, (2, 3, 4, 2)),
    ("ZeroPadding2D", {"padding": ((1, 0), (0, 2)), "data_format": "channels_first"},
     (2, 3, 4, 2)),
    ("ZeroPadding3D", {"padding": 2}, (1, 2, 3, 2, 2)),
    ("Cropping1D", {"cropping": 1}, (2, 4, 3)),
    ("Cropping2D", {"cropping": ((1, 0), (1, 2))}, (2, 3, 4, 2)),
    ("Cropping2D", {"cropping": (1, 1), "data_format": "channels_first"}, (2, 3, 4, 5)),
    ("Cropping3D", {"cropping": (0, 1, (1, 0))}, (1, 2, 3, 2, 2)),
])
def test_shape_layer_matches_keras(K, name, kwargs, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    theirs = getattr(K.layers, name)(name="layer", **kwargs)
    ours = ours_class(name)(name="layer", **kwargs)
    want = K.ops.convert_to_numpy(theirs(x))
    got = ours(x).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    symbolic = (None, *shape[1:])
    assert tuple(ours.compute_output_shape(symbolic)) == tuple(
        theirs.compute_output_shape(symbolic))
    assert ours.supports_masking == theirs.supports_masking


def test_bilinear_upsampling_of_integers_matches_keras(K):
    x = (np.random.default_rng(1).standard_normal((1, 3, 3, 2)) * 10).astype("int32")
    want = K.layers.UpSampling2D(3, interpolation="bilinear")(x)
    got = upsampling.UpSampling2D(3, interpolation="bilinear")(x)
    assert str(got.dtype) == str(want.dtype)
    np.testing.assert_array_equal(got.numpy(), K.ops.convert_to_numpy(want))


@pytest.mark.parametrize("name,kwargs", [
    ("UpSampling2D", {"size": (2,)}),
    ("UpSampling2D", {"size": (2, 0)}),
    ("ZeroPadding1D", {"padding": (1, 2, 3)}),
    ("ZeroPadding2D", {"padding": ((1, -2), (3, 4))}),
    ("ZeroPadding3D", {"padding": (1, 2)}),
    ("Cropping2D", {"cropping": (1, 2, 3)}),
    ("Cropping3D", {"cropping": (1, 2)}),
])
def test_bad_arguments_raise_like_keras(K, name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(K.layers, name)(**kwargs)
    with pytest.raises(ValueError) as ours:
        ours_class(name)(**kwargs)
    assert str(ours.value) == str(theirs.value)
