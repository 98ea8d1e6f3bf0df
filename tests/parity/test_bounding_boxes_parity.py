"""`lamina.utils.bounding_boxes` against `keras.utils.bounding_boxes` (torch backend) on
random boxes, batched and unbatched, arrays and `{"boxes", "labels"}` dicts."""

import numpy as np
import pytest
import torch

from lamina.utils import bounding_boxes as lb

keras = pytest.importorskip("keras")
kb = keras.utils.bounding_boxes

FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
           "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh"]
HEIGHT, WIDTH = 48, 64


def _boxes(shape, seed=0, relative=False):
    rng = np.random.default_rng(seed)
    low = rng.uniform(0, 0.6, shape + (2,))
    size = rng.uniform(0.05, 0.5, shape + (2,))
    boxes = np.concatenate([low, low + size], -1)
    if not relative:
        boxes = boxes * np.array([WIDTH, HEIGHT, WIDTH, HEIGHT])
    return boxes.astype("float32")


def _np(x):
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _close(ours, theirs, **kwargs):
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-6, atol=1e-6, **kwargs)


@pytest.mark.parametrize("shape", [(5,), (3, 5)])
@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("target", FORMATS)
def test_convert_format_matches_keras(source, target, shape):
    boxes = _boxes(shape, relative=source.startswith("rel_"))
    ours = lb.convert_format(boxes, source, target, height=HEIGHT, width=WIDTH)
    theirs = kb.convert_format(boxes.copy(), source, target, height=HEIGHT, width=WIDTH)
    assert ours.dtype == torch.float32
    _close(ours, theirs)


def test_convert_format_dict_keeps_labels_and_matches_keras():
    data = {"boxes": _boxes((2, 4)), "labels": np.arange(8).reshape(2, 4)}
    ours = lb.convert_format(data, "xyxy", "center_yxhw")
    theirs = kb.convert_format({k: v.copy() for k, v in data.items()}, "xyxy", "center_yxhw")
    _close(ours["boxes"], theirs["boxes"])
    np.testing.assert_array_equal(ours["labels"], data["labels"])


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xyxy"])
@pytest.mark.parametrize("shape", [(6,), (2, 6)])
def test_clip_to_image_size_matches_keras(fmt, shape):
    boxes = _boxes(shape, seed=1, relative=fmt == "rel_xyxy") * 1.8 - (
        0.3 if fmt == "rel_xyxy" else 15)
    labels = np.arange(int(np.prod(shape))).reshape(shape).astype("int32")
    # A box wholly outside the image loses its label.
    boxes[..., 0, :] = -5
    ours = lb.clip_to_image_size({"boxes": boxes, "labels": labels}, HEIGHT, WIDTH, fmt)
    theirs = kb.clip_to_image_size(
        {"boxes": torch.tensor(boxes), "labels": torch.tensor(labels)}, HEIGHT, WIDTH, fmt)
    _close(ours["boxes"], theirs["boxes"])
    np.testing.assert_array_equal(_np(ours["labels"]), _np(theirs["labels"]))
    assert (_np(ours["labels"])[..., 0] == -1).all()


def test_affine_transform_matches_keras():
    boxes = _boxes((3, 5), seed=2)
    rng = np.random.default_rng(3)
    params = [torch.tensor(rng.uniform(lo, hi, 3).astype("float32")) for lo, hi in
              ((-30, 30), (-0.2, 0.2), (-0.2, 0.2), (0.7, 1.3), (-20, 20), (-20, 20))]
    ours = lb.affine_transform(torch.tensor(boxes), *params, HEIGHT, WIDTH)
    theirs = kb.affine_transform(torch.tensor(boxes), *params, HEIGHT, WIDTH)
    _close(ours, theirs)
    ours = lb.affine_transform(torch.tensor(boxes), *params, HEIGHT, WIDTH, 0.3, 0.6)
    theirs = kb.affine_transform(torch.tensor(boxes), *params, HEIGHT, WIDTH, 0.3, 0.6)
    _close(ours, theirs)


@pytest.mark.parametrize("shape", [(5,), (2, 5)])
def test_crop_and_pad_match_keras(shape):
    boxes = _boxes(shape, seed=4)
    _close(lb.crop(boxes, 7, 11, 30, 40), kb.crop(boxes, 7, 11, 30, 40))
    _close(lb.pad(boxes, 7, 11), kb.pad(boxes, 7, 11))


@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "center_xywh", "rel_xyxy"])
@pytest.mark.parametrize("ranks", [(2, 2), (3, 2), (2, 3), (3, 3)])
@pytest.mark.parametrize("use_masking", [False, True])
def test_compute_iou_matches_keras(fmt, ranks, use_masking):
    relative = fmt.startswith("rel_")
    b1 = _boxes((4,) if ranks[0] == 2 else (2, 4), seed=5, relative=relative)
    b2 = _boxes((6,) if ranks[1] == 2 else (2, 6), seed=6, relative=relative)
    b2[..., 1, :] = -1  # padding, masked with use_masking
    kwargs = dict(use_masking=use_masking, image_shape=(HEIGHT, WIDTH, 3))
    if use_masking and ranks[0] != ranks[1]:
        pytest.skip("Keras' masking transposes by boxes1's rank and fails on mixed ranks")
    _close(lb.compute_iou(b1, b2, fmt, **kwargs), kb.compute_iou(b1, b2, fmt, **kwargs))


@pytest.mark.parametrize("fmt", ["xyxy", "center_yxhw"])
def test_compute_ciou_matches_keras(fmt):
    b1, b2 = _boxes((2, 7), seed=7), _boxes((2, 7), seed=8)
    _close(lb.compute_ciou(b1, b2, fmt), kb.compute_ciou(b1, b2, fmt))


@pytest.mark.parametrize("encoding", ["center_yxhw", "center_xywh"])
@pytest.mark.parametrize("variance", [None, [0.1, 0.1, 0.2, 0.2]])
@pytest.mark.parametrize("batched", [False, True])
def test_deltas_round_trip_matches_keras(encoding, variance, batched):
    anchors = _boxes((9,), seed=9)
    boxes = _boxes((2, 9) if batched else (9,), seed=10, relative=True)
    kwargs = dict(variance=variance, image_shape=(HEIGHT, WIDTH, 3))
    ours = lb.encode_box_to_deltas(anchors, boxes, "xyxy", "rel_xyxy", encoding, **kwargs)
    theirs = kb.encode_box_to_deltas(anchors, boxes, "xyxy", "rel_xyxy", encoding, **kwargs)
    _close(ours, theirs)
    back = lb.decode_deltas_to_boxes(anchors, ours, "xyxy", "rel_xyxy", encoding, **kwargs)
    k_back = kb.decode_deltas_to_boxes(anchors, theirs, "xyxy", "rel_xyxy", encoding, **kwargs)
    _close(back, k_back)
    np.testing.assert_allclose(_np(back), boxes, atol=1e-5)


def test_decode_per_level_dicts_match_keras():
    anchors = {"P3": _boxes((4,), seed=11), "P4": _boxes((2,), seed=12)}
    deltas = {k: torch.tensor(np.random.default_rng(13).normal(0, 0.1, v.shape),
                              dtype=torch.float32) for k, v in anchors.items()}
    ours = lb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "xywh")
    theirs = kb.decode_deltas_to_boxes(anchors, deltas, "xyxy", "xywh")
    assert sorted(ours) == ["P3", "P4"]
    for level in ours:
        _close(ours[level], theirs[level])


def test_public_names_match_keras():
    keras_names = {n for n in dir(kb) if not n.startswith("_")}
    assert keras_names <= set(dir(lb))


def test_per_image_sizes_broadcast_as_in_keras():
    # Per-image sizes of shape (batch, 1, 1), as the zoom layer's boxes use them.
    boxes = torch.tensor(_boxes((3, 5), seed=14))
    height = torch.tensor([[[40.0]], [[50.0]], [[60.0]]])
    width = torch.tensor([[[30.0]], [[64.0]], [[90.0]]])
    ours = lb.convert_format(boxes, "xyxy", "rel_xyxy", height=height, width=width)
    theirs = kb.convert_format(boxes, "xyxy", "rel_xyxy", height=height, width=width)
    assert ours.shape == (3, 5, 4)
    _close(ours, theirs)
    data = {"boxes": ours * 1.3 - 0.1, "labels": torch.zeros(3, 5, dtype=torch.int32)}
    ours = lb.clip_to_image_size(data, height, width, "rel_xyxy")
    theirs = kb.clip_to_image_size(dict(data), height, width, "rel_xyxy")
    _close(ours["boxes"], theirs["boxes"])
