"""Quantization configs: which mode `quantize` applies and with which quantizers."""

from lamina.dtype_policies import QUANTIZATION_MODES, DTypePolicyMap, Int4DTypePolicy
from lamina.quantizers.quantizers import AbsMaxQuantizer
from lamina.serialization.serialization import (
    deserialize_keras_object,
    serialize_keras_object,
)


class QuantizationConfig:
    """Base of the per-mode configs: a `weight_quantizer` and an `activation_quantizer`
    (None: the mode's default)."""

    _keras_module = "keras.quantizers"

    def __init__(self, weight_quantizer=None, activation_quantizer=None):
        self.weight_quantizer = weight_quantizer
        self.activation_quantizer = activation_quantizer

    @property
    def mode(self):
        raise NotImplementedError("Subclasses must implement this property. Do not "
                                  "instantiate QuantizationConfig directly.")

    def get_config(self):
        return {"weight_quantizer": serialize_keras_object(self.weight_quantizer),
                "activation_quantizer": serialize_keras_object(self.activation_quantizer)}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")))

    @staticmethod
    def weight_quantizer_or_default(config, default):
        if config is not None and config.weight_quantizer is not None:
            return config.weight_quantizer
        return default

    @staticmethod
    def activation_quantizer_or_default(config, default):
        return config.activation_quantizer if config is not None else default


def _quantizer(config):
    from lamina.quantizers import ALL_OBJECTS  # cycle: the package imports this module

    return deserialize_keras_object(config, module_objects=ALL_OBJECTS)


class Int8QuantizationConfig(QuantizationConfig):
    """int8 weights (abs-max per output channel) and, by default, int8 inputs quantized
    per row at call time.

    >>> Int8QuantizationConfig().mode
    'int8'
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default"):
        if activation_quantizer == "default":
            activation_quantizer = AbsMaxQuantizer()
        super().__init__(weight_quantizer, activation_quantizer)
        if weight_quantizer is not None and weight_quantizer.output_dtype != "int8":
            raise ValueError("Int8QuantizationConfig requires a weight_quantizer with "
                             "output_dtype='int8'. Received: "
                             f"output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int8"


class Int4QuantizationConfig(QuantizationConfig):
    """int4 weights, two per byte. `block_size` > 0: asymmetric groups of that many input
    rows (with zero points); None or -1: one symmetric scale per output channel.

    >>> Int4QuantizationConfig(block_size=64).block_size
    64
    """

    def __init__(self, weight_quantizer=None, activation_quantizer="default", block_size=128):
        if activation_quantizer == "default":
            activation_quantizer = None
        super().__init__(weight_quantizer, activation_quantizer)
        if block_size is not None and block_size != -1 and block_size <= 0:
            raise ValueError("block_size must be None, -1, or a positive integer. "
                             f"Received: block_size={block_size}")
        self.block_size = block_size
        if block_size is not None and block_size > 0 and (
                weight_quantizer is not None or self.activation_quantizer is not None):
            raise ValueError("Int4 sub-channel quantization (block_size > 0) does not support "
                             "custom quantizers. Set block_size to None or -1 for per-channel "
                             "quantization, or remove the custom quantizer arguments. "
                             f"Received: block_size={block_size}")
        if weight_quantizer is not None:
            if tuple(weight_quantizer.value_range) != (-8, 7):
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with "
                                 "value_range=(-8, 7). Received: "
                                 f"value_range={weight_quantizer.value_range}")
            if weight_quantizer.output_dtype != "int8":
                raise ValueError("Int4QuantizationConfig requires a weight_quantizer with "
                                 "output_dtype='int8'. Received: "
                                 f"output_dtype={weight_quantizer.output_dtype}")

    @property
    def mode(self):
        return "int4"

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}

    @classmethod
    def from_config(cls, config):
        return cls(weight_quantizer=_quantizer(config.get("weight_quantizer")),
                   activation_quantizer=_quantizer(config.get("activation_quantizer")),
                   block_size=config.get("block_size"))


class Float8QuantizationConfig(QuantizationConfig):
    """float8 (e4m3 forward, e5m2 gradients) with delayed scaling.

    >>> Float8QuantizationConfig().mode
    'float8'
    """

    def __init__(self):
        super().__init__(None, None)

    @property
    def mode(self):
        return "float8"

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls()


class _Unsupported(QuantizationConfig):
    """A calibration-based config lamina does not run (GPTQ, AWQ)."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError(
            f"lamina does not implement {type(self).__name__} ({self._mode} quantization needs "
            "calibration data). Supported: model.quantize('int8' | 'int4' | 'float8') or "
            "Int8QuantizationConfig / Int4QuantizationConfig / Float8QuantizationConfig.")


class GPTQConfig(_Unsupported):
    """Keras' GPTQ config: not implemented in lamina (raises NotImplementedError)."""

    _mode = "gptq"


class AWQConfig(_Unsupported):
    """Keras' AWQ config: not implemented in lamina (raises NotImplementedError)."""

    _mode = "awq"


_DEFAULTS = {"int8": Int8QuantizationConfig, "int4": Int4QuantizationConfig,
             "float8": Float8QuantizationConfig}


def validate_and_resolve_config(mode, config):
    """The `QuantizationConfig` that `quantize(mode, config=config)` applies."""
    if isinstance(config, str):
        mode, config = config, None
    if mode is not None and mode not in QUANTIZATION_MODES:
        raise ValueError(f"Invalid quantization mode. Expected one of {QUANTIZATION_MODES}. "
                         f"Received: mode={mode}")
    if config is None:
        if mode in _DEFAULTS:
            return _DEFAULTS[mode]()
        if mode in ("gptq", "awq"):
            raise NotImplementedError(
                f"lamina does not implement {mode!r} quantization. Supported modes: "
                "'int8', 'int4', 'float8'.")
        raise ValueError("You must provide either `mode` or `config` to `quantize`.")
    if not isinstance(config, QuantizationConfig):
        raise ValueError("Argument `config` must be an instance of `QuantizationConfig`. "
                         f"Received: config={config!r:.80} (of type {type(config).__name__})")
    if mode is not None and config.mode != mode:
        raise ValueError(f"Contradictory arguments: mode='{mode}' but "
                         f"config.mode='{config.mode}'")
    return config


def get_block_size_for_layer(layer, config):
    """The int4 block size of `layer`: from `config`, else its policy (None: per channel)."""
    if isinstance(config, Int4QuantizationConfig):
        return config.block_size
    policy = layer.dtype_policy
    if isinstance(policy, DTypePolicyMap):
        policy = policy[layer.path]
    if isinstance(policy, Int4DTypePolicy):
        return None if policy.block_size == -1 else policy.block_size
    return None
