"""`lamina.dtype_policies`: which dtype a layer computes in and stores its weights in, and
how a quantized layer holds its weights."""

from lamina.dtype_policies import dtype_policy as _state
from lamina.dtype_policies.dtype_policy import QUANTIZATION_MODES as QUANTIZATION_MODES
from lamina.dtype_policies.dtype_policy import AWQDTypePolicy as AWQDTypePolicy
from lamina.dtype_policies.dtype_policy import DTypePolicy as DTypePolicy
from lamina.dtype_policies.dtype_policy import FloatDTypePolicy as FloatDTypePolicy
from lamina.dtype_policies.dtype_policy import GPTQDTypePolicy as GPTQDTypePolicy
from lamina.dtype_policies.dtype_policy import Int4DTypePolicy as Int4DTypePolicy
from lamina.dtype_policies.dtype_policy import QuantizedDTypePolicy as QuantizedDTypePolicy
from lamina.dtype_policies.dtype_policy import (
    QuantizedFloat8DTypePolicy as QuantizedFloat8DTypePolicy,
)
from lamina.dtype_policies.dtype_policy import dtype_policy as dtype_policy
from lamina.dtype_policies.dtype_policy import quantized_policy_from_name
from lamina.dtype_policies.dtype_policy_map import DTypePolicyMap as DTypePolicyMap
from lamina.serialization.serialization import (
    deserialize_keras_object,
    serialize_keras_object,
)

ALL_OBJECTS = {cls.__name__: cls for cls in (
    DTypePolicy, FloatDTypePolicy, QuantizedDTypePolicy, QuantizedFloat8DTypePolicy,
    Int4DTypePolicy, GPTQDTypePolicy, AWQDTypePolicy, DTypePolicyMap)}


def get(identifier):
    """A policy from a name (`"mixed_bfloat16"`, `"int8_from_float32"`), a config dict, a
    policy, or None (the global policy).

    >>> get("int4/128_from_float32").block_size
    128
    """
    if identifier is None:
        return dtype_policy()
    if isinstance(identifier, DTypePolicy):
        return identifier
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        if identifier.startswith(QUANTIZATION_MODES):
            return quantized_policy_from_name(identifier)
        return DTypePolicy(identifier)
    try:
        return DTypePolicy(_standardize(identifier))
    except (TypeError, ValueError):
        raise ValueError("Cannot interpret `dtype` argument. Expected a string or an "
                         f"instance of DTypePolicy. Received: dtype={identifier!r:.80}") from None


def _standardize(dtype):
    from lamina.backend.dtypes import standardize_dtype

    return standardize_dtype(dtype)


def serialize(policy):
    """Keras' config of `policy` (`{"module", "class_name", "config", ...}`)."""
    return serialize_keras_object(policy)


def deserialize(config, custom_objects=None):
    """The policy `config` describes (a `serialize` output, or `{"name": ...}`)."""
    if isinstance(config, dict) and "class_name" not in config:
        return DTypePolicy.from_config(config)
    if isinstance(config, dict) and config.get("class_name") in ("DTypePolicy",
                                                                 "FloatDTypePolicy"):
        inner = config.get("config")
        return DTypePolicy.from_config(inner if isinstance(inner, dict) else {"name": inner})
    return deserialize_keras_object(config, custom_objects, module_objects=ALL_OBJECTS)


def set_dtype_policy(policy):
    """Set the global policy used by layers created without a `dtype` (None: floatx).

    >>> set_dtype_policy("mixed_bfloat16"); dtype_policy().compute_dtype
    'bfloat16'
    >>> set_dtype_policy(None)
    """
    _state._GLOBAL_POLICY = get(policy) if policy is not None else None
