"""The colour and intensity layers: what their random draws cover, what each change does,
the training flag, seeds, dict inputs, `.keras` files and bad arguments."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import (
    AutoContrast,
    Equalization,
    RandomBrightness,
    RandomColorDegeneration,
    RandomColorJitter,
    RandomContrast,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomPosterization,
    RandomSaturation,
    RandomSharpness,
    Solarization,
)
from lamina.testing import run_layer_test

RANDOM = [
    (RandomContrast, {"factor": 0.5}),
    (RandomBrightness, {"factor": 0.5}),
    (RandomGrayscale, {"factor": 0.5}),
    (RandomHue, {"factor": 0.5}),
    (RandomSaturation, {"factor": 0.5}),
    (RandomColorDegeneration, {"factor": 0.5}),
    (RandomSharpness, {"factor": 0.5}),
    (RandomPosterization, {"factor": 4}),
    (RandomInvert, {}),
    (Solarization, {"addition_factor": 0.5, "threshold_factor": 0.5}),
    (RandomColorJitter, {"brightness_factor": 0.3, "contrast_factor": 0.3,
                         "saturation_factor": 0.3, "hue_factor": 0.3}),
]
IDS = [cls.__name__ for cls, _ in RANDOM]


def images(shape=(16, 5, 6, 3), high=255.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)) * high


def draws(layer, key=None, batch=4000):
    transformation = layer.get_random_transformation(torch.zeros(batch, 2, 2, 3))
    return (transformation if key is None else transformation[key]).float().flatten()


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_random_colour_layers_are_the_identity_in_inference(cls, kwargs):
    x = images()
    run_layer_test(cls, {**kwargs, "seed": 1}, input_data=x, call_kwargs={"training": False},
                   expected_output=x.numpy(), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=False)


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_random_colour_layers_change_images_in_training_and_reproduce_with_a_seed(cls,
                                                                                 kwargs):
    x = images()
    first = cls(**kwargs, seed=3)(x)
    assert not torch.allclose(first, x)
    torch.testing.assert_close(cls(**kwargs, seed=3)(x), first)
    single = cls(**kwargs, seed=3)(x[0])
    assert tuple(single.shape) == tuple(x[0].shape)


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_predict_draws_nothing_and_fit_mode_draws(cls, kwargs):
    inputs = lamina.Input((5, 6, 3))
    layer = cls(**kwargs, seed=2)
    model = lamina.Model(inputs, layer(inputs))
    x = images((8, 5, 6, 3)).numpy()
    np.testing.assert_allclose(model.predict(x, verbose=0), x)
    assert layer.generator.counter == 0
    assert not np.allclose(model(x, training=True).numpy(), x)
    assert layer.generator.counter > 0


@pytest.mark.parametrize("cls,kwargs", RANDOM, ids=IDS)
def test_dict_inputs_change_images_only(cls, kwargs):
    x = images((8, 5, 6, 3))
    masks = torch.randint(0, 3, (8, 5, 6, 1))
    data = {"images": x, "labels": torch.arange(8), "segmentation_masks": masks}
    out = cls(**kwargs, seed=1)(data)
    assert not torch.allclose(out["images"], x)
    assert torch.equal(out["labels"], data["labels"])
    assert torch.equal(out["segmentation_masks"], masks)


def test_contrast_factors_cover_one_minus_lower_to_one_plus_upper():
    factors = draws(RandomContrast((0.2, 0.6)), "contrast_factor")
    assert 0.8 <= factors.min() < 0.81 and 1.59 < factors.max() <= 1.6
    # As in Keras, a single float `f` is read as (0, f): contrast only grows.
    factors = draws(RandomContrast(0.3), "contrast_factor")
    assert 1.0 <= factors.min() < 1.01 and 1.29 < factors.max() <= 1.3


def test_contrast_scales_each_channel_about_its_mean_and_clips():
    x = torch.tensor([[[10.0, 100.0], [30.0, 200.0]]])  # (1, 2, 2): H=1, W=2, C=2
    layer = RandomContrast(0.5)
    out = layer.transform_images(x[None], {"contrast_factor": torch.full((1, 1, 1, 1), 2.0)})
    torch.testing.assert_close(out[0], torch.tensor([[[0.0, 50.0], [40.0, 250.0]]]))


def test_brightness_offsets_are_fractions_of_the_value_range():
    deltas = draws(RandomBrightness((-0.5, 0.25), value_range=(0, 2)), "rgb_delta")
    assert -1.0 <= deltas.min() < -0.99 and 0.49 < deltas.max() <= 0.5
    out = RandomBrightness((1.0, 1.0), value_range=(0, 1))(torch.full((2, 2, 3), 0.3))
    assert torch.equal(out, torch.ones(2, 2, 3))  # clipped to the top of the range


def test_brightness_keeps_integer_images_integer():
    x = torch.full((2, 2, 2, 3), 100, dtype=torch.uint8)
    out = RandomBrightness((0.2, 0.2), seed=1)(x)
    assert out.dtype == torch.uint8 and torch.all(out == 151)


def test_grayscale_turns_about_factor_of_the_images_gray():
    chosen = draws(RandomGrayscale(0.3))
    assert abs(chosen.mean().item() - 0.3) < 0.04
    out = RandomGrayscale(1.0)(images())
    assert torch.equal(out[..., 0], out[..., 1]) and torch.equal(out[..., 1], out[..., 2])
    x = images()
    assert torch.equal(RandomGrayscale(0.0)(x), x)


def test_hue_shifts_are_half_the_factor_in_both_directions():
    shifts = draws(RandomHue((0.2, 0.8)), "factor")
    assert shifts.abs().min() >= 0.1 and 0.39 < shifts.abs().max() <= 0.4
    assert abs((shifts > 0).float().mean().item() - 0.5) < 0.05


def test_a_full_hue_turn_keeps_the_image():
    x = images((2, 3, 4, 3))
    out = RandomHue(1.0).transform_images(x, {"factor": torch.tensor([1.0, -1.0])})
    torch.testing.assert_close(out, x, atol=1e-3, rtol=1e-4)


def test_saturation_factor_is_draw_over_one_minus_draw():
    layer = RandomSaturation((0.2, 0.8), seed=4)
    raw = RandomSaturation((0.2, 0.8), seed=4)
    factors = draws(layer, "factor", batch=8)
    expected = torch.rand(8, generator=torch.Generator().manual_seed(raw.generator._draw()))
    expected = 0.6 * expected + 0.2
    torch.testing.assert_close(factors, expected / (1 - expected + 1e-7))


def test_saturation_zero_makes_gray_and_one_half_keeps_the_image():
    x = images((2, 3, 4, 3), high=1.0)
    gray = RandomSaturation((0.0, 0.0), value_range=(0, 1))(x)
    torch.testing.assert_close(gray, x.amax(-1, keepdim=True).expand_as(x))
    torch.testing.assert_close(RandomSaturation((0.5, 0.5))(x), x, atol=1e-5, rtol=1e-5)


def test_colour_degeneration_blends_toward_gray():
    x = images((2, 3, 4, 3))
    gray = lamina.ops.image.rgb_to_grayscale(x)
    out = RandomColorDegeneration(0.5).transform_images(
        x, {"factor": torch.tensor([0.0, 1.0]).reshape(2, 1, 1, 1)})
    torch.testing.assert_close(out[0], x[0])
    torch.testing.assert_close(out[1], gray[1].expand(3, 4, 3))


def test_sharpness_of_one_half_keeps_the_image_and_zero_blurs_it():
    x = images((2, 6, 6, 3))
    layer = RandomSharpness(1.0)
    torch.testing.assert_close(layer.transform_images(x, {"factor": torch.full((2,), 0.5)}), x)
    blurred = layer.transform_images(x, {"factor": torch.zeros(2)})
    assert blurred[:, 1:-1, 1:-1].std() < x[:, 1:-1, 1:-1].std()


def test_posterization_keeps_the_drawn_number_of_high_bits():
    shifts = draws(RandomPosterization((2, 6)), "shift_factor")
    assert set(shifts.tolist()) == {3.0, 4.0, 5.0, 6.0}  # bits in [2, 6)
    assert set(draws(RandomPosterization(1), "shift_factor").tolist()) == {7.0}
    x = torch.tensor([[[[37.0, 200.0, 255.0]]]])
    out = RandomPosterization(3).transform_images(x, {"shift_factor": torch.tensor([6])})
    assert out.tolist() == [[[[0.0, 192.0, 192.0]]]]


def test_invert_applies_with_the_mean_probability_of_the_factor():
    chosen = draws(RandomInvert((0.2, 0.6)), "apply_inversion")
    assert abs(chosen.mean().item() - 0.4) < 0.04
    x = images((2, 3, 4, 3), high=1.0)
    torch.testing.assert_close(RandomInvert((1.0, 1.0), value_range=(0, 1))(x), 1 - x)


def test_solarization_draws_span_lower_to_upper_times_255():
    layer = Solarization(addition_factor=(0.1, 0.2), threshold_factor=0.5)
    transformation = layer.get_random_transformation(torch.zeros(4000, 2, 2, 3))
    additions, thresholds = transformation["additions"], transformation["thresholds"]
    assert 0.1 <= additions.min() < 1.0 and 50.0 < additions.max() <= 51.0
    assert 0.0 <= thresholds.min() < 1.0 and 126.0 < thresholds.max() <= 127.5


def test_solarization_inverts_values_at_or_above_the_threshold():
    x = torch.tensor([[[[10.0, 100.0, 250.0]]]])
    out = Solarization().transform_images(
        x, {"additions": torch.full((1, 1, 1, 1), 10.0),
            "thresholds": torch.full((1, 1, 1, 1), 110.0)})
    assert out.tolist() == [[[[20.0, 145.0, 0.0]]]]


def test_auto_contrast_stretches_each_channel_to_the_value_range():
    x = images((3, 5, 6, 3), high=0.5) + 0.2
    out = AutoContrast(value_range=(0, 1))(x, training=False)
    torch.testing.assert_close(out.amin((1, 2)), torch.zeros(3, 3))
    torch.testing.assert_close(out.amax((1, 2)), torch.ones(3, 3))


def test_equalization_spreads_values_over_the_range_in_training_only():
    x = (images((2, 8, 8, 3), high=40.0) + 100.0).round()
    out = Equalization()(x)
    assert out.amin() == 0.0 and out.amax() == 255.0
    assert torch.equal(Equalization()(x, training=False), x)


def test_colour_jitter_with_no_factor_only_casts():
    x = images().to(torch.float64)
    assert torch.equal(RandomColorJitter()(x), x.float())


def test_equalization_and_auto_contrast_save_and_load_in_a_model(tmp_path):
    inputs = lamina.Input((6, 6, 3))
    x = AutoContrast(name="auto")(inputs)
    model = lamina.Model(inputs, Equalization(bins=64, name="eq")(x))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.get_layer("eq").get_config() == model.get_layer("eq").get_config()
    x = images((2, 6, 6, 3))
    torch.testing.assert_close(loaded(x, training=True), model(x, training=True))


@pytest.mark.parametrize("make,match", [
    (lambda: RandomContrast(1.5), r"`factor` .*RandomContrast.*\[0, 1\]. Received: factor=1.5"),
    (lambda: RandomContrast("a"), r"`factor` .*RandomContrast"),
    (lambda: RandomBrightness(-2.0), r"`factor` .*RandomBrightness.*\[-1, 1\]"),
    (lambda: RandomBrightness((0.1, 0.2, 0.3)), r"`factor` .*RandomBrightness"),
    (lambda: RandomGrayscale(1.2), r"RandomGrayscale layer .*`factor` should be a number "
                                   r"between 0 and 1. Received: factor=1.2"),
    (lambda: RandomHue(-0.1), r"`factor` .*RandomHue"),
    (lambda: RandomSaturation(2), r"`factor` .*RandomSaturation"),
    (lambda: RandomColorDegeneration(3), r"`factor` .*RandomColorDegeneration"),
    (lambda: RandomSharpness(1.1), r"`factor` .*RandomSharpness"),
    (lambda: RandomPosterization(9), r"`factor` .*RandomPosterization.*\[1, 8\]"),
    (lambda: RandomInvert(2.0), r"`factor` .*RandomInvert"),
    (lambda: Solarization(addition_factor=1.5), r"Solarization layer .*`addition_factor` "
                                                r"should be .*\[0, 1\]"),
    (lambda: Solarization(threshold_factor=(0.1, 2)), r"`threshold_factor`"),
    (lambda: Equalization(bins=1), r"Equalization layer .*`bins` must be an integer"),
    (lambda: RandomColorJitter(hue_factor=3.0), r"`factor` .*RandomHue"),
])
def test_bad_factors_name_the_layer_and_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("cls,kwargs", [(c, k) for c, k in RANDOM if c is not RandomGrayscale]
                         + [(AutoContrast, {}), (Equalization, {})])
@pytest.mark.parametrize("value_range", [255, (0, 1, 2), (1, 1), ("a", "b")])
def test_bad_value_ranges_name_the_layer(cls, kwargs, value_range):
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer .*`value_range` should be a "
                                         r"list of two different numbers"):
        cls(**kwargs, value_range=value_range)


@pytest.mark.parametrize("cls,kwargs", RANDOM + [(AutoContrast, {}), (Equalization, {})],
                         ids=IDS + ["AutoContrast", "Equalization"])
def test_wrong_rank_names_the_layer(cls, kwargs):
    with pytest.raises(ValueError, match=rf"\({cls.__name__}\) expects images of rank 3 .* "
                                         r"Received shape \(4, 4\)"):
        cls(**kwargs)(torch.ones(4, 4))


@pytest.mark.parametrize("cls", [RandomHue, RandomSaturation])
def test_hsv_layers_name_the_layer_for_non_rgb_images(cls):
    with pytest.raises(ValueError, match=rf"{cls.__name__} layer .*expects RGB images"):
        cls(0.5)(torch.ones(2, 4, 4, 1))


def test_colour_degeneration_checks_channels_in_its_output_shape():
    with pytest.raises(ValueError, match="RandomColorDegeneration layer .*3 channels"):
        RandomColorDegeneration(0.5).compute_output_shape((None, 4, 4, 1))


@pytest.mark.parametrize("cls,kwargs", [c for c in RANDOM if c[0] is not RandomColorJitter],
                         ids=[i for i in IDS if i != "RandomColorJitter"])
def test_a_transformation_drawn_for_one_image_or_a_dict_fits_a_batch_of_one(cls, kwargs):
    x = images((1, 5, 6, 3))
    layer = cls(**kwargs, seed=8)
    for data in (x[0], {"images": x[0]}, {"images": x}):
        transformation = layer.get_random_transformation(data)
        values = transformation.values() if isinstance(transformation, dict) else [
            transformation]
        assert all(v.shape[0] == 1 for v in values)
        assert tuple(layer.transform_images(x, transformation).shape) == (1, 5, 6, 3)


def test_colour_jitter_passes_its_data_format_to_each_step():
    kwargs = {"contrast_factor": 0.5, "saturation_factor": 0.4, "hue_factor": 0.3, "seed": 6}
    x = images((4, 5, 6, 3))
    last = RandomColorJitter(**kwargs)(x)
    first = RandomColorJitter(**kwargs, data_format="channels_first")(x.permute(0, 3, 1, 2))
    torch.testing.assert_close(first.permute(0, 2, 3, 1), last, atol=1e-3, rtol=1e-5)


def test_grayscale_passes_bounding_boxes_through():
    boxes = {"boxes": torch.tensor([[[0.0, 0.0, 2.0, 2.0]]]), "labels": torch.tensor([[1]])}
    out = RandomGrayscale(1.0, bounding_box_format="xyxy")(
        {"images": images((1, 4, 4, 3)), "bounding_boxes": boxes})
    assert torch.equal(out["bounding_boxes"]["boxes"], boxes["boxes"])
    assert torch.equal(out["images"][..., 0], out["images"][..., 2])
