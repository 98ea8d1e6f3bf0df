"""Merging layers against keras.layers: configs, values, masks, shapes, error types."""

import json

import numpy as np
import pytest
import torch

from lamina.layers import merging

RNG = np.random.default_rng(0)


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


@pytest.mark.parametrize("name,kwargs,shapes", [
    ("Add", {}, [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    ("Subtract", {}, [(2, 3, 4), (2, 1, 4)]),
    ("Multiply", {}, [(2, 3, 4), (2, 4)]),
    ("Average", {}, [(2, 3), (2, 3)]),
    ("Maximum", {}, [(2, 3, 4), (2, 3, 1)]),
    ("Minimum", {}, [(2, 3, 4), (2, 3, 4)]),
    ("Concatenate", {"axis": 1}, [(2, 3, 4), (2, 2, 4)]),
    ("Concatenate", {}, [(2, 3), (2, 5)]),
    ("Dot", {"axes": 1}, [(2, 3), (2, 3)]),
    ("Dot", {"axes": (1, 2)}, [(2, 3, 4), (2, 5, 3)]),
    ("Dot", {"axes": -1, "normalize": True}, [(2, 5, 3), (2, 4, 3)]),
])
def test_merge_layer_matches_keras(K, name, kwargs, shapes):
    xs = [RNG.standard_normal(s).astype("float32") for s in shapes]
    theirs = getattr(K.layers, name)(**kwargs)
    ours = getattr(merging, name)(**kwargs)
    want = K.ops.convert_to_numpy(theirs(xs))
    got = ours(xs).numpy()
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-5)
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    symbolic = [(None, *s[1:]) for s in shapes]
    assert tuple(ours.compute_output_shape(symbolic)) == tuple(
        theirs.compute_output_shape(symbolic))
    assert ours.supports_masking == theirs.supports_masking


@pytest.mark.parametrize("name", ["Add", "Subtract", "Multiply", "Average", "Maximum",
                                  "Minimum"])
def test_masked_merge_matches_keras(K, name):
    x = RNG.standard_normal((3, 5, 2)).astype("float32")
    y = RNG.standard_normal((3, 5, 2)).astype("float32")
    m1 = torch.as_tensor(RNG.random((3, 5)) > 0.5)
    m2 = torch.as_tensor(RNG.random((3, 5)) > 0.5)

    def inputs():
        a, b = torch.as_tensor(x), torch.as_tensor(y)
        a._keras_mask, b._keras_mask = m1, m2
        return [a, b]

    want = getattr(K.layers, name)()(inputs())
    got = getattr(merging, name)()(inputs())
    np.testing.assert_allclose(got.numpy(), K.ops.convert_to_numpy(want), atol=1e-6)
    assert torch.equal(got._keras_mask, want._keras_mask)


@pytest.mark.parametrize("axis,masks", [(1, "both"), (1, "first"), (-1, "both"),
                                        (-1, "first")])
def test_concatenate_mask_matches_keras(K, axis, masks):
    x, y = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    m1 = torch.tensor([[True, True, False], [True, False, False]])
    m2 = torch.tensor([[True, False, True], [True, True, False]]) if masks == "both" else None
    want = K.layers.Concatenate(axis=axis).compute_mask([x, y], [m1, m2])
    got = merging.Concatenate(axis=axis).compute_mask([x, y], [m1, m2])
    assert torch.equal(got, want)


@pytest.mark.parametrize("name,kwargs,shapes", [
    ("Add", {}, [(2, 3), (2, 4)]),
    ("Add", {}, [(2, 3, 4), (1, 3, 4)]),
    ("Subtract", {}, [(2, 3), (2, 3), (2, 3)]),
    ("Concatenate", {}, [(2, 3, 5), (2, 4, 5)]),
    ("Dot", {"axes": 1}, [(2, 3), (2, 4)]),
])
def test_merge_errors_match_keras(K, name, kwargs, shapes):
    xs = [np.ones(s, "float32") for s in shapes]
    with pytest.raises(ValueError) as theirs:
        getattr(K.layers, name)(**kwargs)(xs)
    with pytest.raises(ValueError) as ours:
        getattr(merging, name)(**kwargs)(xs)
    # lamina prefixes the layer; the rest of the message is Keras'.
    assert str(theirs.value).split(". Received")[0].lower() in str(ours.value).lower()
