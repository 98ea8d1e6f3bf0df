"""RandomErasing, RandomGaussianBlur, MixUp and CutMix: what their random draws cover, what
each change does, the training flag, seeds, dict inputs and bad arguments."""

import numpy as np
import pytest
import torch

from lamina.layers import CutMix, MixUp, RandomErasing, RandomGaussianBlur
from lamina.testing import run_layer_test

RANDOM = [
    (RandomErasing, {"factor": 0.5}),
    (RandomGaussianBlur, {"factor": 0.5}),
    (MixUp, {}),
    (CutMix, {}),
]
IDS = [cls.__name__ for cls, _ in RANDOM]


def images(shape=(16, 6, 7, 3), high=255.0, seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed)) * high


def one_hot(batch, classes=4):
    return torch.eye(classes)[torch.arange(batch) % classes]


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_random_mixing_layers_are_the_identity_in_inference(cls, kwargs):
    x = images()
    run_layer_test(cls, {**kwargs, "seed": 1}, input_data=x, call_kwargs={"training": False},
                   expected_output=x.numpy(), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=False)


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_same_seed_same_output_and_calls_draw_anew(cls, kwargs):
    x = images()
    first, second = cls(**kwargs, seed=7), cls(**kwargs, seed=7)
    a, b = first(x), second(x)
    torch.testing.assert_close(a, b)
    assert not torch.equal(first(x), a)


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_one_image_keeps_its_rank(cls, kwargs):
    x = images((6, 7, 3))
    assert cls(**kwargs, seed=1)(x).shape == x.shape


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_channels_first_moves_the_same_pixels(cls, kwargs):
    if cls is RandomErasing:
        kwargs = {**kwargs, "fill_value": 0.0}  # noise is drawn in the layout's order
    x = images((4, 6, 7, 3))
    last = cls(**kwargs, seed=3)(x)
    first = cls(**kwargs, seed=3, data_format="channels_first")(x.permute(0, 3, 1, 2))
    torch.testing.assert_close(first.permute(0, 2, 3, 1), last, atol=1e-4, rtol=1e-5)


# -- RandomErasing ---------------------------------------------------------------------------
def test_erasing_fills_one_box_per_image_with_fill_value():
    x = torch.full((200, 20, 20, 3), 5.0)
    y = RandomErasing(fill_value=0.0, scale=(0.1, 0.3), seed=0)(x)
    erased = y[..., 0] == 0
    assert torch.equal(erased[..., None].expand_as(y), y == 0)  # every channel alike
    areas = erased.float().mean((1, 2))
    for mask in erased[areas > 0]:
        rows, cols = mask.any(1), mask.any(0)
        # One box: its bounding rectangle is all erased.
        assert int(mask.sum()) == int(rows.sum()) * int(cols.sum())
    # Sides are sqrt(s) of the image's, s uniform in the scale: area between 0.1 and 0.3
    # (a pixel's rounding aside).
    assert 0.05 < areas[areas > 0].min() and areas.max() < 0.36


def test_erasing_probability_follows_factor():
    x = torch.full((4000, 4, 4, 1), 5.0)
    erased = (RandomErasing(factor=(0.4, 0.4), scale=0.9, fill_value=0.0, seed=1)(x) == 0)
    assert abs(erased.flatten(1).any(1).float().mean().item() - 0.4) < 0.03


def test_erasing_noise_is_clipped_to_the_value_range():
    x = torch.full((64, 8, 8, 3), 0.5)
    y = RandomErasing(value_range=(0, 1), seed=2)(x)
    assert y.min() >= 0 and y.max() <= 1
    assert ((y != 0.5) & (y > 0) & (y < 1)).any()  # noise, not a constant


def test_erasing_per_channel_fill_and_masks_left_alone():
    x = torch.zeros(8, 6, 6, 3)
    masks = torch.ones(8, 6, 6, 1)
    out = RandomErasing(fill_value=(1.0, 2.0, 3.0), seed=3)({"images": x,
                                                              "segmentation_masks": masks})
    hit = out["images"][..., 0] == 1.0
    assert hit.any()
    assert torch.equal(out["images"][hit], torch.tensor([1.0, 2.0, 3.0]).expand(
        int(hit.sum()), 3))
    assert torch.equal(out["segmentation_masks"], masks)


# -- RandomGaussianBlur ----------------------------------------------------------------------
def test_blur_keeps_a_constant_interior_and_smooths_an_impulse():
    x = torch.zeros(1, 7, 7, 1)
    x[0, 3, 3] = 100.0
    y = RandomGaussianBlur(factor=(1.0, 1.0), sigma=(0.9, 1.0), seed=0)(x)
    assert y[0, 3, 3, 0] < 100 and y[0, 2, 3, 0] > 0
    torch.testing.assert_close(y.sum(), x.sum())  # a normalized kernel away from the edges
    flat = torch.full((2, 7, 7, 3), 9.0)
    torch.testing.assert_close(RandomGaussianBlur(seed=0)(flat)[:, 1:-1, 1:-1],
                               flat[:, 1:-1, 1:-1])


def test_blur_draws_cover_the_ranges():
    layer = RandomGaussianBlur(factor=(0.3, 0.3), sigma=(0.2, 0.6), seed=4)
    applied, sigmas = [], []
    for _ in range(200):
        t = layer.get_random_transformation(torch.zeros(50, 3, 3, 1))
        applied.append(t["should_apply_blur"].float().mean())
        sigmas.append(t["blur_factor"])
    sigmas = torch.cat(sigmas)
    assert abs(torch.stack(applied).mean().item() - 0.3) < 0.02
    assert 0.2 <= sigmas.min() and sigmas.max() <= 0.6 + 1e-5
    assert abs(sigmas.mean().item() - 0.4) < 0.02


def test_blur_output_is_clipped_to_the_value_range():
    x = images((4, 6, 6, 3), high=1.0)
    y = RandomGaussianBlur(value_range=(0.2, 0.8), seed=1)(x)
    assert y.min() >= 0.2 and y.max() <= 0.8


# -- MixUp -----------------------------------------------------------------------------------
def test_mix_up_mixes_images_and_labels_with_one_weight():
    x = torch.arange(8.0)[:, None, None, None].expand(8, 2, 2, 1) + 0.0
    labels = one_hot(8, 8)
    out = MixUp(alpha=0.5, seed=1)({"images": x, "labels": labels})
    # Image i is w * i + (1 - w) * j; its label puts w on i and 1 - w on j.
    for i in range(8):
        w = out["labels"][i]
        value = (w * torch.arange(8.0)).sum()
        torch.testing.assert_close(out["images"][i], value.expand(2, 2, 1))
    torch.testing.assert_close(out["labels"].sum(-1), torch.ones(8))


def test_mix_up_weights_follow_beta_alpha_alpha():
    w = MixUp(alpha=2.0, seed=0).get_random_transformation(torch.zeros(20000, 1, 1, 1))[
        "mix_weight"]
    assert abs(w.mean().item() - 0.5) < 0.01
    assert abs(w.var().item() - 1 / 20) < 0.003  # Beta(2, 2): variance 1/20


def test_mix_up_order_is_a_permutation():
    order = MixUp(seed=0).get_random_transformation(torch.zeros(50, 1, 1, 1))[
        "permutation_order"]
    assert order.dtype == torch.int64
    assert torch.equal(order.sort().values, torch.arange(50))


def test_mix_up_leaves_inputs_alone_in_inference_even_integers():
    x = torch.randint(0, 255, (4, 3, 3, 3), dtype=torch.uint8)
    assert MixUp(seed=1)(x, training=False) is x or torch.equal(MixUp(seed=1)(
        x, training=False), x)
    assert MixUp(seed=1)(x, training=False).dtype == torch.uint8


# -- CutMix ----------------------------------------------------------------------------------
def test_cut_mix_pastes_one_box_and_labels_follow_its_area():
    x = torch.arange(8.0)[:, None, None, None].expand(8, 40, 40, 1) + 0.0
    out = CutMix(seed=2)({"images": x, "labels": one_hot(8, 8)})
    order = CutMix(seed=2).get_random_transformation(x)["permutation_order"]
    torch.testing.assert_close(out["labels"].sum(-1), torch.ones(8))
    for i in range(8):
        image = out["images"][i, ..., 0]
        pasted = image != i
        assert torch.equal(image[pasted].unique(), image[pasted][:1].unique())  # one partner
        if order[i] != i:
            # The image's own label weight is the area it keeps (Keras uses the box's real
            # area, so pixel rounding of each side stays within one row and column).
            kept = 1.0 - pasted.float().mean()
            torch.testing.assert_close(out["labels"][i, i], kept, atol=81 / 1600, rtol=0)


def test_cut_mix_leaves_a_single_image_alone():
    x = images((6, 6, 3))
    torch.testing.assert_close(CutMix(seed=1)(x), x)


def test_cut_mix_mixes_segmentation_masks_like_images():
    x = torch.arange(4.0)[:, None, None, None].expand(4, 6, 6, 1) + 0.0
    out = CutMix(seed=5)({"images": x, "segmentation_masks": x.clone()})
    torch.testing.assert_close(out["segmentation_masks"], out["images"])


# -- bad arguments ---------------------------------------------------------------------------
@pytest.mark.parametrize("cls,kwargs,match", [
    (RandomErasing, {"factor": 2.0}, r"`factor` argument of RandomErasing"),
    (RandomErasing, {"scale": (2.0, 3.0)}, r"`scale` argument of RandomErasing"),
    (RandomErasing, {"fill_value": (1.0, 2.0)}, r"RandomErasing layer .*`fill_value`"),
    (RandomErasing, {"fill_value": "zero"}, r"RandomErasing layer .*`fill_value`"),
    (RandomErasing, {"value_range": (1, 1)}, r"RandomErasing layer .*`value_range`"),
    (RandomGaussianBlur, {"kernel_size": 4}, r"RandomGaussianBlur layer .*`kernel_size`"),
    (RandomGaussianBlur, {"kernel_size": (3, 5, 7)}, r"RandomGaussianBlur .*`kernel_size`"),
    (RandomGaussianBlur, {"sigma": -1.0}, r"`sigma` argument of RandomGaussianBlur"),
    (RandomGaussianBlur, {"factor": "x"}, r"`factor` argument of RandomGaussianBlur"),
    (MixUp, {"alpha": 0.0}, r"MixUp layer .*`alpha`"),
    (MixUp, {"alpha": "big"}, r"MixUp layer .*`alpha`"),
    (CutMix, {"factor": 1.5}, r"`factor` argument of CutMix"),
])
def test_bad_arguments_name_the_layer_and_argument(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


def test_rank_two_images_are_refused_with_the_layer_name():
    with pytest.raises(ValueError, match=r"'cut_mix'.*rank 3"):
        CutMix(name="cut_mix")(np.zeros((4, 4), "float32"))
