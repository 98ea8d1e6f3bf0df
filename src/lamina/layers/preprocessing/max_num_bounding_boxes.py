"""`MaxNumBoundingBoxes`: pad or cut each image's bounding boxes to a fixed number."""

import copy
import numbers

import torch
import torch.nn.functional as F

from lamina.layers.preprocessing.image_base import BaseImagePreprocessingLayer


class MaxNumBoundingBoxes(BaseImagePreprocessingLayer):
    """Pads (with `fill_value`) or cuts the `"bounding_boxes"` of a dict input to
    `max_number` boxes per image, so batches of images with different numbers of boxes
    stack; images, labels and masks pass through unchanged.

    Takes `{"images": ..., "bounding_boxes": {"boxes": (batch, boxes, 4), "labels":
    (batch, boxes)}}` (or one image and its boxes without the batch axis); the layer
    needs a `bounding_box_format`, as Keras'.

    Args:
        max_number: the number of boxes per image in the output.
        fill_value: the value of the padding boxes and labels. (As in Keras, configs do
            not record it.)

    >>> import torch
    >>> layer = MaxNumBoundingBoxes(3, bounding_box_format="xyxy")
    >>> boxes = {"boxes": torch.ones(2, 1, 4), "labels": torch.ones(2, 1, dtype=torch.int32)}
    >>> out = layer({"images": torch.zeros(2, 8, 8, 3), "bounding_boxes": boxes})
    >>> out["bounding_boxes"]["labels"].tolist()
    [[1, -1, -1], [1, -1, -1]]
    """

    _USE_BASE_FACTOR = False

    def __init__(self, max_number, fill_value=-1, **kwargs):
        super().__init__(**kwargs)
        for arg, value, least in (("max_number", max_number, 1), ("fill_value", fill_value,
                                                                  None)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or (
                    least is not None and value < least):
                raise ValueError(
                    f"MaxNumBoundingBoxes layer '{self.name}': `{arg}` should be "
                    f"{'a positive integer' if least else 'a number'}. Received: "
                    f"{arg}={value!r}")
        self.max_number = int(max_number)
        self.fill_value = int(fill_value)

    def transform_images(self, images, transformation=None, training=True):
        return images

    def transform_segmentation_masks(self, masks, transformation=None, training=True):
        return masks

    def transform_bounding_boxes(self, bounding_boxes, transformation=None, training=True):
        """`bounding_boxes` (batched) with `max_number` boxes and labels per image."""
        boxes = torch.as_tensor(bounding_boxes["boxes"])
        labels = torch.as_tensor(bounding_boxes["labels"])
        pad = max(self.max_number - boxes.shape[1], 0)
        boxes = F.pad(boxes[:, :self.max_number], (0, 0, 0, pad), value=self.fill_value)
        labels = F.pad(labels[:, :self.max_number], (0, pad), value=self.fill_value)
        return {**bounding_boxes, "boxes": boxes, "labels": labels}

    def _call_on_dict(self, data, training):
        if "bounding_boxes" not in data:
            return super()._call_on_dict(data, training)
        if not self.bounding_box_format:
            raise ValueError(
                f"MaxNumBoundingBoxes layer '{self.name}': the input has 'bounding_boxes' "
                "but the layer has no `bounding_box_format`. Pass one, e.g. "
                "`bounding_box_format='xyxy'`.")
        boxes = data["bounding_boxes"]
        if not isinstance(boxes, dict) or set(boxes) - {"boxes", "labels"} or len(boxes) < 2:
            raise ValueError(
                f"MaxNumBoundingBoxes layer '{self.name}': 'bounding_boxes' should be a dict "
                "with the keys 'boxes' and 'labels' only. Received: "
                f"{sorted(boxes) if isinstance(boxes, dict) else type(boxes).__name__}")
        rest = {key: value for key, value in data.items() if key != "bounding_boxes"}
        single = torch.as_tensor(boxes["boxes"]).ndim == 2
        if single:
            boxes = {key: torch.as_tensor(value)[None] for key, value in boxes.items()}
        boxes = self.transform_bounding_boxes(boxes)
        if single:
            boxes = {key: value[0] for key, value in boxes.items()}
        return {**data, **super()._call_on_dict(rest, training), "bounding_boxes": boxes}

    def compute_output_shape(self, input_shape):
        if isinstance(input_shape, dict) and "bounding_boxes" in input_shape:
            extra = set(input_shape["bounding_boxes"]) - {"boxes", "labels"}
            if extra:
                raise KeyError(f"There are unsupported keys in `bounding_boxes`: "
                               f"{list(extra)}. Only `boxes` and `labels` are supported.")
            input_shape = copy.deepcopy(input_shape)
            for key in ("boxes", "labels"):
                shape = list(input_shape["bounding_boxes"][key])
                shape[1] = self.max_number
                input_shape["bounding_boxes"][key] = shape
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["max_number"] = self.max_number
        return config
