"""Pooling layers against keras.layers: config, output shape and values, both layouts."""

import json

import numpy as np
import pytest

import lamina.layers.pooling as ours_module


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def check(K, name, kwargs, shape, mask=None):
    theirs = getattr(K.layers, name)(**kwargs)
    ours = getattr(ours_module, name)(**kwargs)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    call = {} if mask is None else {"mask": mask}
    want = K.ops.convert_to_numpy(theirs(x, **call))
    got = ours(x, **call).detach().numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert tuple(ours.compute_output_shape((None, *shape[1:]))) == tuple(
        theirs.compute_output_shape((None, *shape[1:])))


@pytest.mark.parametrize("name,kwargs,shape", [
    ("MaxPooling1D", {"pool_size": 3, "strides": 2}, (2, 9, 3)),
    ("MaxPooling1D", {"pool_size": 4, "strides": 1, "padding": "same"}, (2, 7, 3)),
    ("MaxPooling2D", {"pool_size": (2, 3), "padding": "same"}, (2, 5, 7, 3)),
    ("MaxPooling2D", {"data_format": "channels_first", "padding": "same"}, (2, 3, 5, 5)),
    ("MaxPooling3D", {"pool_size": 2, "strides": (1, 2, 2)}, (1, 4, 5, 4, 2)),
    ("AveragePooling1D", {"pool_size": 3, "strides": 1, "padding": "same"}, (2, 6, 3)),
    ("AveragePooling2D", {"pool_size": 3, "strides": 2, "padding": "same"}, (2, 7, 7, 2)),
    ("AveragePooling2D", {"pool_size": 2, "data_format": "channels_first"}, (2, 3, 6, 5)),
    ("AveragePooling3D", {"pool_size": 3, "strides": 1, "padding": "same"}, (1, 3, 4, 5, 2)),
    ("GlobalAveragePooling1D", {"keepdims": True}, (2, 5, 3)),
    ("GlobalAveragePooling2D", {"data_format": "channels_first"}, (2, 3, 4, 5)),
    ("GlobalAveragePooling3D", {}, (2, 2, 3, 4, 3)),
    ("GlobalMaxPooling1D", {"data_format": "channels_first"}, (2, 3, 5)),
    ("GlobalMaxPooling2D", {"keepdims": True}, (2, 4, 5, 3)),
    ("GlobalMaxPooling3D", {"data_format": "channels_first"}, (2, 3, 2, 3, 4)),
    ("AdaptiveAveragePooling1D", {"output_size": 4}, (2, 7, 3)),
    ("AdaptiveAveragePooling2D", {"output_size": (2, 3), "data_format": "channels_first"},
     (2, 3, 5, 7)),
    ("AdaptiveAveragePooling3D", {"output_size": 2}, (1, 3, 5, 4, 2)),
    ("AdaptiveMaxPooling1D", {"output_size": 5}, (2, 7, 3)),
    ("AdaptiveMaxPooling2D", {"output_size": 3}, (2, 7, 5, 3)),
    ("AdaptiveMaxPooling3D", {"output_size": (1, 2, 3), "data_format": "channels_first"},
     (1, 2, 3, 5, 7)),
])
def test_pooling_parity(K, name, kwargs, shape):
    check(K, name, kwargs, shape)


def test_global_average_pooling1d_mask_parity(K):
    mask = np.array([[1, 1, 0, 0, 1], [0, 1, 1, 1, 1]], bool)
    check(K, "GlobalAveragePooling1D", {}, (2, 5, 3), mask=mask)


def test_average_pooling_asymmetric_same_padding_follows_tf_jax_not_keras_torch(K):
    # Keras' torch backend pads asymmetric 'same' windows by repeating edge values; its
    # TensorFlow and JAX backends (and lamina) leave padding out of the mean.
    x = np.arange(1, 6, dtype="float32").reshape(1, 5, 1)
    theirs = K.ops.convert_to_numpy(K.layers.AveragePooling1D(4, 1, "same")(x)).ravel()
    ours = ours_module.AveragePooling1D(4, 1, "same")(x).numpy().ravel()
    np.testing.assert_allclose(ours, [2.0, 2.5, 3.5, 4.0, 4.5])
    np.testing.assert_allclose(theirs[1:3], ours[1:3])  # interior windows agree
