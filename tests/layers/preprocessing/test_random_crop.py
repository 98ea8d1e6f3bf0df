import pytest
import torch

from lamina import ops
from lamina.layers import RandomCrop


def locate(window, image):
    """Every (top, left) where `window` (H, W, C) sits in `image`."""
    h, w = window.shape[:2]
    return [(top, left) for top in range(image.shape[0] - h + 1)
            for left in range(image.shape[1] - w + 1)
            if torch.equal(image[top:top + h, left:left + w], window)]


def test_random_crop_cuts_one_window_at_the_same_place_in_every_image():
    x = torch.arange(2 * 7 * 9 * 1.0).reshape(2, 7, 9, 1)
    layer = RandomCrop(3, 4, seed=1)
    seen = set()
    for _ in range(20):
        out = layer(x)
        places = [locate(out[i], x[i]) for i in range(2)]
        assert len(places[0]) == 1 and places[0] == places[1]
        seen.add(places[0][0])
    assert len(seen) > 5


def test_random_crop_in_inference_resizes_the_central_aspect_window():
    x = torch.rand(2, 9, 12, 3)
    out = RandomCrop(4, 4, seed=1)(x, training=False)
    torch.testing.assert_close(out, ops.image.resize(x, (4, 4), crop_to_aspect_ratio=True))


def test_random_crop_is_the_identity_for_an_image_of_the_target_size():
    x = torch.rand(2, 5, 6, 3)
    for training in (True, False):
        torch.testing.assert_close(RandomCrop(5, 6)(x, training=training), x)


def test_random_crop_keeps_mask_values_and_dtype():
    masks = torch.randint(0, 4, (2, 3, 5, 1))
    out = RandomCrop(6, 6, seed=1)({"images": masks.float(), "segmentation_masks": masks})
    assert out["segmentation_masks"].dtype == torch.int64
    assert set(out["segmentation_masks"].unique().tolist()) <= {0, 1, 2, 3}
    assert out["images"].shape == (2, 6, 6, 1)


def test_random_crop_seed_is_stored_even_when_not_given():
    assert RandomCrop(2, 2, seed=7).get_config()["seed"] == 7
    assert isinstance(RandomCrop(2, 2).get_config()["seed"], int)


def test_random_crop_rejects_a_bad_size():
    with pytest.raises(ValueError, match="RandomCrop layer '.*': `width` must be a positive "
                                         "integer. Received: width=0"):
        RandomCrop(3, 0)
