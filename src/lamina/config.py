"""`lamina.config`: global settings, as `keras.config`."""

import os
import warnings

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


# Process-wide switches. `KERAS_MAX_EPOCHS`/`KERAS_MAX_STEPS_PER_EPOCH` are read once at
# import, as Keras does, so a script can be capped without editing it.
_SETTINGS = {
    "flash_attention": None,  # None: used where the inputs allow; False: never
    "traceback_filtering": True,
    "max_epochs": int(os.environ["KERAS_MAX_EPOCHS"]) if "KERAS_MAX_EPOCHS" in os.environ
    else None,
    "max_steps_per_epoch": int(os.environ["KERAS_MAX_STEPS_PER_EPOCH"])
    if "KERAS_MAX_STEPS_PER_EPOCH" in os.environ else None,
}


def enable_flash_attention():
    """Let attention layers use a fused (flash) kernel when their inputs allow it (default)."""
    _SETTINGS["flash_attention"] = None


def disable_flash_attention():
    """Make attention layers built from now on compute attention explicitly, never fused."""
    _SETTINGS["flash_attention"] = False


def is_flash_attention_enabled():
    """`False` when disabled; otherwise `None` (used where the inputs allow), as Keras."""
    return _SETTINGS["flash_attention"]


def enable_traceback_filtering():
    """Turn traceback filtering on (the default).

    lamina raises from plain Python and torch frames, so there is nothing to filter;
    the switch is kept so Keras code that sets it runs unchanged.
    """
    _SETTINGS["traceback_filtering"] = True


def disable_traceback_filtering():
    """Turn traceback filtering off (lamina's tracebacks are never filtered)."""
    _SETTINGS["traceback_filtering"] = False


def is_traceback_filtering_enabled():
    """Whether traceback filtering is on (`True` by default)."""
    return _SETTINGS["traceback_filtering"]


def set_max_epochs(max_epochs):
    """Cap the epochs of every `fit` call at `max_epochs` (None: no cap); for debugging.

    >>> set_max_epochs(2); max_epochs()
    2
    >>> set_max_epochs(None)
    """
    _SETTINGS["max_epochs"] = max_epochs


def max_epochs():
    """The epoch cap set by `set_max_epochs` or `KERAS_MAX_EPOCHS`, or None."""
    return _SETTINGS["max_epochs"]


def set_max_steps_per_epoch(max_steps_per_epoch):
    """Cap the steps of each epoch of `fit`, `evaluate` and `predict` (None: no cap)."""
    _SETTINGS["max_steps_per_epoch"] = max_steps_per_epoch


def max_steps_per_epoch():
    """The step cap set by `set_max_steps_per_epoch` or `KERAS_MAX_STEPS_PER_EPOCH`, or None."""
    return _SETTINGS["max_steps_per_epoch"]


def capped_epochs(epochs):
    """`epochs`, lowered to `max_epochs()` (with Keras' warning) when that is smaller."""
    cap = _SETTINGS["max_epochs"]
    if cap and cap < epochs:
        warnings.warn(f"Limiting epochs to {cap}", stacklevel=3)
        return cap
    return epochs


def capped_steps(steps_per_epoch):
    """`steps_per_epoch`, lowered to `max_steps_per_epoch()` (with Keras' warning)."""
    cap = _SETTINGS["max_steps_per_epoch"]
    if cap and (not steps_per_epoch or cap < steps_per_epoch):
        warnings.warn(f"Limiting steps_per_epoch to {cap}", stacklevel=3)
        return cap
    return steps_per_epoch


def is_nnx_enabled():
    """Whether Flax NNX features are on: always `False` (they belong to Keras' JAX backend)."""
    return False


def set_backend(backend):
    """Keras' backend switch; lamina runs on torch only.

    `"torch"` is accepted and changes nothing; any other name raises `ValueError`
    saying to install `keras` itself for that backend.
    """
    if backend != "torch":
        raise ValueError(
            f"lamina runs on PyTorch only and cannot switch to backend={backend!r}. "
            "For the JAX, TensorFlow, NumPy or OpenVINO backends use Keras itself "
            "(`pip install keras`, `KERAS_BACKEND=...`); lamina reads and writes the same "
            ".keras files."
        )


def dtype_policy():
    """The global dtype policy (`floatx()` unless set with `set_dtype_policy`)."""
    # NOTE: imported here: keras.config re-exports the policy functions, and the policies
    # sit above config (they are built on serialization).
    from lamina import dtype_policies

    return dtype_policies.dtype_policy()


def set_dtype_policy(policy):
    """Set the global dtype policy (`"mixed_bfloat16"`, a `DTypePolicy`...; None: floatx)."""
    from lamina import dtype_policies  # above config, as in `dtype_policy`

    dtype_policies.set_dtype_policy(policy)
