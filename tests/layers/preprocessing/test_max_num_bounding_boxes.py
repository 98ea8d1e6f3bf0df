"""MaxNumBoundingBoxes: padding, cutting, pass-through of the rest, and bad input."""

import pytest
import torch

from lamina.layers import MaxNumBoundingBoxes


def data(count, batch=2):
    boxes = torch.arange(batch * count * 4, dtype=torch.float32).reshape(batch, count, 4)
    labels = torch.arange(batch * count, dtype=torch.int32).reshape(batch, count)
    return {"images": torch.rand(batch, 5, 5, 3), "labels": torch.eye(batch),
            "bounding_boxes": {"boxes": boxes, "labels": labels}}


def test_short_lists_are_padded_with_fill_value_and_long_ones_cut():
    layer = MaxNumBoundingBoxes(3, fill_value=-7, bounding_box_format="xyxy")
    padded = layer(data(1))["bounding_boxes"]
    assert padded["boxes"].shape == (2, 3, 4) and padded["labels"].shape == (2, 3)
    assert bool((padded["boxes"][:, 1:] == -7).all()) and bool((padded["labels"][:, 1:] == -7)
                                                              .all())
    assert padded["labels"].dtype == torch.int32
    source = data(5)
    cut = layer(source)["bounding_boxes"]
    torch.testing.assert_close(cut["boxes"], source["bounding_boxes"]["boxes"][:, :3])


def test_images_labels_and_one_image_pass_through():
    layer = MaxNumBoundingBoxes(2, bounding_box_format="xyxy")
    source = data(4)
    out = layer(source)
    assert out["images"] is source["images"] or torch.equal(out["images"], source["images"])
    torch.testing.assert_close(out["labels"], source["labels"])
    single = {"images": source["images"][0], "bounding_boxes": {
        key: value[0] for key, value in source["bounding_boxes"].items()}}
    assert layer(single)["bounding_boxes"]["boxes"].shape == (2, 4)


def test_bad_arguments_and_inputs_give_clear_errors():
    with pytest.raises(ValueError, match=r"MaxNumBoundingBoxes layer .*`max_number`"):
        MaxNumBoundingBoxes(0)
    with pytest.raises(ValueError, match=r"MaxNumBoundingBoxes layer .*`fill_value`"):
        MaxNumBoundingBoxes(2, fill_value="pad")
    with pytest.raises(ValueError, match=r"MaxNumBoundingBoxes layer .*`bounding_box_format`"):
        MaxNumBoundingBoxes(2)(data(1))
    with pytest.raises(ValueError, match=r"'boxes' and 'labels' only"):
        MaxNumBoundingBoxes(2, bounding_box_format="xyxy")(
            {"images": torch.zeros(1, 2, 2, 3), "bounding_boxes": {"boxes": torch.zeros(1, 1, 4)}})
