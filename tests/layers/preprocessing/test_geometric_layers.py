"""What CenterCrop, RandomCrop, RandomZoom, RandomTranslation, RandomShear and
RandomPerspective share: the image-layer contract (ranks, data formats, dtypes, the
training flag, seeds, configs, models)."""

import json

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import (
    CenterCrop,
    RandomCrop,
    RandomPerspective,
    RandomShear,
    RandomTranslation,
    RandomZoom,
)
from lamina.testing import run_layer_test

# (class, kwargs, output height and width for 9x11 inputs)
LAYERS = [
    (CenterCrop, {"height": 5, "width": 6}, (5, 6)),
    (RandomCrop, {"height": 4, "width": 7}, (4, 7)),
    (RandomZoom, {"height_factor": 0.3, "width_factor": (-0.2, 0.4)}, (9, 11)),
    (RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3}, (9, 11)),
    (RandomShear, {"x_factor": 0.3, "y_factor": 0.2}, (9, 11)),
    (RandomPerspective, {"factor": 1.0, "scale": 0.4}, (9, 11)),
]
RANDOM = [entry for entry in LAYERS if entry[0] is not CenterCrop]
IDS = [entry[0].__name__ for entry in LAYERS]


def images(shape=(4, 9, 11, 3), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def make(cls, kwargs, **extra):
    return cls(**kwargs, **extra) if cls is CenterCrop else cls(seed=5, **kwargs, **extra)


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_layer_contract_holds_in_inference(cls, kwargs, size):
    run_layer_test(cls, kwargs, input_data=images(), call_kwargs={"training": False},
                   expected_output_shape=(4, *size, 3), expected_output_dtype="float32",
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   supports_masking=False)


@pytest.mark.parametrize("cls,kwargs,size", RANDOM, ids=IDS[1:])
def test_random_layers_leave_images_alone_in_inference(cls, kwargs, size):
    x = images()
    out = make(cls, kwargs)(x, training=False)
    if cls is RandomCrop:  # inference centre-crops (see RandomCrop's tests)
        assert tuple(out.shape) == (4, *size, 3)
    else:
        assert torch.equal(out, x)


@pytest.mark.parametrize("cls,kwargs,size", RANDOM, ids=IDS[1:])
def test_random_layers_change_images_in_training_reproducibly(cls, kwargs, size):
    x = images()
    first, second = make(cls, kwargs), make(cls, kwargs)
    out = first(x)
    assert tuple(out.shape) == (4, *size, 3) and out.dtype == torch.float32
    assert not torch.equal(out, x[:, :size[0], :size[1]])
    torch.testing.assert_close(second(x), out, rtol=0, atol=0)
    # The next call draws afresh.
    assert not torch.equal(first(x), out)


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_one_image_is_treated_as_a_batch_of_one(cls, kwargs, size):
    x = images((1, 9, 11, 3))
    batched = make(cls, kwargs)(x)
    single = make(cls, kwargs)(x[0])
    assert tuple(single.shape) == (*size, 3)
    torch.testing.assert_close(single, batched[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_channels_first_is_channels_last_transposed(cls, kwargs, size):
    x = images()
    last = make(cls, kwargs)(x)
    first = make(cls, kwargs, data_format="channels_first")(x.permute(0, 3, 1, 2))
    torch.testing.assert_close(first, last.permute(0, 3, 1, 2), rtol=0, atol=1e-5)
    layer = make(cls, kwargs, data_format="channels_first")
    assert layer.compute_output_shape((None, 3, 9, 11)) == (None, 3, *size)


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_integer_images_come_out_in_the_compute_dtype(cls, kwargs, size):
    x = np.random.default_rng(1).integers(0, 256, (2, 9, 11, 3), dtype="uint8")
    assert make(cls, kwargs)(x).dtype == torch.float32
    assert make(cls, kwargs, dtype="float64")(x).dtype == torch.float64


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_segmentation_masks_move_with_the_images(cls, kwargs, size):
    # A mask equal to the image's class map must stay equal to it, pixel for pixel.
    x = torch.randint(0, 3, (4, 9, 11, 1)).float()
    out = make(cls, kwargs, interpolation="nearest")(
        {"images": x, "segmentation_masks": x.clone(), "labels": torch.arange(4)}
    ) if cls not in (CenterCrop, RandomCrop) else make(cls, kwargs)(
        {"images": x, "segmentation_masks": x.clone(), "labels": torch.arange(4)})
    assert tuple(out["segmentation_masks"].shape) == (4, *size, 1)
    assert set(out["segmentation_masks"].unique().tolist()) <= {0.0, 1.0, 2.0}
    assert torch.equal(out["labels"], torch.arange(4))
    if cls not in (CenterCrop, RandomCrop):
        torch.testing.assert_close(out["segmentation_masks"], out["images"])


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_rank_other_than_3_or_4_is_refused_naming_the_layer(cls, kwargs, size):
    with pytest.raises(ValueError, match=f"Layer '.*' \\({cls.__name__}\\) expects images of "
                                         "rank 3"):
        make(cls, kwargs)(torch.ones(2, 1, 9, 11, 3))


@pytest.mark.parametrize("cls,kwargs,size", LAYERS, ids=IDS)
def test_config_round_trips_and_the_layer_saves_in_a_model(cls, kwargs, size, tmp_path):
    layer = make(cls, kwargs, name="geo")
    config = json.loads(json.dumps(layer.get_config()))
    assert json.loads(json.dumps(cls.from_config(config).get_config())) == config
    inputs = lamina.Input((9, 11, 3))
    model = lamina.Model(inputs, layer(inputs))
    assert tuple(model.output.shape) == (None, *size, 3)
    path = tmp_path / "geo.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert json.loads(json.dumps(loaded.get_layer("geo").get_config())) == config
    x = images()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


@pytest.mark.parametrize("cls,kwargs,size", RANDOM, ids=IDS[1:])
def test_random_layers_augment_in_fit_and_not_in_predict(cls, kwargs, size):
    layer = make(cls, kwargs)
    model = lamina.Sequential([lamina.Input((9, 11, 3)), layer, lamina.layers.Flatten(),
                               lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = images((8, 9, 11, 3)).numpy(), np.zeros((8, 1), "float32")
    before = layer.generator.counter
    model.predict(x, verbose=0)
    assert layer.generator.counter == before  # nothing drawn in inference
    history = model.fit(x, y, batch_size=4, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert layer.generator.counter - before >= 4  # one draw or more per batch
