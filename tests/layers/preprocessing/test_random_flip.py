import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import RandomFlip
from lamina.testing import run_layer_test


def images(shape=(16, 5, 6, 3)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def test_random_flip_is_the_identity_in_inference():
    x = images()
    run_layer_test(RandomFlip, {"mode": "horizontal", "seed": 1}, input_data=x,
                   call_kwargs={"training": False}, expected_output=x.numpy(),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   supports_masking=False)


def test_random_flip_call_defaults_to_training_as_in_keras():
    x = images((64, 2, 3, 1))
    out = RandomFlip("horizontal", seed=1)(x)
    flipped = [torch.equal(o, xi.flip(1)) for o, xi in zip(out, x)]
    assert any(flipped) and not all(flipped)


@pytest.mark.parametrize("mode,data_format,dims", [
    ("horizontal", "channels_last", (1,)),
    ("vertical", "channels_last", (0,)),
    ("horizontal_and_vertical", "channels_last", (0, 1)),
    ("horizontal", "channels_first", (2,)),
    ("vertical", "channels_first", (1,)),
    ("horizontal_and_vertical", "channels_first", (1, 2)),
])
def test_each_image_is_either_unchanged_or_its_mirror(mode, data_format, dims):
    x = images()
    out = RandomFlip(mode, seed=3, data_format=data_format)(x, training=True)
    same = [torch.equal(o, xi) for o, xi in zip(out, x)]
    mirrored = [torch.equal(o, xi.flip(dims)) for o, xi in zip(out, x)]
    assert all(s or m for s, m in zip(same, mirrored))
    assert any(mirrored) and not all(mirrored)  # 16 images, p = 1/2 each


def test_the_same_seed_flips_the_same_images_so_two_flips_undo_each_other():
    x = images()
    once = RandomFlip(seed=5)(x)
    assert not torch.equal(once, x)
    assert torch.equal(RandomFlip(seed=5)(once), x)


def test_random_flip_flips_a_single_image():
    x = torch.arange(12.0).reshape(2, 2, 3)
    outs = [RandomFlip("vertical")(x) for _ in range(32)]
    assert all(tuple(o.shape) == (2, 2, 3) for o in outs)
    assert {torch.equal(o, x.flip(0)) for o in outs} == {True, False}


def test_random_flip_outputs_floats_for_integer_images():
    x = np.random.default_rng(0).integers(0, 256, (2, 4, 4, 3), dtype="uint8")
    for training in (True, False):
        out = RandomFlip(seed=1)(x, training=training)
        assert out.dtype == torch.float32
        assert sorted(np.unique(out.numpy())) == sorted(np.unique(x).astype("float32"))
    assert RandomFlip(dtype="float64")(x).dtype == torch.float64


def test_random_flip_follows_the_fit_and_predict_flag_in_a_model():
    inputs = lamina.Input((4, 4, 1))
    layer = RandomFlip("horizontal", seed=2)
    model = lamina.Model(inputs, layer(inputs))
    assert tuple(model.output.shape) == (None, 4, 4, 1)
    x = images((32, 4, 4, 1)).numpy()
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)
    assert layer.generator.counter == 0
    trained = model(x, training=True).numpy()
    assert not np.array_equal(trained, x) and layer.generator.counter == 1


def test_random_flip_seed_state_is_a_variable_not_a_weight():
    layer = RandomFlip(seed=4)
    layer(images())
    assert layer.weights == []
    assert [v.path for v in layer.variables] == ["seed_generator/seed_generator_state"]
    assert layer.variables[0].numpy().tolist() == [4, 1]


def test_random_flip_keeps_dict_entries_aligned():
    x = images((8, 3, 3, 1))
    data = {"images": x, "labels": torch.arange(8), "segmentation_masks": x.clone()}
    out = RandomFlip(seed=1)(data)
    assert torch.equal(out["images"], out["segmentation_masks"])
    assert torch.equal(out["labels"], data["labels"])
    assert not torch.equal(out["images"], x)


def test_random_flip_saves_and_loads_in_a_model(tmp_path):
    inputs = lamina.Input((4, 4, 3))
    model = lamina.Model(inputs, RandomFlip("vertical", seed=9, name="flip")(inputs))
    path = tmp_path / "flip.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.get_layer("flip").get_config() == model.get_layer("flip").get_config()
    x = images((8, 4, 4, 3))
    torch.testing.assert_close(loaded(x, training=True), model(x, training=True))


def test_random_flip_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="`mode` must be one of 'horizontal', 'vertical', "
                                         "'horizontal_and_vertical'. Received: mode='both'"):
        RandomFlip("both")
    with pytest.raises(ValueError, match="does not take a `factor` argument"):
        RandomFlip(factor=0.5)
    with pytest.raises(ValueError, match=r"expects images of rank 3 .* Received shape \(4, 4\)"):
        RandomFlip()(torch.ones(4, 4))
    with pytest.raises(ValueError, match="`data_format` must be"):
        RandomFlip(data_format="nhwc")
