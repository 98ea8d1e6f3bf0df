import json

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import RandomRotation
from lamina.testing import run_layer_test


def images(shape=(4, 7, 7, 3)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def test_random_rotation_is_the_identity_in_inference():
    x = images()
    run_layer_test(RandomRotation, {"factor": 0.3, "seed": 1}, input_data=x,
                   call_kwargs={"training": False}, expected_output=x.numpy(),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   supports_masking=False)


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
def test_a_zero_factor_leaves_images_unchanged_in_training(interpolation):
    x = images((2, 5, 8, 3))
    out = RandomRotation(0.0, interpolation=interpolation)(x, training=True)
    torch.testing.assert_close(out, x, rtol=0, atol=1e-6)


@pytest.mark.parametrize("factor,turns", [((0.25, 0.25), 1), ((-0.25, -0.25), -1),
                                          ((0.5, 0.5), 2)])
@pytest.mark.parametrize("data_format,shape,axes", [
    ("channels_last", (3, 6, 6, 2), (1, 2)),
    ("channels_first", (3, 2, 6, 6), (2, 3)),
    ("channels_last", (5, 5, 2), (0, 1)),
    ("channels_first", (2, 5, 5), (1, 2)),
])
def test_a_fixed_quarter_turn_is_rot90_counter_clockwise(factor, turns, data_format, shape,
                                                         axes):
    x = np.random.default_rng(0).standard_normal(shape).astype("float32")
    layer = RandomRotation(factor, interpolation="nearest", data_format=data_format)
    np.testing.assert_array_equal(layer(x).numpy(), np.rot90(x, turns, axes=axes))


def test_random_rotation_draws_one_angle_per_image_within_the_factor():
    layer = RandomRotation((-0.1, 0.2), seed=3)
    x = images((64, 5, 5, 1))
    transformation = layer.get_random_transformation(x)
    angles = transformation["angle"]
    assert angles.shape == (64,) and -36 <= angles.min() and angles.max() <= 72
    assert angles.unique().numel() == 64
    assert tuple(transformation["rotation_matrix"].shape) == (64, 8)


def test_constant_fill_uses_fill_value_in_the_corners():
    x = torch.ones(1, 9, 9, 1)
    out = RandomRotation((0.125, 0.125), fill_mode="constant", fill_value=-1.0,
                         interpolation="nearest")(x)[0, :, :, 0]
    assert out[0, 0] == out[0, -1] == out[-1, 0] == out[-1, -1] == -1
    assert out[4, 4] == 1


@pytest.mark.parametrize("fill_mode", ["reflect", "wrap", "nearest"])
def test_non_constant_fills_keep_the_pixel_range(fill_mode):
    x = np.random.default_rng(1).integers(0, 256, (4, 10, 10, 3), dtype="uint8")
    out = RandomRotation(0.2, fill_mode=fill_mode, seed=2)(x)
    assert out.dtype == torch.float32
    assert 0 <= out.min() and out.max() <= 255


def test_random_rotation_of_segmentation_masks_uses_nearest():
    x = images((2, 6, 6, 1))
    masks = torch.randint(0, 4, (2, 6, 6, 1)).float()
    out = RandomRotation(0.3, seed=4)({"images": x, "segmentation_masks": masks})
    assert set(out["segmentation_masks"].unique().tolist()) <= {0.0, 1.0, 2.0, 3.0}
    assert not torch.equal(out["images"], x)


def test_random_rotation_config_matches_keras_layout():
    layer = RandomRotation([0.3, -0.2], fill_mode="wrap", seed=5, name="rot")
    config = layer.get_config()
    assert config["factor"] == (-0.2, 0.3)
    assert {k: v for k, v in config.items() if k != "dtype"} == {
        "name": "rot", "trainable": True, "data_format": "channels_last",
        "factor": (-0.2, 0.3), "fill_mode": "wrap", "fill_value": 0.0,
        "interpolation": "bilinear", "seed": 5}
    clone = RandomRotation.from_config(json.loads(json.dumps(config)))
    assert clone.factor == (-0.2, 0.3)
    assert RandomRotation(0.1).factor == (-0.1, 0.1)


def test_random_rotation_saves_and_loads_in_a_model(tmp_path):
    inputs = lamina.Input((6, 6, 3))
    x = RandomRotation(0.2, seed=7, name="rot")(inputs)
    model = lamina.Model(inputs, lamina.layers.GlobalAveragePooling2D()(x))
    assert tuple(x.shape) == (None, 6, 6, 3)
    path = tmp_path / "rot.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.get_layer("rot").get_config() == model.get_layer("rot").get_config()
    data = images((3, 6, 6, 3))
    torch.testing.assert_close(loaded(data, training=True), model(data, training=True))
    np.testing.assert_allclose(loaded.predict(data, verbose=0),
                               data.mean(dim=(1, 2)).numpy(), rtol=1e-5)


@pytest.mark.parametrize("factor", [2, -1.5, (0.1,), (0.1, 0.2, 0.3), "a", (0.1, "b"),
                                    (1.5, 2.0)])
def test_random_rotation_rejects_a_bad_factor(factor):
    with pytest.raises(ValueError, match=r"`factor` argument of RandomRotation should be a "
                                         r"number \(or a list of two numbers\) in the range "
                                         r"\[-1, 1\]"):
        RandomRotation(factor)


def test_random_rotation_rejects_bad_modes_naming_the_choices():
    with pytest.raises(ValueError, match="`fill_mode` must be one of 'reflect', 'wrap', "
                                         "'constant', 'nearest'. Received: fill_mode='mirror'"):
        RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="`interpolation` must be one of 'nearest', "
                                         "'bilinear'. Received: interpolation='bicubic'"):
        RandomRotation(0.1, interpolation="bicubic")
    with pytest.raises(ValueError, match="expects images of rank 3"):
        RandomRotation(0.1)(torch.ones(1, 1, 4, 4, 1))
