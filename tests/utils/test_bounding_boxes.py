"""`lamina.utils.bounding_boxes`: the namespace, worked values and the errors."""

import doctest

import pytest
import torch

import lamina
from lamina.utils import bounding_boxes


def test_namespace_is_reachable_from_lamina_utils():
    assert lamina.utils.bounding_boxes is bounding_boxes
    assert "bounding_boxes" in dir(lamina.utils)


def test_docstring_examples_run():
    assert doctest.testmod(bounding_boxes).failed == 0


def test_convert_format_to_relative_and_back_is_exact_on_dyadic_values():
    boxes = torch.tensor([[[8.0, 4.0, 24.0, 12.0]]])
    rel = bounding_boxes.convert_format(boxes, "xyxy", "rel_center_xywh", height=16, width=32)
    assert rel.tolist() == [[[0.5, 0.5, 0.5, 0.5]]]
    back = bounding_boxes.convert_format(rel, "REL_CENTER_XYWH", "xyxy", height=16, width=32)
    assert torch.equal(back, boxes)


def test_convert_format_does_not_mutate_a_dict_input():
    data = {"boxes": torch.tensor([[1.0, 2.0, 3.0, 4.0]]), "labels": torch.tensor([1])}
    out = bounding_boxes.convert_format(data, "xyxy", "yxyx")
    assert out["boxes"].tolist() == [[2.0, 1.0, 4.0, 3.0]]
    assert data["boxes"].tolist() == [[1.0, 2.0, 3.0, 4.0]]


def test_convert_format_rejects_bad_inputs():
    with pytest.raises(ValueError, match="last dimension of 4"):
        bounding_boxes.convert_format(torch.zeros(2, 3), "xyxy", "yxyx")
    with pytest.raises(ValueError, match="Supported formats"):
        bounding_boxes.convert_format(torch.zeros(2, 4), "xyxy", "corners")
    with pytest.raises(ValueError, match="`height` and `width`"):
        bounding_boxes.convert_format(torch.zeros(2, 4), "xyxy", "rel_xyxy")


def test_clip_drops_labels_of_boxes_outside_the_image():
    out = bounding_boxes.clip_to_image_size(
        {"boxes": torch.tensor([[-5.0, -5.0, -1.0, -1.0], [2.0, 2.0, 20.0, 5.0]]),
         "labels": torch.tensor([3, 4])}, height=10, width=10)
    assert out["labels"].tolist() == [-1, 4]
    assert out["boxes"].tolist() == [[0.0, 0.0, 0.0, 0.0], [2.0, 2.0, 10.0, 5.0]]
    with pytest.raises(ValueError, match="`height` and `width` must be set"):
        bounding_boxes.clip_to_image_size({"boxes": torch.zeros(1, 4)})
    with pytest.raises(NotImplementedError, match="'xywh'"):
        bounding_boxes.clip_to_image_size({"boxes": torch.zeros(1, 4)}, 1, 1, "xywh")


def test_affine_identity_leaves_boxes_alone():
    boxes = torch.tensor([[[1.0, 2.0, 5.0, 7.0]]])
    zero = torch.zeros(1)
    out = bounding_boxes.affine_transform(boxes, zero, zero, zero, torch.ones(1), zero, zero,
                                          height=10, width=10)
    torch.testing.assert_close(out, boxes)


def test_iou_masking_and_errors():
    iou = bounding_boxes.compute_iou(torch.tensor([[0.0, 0.0, 2.0, 2.0]]),
                                     torch.tensor([[0.0, 0.0, 2.0, 2.0], [-1.0] * 4]),
                                     "xyxy", use_masking=True)
    torch.testing.assert_close(iou, torch.tensor([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="boxes1 to be batched"):
        bounding_boxes.compute_iou(torch.zeros(4), torch.zeros(1, 4), "xyxy")
    with pytest.raises(ValueError, match="image_shape"):
        bounding_boxes.compute_iou(torch.zeros(1, 4), torch.zeros(1, 4), "rel_xyxy")


def test_deltas_reject_bad_variance_and_format():
    with pytest.raises(ValueError, match="`variance` must be length 4"):
        bounding_boxes.encode_box_to_deltas(torch.ones(1, 4), torch.ones(1, 4), "xyxy", "xyxy",
                                            variance=[1.0, 1.0])
    with pytest.raises(ValueError, match="`encoded_format` should be"):
        bounding_boxes.decode_deltas_to_boxes(torch.ones(1, 4), torch.ones(1, 4), "xyxy",
                                              "xyxy", encoded_format="xyxy")
