"""`image_dataset_from_directory`: a folder of class folders of images, as batches."""

import numpy as np
import torch

from lamina import ops
from lamina.backend import config
from lamina.utils import dataset_utils, image_utils
from lamina.utils.dataset_utils import BatchDataset

ALLOWLIST_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTERPOLATIONS = ("bilinear", "nearest", "bicubic", "area", "lanczos3", "lanczos5",
                   "gaussian", "mitchellcubic")
_MODES = {"rgb": "RGB", "rgba": "RGBA", "grayscale": "L"}


class ImageDataset(BatchDataset):
    """Batches `images` or `(images, labels)`: float32 `(batch, *image_size, channels)`
    tensors (the source dtype with `interpolation="nearest"`, as tf.image.resize).

    Attributes:
        class_names: the class names (label `i` is `class_names[i]`), or None.
        file_paths: the image files, in the dataset's first-epoch order.
    """

    def __init__(self, file_paths, labels, class_names, label_mode, color_mode, image_size,
                 interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio, data_format,
                 batch_size, shuffle, seed):
        super().__init__(len(file_paths), batch_size=batch_size, shuffle=shuffle, seed=seed)
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = None if labels is None else dataset_utils.labels_tensor(
            labels, label_mode, len(class_names) if class_names else 0)
        self._mode = _MODES[color_mode]
        self._image_size = tuple(image_size)
        self._interpolation = interpolation
        self._crop, self._pad = crop_to_aspect_ratio, pad_to_aspect_ratio
        self._data_format = data_format

    def _load(self, indices):
        images = torch.stack([self._image(self.file_paths[i]) for i in indices])
        if self._labels is None:
            return images
        return images, self._labels[torch.as_tensor(indices)]

    def _image(self, path):
        image = torch.from_numpy(decode_image(path, self._mode))
        if self._interpolation != "nearest":
            image = image.to(torch.float32)
        image = ops.image.resize(image, self._image_size, interpolation=self._interpolation,
                                 crop_to_aspect_ratio=self._crop,
                                 pad_to_aspect_ratio=self._pad, data_format="channels_last")
        if self._data_format == "channels_first":
            image = image.permute(2, 0, 1)
        return image


def decode_image(path, mode):
    """The first frame of an image file as a uint8 `(height, width, channels)` array."""
    pil = image_utils._pil("image_dataset_from_directory")
    try:
        with pil.open(path) as img:
            img.seek(0)
            array = np.array(img.convert(mode) if img.mode != mode else img)
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"Could not decode the image file {path!r}: {e}") from e
    return array[:, :, None] if array.ndim == 2 else array


def image_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, color_mode="rgb", batch_size=32,
                                 image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear",
                                 follow_links=False, crop_to_aspect_ratio=False,
                                 pad_to_aspect_ratio=False, data_format=None, format=None,
                                 verbose=True):
    """Batches of images (and labels) from `directory`, Keras' file order and labels.

    With `labels="inferred"`, each subdirectory is a class (sorted by name unless
    `class_names` gives the order); images are `.bmp`, `.gif`, `.jpeg`, `.jpg`,
    `.png`. `subset="both"` returns `[training, validation]`.
    `format` stays None: Keras' `"tf"`/`"grain"` datasets are not built here.

    Returns:
        An `ImageDataset` (a `PyDataset` and a torch `Dataset` of batches: pass it to
        `fit`, or to `DataLoader(ds, batch_size=None)`), with `class_names` and
        `file_paths`. Reading needs Pillow.
    """
    dataset_utils.check_format_arg(format)
    dataset_utils.check_labels_arg(labels, label_mode, class_names)
    if labels is None or label_mode is None:
        labels = label_mode = None
    if color_mode not in _MODES:
        raise ValueError('`color_mode` must be one of {"rgb", "rgba", "grayscale"}. '
                         f"Received: color_mode={color_mode}")
    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    elif not isinstance(image_size, (list, tuple)) or len(image_size) != 2:
        raise ValueError("Invalid `image_size` value. Expected a tuple of 2 integers. "
                         f"Received: image_size={image_size}")
    interpolation = interpolation.lower()
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"Argument `interpolation` should be one of {_INTERPOLATIONS}. "
                         f"Received: interpolation={interpolation}")
    if interpolation in ("gaussian", "mitchellcubic"):
        raise NotImplementedError(f"interpolation={interpolation!r} is not available in "
                                  "lamina (tf.image-only resampling filter).")
    image_utils._pil("image_dataset_from_directory")
    data_format = config.standardize_data_format(data_format)

    def build(paths, part_labels, names, shuffled, seed):
        return ImageDataset(paths, part_labels, names, label_mode, color_mode, image_size,
                            interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                            data_format, batch_size, shuffled, seed)

    return dataset_utils.directory_datasets(
        build, directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, "images",
        shuffle, seed, validation_split, subset, follow_links, verbose)
