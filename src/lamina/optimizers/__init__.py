"""lamina.optimizers: Keras 3's optimizers on torch's multi-tensor kernels."""

import difflib

from lamina.optimizers import legacy, schedules
from lamina.optimizers.adadelta import Adadelta
from lamina.optimizers.adafactor import Adafactor
from lamina.optimizers.adagrad import Adagrad
from lamina.optimizers.adam import Adam
from lamina.optimizers.adamax import Adamax
from lamina.optimizers.adamw import AdamW
from lamina.optimizers.ftrl import Ftrl
from lamina.optimizers.lamb import Lamb
from lamina.optimizers.lion import Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer, OptimizerMap
from lamina.optimizers.muon import Muon
from lamina.optimizers.nadam import Nadam
from lamina.optimizers.optimizer import Optimizer
from lamina.optimizers.rmsprop import RMSprop
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD
from lamina.serialization import serialization

ALL_OBJECTS = (
    Optimizer, Adadelta, Adafactor, Adagrad, Adam, Adamax, AdamW, Ftrl, Lamb, Lion,
    LossScaleOptimizer, MultiOptimizer, Muon, Nadam, RMSprop, ScheduleFreeAdamW, SGD,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in ALL_OBJECTS}
ALL_OBJECTS_DICT.update({cls.__name__.lower(): cls for cls in ALL_OBJECTS})
ALL_OBJECTS_DICT["OptimizerMap"] = OptimizerMap  # rebuilt inside a MultiOptimizer's config


def serialize(optimizer):
    """The optimizer's Keras config dict (`module`, `class_name`, `config`...)."""
    return serialization.serialize_keras_object(optimizer)


def deserialize(config, custom_objects=None):
    """Rebuild an optimizer from `serialize()`'s output (class names are case-insensitive)."""
    name = config.get("class_name", "") if isinstance(config, dict) else ""
    if name not in ALL_OBJECTS_DICT and name.lower() in ALL_OBJECTS_DICT:
        config = {**config, "class_name": name.lower(), "registered_name": None}
    return serialization.deserialize_keras_object(
        config, custom_objects=custom_objects, module_objects=ALL_OBJECTS_DICT
    )


def get(identifier):
    """An optimizer from an instance, a config dict or a name (`"adam"`, `"sgd"`, ...).

    >>> import lamina
    >>> lamina.optimizers.get("adam").learning_rate.numpy().round(4)
    np.float32(0.001)
    """
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS_DICT.get(identifier) or ALL_OBJECTS_DICT.get(identifier.lower())
        if cls in (LossScaleOptimizer, MultiOptimizer):
            raise ValueError(
                f"Could not interpret optimizer identifier: {identifier!r}. A "
                + ("LossScaleOptimizer wraps another optimizer: create it with "
                   "`LossScaleOptimizer(inner_optimizer)`." if cls is LossScaleOptimizer else
                   "MultiOptimizer wraps other optimizers: create it with "
                   "`MultiOptimizer(OptimizerMap(...))`.")
            )
        if cls is not None and cls is not Optimizer:
            return deserialize({"class_name": identifier, "config": {}})
        names = [n for n in ALL_OBJECTS_DICT if n.islower() and n not in (
            "optimizer", "lossscaleoptimizer", "multioptimizer")]
        matches = difflib.get_close_matches(identifier.lower(), names, n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(repr(m) for m in matches)}?" if matches else ""
        raise ValueError(f"Could not interpret optimizer identifier: {identifier!r}.{hint}")
    raise ValueError(
        f"Could not interpret optimizer identifier: {identifier!r}. Expected an Optimizer, "
        "a config dict or a name such as 'adam'."
    )


__all__ = [
    "Adadelta", "Adafactor", "Adagrad", "Adam", "Adamax", "AdamW", "Ftrl", "Lamb", "Lion",
    "LossScaleOptimizer", "MultiOptimizer", "Muon", "Nadam", "Optimizer", "OptimizerMap",
    "RMSprop", "ScheduleFreeAdamW", "SGD",
    "deserialize", "get",
    "legacy", "schedules", "serialize",
]
