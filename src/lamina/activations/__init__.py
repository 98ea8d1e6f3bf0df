"""lamina.activations: Keras' activation functions, plus `get`/`serialize`/`deserialize`."""

from lamina.activations.activations import celu as celu
from lamina.activations.activations import elu as elu
from lamina.activations.activations import exponential as exponential
from lamina.activations.activations import gelu as gelu
from lamina.activations.activations import glu as glu
from lamina.activations.activations import hard_shrink as hard_shrink
from lamina.activations.activations import hard_sigmoid as hard_sigmoid
from lamina.activations.activations import hard_silu as hard_silu
from lamina.activations.activations import hard_swish as hard_swish
from lamina.activations.activations import hard_tanh as hard_tanh
from lamina.activations.activations import leaky_relu as leaky_relu
from lamina.activations.activations import linear as linear
from lamina.activations.activations import log_sigmoid as log_sigmoid
from lamina.activations.activations import log_softmax as log_softmax
from lamina.activations.activations import mish as mish
from lamina.activations.activations import relu as relu
from lamina.activations.activations import relu6 as relu6
from lamina.activations.activations import selu as selu
from lamina.activations.activations import sigmoid as sigmoid
from lamina.activations.activations import silu as silu
from lamina.activations.activations import soft_shrink as soft_shrink
from lamina.activations.activations import softmax as softmax
from lamina.activations.activations import softplus as softplus
from lamina.activations.activations import softsign as softsign
from lamina.activations.activations import sparse_plus as sparse_plus
from lamina.activations.activations import sparse_sigmoid as sparse_sigmoid
from lamina.activations.activations import sparsemax as sparsemax
from lamina.activations.activations import squareplus as squareplus
from lamina.activations.activations import swish as swish
from lamina.activations.activations import tanh as tanh
from lamina.activations.activations import tanh_shrink as tanh_shrink
from lamina.activations.activations import threshold as threshold
from lamina.serialization import serialization as _serialization

# Canonical functions first: an alias (`swish`) serializes as its canonical name (`silu`).
_FUNCTIONS = (
    celu, elu, exponential, gelu, glu, hard_shrink, hard_sigmoid, hard_silu, hard_tanh,
    leaky_relu, linear, log_sigmoid, log_softmax, mish, relu, relu6, selu, sigmoid, silu,
    soft_shrink, softmax, softplus, softsign, sparse_plus, sparse_sigmoid, sparsemax,
    squareplus, tanh, tanh_shrink, threshold,
)
ALL_OBJECTS_DICT = {fn.__name__: fn for fn in _FUNCTIONS}
ALL_OBJECTS_DICT.update(swish=swish, hard_swish=hard_swish)
_NAMES = {fn: fn.__name__ for fn in _FUNCTIONS}


def serialize(activation):
    """The config of an activation: its name for built-ins (`"relu"`, as Keras' layer
    configs write it), a config dict for registered functions and objects.

    >>> import lamina
    >>> lamina.activations.serialize(lamina.activations.swish)
    'silu'
    """
    name = _NAMES.get(activation)
    if name is not None:
        return name
    if not callable(activation):
        raise TypeError(
            "serialize() expects an activation function or callable object. "
            f"Received: {activation!r} of type {type(activation).__name__}"
        )
    return _serialization.serialize_keras_object(activation)


def deserialize(config, custom_objects=None):
    """The activation function for a name or config written by `serialize`."""
    if isinstance(config, str):
        return get(config) if custom_objects is None else _lookup(config, custom_objects)
    return _serialization.deserialize_keras_object(
        config, custom_objects, module_objects=ALL_OBJECTS_DICT
    )


def _lookup(name, custom_objects=None):
    return _serialization.get_from_identifier(
        name, "activation function", ALL_OBJECTS_DICT, custom_objects
    )


def get(identifier):
    """Resolve an activation: a name, a config dict, a callable, or None (`linear`).

    >>> import lamina
    >>> lamina.activations.get("relu") is lamina.activations.relu
    True
    >>> lamina.activations.get(None) is lamina.activations.linear
    True
    """
    if identifier is None:
        return linear
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        return _lookup(identifier)
    if callable(identifier):
        return identifier
    raise ValueError(
        "Could not interpret activation function identifier: expected a name, a config "
        f"dict, a callable or None. Received: {identifier!r}"
    )
