"""RandomElasticTransform: the warp, its draws, seeds, masks and bad arguments."""

import pytest
import torch

from lamina.layers import RandomElasticTransform
from lamina.testing import run_layer_test


def images(shape=(4, 10, 12, 3), high=255.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)) * high


def test_elastic_transform_is_the_identity_in_inference():
    x = images()
    run_layer_test(RandomElasticTransform, {"seed": 1}, input_data=x,
                   call_kwargs={"training": False}, expected_output=x.numpy(),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   supports_masking=False)


def test_elastic_transform_moves_pixels_and_keeps_a_constant_image():
    x = images()
    y = RandomElasticTransform(factor=(1.0, 1.0), scale=(0.8, 1.0), seed=2)(x)
    assert (y - x).abs().max() > 1
    flat = torch.full((2, 10, 12, 3), 5.0)
    torch.testing.assert_close(RandomElasticTransform(seed=2)(flat), flat)


def test_elastic_transform_probability_and_scale_draws():
    layer = RandomElasticTransform(factor=(0.4, 0.4), scale=(0.2, 0.6), seed=3)
    applied, scales = [], []
    for _ in range(200):
        t = layer.get_random_transformation(torch.zeros(50, 2, 2, 1))
        applied.append(t["apply_transform"].float().mean())
        scales.append(t["distortion_factor"])
    scales = torch.stack(scales)
    assert abs(torch.stack(applied).mean().item() - 0.4) < 0.02
    assert 0.2 <= scales.min() and scales.max() <= 0.6
    assert RandomElasticTransform(scale=0.0).get_random_transformation(images()) is None


def test_same_seed_same_warp_and_masks_move_with_nearest_values():
    x = images()
    a = RandomElasticTransform(factor=(1.0, 1.0), seed=5)(x)
    torch.testing.assert_close(a, RandomElasticTransform(factor=(1.0, 1.0), seed=5)(x))
    masks = (images((4, 10, 12, 1), high=3.0)).floor()
    out = RandomElasticTransform(factor=(1.0, 1.0), seed=5)({"images": x,
                                                              "segmentation_masks": masks})
    assert set(out["segmentation_masks"].unique().tolist()) <= {0.0, 1.0, 2.0}
    assert RandomElasticTransform(seed=5)(x[0]).shape == x[0].shape


@pytest.mark.parametrize("kwargs,match", [
    ({"factor": 1.5}, r"`factor` argument of RandomElasticTransform"),
    ({"scale": -2.0}, r"`scale` argument of RandomElasticTransform"),
    ({"interpolation": "cubic"}, r"RandomElasticTransform layer .*`interpolation`"),
    ({"fill_mode": "edge"}, r"RandomElasticTransform layer .*`fill_mode`"),
    ({"value_range": (2, 2)}, r"RandomElasticTransform layer .*`value_range`"),
])
def test_bad_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomElasticTransform(**kwargs)
