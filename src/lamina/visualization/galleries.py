"""Image galleries drawn with matplotlib: plain images with labels, images with boxes,
images next to their segmentation masks."""

import math

import numpy as np

from lamina.backend.config import image_data_format
from lamina.backend.convert import convert_to_numpy
from lamina.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks


def import_pyplot(caller):
    # NOTE: imported on use: matplotlib is optional and slow to import.
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            f"`{caller}` needs matplotlib. Install it with `pip install lamina[plot]` "
            "(or `pip install matplotlib`)."
        ) from error
    return plt


def _rescale(images, value_range):
    """Images mapped linearly from `value_range` to `[0, 255]`."""
    low, high = value_range
    if (low, high) == (0, 255):
        return images
    return (images.astype("float32") - low) / (high - low) * 255.0


def plot_image_gallery(images, y_true=None, y_pred=None, label_map=None, rows=None, cols=None,
                       value_range=(0, 255), scale=2, path=None, show=None, transparent=True,
                       dpi=60, legend_handles=None, data_format=None):
    """Shows (or saves) a grid of images, titled with their true and predicted labels.

    Args:
        images: a batch of images, `(batch, height, width, channels)` (or channels first).
        y_true: true class ids, one per image.
        y_pred: predicted class ids, one per image.
        label_map: a dict from class id to name; required with `y_true` or `y_pred`.
        rows: rows of the grid (default: about the square root of the batch size).
        cols: columns of the grid (default: enough for the batch).
        value_range: the range of the image values, e.g. `(0, 255)` or `(0, 1)`.
        scale: the size of each image in inches.
        path: save the gallery to this file instead of showing it.
        show: show it with `plt.show()` (default: when `path` is None).
        transparent: save with a transparent background.
        dpi: the resolution of the saved file.
        legend_handles: matplotlib `Patch`es for a legend.
        data_format: `"channels_last"` or `"channels_first"` (default:
            `image_data_format()`).
    """
    plt = import_pyplot("plot_image_gallery")
    if path is not None and show:
        raise ValueError("plot_gallery() expects either `path` to be set, or `show` to be true.")
    if (y_true is not None or y_pred is not None) and label_map is None:
        raise ValueError(
            "If `y_true` or `y_pred` are provided, a `label_map` must also be provided.")
    show = path is None if show is None else show
    images = convert_to_numpy(images)
    if images.ndim != 4:
        raise ValueError("`plot_images_gallery()` requires you to batch your `np.array` samples "
                         f"together. Received: images.shape={images.shape}")
    if (data_format or image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    batch_size = len(images)
    rows = rows or int(math.ceil(math.sqrt(batch_size)))
    cols = cols or int(math.ceil(batch_size / rows))
    images = _rescale(images[:rows * cols], value_range)
    y_true = None if y_true is None else convert_to_numpy(y_true)
    y_pred = None if y_pred is None else convert_to_numpy(y_pred)

    fig, axes = plt.subplots(nrows=rows, ncols=cols, figsize=(cols * scale, rows * scale),
                             frameon=False, layout="tight", squeeze=False, sharex="row",
                             sharey="col")
    fig.subplots_adjust(wspace=0, hspace=0)
    if legend_handles is not None:
        fig.legend(handles=legend_handles, loc="lower center")
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index >= len(images):
            continue
        axis.imshow(images[index].astype("uint8"))
        axis.margins(x=0, y=0)
        title = []
        if y_true is not None and index < len(y_true):
            title.append(f"Label: {label_map.get(y_true[index], 'Unknown')}")
        if y_pred is not None and index < len(y_pred):
            title.append(f"Pred: {label_map.get(y_pred[index], 'Unknown')}")
        if title:
            axis.set_title("  ".join(title), fontsize=8)
    if path is not None:
        plt.savefig(fname=path, pad_inches=0, bbox_inches="tight", transparent=transparent,
                    dpi=dpi)
        plt.close(fig)
    elif show:
        plt.show()
        plt.close(fig)


def plot_bounding_box_gallery(images, bounding_box_format, y_true=None, y_pred=None,
                              value_range=(0, 255), true_color=(0, 188, 212),
                              pred_color=(255, 235, 59), line_thickness=2, font_scale=1.0,
                              text_thickness=None, class_mapping=None, ground_truth_mapping=None,
                              prediction_mapping=None, legend=False, legend_handles=None,
                              rows=None, cols=None, data_format=None, **kwargs):
    """A gallery of images with their true and predicted boxes drawn on them.

    Args:
        images: a batch of images.
        bounding_box_format: the boxes' format (see `lamina.utils.bounding_boxes`).
        y_true: true boxes, a dict as `draw_bounding_boxes` takes.
        y_pred: predicted boxes, a dict as `draw_bounding_boxes` takes.
        value_range: the range of the image values.
        true_color: the RGB colour of true boxes.
        pred_color: the RGB colour of predicted boxes.
        line_thickness: the thickness of box lines.
        font_scale: the scale of the label font.
        text_thickness: the thickness of label text (default: `line_thickness`).
        class_mapping: class id to label, for both kinds of boxes.
        ground_truth_mapping: class id to label for true boxes (over `class_mapping`).
        prediction_mapping: class id to label for predicted boxes (over `class_mapping`).
        legend: add a "Ground Truth"/"Prediction" legend.
        legend_handles: matplotlib `Patch`es for the legend (not with `legend=True`).
        rows: rows of the grid.
        cols: columns of the grid.
        data_format: `"channels_last"` or `"channels_first"`.
        **kwargs: passed to `plot_image_gallery` (`path`, `show`, `scale`, `dpi`...).
    """
    import_pyplot("plot_bounding_box_gallery")
    from matplotlib import patches  # matplotlib is there: import_pyplot checked it

    if legend and legend_handles:
        raise ValueError("Only pass `legend` OR `legend_handles` to "
                         "`lamina.visualization.plot_bounding_box_gallery()`.")
    images = convert_to_numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape="
                         f"{images.shape}")
    if (data_format or image_data_format()) == "channels_first":
        images = images.transpose(0, 2, 3, 1)
    # NOTE: drawn in [0, 255] (what draw_bounding_boxes returns), so the gallery gets one range.
    images = _rescale(images, value_range)
    for boxes, color, mapping in ((y_true, true_color, ground_truth_mapping or class_mapping),
                                  (y_pred, pred_color, prediction_mapping or class_mapping)):
        if boxes is not None:
            images = draw_bounding_boxes(
                images, boxes, bounding_box_format, class_mapping=mapping, color=color,
                line_thickness=line_thickness, text_thickness=text_thickness,
                font_scale=font_scale, data_format="channels_last")
    if legend:
        legend_handles = [
            patches.Patch(color=np.array(true_color) / 255.0, label="Ground Truth"),
            patches.Patch(color=np.array(pred_color) / 255.0, label="Prediction"),
        ]
    return plot_image_gallery(images, value_range=(0, 255), legend_handles=legend_handles,
                              rows=rows, cols=cols, data_format="channels_last", **kwargs)


def plot_segmentation_mask_gallery(images, num_classes, value_range=(0, 255), y_true=None,
                                   y_pred=None, color_mapping=None, blend=True, alpha=0.8,
                                   ignore_index=-1, data_format=None, **kwargs):
    """A gallery with one row per image: the image, then its true and predicted masks.

    Args:
        images: a batch of images.
        num_classes: the number of classes.
        value_range: the range of the image values.
        y_true: true masks, `(batch, height, width, 1)` class ids.
        y_pred: predicted masks, shaped as `y_true`.
        color_mapping: class id to RGB colour (default: a fixed palette).
        blend: blend masks with the images (see `draw_segmentation_masks`).
        alpha: the opacity of the masks when blending.
        ignore_index: the class id that is not drawn.
        data_format: `"channels_last"` or `"channels_first"`.
        **kwargs: passed to `plot_image_gallery` (`path`, `show`, `scale`, `dpi`...).
    """
    images = convert_to_numpy(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be batched 4D tensor. Received: images.shape="
                         f"{images.shape}")
    channels_first = (data_format or image_data_format()) == "channels_first"
    if channels_first:
        images = images.transpose(0, 2, 3, 1)
    # NOTE: masks are drawn on [0, 255] images, so the image and mask columns share one range.
    images = _rescale(images, value_range)
    columns = [images]
    for masks in (y_true, y_pred):
        if masks is None:
            continue
        masks = convert_to_numpy(masks)
        if channels_first and masks.ndim == 4:
            masks = masks.transpose(0, 2, 3, 1)
        columns.append(draw_segmentation_masks(
            images, masks.astype("int32"), num_classes=num_classes,
            color_mapping=color_mapping, alpha=alpha, blend=blend, ignore_index=ignore_index,
            data_format="channels_last"))
    gallery = np.stack([column[i].astype("float32") for i in range(len(images))
                        for column in columns])
    return plot_image_gallery(gallery, value_range=(0, 255), rows=len(images),
                              cols=len(columns), data_format="channels_last", **kwargs)
