"""`keras.utils.bounding_boxes`: box format conversion, clipping, crops, IoU, deltas.

Boxes are tensors whose last axis holds 4 coordinates, `(N, 4)` or `(batch, N, 4)`.
Formats (case-insensitive): `"xyxy"`, `"yxyx"`, `"xywh"`, `"center_xywh"`,
`"center_yxhw"` in pixels, and `"rel_xyxy"`, `"rel_yxyx"`, `"rel_xywh"`,
`"rel_center_xywh"` as fractions of the image `height`/`width`. Every conversion goes
through `xyxy`, with Keras' arithmetic, so results match Keras' to the last bit on the
same device.
"""

import math

import torch

from lamina.backend.config import epsilon
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype

SUPPORTED_FORMATS = (
    "xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw",
    "rel_xyxy", "rel_yxyx", "rel_xywh", "rel_center_xywh",
)


def _corners(boxes):
    return boxes.unbind(-1)


def _stack(*coords):
    return torch.stack(coords, dim=-1)


# NOTE: conversion and clipping keep each coordinate as a `(..., 1)` column, so a per-image
# `height`/`width` of shape `(batch, 1, 1)` broadcasts against `(batch, N, 1)` as in Keras.
def _columns(boxes):
    return boxes.split(1, dim=-1)


def _join(*columns):
    return torch.cat(columns, dim=-1)


# Each format to and from `xyxy`; `h`/`w` only matter to the relative formats.
def _to_xyxy(fmt, boxes, h, w):
    a, b, c, d = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(b, a, d, c)
    if fmt == "xywh":
        return _join(a, b, a + c, b + d)
    if fmt == "center_xywh":
        return _join(a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0)
    if fmt == "center_yxhw":
        return _join(b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0)
    if fmt == "rel_xyxy":
        return _join(a * w, b * h, c * w, d * h)
    if fmt == "rel_yxyx":
        return _join(b * w, a * h, d * w, c * h)
    if fmt == "rel_xywh":
        return _join(a * w, b * h, (a + c) * w, (b + d) * h)
    # rel_center_xywh
    return _join((a - c / 2.0) * w, (b - d / 2.0) * h, (a + c / 2.0) * w, (b + d / 2.0) * h)


def _from_xyxy(fmt, boxes, h, w):
    x1, y1, x2, y2 = _columns(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "yxyx":
        return _join(y1, x1, y2, x2)
    if fmt == "xywh":
        return _join(x1, y1, x2 - x1, y2 - y1)
    # NOTE: centres as `x1 + (x2 - x1) / 2`, not `(x1 + x2) / 2`: Keras' rounding.
    cx, cy = x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0
    if fmt == "center_xywh":
        return _join(cx, cy, x2 - x1, y2 - y1)
    if fmt == "center_yxhw":
        return _join(cy, cx, y2 - y1, x2 - x1)
    if fmt == "rel_xyxy":
        return _join(x1 / w, y1 / h, x2 / w, y2 / h)
    if fmt == "rel_yxyx":
        return _join(y1 / h, x1 / w, y2 / h, x2 / w)
    if fmt == "rel_xywh":
        return _join(x1 / w, y1 / h, (x2 - x1) / w, (y2 - y1) / h)
    # rel_center_xywh
    return _join(cx / w, cy / h, (x2 - x1) / w, (y2 - y1) / h)


def _scalar(value, dtype, device):
    return torch.as_tensor(value, device=device).to(dtype)


def convert_format(boxes, source, target, height=None, width=None, dtype="float32"):
    """Converts boxes from format `source` to format `target`.

    Args:
        boxes: a tensor/array of shape `(..., 4)`, or a dict whose `"boxes"` entry is one
            (the other entries are passed through).
        source: the format of `boxes` (see the module docstring).
        target: the format to return.
        height: image height; required when either format is relative.
        width: image width; required when either format is relative.
        dtype: dtype of the result (default `"float32"`).

    Returns:
        The converted boxes (a new dict when `boxes` is one).

    >>> convert_format([[10, 20, 30, 40]], "xyxy", "xywh").tolist()
    [[10.0, 20.0, 20.0, 20.0]]
    """
    if isinstance(boxes, dict):
        out = dict(boxes)
        out["boxes"] = convert_format(boxes["boxes"], source, target, height, width, dtype)
        return out
    boxes = convert_to_tensor(boxes)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError("`boxes` must be a tensor with the last dimension of 4. "
                         f"Received: boxes.shape={tuple(boxes.shape)}")
    source, target = source.lower(), target.lower()
    if source not in SUPPORTED_FORMATS or target not in SUPPORTED_FORMATS:
        raise ValueError(f"Invalid source or target format (source={source!r}, "
                         f"target={target!r}). Supported formats: {SUPPORTED_FORMATS}")
    if (source.startswith("rel_") or target.startswith("rel_")) and (
            height is None or width is None):
        raise ValueError(
            "convert_format() must receive `height` and `width` when converting between "
            f"relative and absolute formats. Received source={source!r}, target={target!r}, "
            f"height={height}, width={width}.")
    torch_dtype = to_torch_dtype(dtype)
    boxes = boxes.to(torch_dtype)
    if source == target:
        return boxes
    h = None if height is None else _scalar(height, torch_dtype, boxes.device)
    w = None if width is None else _scalar(width, torch_dtype, boxes.device)
    if source.startswith("rel_") and target.startswith("rel_"):
        # NOTE: relative to relative needs no image size: both scale alike.
        source, target = source[4:], target[4:]
    return _from_xyxy(target, _to_xyxy(source, boxes, h, w), h, w)


def _areas_xyxy(boxes):
    x1, y1, x2, y2 = _corners(boxes)
    return (x2 - x1) * (y2 - y1)


def clip_to_image_size(bounding_boxes, height=None, width=None, bounding_box_format="xyxy"):
    """Clips boxes to the image; boxes left with no area get label -1.

    Args:
        bounding_boxes: a dict with `"boxes"` (`(N, 4)` or `(batch, N, 4)`) and optional
            `"labels"` (`(N,)` or `(batch, N)`).
        height: image height (required for `"xyxy"`).
        width: image width (required for `"xyxy"`).
        bounding_box_format: `"xyxy"` (clip to `[0, width] x [0, height]`) or
            `"rel_xyxy"` (clip to `[0, 1]`).

    Returns:
        A new dict with the clipped `"boxes"` (and updated `"labels"`).
    """
    if bounding_box_format not in ("xyxy", "rel_xyxy"):
        raise NotImplementedError(
            "clip_to_image_size() supports bounding_box_format 'xyxy' and 'rel_xyxy'. "
            f"Received: bounding_box_format={bounding_box_format!r}")
    if bounding_box_format == "xyxy" and (height is None or width is None):
        raise ValueError("`height` and `width` must be set if `format='xyxy'`.")
    boxes = convert_to_tensor(bounding_boxes["boxes"])
    labels = bounding_boxes.get("labels")
    if bounding_box_format == "xyxy":
        x_max = _scalar(width, boxes.dtype, boxes.device)
        y_max = _scalar(height, boxes.dtype, boxes.device)
    else:
        x_max = y_max = _scalar(1.0, boxes.dtype, boxes.device)
    x1, y1, x2, y2 = _columns(boxes)
    zero = _scalar(0, boxes.dtype, boxes.device)
    boxes = _join(*(torch.clamp(c, zero, top) for c, top in
                    ((x1, x_max), (y1, y_max), (x2, x_max), (y2, y_max))))
    out = dict(bounding_boxes)
    out["boxes"] = boxes
    if labels is not None:
        labels = convert_to_tensor(labels)
        labels = torch.where(_areas_xyxy(boxes) > 0, labels,
                             torch.tensor(-1, dtype=labels.dtype, device=labels.device))
        out["labels"] = labels
    return out


def _inverse_affine_matrices(center_x, center_y, angle, translate_x, translate_y, scale,
                             shear_x, shear_y, height, width):
    """`(batch, 3, 3)` matrices mapping output pixels back to input pixels, as the
    affine image warps use them (angles in degrees, translations as fractions)."""
    to_rad = 1.0 / 180.0 * math.pi
    rot, sx, sy = -angle * to_rad, -shear_x * to_rad, -shear_y * to_rad
    cx, cy = center_x * (width - 1), center_y * (height - 1)
    cx_t = cx + (-translate_x * (width - 1))
    cy_t = cy + (-translate_y * (height - 1))
    cos_sy, tan_sx = torch.cos(sy), torch.tan(sx)
    # Rotation-shear matrix [[a, b], [c, d]] (determinant 1), inverted and scaled below.
    a = torch.cos(rot - sy) / cos_sy
    b = a * tan_sx + torch.sin(rot)
    c = -torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    a0, a1, b0, b1 = d * scale, -b * scale, -c * scale, a * scale
    a2 = cx - a0 * cx_t - a1 * cy_t
    b2 = cy - b0 * cx_t - b1 * cy_t
    zeros, ones = torch.zeros_like(a0), torch.ones_like(a0)
    return torch.stack([a0, a1, a2, b0, b1, b2, zeros, zeros, ones], -1).reshape(-1, 3, 3)


def affine_transform(boxes, angle, translate_x, translate_y, scale, shear_x, shear_y, height,
                     width, center_x=None, center_y=None, bounding_box_format="xyxy"):
    """Moves batched `xyxy` boxes by the affine warp the image layers apply.

    Each box becomes the axis-aligned hull of its four transformed corners.

    Args:
        boxes: `(batch, N, 4)` boxes in `"xyxy"`.
        angle, translate_x, translate_y, scale, shear_x, shear_y: per-image parameters of
            shape `(batch,)` (or numbers): rotation and shears in degrees, translations as
            fractions of the image size.
        height: image height.
        width: image width.
        center_x: centre of the transformation as a fraction of the width (default 0.5).
        center_y: centre as a fraction of the height (default 0.5).
        bounding_box_format: only `"xyxy"`.

    Returns:
        The transformed boxes, `(batch, N, 4)`.
    """
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            "affine_transform() supports bounding_box_format='xyxy' only. "
            f"Received: bounding_box_format={bounding_box_format!r}")
    angle = convert_to_tensor(angle)
    if not angle.is_floating_point():
        angle = angle.to(torch.float32)
    params = [angle] + [convert_to_tensor(p).to(angle.dtype) for p in
                        (translate_x, translate_y, scale, shear_x, shear_y)]
    matrix = _inverse_affine_matrices(
        0.5 if center_x is None else center_x, 0.5 if center_y is None else center_y,
        *params, height, width)
    boxes = convert_to_tensor(boxes).to(matrix.dtype)
    x1, y1, x2, y2 = _corners(boxes)
    corners = torch.stack([_stack(x1, y1), _stack(x2, y1), _stack(x2, y2), _stack(x1, y2)],
                          dim=-2)
    corners = torch.cat([corners, torch.ones_like(corners[..., :1])], dim=-1)
    moved = torch.einsum("bnkj,bij->bnki", corners, matrix[:, :2, :])
    return torch.cat([moved.amin(dim=2), moved.amax(dim=2)], dim=-1)


def _xyxy_only(name, bounding_box_format):
    if bounding_box_format != "xyxy":
        raise NotImplementedError(
            f"{name}() supports bounding_box_format='xyxy' only. "
            f"Received: bounding_box_format={bounding_box_format!r}")


def crop(boxes, top, left, height, width, bounding_box_format="xyxy"):
    """Boxes in the frame of the crop at `(top, left)` of size `height` x `width`,
    clipped to it.

    >>> crop([[10, 20, 50, 60]], top=10, left=20, height=40, width=30).tolist()
    [[0, 10, 30, 40]]
    """
    _xyxy_only("crop", bounding_box_format)
    x1, y1, x2, y2 = _corners(convert_to_tensor(boxes))
    x1, x2 = (torch.clamp(x - left, 0, width) for x in (x1, x2))
    y1, y2 = (torch.clamp(y - top, 0, height) for y in (y1, y2))
    return _stack(x1, y1, x2, y2)


def pad(boxes, top, left, height=None, width=None, bounding_box_format="xyxy"):
    """Boxes in the frame of the image padded by `top` rows and `left` columns.

    >>> pad([[10, 20, 50, 60]], top=5, left=1).tolist()
    [[11, 25, 51, 65]]
    """
    _xyxy_only("pad", bounding_box_format)
    x1, y1, x2, y2 = _corners(convert_to_tensor(boxes))
    return _stack(x1 + left, y1 + top, x2 + left, y2 + top)


def _checked_variance(variance):
    if variance is None:
        return None
    variance = convert_to_tensor(variance, "float32")
    if variance.ndim == 0 or variance.shape[-1] != 4:
        raise ValueError(f"`variance` must be length 4, got {variance}")
    return variance


def _image_size(image_shape):
    if image_shape is None:
        return None, None
    height, width, _ = image_shape
    return height, width


def encode_box_to_deltas(anchors, boxes, anchor_format, box_format,
                         encoding_format="center_yxhw", variance=None, image_shape=None):
    """Offsets of `boxes` from `anchors`: centre shifts over anchor size, then log size
    ratios, in `encoding_format` order (`"center_yxhw"` or `"center_xywh"`), divided by
    `variance` when given.

    Args:
        anchors: `(N, 4)` anchors in `anchor_format`.
        boxes: `(N, 4)` or `(batch, N, 4)` boxes in `box_format`.
        anchor_format: format of `anchors`.
        box_format: format of `boxes`.
        encoding_format: `"center_yxhw"` (default) or `"center_xywh"`.
        variance: 4 numbers the deltas are divided by.
        image_shape: `(height, width, channels)`, for relative formats.

    Returns:
        The deltas, shaped as `boxes`.
    """
    variance = _checked_variance(variance)
    if encoding_format not in ("center_xywh", "center_yxhw"):
        raise ValueError("`encoding_format` should be one of 'center_xywh' or "
                         f"'center_yxhw', got {encoding_format}")
    height, width = _image_size(image_shape)
    anchors = convert_format(anchors, anchor_format, encoding_format, height, width)
    boxes = convert_format(boxes, box_format, encoding_format, height, width)
    anchor_sizes = torch.clamp(anchors[..., 2:], min=epsilon())
    box_sizes = torch.clamp(boxes[..., 2:], min=epsilon())
    deltas = torch.cat([(boxes[..., :2] - anchors[..., :2]) / anchor_sizes,
                        torch.log(box_sizes / anchor_sizes)], dim=-1)
    return deltas if variance is None else deltas / variance.to(deltas.device)


def decode_deltas_to_boxes(anchors, boxes_delta, anchor_format, box_format,
                           encoded_format="center_yxhw", variance=None, image_shape=None):
    """Boxes in `box_format` from deltas made by `encode_box_to_deltas`.

    Args:
        anchors: `(N, 4)` anchors, or a dict of them per feature level.
        boxes_delta: `(N, 4)` or `(batch, N, 4)` deltas, or a dict keyed as `anchors`.
        anchor_format: format of `anchors`.
        box_format: format of the boxes returned.
        encoded_format: `"center_yxhw"` (default) or `"center_xywh"`.
        variance: 4 numbers the deltas are multiplied by first.
        image_shape: `(height, width, channels)`, for relative formats.

    Returns:
        The boxes (a dict per level when `anchors` is a dict).
    """
    variance = _checked_variance(variance)
    if encoded_format not in ("center_xywh", "center_yxhw"):
        raise ValueError("`encoded_format` should be 'center_xywh' or 'center_yxhw', "
                         f"but got '{encoded_format}'.")
    height, width = _image_size(image_shape)

    def decode(anchor, delta):
        anchor = convert_format(anchor, anchor_format, encoded_format, height, width)
        delta = convert_to_tensor(delta)
        if variance is not None:
            delta = delta * variance.to(delta.device)
        box = torch.cat([delta[..., :2] * anchor[..., 2:] + anchor[..., :2],
                         torch.exp(delta[..., 2:]) * anchor[..., 2:]], dim=-1)
        return convert_format(box, encoded_format, box_format, height, width)

    if isinstance(anchors, dict) and isinstance(boxes_delta, dict):
        return {level: decode(anchor, boxes_delta[level]) for level, anchor in anchors.items()}
    return decode(anchors, boxes_delta)


def compute_iou(boxes1, boxes2, bounding_box_format, use_masking=False, mask_val=-1,
                image_shape=None):
    """Pairwise IoU of `boxes1` `(M, 4)`/`(batch, M, 4)` and `boxes2` `(N, 4)`/
    `(batch, N, 4)`: `(M, N)`, or `(batch, M, N)` when either is batched.

    Args:
        boxes1: the first boxes.
        boxes2: the second boxes.
        bounding_box_format: their format.
        use_masking: give `mask_val` to pairs where a box has every coordinate below 0
            (padding).
        mask_val: the value of masked pairs (default -1).
        image_shape: `(height, width, channels)`, required for relative formats.

    >>> round(compute_iou([[0, 0, 2, 2]], [[1, 0, 3, 2]], "xyxy").item(), 4)  # 2 / 6
    0.3333
    """
    boxes1, boxes2 = convert_to_tensor(boxes1), convert_to_tensor(boxes2)
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if boxes.ndim not in (2, 3):
            raise ValueError(
                f"compute_iou() expects {name} to be batched, or to be unbatched. Received "
                f"len(boxes1.shape)={boxes1.ndim}, len(boxes2.shape)={boxes2.ndim}. "
                f"Expected either len({name}.shape)=2 or len({name}.shape)=3.")
    if "rel" in bounding_box_format and image_shape is None:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the "
                         f"`image_shape` argument must be provided. Received `image_shape`: "
                         f"{image_shape}")
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "yxyx", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "yxyx", height, width)
    top1, left1, bottom1, right1 = (c[..., :, None] for c in _corners(boxes1))
    top2, left2, bottom2, right2 = (c[..., None, :] for c in _corners(boxes2))
    zero = boxes1.new_zeros(())
    inter = (torch.maximum(zero, torch.minimum(bottom1, bottom2) - torch.maximum(top1, top2))
             * torch.maximum(zero, torch.minimum(right1, right2) - torch.maximum(left1, left2)))
    area1 = (bottom1 - top1) * (right1 - left1)
    area2 = (bottom2 - top2) * (right2 - left2)
    iou = inter / (area1 + area2 - inter + epsilon())
    if not use_masking:
        return iou
    background = ((boxes1.amax(-1) < 0)[..., :, None]) | ((boxes2.amax(-1) < 0)[..., None, :])
    return torch.where(background, torch.full_like(iou, mask_val), iou)


def compute_ciou(boxes1, boxes2, bounding_box_format, image_shape=None):
    """Complete IoU of matching boxes (`(..., 4)` each): IoU less the normalised centre
    distance and an aspect-ratio term. Relative formats are refused, as in Keras.

    >>> compute_ciou([[0, 0, 2, 2]], [[0, 0, 2, 2]], "xyxy").tolist()
    [1.0]
    """
    if "rel" in bounding_box_format:
        raise ValueError("When using relative bounding box formats (e.g. `rel_yxyx`) the "
                         f"`image_shape` argument must be provided. Received `image_shape`: "
                         f"{image_shape}")
    height, width = _image_size(image_shape)
    boxes1 = convert_format(boxes1, bounding_box_format, "xyxy", height, width)
    boxes2 = convert_format(boxes2, bounding_box_format, "xyxy", height, width)
    eps = epsilon()
    x_min1, y_min1, x_max1, y_max1 = _corners(boxes1)
    x_min2, y_min2, x_max2, y_max2 = _corners(boxes2)
    width1, height1 = x_max1 - x_min1, y_max1 - y_min1 + eps
    width2, height2 = x_max2 - x_min2, y_max2 - y_min2 + eps
    inter = (torch.clamp(torch.minimum(x_max1, x_max2) - torch.maximum(x_min1, x_min2), min=0)
             * torch.clamp(torch.minimum(y_max1, y_max2) - torch.maximum(y_min1, y_min2), min=0))
    union = width1 * height1 + width2 * height2 - inter + eps
    iou = inter / (union + eps)
    hull_w = torch.maximum(x_max1, x_max2) - torch.minimum(x_min1, x_min2)
    hull_h = torch.maximum(y_max1, y_max2) - torch.minimum(y_min1, y_min2)
    hull_diagonal2 = hull_w**2 + hull_h**2 + eps
    centre_distance2 = (((x_min1 + x_max1) / 2 - (x_min2 + x_max2) / 2) ** 2
                        + ((y_min1 + y_max1) / 2 - (y_min2 + y_max2) / 2) ** 2)
    v = (4 / math.pi**2) * torch.pow(torch.atan(width2 / height2) - torch.atan(width1 / height1), 2)
    alpha = v / (v - iou + (1 + eps))
    return iou - (centre_distance2 / hull_diagonal2 + v * alpha)
