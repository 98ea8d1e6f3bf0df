"""`lamina.preprocessing`: Keras 3's `keras.preprocessing` namespace.

The dataset utilities (also in `lamina.utils`) and the `image` and `sequence`
submodules. Names load on first access.
"""

import importlib

from lamina.preprocessing import image as image
from lamina.preprocessing import sequence as sequence

_LAZY = {
    "image_dataset_from_directory": "lamina.utils.image_dataset_utils",
    "text_dataset_from_directory": "lamina.utils.text_dataset_utils",
    "timeseries_dataset_from_array": "lamina.utils.timeseries_dataset_utils",
}


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina.preprocessing' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY})
