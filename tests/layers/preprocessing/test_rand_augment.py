"""RandAugment: its picks, the training flag, seeds, one image, masks and bad arguments."""

import pytest
import torch

from lamina.layers import RandAugment
from lamina.testing import run_layer_test


def images(shape=(4, 9, 11, 3), high=255.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)) * high


def test_rand_augment_is_the_identity_in_inference():
    x = images()
    run_layer_test(RandAugment, {"seed": 1}, input_data=x, call_kwargs={"training": False},
                   expected_output=x.numpy(), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=False)


def test_rand_augment_picks_every_part_about_equally():
    layer = RandAugment(num_ops=2, seed=3)
    x = torch.zeros(1, 4, 4, 3)
    picks = torch.cat([layer.get_random_transformation(x)["layer_idxes"]
                       for _ in range(1100)]).long()
    counts = torch.bincount(picks, minlength=11)
    assert counts.numel() == 11 and counts.min() > 140 and counts.max() < 260  # ~200 each


def test_rand_augment_applies_num_ops_parts_in_turn():
    layer = RandAugment(num_ops=3, seed=2)
    x = images()
    transformation = layer.get_random_transformation(x)
    expected = x
    for pick in transformation["layer_idxes"].tolist():
        name, part, _ = layer._parts[pick]
        expected = part.transform_images(expected, transformation["transforms"][name])
    torch.testing.assert_close(layer.transform_images(x, transformation), expected)


def test_same_seed_same_output_and_one_image_keeps_its_rank():
    x = images()
    torch.testing.assert_close(RandAugment(seed=4)(x), RandAugment(seed=4)(x))
    assert RandAugment(seed=4)(x[0]).shape == x[0].shape


def test_rand_augment_moves_masks_with_the_warps_only():
    x = images((2, 8, 8, 3))
    masks = torch.ones(2, 8, 8, 1)
    out = RandAugment(num_ops=4, seed=6)({"images": x, "segmentation_masks": masks})
    assert out["segmentation_masks"].shape == masks.shape
    # Colour parts leave masks alone; warps fill from outside with 0 or keep 1.
    assert bool(((out["segmentation_masks"] == 0) | (out["segmentation_masks"] == 1)).all())


@pytest.mark.parametrize("kwargs,match", [
    ({"num_ops": 0}, r"RandAugment layer .*`num_ops`"),
    ({"num_ops": 1.5}, r"RandAugment layer .*`num_ops`"),
    ({"factor": 2.0}, r"`factor` argument of RandAugment"),
    ({"interpolation": "cubic"}, r"RandAugment layer .*`interpolation`"),
    ({"value_range": (3, 3)}, r"RandAugment layer .*`value_range`"),
])
def test_bad_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandAugment(**kwargs)
