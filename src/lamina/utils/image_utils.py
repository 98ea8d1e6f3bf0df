"""Images as files, PIL images and arrays: `load_img`, `img_to_array`, `array_to_img`,
`save_img`, `smart_resize`.

Pillow is optional (`pip install "lamina[image]"` or `pip install pillow`); these
functions say so when it is missing.
"""

import io
import pathlib
import warnings

import numpy as np

from lamina import ops
from lamina.backend import config

try:
    from PIL import Image as _pil_image
except ImportError:  # NOTE: optional dependency; `_pil()` explains how to install it.
    _pil_image = None


def _pil(caller):
    if _pil_image is None:
        raise ImportError(f"`{caller}` needs Pillow, which is not installed. Install it "
                          'with `pip install "lamina[image]"` (or `pip install pillow`).')
    return _pil_image


def _resampling(name):
    pil = _pil("load_img")
    methods = {"nearest": pil.Resampling.NEAREST, "bilinear": pil.Resampling.BILINEAR,
               "bicubic": pil.Resampling.BICUBIC, "hamming": pil.Resampling.HAMMING,
               "box": pil.Resampling.BOX, "lanczos": pil.Resampling.LANCZOS}
    if name not in methods:
        raise ValueError(f"Invalid interpolation method {name} specified. Supported "
                         f"methods are {', '.join(methods)}")
    return methods[name]


def array_to_img(x, data_format=None, scale=True, dtype=None):
    """A PIL image from a `(height, width, channels)` array (1, 3 or 4 channels).

    With `scale`, values are shifted and scaled to span 0..255 first.

    >>> array_to_img(np.zeros((2, 3, 3))).size
    (3, 2)
    """
    pil = _pil("array_to_img")
    data_format = config.standardize_data_format(data_format)
    x = np.asarray(x, dtype=dtype or config.floatx())
    if x.ndim != 3:
        raise ValueError("Expected image array to have rank 3 (single image). Got array "
                         f"with shape: {x.shape}")
    if data_format == "channels_first":
        x = x.transpose(1, 2, 0)
    if scale:
        x = x - np.min(x)
        peak = np.max(x)
        if peak != 0:
            x /= peak
        x *= 255
    channels = x.shape[2]
    if channels in (3, 4):
        return pil.fromarray(x.astype("uint8"), "RGB" if channels == 3 else "RGBA")
    if channels == 1:
        if np.max(x) > 255:
            return pil.fromarray(x[:, :, 0].astype("int32"), "I")
        return pil.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ValueError(f"Unsupported channel number: {channels}")


def img_to_array(img, data_format=None, dtype=None):
    """A PIL image (or anything `np.asarray` takes) as a 3D float array.

    >>> img_to_array(np.zeros((2, 3))).shape
    (2, 3, 1)
    """
    data_format = config.standardize_data_format(data_format)
    x = np.asarray(img, dtype=dtype or config.floatx())
    if x.ndim == 3:
        return x.transpose(2, 0, 1) if data_format == "channels_first" else x
    if x.ndim == 2:
        return x[None] if data_format == "channels_first" else x[:, :, None]
    raise ValueError(f"Unsupported image shape: {x.shape}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save an image array to `path` (format from the suffix unless `file_format`)."""
    data_format = config.standardize_data_format(data_format)
    if file_format is None and isinstance(path, (str, pathlib.Path)):
        file_format = pathlib.Path(path).suffix[1:].lower()
    if file_format and file_format.lower() == "jpg":
        file_format = "jpeg"
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and file_format == "jpeg":
        warnings.warn("The JPEG format does not support RGBA images, converting to RGB.",
                      stacklevel=2)
        img = img.convert("RGB")
    img.save(path, format=file_format, **kwargs)


def load_img(path, color_mode="rgb", target_size=None, interpolation="nearest",
             keep_aspect_ratio=False):
    """Load an image file as a PIL image, converted to `color_mode` and resized.

    Args:
        path: a path or a `BytesIO`.
        color_mode: `"grayscale"`, `"rgb"` or `"rgba"`.
        target_size: `(height, width)`, or None for the file's size.
        interpolation: PIL resampling: `"nearest"`, `"bilinear"`, `"bicubic"`,
            `"hamming"`, `"box"` or `"lanczos"`.
        keep_aspect_ratio: centre-crop to the target's aspect ratio before resizing.
    """
    pil = _pil("load_img")
    if isinstance(path, io.BytesIO):
        source = path
    elif isinstance(path, (pathlib.Path, bytes, str)):
        if isinstance(path, pathlib.Path):
            path = str(path.resolve())
        with open(path, "rb") as f:
            source = io.BytesIO(f.read())
    else:
        raise TypeError(f"path should be path-like or io.BytesIO, not {type(path)}")
    try:
        img = pil.open(source)
    except (OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"Could not read the image file {path!r}: {e}") from e
    if color_mode == "grayscale":
        if img.mode not in ("L", "I;16", "I"):
            img = img.convert("L")
    elif color_mode in ("rgb", "rgba"):
        if img.mode != color_mode.upper():
            img = img.convert(color_mode.upper())
    else:
        raise ValueError('color_mode must be "grayscale", "rgb", or "rgba"')
    if target_size is None:
        return img
    size = (target_size[1], target_size[0])
    if img.size == size:
        return img
    resample = _resampling(interpolation)
    if not keep_aspect_ratio:
        return img.resize(size, resample)
    width, height = img.size
    crop_h = min(height, (width * size[1]) // size[0])
    crop_w = min(width, (height * size[0]) // size[1])
    top, left = (height - crop_h) // 2, (width - crop_w) // 2
    return img.resize(size, resample, box=[left, top, left + crop_w, top + crop_h])


def smart_resize(x, size, interpolation="bilinear", data_format="channels_last"):
    """Resize an image (or batch) to `size` without distortion: centre-crop to the
    target aspect ratio, then resize. Returns a tensor.

    >>> tuple(smart_resize(np.zeros((4, 8, 3)), (2, 2)).shape)
    (2, 2, 3)
    """
    if len(size) != 2:
        raise ValueError(f"Expected `size` to be a tuple of 2 integers, but got: {size}.")
    x = ops.convert_to_tensor(x)
    if not 3 <= x.ndim <= 4:
        raise ValueError("Expected an image array with shape `(height, width, channels)`, "
                         "or `(batch_size, height, width, channels)`, but got input with "
                         f"incorrect rank, of shape {tuple(x.shape)}.")
    return ops.image.resize(x, size, interpolation=interpolation, crop_to_aspect_ratio=True,
                            data_format=data_format)
