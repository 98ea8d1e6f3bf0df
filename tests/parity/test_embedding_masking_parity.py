"""Embedding and Masking against Keras 3: same weights, same outputs and masks."""

import numpy as np
import pytest
import torch

from lamina.layers.core.embedding import Embedding
from lamina.layers.core.masking import Masking


def _np(x):
    return x.detach().cpu().numpy()


@pytest.mark.parametrize("kwargs, dtype", [
    ({"mask_zero": True}, "int64"),
    ({}, "int32"),
    ({"mask_zero": True}, "float32"),
    ({"lora_rank": 2}, "int64"),
])
def test_embedding_matches_keras(K, kwargs, dtype):
    ids = np.array([[1, 0, 7, 3], [0, 0, 9, 2]]).astype(dtype)
    theirs = K.layers.Embedding(10, 4, **kwargs)
    ours = Embedding(10, 4, **kwargs)
    theirs(ids)
    ours(torch.tensor(ids))
    weights = [np.random.default_rng(i).standard_normal(w.shape).astype("float32")
               for i, w in enumerate(theirs.get_weights())]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    want, got = theirs(ids), ours(torch.tensor(ids))
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-6)
    want_mask = getattr(want, "_keras_mask", None)
    if want_mask is None:
        assert getattr(got, "_keras_mask", None) is None
    else:
        np.testing.assert_array_equal(_np(got._keras_mask), _np(want_mask))
    assert ours.get_config() == theirs.get_config()
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in theirs.weights]
    assert ours.supports_masking == theirs.supports_masking


@pytest.mark.parametrize("mask_value", [0.0, -1.0])
def test_masking_matches_keras(K, mask_value):
    x = np.random.default_rng(0).standard_normal((2, 5, 3)).astype("float32")
    x[0, 1] = mask_value
    x[1, 3:] = mask_value
    x[1, 0, 0] = mask_value  # a partly padded step stays
    theirs, ours = K.layers.Masking(mask_value), Masking(mask_value)
    want, got = theirs(x), ours(torch.tensor(x))
    np.testing.assert_allclose(_np(got), _np(want), atol=1e-6)
    np.testing.assert_array_equal(_np(got._keras_mask), _np(want._keras_mask))
    assert ours.get_config() == theirs.get_config()
