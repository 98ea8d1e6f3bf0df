"""`lamina.backend`: settings and helpers that Keras code reads from `keras.backend`."""

import gc

import torch

from lamina.backend import naming
from lamina.backend.config import backend as backend
from lamina.backend.config import epsilon as epsilon
from lamina.backend.config import floatx as floatx
from lamina.backend.config import get_device as get_device
from lamina.backend.config import image_data_format as image_data_format
from lamina.backend.config import set_device as set_device
from lamina.backend.config import set_epsilon as set_epsilon
from lamina.backend.config import set_floatx as set_floatx
from lamina.backend.config import set_image_data_format as set_image_data_format
from lamina.backend.config import standardize_data_format as standardize_data_format
from lamina.backend.convert import convert_to_numpy as convert_to_numpy
from lamina.backend.convert import convert_to_tensor as convert_to_tensor
from lamina.backend.dtypes import is_float_dtype as is_float_dtype
from lamina.backend.dtypes import is_int_dtype as is_int_dtype
from lamina.backend.dtypes import result_type as result_type
from lamina.backend.dtypes import standardize_dtype as standardize_dtype
from lamina.backend.naming import get_uid as get_uid
from lamina.backend.symbolic import KerasTensor as KerasTensor
from lamina.backend.symbolic import is_keras_tensor as is_keras_tensor


def clear_session(free_memory=True):
    """Reset automatic layer names (`dense`, `dense_1`, ...) and free cached memory."""
    naming.reset_uids()
    if free_memory:
        gc.collect()


def is_tensor(x):
    """Whether `x` is a torch tensor (what Keras calls a backend tensor)."""
    return isinstance(x, torch.Tensor)
