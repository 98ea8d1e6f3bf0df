"""`lamina.quantizers`: Keras' quantizers, quantization configs and the arithmetic behind
`model.quantize("int8" | "int4" | "float8")`."""

from lamina.quantizers.quantization_config import AWQConfig as AWQConfig
from lamina.quantizers.quantization_config import (
    Float8QuantizationConfig as Float8QuantizationConfig,
)
from lamina.quantizers.quantization_config import GPTQConfig as GPTQConfig
from lamina.quantizers.quantization_config import (
    Int4QuantizationConfig as Int4QuantizationConfig,
)
from lamina.quantizers.quantization_config import (
    Int8QuantizationConfig as Int8QuantizationConfig,
)
from lamina.quantizers.quantization_config import QuantizationConfig as QuantizationConfig
from lamina.quantizers.quantizers import AbsMaxQuantizer as AbsMaxQuantizer
from lamina.quantizers.quantizers import Quantizer as Quantizer
from lamina.quantizers.quantizers import abs_max_quantize as abs_max_quantize
from lamina.quantizers.quantizers import (
    abs_max_quantize_grouped_with_zero_point as abs_max_quantize_grouped_with_zero_point,
)
from lamina.quantizers.quantizers import compute_float8_amax_history as compute_float8_amax_history
from lamina.quantizers.quantizers import compute_float8_scale as compute_float8_scale
from lamina.quantizers.quantizers import (
    fake_quant_with_min_max_vars as fake_quant_with_min_max_vars,
)
from lamina.quantizers.quantizers import pack_int4 as pack_int4
from lamina.quantizers.quantizers import quantize_and_dequantize as quantize_and_dequantize
from lamina.quantizers.quantizers import unpack_int4 as unpack_int4
from lamina.serialization.serialization import (
    deserialize_keras_object,
    serialize_keras_object,
)

ALL_OBJECTS = {cls.__name__: cls for cls in (
    Quantizer, AbsMaxQuantizer, QuantizationConfig, Int8QuantizationConfig,
    Int4QuantizationConfig, Float8QuantizationConfig)}


def serialize(initializer):
    """Keras' config of a quantizer."""
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    """The quantizer `config` describes."""
    return deserialize_keras_object(config, custom_objects, module_objects=ALL_OBJECTS)


def get(identifier, **kwargs):
    """A quantizer from a config dict, a class name, or a quantizer (None stays None)."""
    if identifier is None:
        return None
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if isinstance(identifier, str):
        cls = ALL_OBJECTS.get(identifier)
        if cls is None:
            raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")
        return cls(**kwargs)
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret quantizer identifier: {identifier!r}")
