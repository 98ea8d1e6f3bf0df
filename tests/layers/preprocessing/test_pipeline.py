"""Pipeline: order of its layers, the training flag, dict inputs, configs and bad
arguments."""

import pytest
import torch

from lamina.backend.context import training_scope
from lamina.layers import (
    Dense,
    MixUp,
    Pipeline,
    RandomCrop,
    RandomErasing,
    RandomFlip,
    Rescaling,
)


def test_pipeline_applies_its_layers_in_order():
    x = torch.full((2, 3, 3, 1), 4.0)
    y = Pipeline([Rescaling(0.5), Rescaling(1.0, offset=1.0)])(x)
    torch.testing.assert_close(y, torch.full_like(x, 3.0))  # (4 * 0.5) + 1, not (4 + 1) * 0.5


def test_pipeline_passes_the_training_flag_on():
    x = torch.rand(8, 5, 5, 3) * 255
    layer = Pipeline([RandomErasing(factor=(1.0, 1.0), fill_value=0.0, seed=1),
                      RandomFlip(seed=2)])
    torch.testing.assert_close(layer(x, training=False), x)
    assert not torch.equal(layer(x, training=True), x)
    # The training flag of an enclosing call reaches the inner layers too (the one rule).
    with training_scope(False):
        torch.testing.assert_close(layer(x), x)


def test_pipeline_carries_labels_through_a_dict():
    x, labels = torch.rand(4, 5, 5, 3), torch.eye(4)
    out = Pipeline([RandomFlip(seed=1), MixUp(seed=2)])({"images": x, "labels": labels})
    assert set(out) == {"images", "labels"}
    torch.testing.assert_close(out["labels"].sum(-1), torch.ones(4))


def test_pipeline_config_round_trip_rebuilds_its_layers():
    layer = Pipeline([RandomFlip("horizontal", seed=1), Dense(2)], name="p")
    config = layer.get_config()
    assert set(config) == {"layers", "name"}
    back = Pipeline.from_config(config)
    assert back.name == "p"
    assert [type(inner) for inner in back.layers] == [RandomFlip, Dense]
    assert back.layers[0].mode == "horizontal"


def test_pipeline_rejects_what_is_not_a_list_of_layers():
    with pytest.raises(ValueError, match=r"Pipeline layer .*`layers` should be a list"):
        Pipeline(RandomFlip())
    with pytest.raises(ValueError, match=r"Pipeline layer .*`layers` should be a list"):
        Pipeline([RandomFlip(), "flip"])
    with pytest.raises(ValueError, match=r"`Pipeline` config must contain a `layers` key"):
        Pipeline.from_config({"name": "p"})


def test_pipeline_output_shape_asks_each_layer_in_turn():
    layer = Pipeline([RandomCrop(3, 4), RandomFlip()])
    assert tuple(layer.compute_output_shape((None, 8, 8, 3))) == (None, 3, 4, 3)
