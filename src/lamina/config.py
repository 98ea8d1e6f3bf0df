"""`lamina.config`: global settings, as `keras.config`."""

from lamina.backend.config import backend as backend
from lamina.backend.config import epsilon as epsilon
from lamina.backend.config import floatx as floatx
from lamina.backend.config import image_data_format as image_data_format
from lamina.backend.config import set_epsilon as set_epsilon
from lamina.backend.config import set_floatx as set_floatx
from lamina.backend.config import set_image_data_format as set_image_data_format
from lamina.serialization import serialization as _serialization
from lamina.serialization.serialization import max_config_bytes as max_config_bytes
from lamina.serialization.serialization import max_load_bytes as max_load_bytes
from lamina.serialization.serialization import set_max_config_bytes as set_max_config_bytes
from lamina.serialization.serialization import set_max_load_bytes as set_max_load_bytes
from lamina.utils import io_utils


def enable_unsafe_deserialization():
    """Allow loading objects that can run code (e.g. `Lambda` bytecode) everywhere."""
    _serialization.enable_unsafe_deserialization()


def disable_interactive_logging():
    io_utils.set_interactive_logging(False)


def enable_interactive_logging():
    io_utils.set_interactive_logging(True)


def is_interactive_logging_enabled():
    return io_utils.is_interactive_logging_enabled()
