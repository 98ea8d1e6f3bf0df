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


def _float_images(sample):
    if isinstance(sample, tuple):
        return (sample[0].to(torch.float32), *sample[1:])
    return sample.to(torch.float32)


def _tf_images(tf, images, labels, label_mode, shuffle, seed, shuffle_buffer_size):
    """Keras' `format="tf"` pipeline for the files of `images` (an `ImageDataset`, whose
    settings it reads): decoded and resized by tf.image, labels encoded by tf."""
    height, width = images._image_size
    channels = len(images._mode)
    method = images._interpolation

    def load(path):
        image = tf.image.decode_image(tf.io.read_file(path), channels=channels,
                                      expand_animations=False)
        if images._crop:
            image = _crop_to_aspect_ratio(tf, image, height, width)
        if images._pad:
            image = tf.image.resize_with_pad(image, height, width, method=method)
        else:
            image = tf.image.resize(image, (height, width), method=method)
        if images._data_format == "channels_first":
            image = tf.transpose(image, (2, 0, 1))
            image.set_shape((channels, height, width))
        else:
            image.set_shape((height, width, channels))
        return image

    num_classes = len(images.class_names) if images.class_names else 0
    return dataset_utils.tf_files(tf, images.file_paths, labels, label_mode, num_classes,
                                  shuffle, seed, shuffle_buffer_size, load)


def _crop_to_aspect_ratio(tf, image, height, width):
    """The largest centred box of `image` with the aspect ratio `height:width` (as
    `keras.utils.smart_resize` crops)."""
    shape = tf.shape(image)
    rows, cols = shape[0], shape[1]
    crop_rows = tf.minimum(rows, tf.cast(tf.cast(cols * height, "float32") / width, "int32"))
    crop_cols = tf.minimum(cols, tf.cast(tf.cast(rows * width, "float32") / height, "int32"))
    top = tf.cast(tf.cast(rows - crop_rows, "float32") / 2, "int32")
    left = tf.cast(tf.cast(cols - crop_cols, "float32") / 2, "int32")
    return image[top:top + crop_rows, left:left + crop_cols]


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

    Returns:
        With `format=None`, an `ImageDataset` (a `PyDataset` and a torch `Dataset` of
        batches: pass it to `fit`, or to `DataLoader(ds, batch_size=None)`); reading
        needs Pillow. With `format="tf"` (TensorFlow installed) a `tf.data.Dataset`, with
        `format="grain"` (Grain installed) a `grain.IterDataset`, as Keras returns them
        (`fit` reads both). Each has `class_names` and `file_paths`.
    """
    library = dataset_utils.check_format_arg(format)
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
    if pad_to_aspect_ratio and crop_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio`, `crop_to_aspect_ratio` can be "
                         "set to `True`.")
    if format != "tf":
        if interpolation in ("gaussian", "mitchellcubic"):
            raise NotImplementedError(f"interpolation={interpolation!r} is a tf.image-only "
                                      'resampling filter: it needs format="tf".')
        image_utils._pil("image_dataset_from_directory")
    data_format = config.standardize_data_format(data_format)

    def build(paths, part_labels, names, shuffled, seed):
        images = ImageDataset(paths, part_labels, names, label_mode, color_mode, image_size,
                              interpolation, crop_to_aspect_ratio, pad_to_aspect_ratio,
                              data_format, None if format else batch_size, shuffled, seed)
        if format is None:
            return images
        if format == "tf":
            ds = dataset_utils.tf_finish(library, _tf_images(
                library, images, part_labels, label_mode, shuffled, seed,
                batch_size * 8 if batch_size is not None else 1024), batch_size)
        else:
            # NOTE: Keras' Grain images are float32 whatever the interpolation.
            samples = library.MapDataset.source(images).map(_float_images)
            ds = dataset_utils.grain_finish(samples, shuffled, seed, batch_size)
        ds.class_names, ds.file_paths = names, images.file_paths
        return ds

    return dataset_utils.directory_datasets(
        build, directory, labels, label_mode, class_names, ALLOWLIST_FORMATS, "images",
        shuffle, seed, validation_split, subset, follow_links, verbose)
