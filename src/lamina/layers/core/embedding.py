"""`Embedding`: map integer indices to dense vectors."""

import numbers
import warnings

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.backend.convert import tensor_unless_symbolic
from lamina.layers.core import quantized
from lamina.layers.core.dense import load_serialized_weights, save_serialized_weights
from lamina.layers.layer import Layer
from lamina.quantizers import quantizers
from lamina.quantizers.quantization_config import Int4QuantizationConfig, QuantizationConfig

_INDEX_DTYPES = (torch.int32, torch.int64)


class Embedding(Layer):
    """Turns indices into dense vectors: `embeddings[inputs]`.

    Args:
        input_dim: size of the vocabulary (largest index + 1).
        output_dim: size of each embedding vector.
        embeddings_initializer: initializer of the `(input_dim, output_dim)` table.
        embeddings_regularizer, embeddings_constraint, activity_regularizer: optional.
        mask_zero: if True, index 0 is padding: the output carries the mask `inputs != 0`
            (so `input_dim` should count it).
        weights: optional initial table (an array, or a one-element list of it).
        lora_rank, lora_alpha: freeze the table and learn a low-rank update
            `lora_embeddings_a @ lora_embeddings_b`, scaled by `lora_alpha / lora_rank`.
        quantization_config: a `QuantizationConfig` used when the layer is built under a
            quantized dtype policy (`quantize("int8" | "int4")` sets one).

    Integer inputs of any width work; float inputs are truncated to integers.

    >>> import torch
    >>> layer = Embedding(10, 4, mask_zero=True)
    >>> out = layer(torch.tensor([[3, 0, 7]]))
    >>> tuple(out.shape), out._keras_mask.tolist()
    ((1, 3, 4), [[True, False, True]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 **kwargs):
        if kwargs.pop("input_length", None) is not None:
            warnings.warn("Argument `input_length` is deprecated. Just remove it.",
                          stacklevel=2)
        super().__init__(**kwargs)
        for arg, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
                raise ValueError(
                    f"Embedding: argument `{arg}` must be a positive integer. "
                    f"Received: {arg}={value!r}"
                )
        self.quantization_config = quantized.config_argument(quantization_config)
        self._quantized_mode = None
        self.input_dim = int(input_dim)
        self.output_dim = int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        if weights is not None:
            self.build()
            if not (isinstance(weights, list) and len(weights) == 1):
                weights = [weights]
            self.set_weights(weights)

    def build(self, input_shape=None):
        if self.built:
            return
        mode = quantized.quantization_mode(self)
        quantized.check_mode(self, mode, _MODES)
        if mode:
            self._build_int_table(mode, self.quantization_config)
        else:
            self.embeddings = self.add_weight(
                name="embeddings", shape=(self.input_dim, self.output_dim),
                initializer=self.embeddings_initializer,
                regularizer=self.embeddings_regularizer, constraint=self.embeddings_constraint)
        self.__dict__["_quantized_mode"] = mode
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)

    def call(self, inputs):
        if inputs.dtype not in _INDEX_DTYPES:
            inputs = inputs.to(torch.int64)
        if self._quantized_mode:
            return self._quantized_lookup(inputs)
        table = self.embeddings
        out = F.embedding(inputs, table)
        if self.lora_enabled:
            low_rank = F.embedding(inputs, self.lora_embeddings_a) @ self.lora_embeddings_b
            out = out + (self.lora_alpha / self.lora_rank) * low_rank
        dtype = self.dtype_policy.compute_torch_dtype
        return out if out.dtype is dtype else out.to(dtype)

    def _build_int_table(self, mode, config):
        quantized.build_int_weights(
            self, "embeddings", (self.input_dim, self.output_dim), mode, config, group_axis=1,
            packed_axis=1, scale_shape=lambda groups: (self.input_dim,) if groups is None
            else (self.input_dim, groups))

    def _quantized_lookup(self, inputs):
        """The rows of the quantized table, dequantized as Keras does."""
        dtype = self.dtype_policy.compute_torch_dtype
        table = self.embeddings
        if self._quantized_mode == "int4":
            table = quantizers.unpack_int4(table, self.output_dim, axis=-1)
        rows = F.embedding(inputs, table).to(dtype)
        scale = F.embedding(inputs, self.embeddings_scale.reshape(self.input_dim, -1))
        if self.__dict__.get("_int4_block_size") is None:
            return rows / scale
        zero = F.embedding(inputs, self.embeddings_zero)
        return quantizers.dequantize_with_sz_map(rows, scale, zero, self.g_idx, group_axis=-1)

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the table in place: `"int8"` or `"int4"` (Keras' layouts)."""
        if type_check and type(self) is not Embedding:
            raise quantized.not_implemented(self)
        mode, config = quantized.begin_quantize(self, mode, config, _MODES)
        self.quantization_config = config
        table = self.embeddings.detach()
        block_size = config.block_size if isinstance(config, Int4QuantizationConfig) else None
        zero = None
        if mode == "int4" and block_size is not None and block_size != -1:
            values, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(
                table.T, block_size)
            values, scale, zero = values.T, scale.T, zero.T
        else:
            default = quantizers.AbsMaxQuantizer(axis=-1) if mode == "int8" else (
                quantizers.AbsMaxQuantizer(axis=-1, value_range=(-8, 7), output_dtype="int8"))
            quantizer = QuantizationConfig.weight_quantizer_or_default(config, default)
            values, scale = quantizer(table)
            scale = scale.squeeze(-1)
        if mode == "int4":
            values = quantizers.pack_int4(values, axis=-1)[0]
        with quantized.weight_scope(self, "embeddings"):
            quantized.drop_weight(self, "embeddings")
            self._build_int_table(mode, config)
        with torch.no_grad():
            self.embeddings.copy_(values)
            self.embeddings_scale.copy_(scale)
            if zero is not None:
                self.embeddings_zero.copy_(zero)
        quantized.finish_quantize(self, mode, config)
        self.__dict__["_quantized_mode"] = mode

    def compute_mask(self, inputs, previous_mask=None):
        if not self.mask_zero:
            return None
        return tensor_unless_symbolic(inputs) != 0

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape), self.output_dim)

    def save_own_variables(self, store):
        """Keras' layout: the table (with any LoRA update merged in) as `"0"`."""
        if not self.built:
            return
        if self._quantized_mode:
            quantized.save_layout(self, store, _LAYOUT)
            return
        table = self.embeddings
        if self.lora_enabled:
            with torch.no_grad():
                update = self.lora_embeddings_a @ self.lora_embeddings_b
                table = table + (self.lora_alpha / self.lora_rank) * update
        save_serialized_weights(store, [table])

    def load_own_variables(self, store):
        """Read what `save_own_variables` wrote; LoRA factors restart at zero."""
        load_serialized_weights(self, store, _LAYOUT[quantized.quantization_mode(self)],
                                lora=("lora_embeddings_a", "lora_embeddings_b"))

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the table and learn a rank-`rank` update of it instead (LoRA)."""
        if not self.built:
            raise ValueError(f"Cannot enable LoRA on layer '{self.name}' (Embedding) before "
                             "it is built. Call `build()` first.")
        if self.lora_enabled:
            raise ValueError(f"LoRA is already enabled on layer '{self.name}' (Embedding). "
                             "This can only be done once per layer.")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
            raise ValueError(f"`rank` must be a positive integer. Received: rank={rank!r}")
        self.lora_embeddings_a = self.add_weight(
            name="lora_embeddings_a", shape=(self.input_dim, rank),
            initializer=initializers.get(a_initializer), regularizer=self.embeddings_regularizer)
        self.lora_embeddings_b = self.add_weight(
            name="lora_embeddings_b", shape=(rank, self.output_dim),
            initializer=initializers.get(b_initializer), regularizer=self.embeddings_regularizer)
        self.embeddings.trainable = False
        self.lora_enabled = True
        self.lora_rank = rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else rank

    def get_config(self):
        config = super().get_config()
        config.update(
            input_dim=self.input_dim,
            output_dim=self.output_dim,
            embeddings_initializer=initializers.serialize(self.embeddings_initializer),
            embeddings_regularizer=regularizers.serialize(self.embeddings_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            embeddings_constraint=constraints.serialize(self.embeddings_constraint),
            mask_zero=self.mask_zero,
            quantization_config=quantized.serialize_config(self.quantization_config),
        )
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


_MODES = ("int8", "int4")
# Each mode's variables, in the order Keras writes them to weight files.
_LAYOUT = {None: ("embeddings",), "int8": ("embeddings", "embeddings_scale"),
           "int4": ("embeddings", "embeddings_scale", "embeddings_zero", "g_idx")}
