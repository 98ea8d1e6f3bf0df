"""`draw_bounding_boxes` and `draw_segmentation_masks`: annotations drawn into image
batches, returned as numpy arrays (pixel for pixel as Keras draws them)."""

import numpy as np

from lamina.backend.config import image_data_format
from lamina.backend.convert import convert_to_numpy
from lamina.utils.bounding_boxes import convert_format


def _import_cv2():
    # NOTE: imported on use: OpenCV is optional and heavy.
    try:
        import cv2
    except ImportError as error:
        raise ImportError(
            "`draw_bounding_boxes` draws with OpenCV (`cv2`), as Keras does. Install it with "
            "`pip install lamina[plot]` (or `pip install opencv-python-headless`)."
        ) from error
    return cv2


def _check_batch(images):
    shape = np.shape(images)
    if len(shape) != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape={shape}")
    return shape


def _label_origin(x, y, font_scale, thickness):
    """Where a box's label starts: above the box, or inside it when too near the top."""
    font_height = int(font_scale * 12)
    if y - 8 - 2 * font_height > 0:
        return x, y - 8
    return x + 3, y + 2 * font_height + thickness + 3


def draw_bounding_boxes(images, bounding_boxes, bounding_box_format, class_mapping=None,
                        color=(128, 128, 128), line_thickness=2, text_thickness=1,
                        font_scale=1.0, data_format=None):
    """Draws boxes (and class labels with optional confidences) on a batch of images.

    Float images in `[0, 1]` are scaled to `[0, 255]`; others are clipped to it. Boxes
    whose label is -1 are padding and are skipped.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        bounding_boxes: a dict with `"boxes"` `(batch, num_boxes, 4)`, `"labels"`
            `(batch, num_boxes)` and optionally `"confidences"` `(batch, num_boxes)`.
        bounding_box_format: the boxes' format (see `lamina.utils.bounding_boxes`).
        class_mapping: a dict from class id to the label drawn next to the box.
        color: the RGB colour of boxes and labels.
        line_thickness: the thickness of box lines.
        text_thickness: the thickness of the label text (falls back to `line_thickness`).
        font_scale: the scale of the label font.
        data_format: `"channels_last"` or `"channels_first"` (default:
            `image_data_format()`).

    Returns:
        A `uint8` numpy array of the annotated images, shaped as `images`.
    """
    cv2 = _import_cv2()
    class_mapping = class_mapping or {}
    text_thickness = text_thickness or line_thickness
    data_format = data_format or image_data_format()
    shape = _check_batch(images)
    if not isinstance(bounding_boxes, dict):
        raise TypeError(
            f"`bounding_boxes` should be a dict. Received: bounding_boxes={bounding_boxes} of "
            f"type {type(bounding_boxes)}")
    if "boxes" not in bounding_boxes or "labels" not in bounding_boxes:
        raise ValueError(
            "`bounding_boxes` should be a dict containing 'boxes' and 'labels' keys. "
            f"Received: bounding_boxes={bounding_boxes}")
    channels_first = data_format == "channels_first"
    height, width = shape[2:4] if channels_first else shape[1:3]
    boxes = convert_to_numpy(convert_format(
        bounding_boxes["boxes"], bounding_box_format, "xyxy", height, width))
    labels = convert_to_numpy(bounding_boxes["labels"])
    confidences = bounding_boxes.get("confidences")
    confidences = None if confidences is None else convert_to_numpy(confidences)

    images = convert_to_numpy(images)
    if channels_first:
        images = images.transpose(0, 2, 3, 1)
    if images.dtype.kind == "f" and images.size > 0:
        images = np.clip(images, 0, 1) * 255 if images.max() <= 1.0 else np.clip(images, 0, 255)
    images = np.ascontiguousarray(images.astype("uint8"))
    for index, image in enumerate(images):  # drawn in place: each image is a view
        for box_index, (box, label) in enumerate(zip(boxes[index], labels[index])):
            label = int(label.astype("int32"))
            if label == -1:
                continue
            x1, y1, x2, y2 = (int(v) for v in box.astype("int32"))
            cv2.rectangle(image, (x1, y1), (x2, y2), color, line_thickness)
            if label in class_mapping:
                text = class_mapping[label]
                if confidences is not None:
                    text = f"{text} | {confidences[index][box_index]:.2f}"
                cv2.putText(img=image, text=text,
                            org=_label_origin(x1, y1, font_scale, text_thickness),
                            fontFace=cv2.FONT_HERSHEY_SIMPLEX, fontScale=font_scale,
                            color=color, thickness=text_thickness)
    return images.transpose(0, 3, 1, 2) if channels_first else images


def _palette(num_classes):
    steps = np.array([2**25 - 1, 2**15 - 1, 2**21 - 1])
    return [((i * steps) % 255).tolist() for i in range(num_classes)]


def draw_segmentation_masks(images, segmentation_masks, num_classes=None, color_mapping=None,
                            alpha=0.8, blend=True, ignore_index=-1, data_format=None):
    """Colours each pixel of a batch of images by its class in `segmentation_masks`.

    Class `c` (for `0 <= c < num_classes`) takes `color_mapping[c]` (default: a fixed
    palette); pixels equal to `ignore_index` keep the image's colour when blending.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        segmentation_masks: integer class ids, `(batch, height, width, 1)` or
            `(batch, height, width)`.
        num_classes: the number of classes (ids from `num_classes` up are not drawn);
            default: the largest class id in the masks plus one.
        color_mapping: a dict from class id to an RGB colour.
        alpha: the opacity of the masks when blending, in `[0, 1]`.
        blend: mix masks and images with `alpha` (a `uint8` result); otherwise paint the
            mask colours over the images (a `float32` result).
        ignore_index: the class id that is not drawn.
        data_format: `"channels_last"` or `"channels_first"` (default:
            `image_data_format()`); the result is channels last.

    Returns:
        A numpy array `(batch, height, width, channels)`.
    """
    data_format = data_format or image_data_format()
    _check_batch(images)
    images = convert_to_numpy(images)
    masks = convert_to_numpy(segmentation_masks)
    if data_format == "channels_first":
        images = images.transpose(0, 2, 3, 1)
        masks = masks.transpose(0, 2, 3, 1) if masks.ndim == 4 else masks
    if masks.dtype.kind not in "iu":
        raise TypeError(
            f"`segmentation_masks` must be in integer dtype. Received: "
            f"segmentation_masks.dtype={masks.dtype}")
    if masks.ndim == 4:
        masks = masks[..., 0]
    images = images.astype("float32")
    if num_classes is None:
        # NOTE: every class id in the masks is drawn (Keras' one-hot of `max` classes drops
        # the largest id, and raises on torch).
        num_classes = int(masks.max()) + 1
    colors = _palette(num_classes) if color_mapping is None else [
        color_mapping[i] for i in range(num_classes)]
    painted = images.copy()
    for class_id, class_color in enumerate(colors):
        painted[masks == class_id] = np.asarray(class_color, dtype="float32")
    if not blend:
        return painted
    blended = images * np.float32(1 - alpha) + painted * np.float32(alpha)
    valid = (masks != ignore_index)[..., None]
    return np.where(valid, blended, images).astype("uint8")
