"""draw_bounding_boxes/draw_segmentation_masks give Keras' arrays for the same inputs."""

import inspect
import sys

import keras
import numpy as np
import pytest

from lamina import visualization


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0, 255, (2, 48, 64, 3)).astype("float32")


def _boxes():
    return {
        "boxes": np.array([[[4, 2, 30, 20], [10, 30, 60, 46], [0, 0, 5, 5]],
                           [[20, 10, 40, 40], [1, 1, 63, 47], [8, 8, 9, 9]]], "float32"),
        "labels": np.array([[0, 1, -1], [2, 1, 0]], "int32"),
        "confidences": np.array([[0.9, 0.25, 0.1], [0.5, 0.75, 0.125]], "float32"),
    }


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "rel_xyxy", "center_yxhw"])
@pytest.mark.parametrize("options", [
    {},
    {"class_mapping": {0: "cat", 1: "dog"}, "color": (255, 0, 0), "line_thickness": 3},
    {"class_mapping": {0: "a", 2: "c"}, "text_thickness": None, "font_scale": 0.5},
])
def test_draw_bounding_boxes_equals_keras(images, fmt, options):
    boxes = _boxes()
    if fmt.startswith("rel_"):
        boxes["boxes"] = boxes["boxes"] / np.array([64, 48, 64, 48], "float32")
    elif fmt != "xyxy":  # the same boxes, written in `fmt`
        boxes["boxes"] = keras.ops.convert_to_numpy(keras.utils.bounding_boxes.convert_format(
            boxes["boxes"], "xyxy", fmt))
    ours = visualization.draw_bounding_boxes(images, dict(boxes), fmt, **options)
    theirs = keras.visualization.draw_bounding_boxes(images, dict(boxes), fmt, **options)
    assert ours.dtype == np.uint8 and ours.shape == images.shape
    np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(ours, images.astype("uint8"))  # something was drawn


@pytest.mark.parametrize("values", ["unit_floats", "large_floats", "uint8"])
def test_draw_bounding_boxes_scales_values_as_keras(images, values):
    data = {"unit_floats": images / 255.0, "large_floats": images * 2,
            "uint8": images.astype("uint8")}[values]
    boxes = {"boxes": _boxes()["boxes"], "labels": _boxes()["labels"]}
    np.testing.assert_array_equal(
        visualization.draw_bounding_boxes(data, boxes, "xyxy", class_mapping={1: "x"}),
        keras.visualization.draw_bounding_boxes(data, boxes, "xyxy", class_mapping={1: "x"}))


def test_draw_bounding_boxes_keeps_channels_first_layout(images):
    boxes = {"boxes": _boxes()["boxes"], "labels": _boxes()["labels"]}
    last = visualization.draw_bounding_boxes(images, boxes, "xyxy")
    first = visualization.draw_bounding_boxes(images.transpose(0, 3, 1, 2), boxes, "xyxy",
                                              data_format="channels_first")
    np.testing.assert_array_equal(first, last.transpose(0, 3, 1, 2))


def test_draw_bounding_boxes_rejects_bad_inputs(images):
    with pytest.raises(ValueError, match="must be batched 4D"):
        visualization.draw_bounding_boxes(images[0], _boxes(), "xyxy")
    with pytest.raises(TypeError, match="should be a dict"):
        visualization.draw_bounding_boxes(images, [1, 2], "xyxy")
    with pytest.raises(ValueError, match="'boxes' and 'labels'"):
        visualization.draw_bounding_boxes(images, {"boxes": _boxes()["boxes"]}, "xyxy")


def test_draw_bounding_boxes_without_opencv_says_how_to_install_it(images, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(ImportError, match=r"pip install lamina\[plot\]"):
        visualization.draw_bounding_boxes(images, _boxes(), "xyxy")


@pytest.fixture(scope="module")
def masks():
    rng = np.random.default_rng(1)
    return rng.integers(-1, 5, (2, 48, 64, 1)).astype("int32")


@pytest.mark.parametrize("options", [
    {"num_classes": 5},
    {"num_classes": 6, "alpha": 0.3},
    {"num_classes": 5, "blend": False},
    {"num_classes": 5, "ignore_index": 0, "alpha": 0.55},
    {"num_classes": 5, "color_mapping": {0: (0, 0, 0), 1: (255, 0, 0), 2: (0, 9, 250),
                                         3: (7, 7, 7), 4: (1, 2, 3)}},
])
def test_draw_segmentation_masks_equals_keras(images, masks, options):
    # NOTE: Keras on torch needs `num_classes` above every id (its one-hot raises otherwise).
    ours = visualization.draw_segmentation_masks(images, masks, **options)
    theirs = keras.ops.convert_to_numpy(
        keras.visualization.draw_segmentation_masks(images, masks, **options))
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
    assert not np.array_equal(ours, images.astype(ours.dtype))


def test_draw_segmentation_masks_infers_every_class_and_skips_ids_past_num_classes(images,
                                                                                  masks):
    np.testing.assert_array_equal(visualization.draw_segmentation_masks(images, masks),
                                  visualization.draw_segmentation_masks(images, masks,
                                                                        num_classes=5))
    drawn = visualization.draw_segmentation_masks(images, masks, num_classes=4, blend=False)
    np.testing.assert_array_equal(drawn[masks[..., 0] == 4], images[masks[..., 0] == 4])
    palette_3 = (3 * np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])) % 255
    np.testing.assert_array_equal(np.unique(drawn[masks[..., 0] == 3], axis=0), [palette_3])


def test_draw_segmentation_masks_reads_channels_first_and_3d_masks(images, masks):
    expected = visualization.draw_segmentation_masks(images, masks)
    np.testing.assert_array_equal(
        visualization.draw_segmentation_masks(images.transpose(0, 3, 1, 2),
                                              masks.transpose(0, 3, 1, 2),
                                              data_format="channels_first"), expected)
    np.testing.assert_array_equal(
        visualization.draw_segmentation_masks(images, masks[..., 0]), expected)


def test_draw_segmentation_masks_rejects_float_masks_and_unbatched_images(images, masks):
    with pytest.raises(TypeError, match="must be in integer dtype"):
        visualization.draw_segmentation_masks(images, masks.astype("float32"))
    with pytest.raises(ValueError, match="must be batched 4D"):
        visualization.draw_segmentation_masks(images[0], masks[0])


@pytest.mark.parametrize("name", ["draw_bounding_boxes", "draw_segmentation_masks",
                                  "plot_image_gallery", "plot_bounding_box_gallery",
                                  "plot_segmentation_mask_gallery"])
def test_signatures_equal_keras(name):
    assert inspect.signature(getattr(visualization, name)) == inspect.signature(
        getattr(keras.visualization, name))
