"""ImageNet helpers shared by the applications: input preprocessing, decoding class
scores into labels, and checking an application's input shape.

`decode_predictions` downloads Keras' `imagenet_class_index.json` once through
`lamina.utils.get_file` (into the `models` cache folder, checked against Keras' hash), so
a file Keras cached is reused.
"""

import json

import numpy as np
import torch

from lamina import ops
from lamina.applications import _builder
from lamina.backend import config

CLASS_INDEX_PATH = ("https://storage.googleapis.com/download.tensorflow.org/"
                    "data/imagenet_class_index.json")
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
_class_index = None

# Per-channel statistics of ImageNet: BGR means in [0, 255] for "caffe", RGB mean and
# standard deviation in [0, 1] for "torch".
_CAFFE_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def _channel_shape(ndim, data_format):
    """The broadcast shape of a per-channel vector for an image (batch) of rank `ndim`."""
    if data_format == "channels_last":
        return (1,) * (ndim - 1) + (3,)
    return (3, 1, 1) if ndim == 3 else (1, 3) + (1,) * (ndim - 2)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images with values in [0, 255] the way an ImageNet model expects.

    Args:
        x: a float numpy array or tensor, 3D or 4D, with 3 colour channels. A float numpy
            array is changed in place (pass `np.copy(x)` to keep it).
        data_format: `"channels_last"` or `"channels_first"` (default:
            `image_data_format()`).
        mode: `"caffe"` (RGB to BGR, then subtract ImageNet's channel means), `"tf"`
            (scale to [-1, 1]) or `"torch"` (scale to [0, 1], then normalize each channel
            by ImageNet's mean and standard deviation).

    Returns:
        The preprocessed array or tensor (float32 for integer numpy input).

    >>> preprocess_input(np.full((1, 1, 3), 255.0), mode="tf").tolist()
    [[[1.0, 1.0, 1.0]]]
    """
    if mode not in {"caffe", "tf", "torch"}:
        raise ValueError("Expected mode to be one of `caffe`, `tf` or `torch`. "
                         f"Received: mode={mode}")
    if data_format is None:
        data_format = config.image_data_format()
    elif data_format not in {"channels_first", "channels_last"}:
        raise ValueError("Expected data_format to be one of `channels_first` or "
                         f"`channels_last`. Received: data_format={data_format}")
    is_numpy = isinstance(x, np.ndarray)
    if is_numpy:
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(config.floatx())
    else:
        # NOTE: a tensor is never changed in place (it may be a model's input or need grad).
        x = ops.convert_to_tensor(x)
        if not torch.is_floating_point(x):
            x = x.to(getattr(torch, config.floatx()))
    if mode == "tf":
        if is_numpy:
            x /= 127.5
            x -= 1.0
            return x
        return x / 127.5 - 1.0
    if mode == "torch":
        x = x / 255.0
        mean, std = _TORCH_MEAN, _TORCH_STD
    else:
        channel_axis = -1 if data_format == "channels_last" else (0 if x.ndim == 3 else 1)
        x = np.flip(x, channel_axis) if is_numpy else ops.flip(x, axis=channel_axis)
        mean, std = _CAFFE_MEAN, None
    shape = _channel_shape(len(x.shape), data_format)
    if is_numpy:
        x = x - np.reshape(np.asarray(mean, x.dtype), shape)
        if std is not None:
            x /= np.reshape(np.asarray(std, x.dtype), shape)
        return x
    x = x - ops.reshape(ops.convert_to_tensor(mean, dtype=x.dtype), shape)
    if std is not None:
        x = x / ops.reshape(ops.convert_to_tensor(std, dtype=x.dtype), shape)
    return x


def _load_class_index():
    global _class_index
    if _class_index is None:
        path = _builder.fetch(CLASS_INDEX_PATH, CLASS_INDEX_HASH)
        with open(path, encoding="utf8") as f:
            _class_index = json.load(f)
    return _class_index


def decode_predictions(preds, top=5):
    """Turn a batch of ImageNet class scores into the `top` labels of each sample.

    Args:
        preds: an array of shape `(samples, 1000)`.
        top: how many of the best classes to return per sample.

    Returns:
        One list per sample of `(class_name, class_description, score)` tuples, best
        first.
    """
    if len(preds.shape) != 2 or preds.shape[1] != 1000:
        raise ValueError("`decode_predictions` expects a batch of predictions (i.e. a 2D "
                         "array of shape (samples, 1000)). Received array with shape: "
                         f"{preds.shape}")
    index = _load_class_index()
    results = []
    for pred in ops.convert_to_numpy(preds):
        best = np.argsort(pred, kind="stable")[::-1][:top]
        results.append([(*index[str(i)], pred[i]) for i in best])
    return results


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten,
                       weights=None):
    """An application's input shape: `input_shape` checked, or the default one.

    With `require_flatten` (a classifier on flattened features) the shape must be fully
    known, and with ImageNet weights it must equal the shape the weights were trained on.
    """
    channels_first = data_format == "channels_first"
    channels = 3
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
    size = (default_size, default_size)
    default_shape = (channels, *size) if channels_first else (*size, channels)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default_shape:
            raise ValueError("When setting `include_top=True` and loading `imagenet` "
                             f"weights, `input_shape` should be {default_shape}.  Received: "
                             f"input_shape={input_shape}")
        return default_shape
    if input_shape:
        if len(input_shape) != 3:
            raise ValueError("`input_shape` must be a tuple of three integers.")
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The input must have 3 channels; Received `input_shape="
                             f"{input_shape}`")
        spatial = input_shape[1:] if channels_first else input_shape[:2]
        if any(s is not None and s < min_size for s in spatial):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; Received: "
                             f"input_shape={input_shape}")
        input_shape = tuple(input_shape)
    elif require_flatten:
        input_shape = default_shape
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError("If `include_top` is True, you should specify a static "
                         f"`input_shape`. Received: input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """The zero padding that makes a strided 'valid' convolution of `inputs` centre like
    TensorFlow's 'same' (one less row/column on the top/left for even sizes)."""
    first = 2 if config.image_data_format() == "channels_first" else 1
    size = inputs.shape[first:first + 2]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if size[0] is None else (1 - size[0] % 2, 1 - size[1] % 2)
    return tuple((k // 2 - a, k // 2) for k, a in zip(kernel_size, adjust))


validate_activation = _builder.check_activation
