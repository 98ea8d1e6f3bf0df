import pytest
import torch

from lamina.layers import RandomPerspective


@pytest.mark.parametrize("kwargs", [{"factor": 0.0}, {"scale": 0.0}])
def test_no_probability_or_no_scale_leaves_images_alone(kwargs):
    x = torch.rand(8, 6, 7, 3)
    torch.testing.assert_close(RandomPerspective(seed=1, **kwargs)(x), x)


def test_unwarped_images_pass_through_and_warped_ones_change():
    x = torch.rand(64, 8, 8, 1)
    layer = RandomPerspective(factor=(0.5, 0.5), scale=1.0, fill_value=-1.0, seed=2,
                              interpolation="nearest")
    transformation = layer.get_random_transformation(x)
    out = layer.transform_images(x, transformation)
    applied = transformation["apply_perspective"]
    assert 0 < applied.sum() < 64
    assert torch.equal(out[~applied], x[~applied])
    assert (out[applied] != x[applied]).flatten(1).any(1).all()
    assert (out[applied] == -1).any()  # some corner moved inwards


@pytest.mark.parametrize("kwargs,match", [
    ({"factor": 1.5}, r"`factor` argument of RandomPerspective should be a number"),
    ({"factor": -0.5}, r"in the range \[0, 1\]"),
    ({"scale": 1.5}, r"RandomPerspective layer '.*': `scale` should be a number in the range "
                     r"\[0, 1\]. Received: scale=1.5"),
    ({"interpolation": "area"}, r"`interpolation` must be one of 'nearest', 'bilinear'"),
])
def test_random_perspective_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomPerspective(**kwargs)
