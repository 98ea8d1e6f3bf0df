"""Global settings Keras code reads: float type, fuzz factor, image layout, device.

They are process-wide module globals, read where they are used: layers read them when
built, while ops read `floatx()` (and losses `epsilon()`) on every call, so a change
applies to whatever is built or called next.
"""

import contextlib
import os

import torch

_FLOATX = "float32"
_EPSILON = 1e-7
_IMAGE_DATA_FORMAT = "channels_last"
_DEVICE = None  # resolved lazily: CUDA when available, else CPU
_VALID_FLOATX = ("float16", "bfloat16", "float32", "float64")


def backend():
    """Name of the engine underneath: always `"torch"`."""
    return "torch"


def floatx():
    """Default float dtype name, `"float32"` unless changed with `set_floatx`."""
    return _FLOATX


def set_floatx(value):
    """Set the default float dtype name (`"float16"`, `"bfloat16"`, `"float32"`, `"float64"`)."""
    global _FLOATX
    value = str(value)
    if value not in _VALID_FLOATX:
        raise ValueError(f"Unknown floatx type: {value!r}. Expected one of {_VALID_FLOATX}.")
    _FLOATX = value


def epsilon():
    """The fuzz factor used in numeric expressions (default 1e-7)."""
    return _EPSILON


def set_epsilon(value):
    """Set the fuzz factor used in numeric expressions."""
    global _EPSILON
    _EPSILON = float(value)


def image_data_format():
    """`"channels_last"` (the Keras default) or `"channels_first"`."""
    return _IMAGE_DATA_FORMAT


def set_image_data_format(data_format):
    """Set the default image layout: `"channels_last"` or `"channels_first"`."""
    global _IMAGE_DATA_FORMAT
    _IMAGE_DATA_FORMAT = _checked_data_format(data_format)


def standardize_data_format(data_format):
    """Return `data_format`, or the global default when it is None, validated."""
    if data_format is None:
        return _IMAGE_DATA_FORMAT
    return _checked_data_format(data_format)


def _checked_data_format(data_format):
    value = str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError(
            "`data_format` must be 'channels_first' or 'channels_last'. "
            f"Received: data_format={data_format!r}"
        )
    return value


def get_device():
    """The torch device new tensors and weights go to (CUDA when available, else CPU)."""
    global _DEVICE
    if _DEVICE is None:
        name = os.environ.get("LAMINA_DEVICE")
        if name is None:
            name = "cuda" if torch.cuda.is_available() else "cpu"
        _DEVICE = torch.device(name)
    return _DEVICE


def set_device(device):
    """Choose the device for new tensors and weights, e.g. `"cpu"` or `"cuda:1"`."""
    global _DEVICE
    _DEVICE = None if device is None else torch.device(device)


def _parse_device_name(device_name):
    if isinstance(device_name, torch.device):
        return device_name
    if not isinstance(device_name, str):
        raise ValueError(
            "Invalid value for argument `device_name`: expected a string like 'gpu:0' or "
            f"'cpu'. Received: device_name={device_name!r}"
        )
    # NOTE: Keras names accelerators "gpu"; torch calls them "cuda".
    return torch.device(device_name.lower().replace("gpu", "cuda"))


@contextlib.contextmanager
def device(device_name):
    """Within the block, new tensors and weights go to `device_name` (`"cpu"`, `"gpu:0"`,
    `"cuda:1"`...); the previous device is restored on exit.

    >>> import lamina
    >>> with lamina.device("cpu"):
    ...     lamina.ops.ones((2,)).device.type
    'cpu'
    """
    global _DEVICE
    target = _parse_device_name(device_name)
    previous = _DEVICE
    _DEVICE = target
    try:
        yield target
    finally:
        _DEVICE = previous
