"""`lamina.visualization`: Keras' `keras.visualization` (boxes and masks drawn on images,
image galleries) and lamina's `plot_history` (training curves of a `History`).

The galleries and `plot_history` need matplotlib and `draw_bounding_boxes` needs OpenCV,
as in Keras: `pip install lamina[plot]`.
"""

from lamina.visualization.drawing import draw_bounding_boxes, draw_segmentation_masks
from lamina.visualization.galleries import (
    plot_bounding_box_gallery,
    plot_image_gallery,
    plot_segmentation_mask_gallery,
)
from lamina.visualization.history_plot import plot_history

__all__ = [
    "draw_bounding_boxes",
    "draw_segmentation_masks",
    "plot_bounding_box_gallery",
    "plot_history",
    "plot_image_gallery",
    "plot_segmentation_mask_gallery",
]
