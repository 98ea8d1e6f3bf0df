"""`Dense`: the densely connected layer, `activation(inputs @ kernel + bias)`."""

import numbers

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.context import TRAINING
from lamina.layers.activations.activation import direct_activation
from lamina.layers.core import quantized
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.quantizers import quantizers
from lamina.quantizers.quantization_config import Int4QuantizationConfig, QuantizationConfig


class Dense(Layer):
    """Densely connected layer: `activation(inputs @ kernel + bias)` on the last axis.

    The kernel has Keras' layout `(input_dim, units)`, so weights copy 1:1 with Keras.
    Inputs of rank > 2 are multiplied on their last axis (`(batch, steps, d)` ->
    `(batch, steps, units)`).

    Args:
        units: positive int, the output size.
        activation: activation name or function (None: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: initializers (names, configs or objects).
        kernel_regularizer, bias_regularizer, activity_regularizer: optional penalties.
        kernel_constraint, bias_constraint: optional constraints applied after updates.
        lora_rank: if set, the kernel is frozen and a trainable low-rank update
            `lora_kernel_a @ lora_kernel_b` (scaled by `lora_alpha / lora_rank`) is added.
        lora_alpha: LoRA scale numerator (default: `lora_rank`).
        quantization_config: a `QuantizationConfig` used when the layer is built under a
            quantized dtype policy (as when a quantized model loads).

    >>> import torch, lamina
    >>> layer = Dense(3, activation="relu")
    >>> layer(torch.ones(2, 4)).shape
    torch.Size([2, 3])
    >>> [tuple(w.shape) for w in layer.weights]
    [(4, 3), (3,)]
    """

    _casts_integer_inputs = True  # int/bool inputs compute in float, as in Keras

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, lora_alpha=None,
                 quantization_config=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(
                "Received an invalid value for `units`, expected a positive integer. "
                f"Received: units={units!r}"
            )
        self.units = int(units)
        self.activation = activations.get(activation)
        self._activation_fn = direct_activation(self.activation)
        self.use_bias = use_bias
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.quantization_config = quantized.config_argument(quantization_config)
        self.input_spec = InputSpec(min_ndim=2)
        self.supports_masking = True
        self.bias = None

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(
                f"Layer '{self.name}' (Dense) needs a known size for the last axis of its "
                f"input to create its kernel. Received: input_shape={tuple(input_shape)}"
            )
        mode = quantized.quantization_mode(self)
        quantized.check_mode(self, mode, _MODES)
        if mode in ("int8", "int4"):
            self._build_int_kernel((input_dim, self.units), mode, self.quantization_config)
        else:
            self.kernel = self.add_weight(
                name="kernel", shape=(input_dim, self.units),
                initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                constraint=self.kernel_constraint)
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        if mode == "float8":
            quantized.build_float8_weights(self)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)
        self._plan_weights()

    def _plan_weights(self):
        # NOTE: decided once, so the common case (float32 weights, no LoRA) runs the bare
        # kernel: no casts, no extra product, per call.
        self._quantized_mode = quantized.quantization_mode(self)
        self._plain_weights = not self.lora_enabled and not self._quantized_mode and (
            self.dtype_policy.compute_dtype == self.dtype_policy.variable_dtype) and (
            "kernel" in self._parameters) and (("bias" in self._parameters) == self.use_bias)
        self._narrow_head = self._plain_weights and (
            _NARROW_UNITS[0] <= self.units <= _NARROW_UNITS[1])

    def call(self, inputs):
        if self._plain_weights:
            # NOTE: read the weights from `_parameters` (what `nn.Module.__getattr__` does)
            # to skip the attribute-miss path; `functional_call` swaps them there too.
            params = self._parameters
            kernel, bias = params["kernel"], params.get("bias")
        elif self._quantized_mode:
            out = self._quantized_output(inputs)
            fn = self._activation_fn
            return out if fn is None else fn(out)
        else:
            kernel, bias = self._effective_weights(inputs.dtype)
        if self._narrow_head and _transposed_product_pays(inputs):
            out = _transposed_product(inputs, kernel, bias)
        elif bias is not None and inputs.ndim == 2:
            out = torch.addmm(bias, inputs, kernel)
        else:
            out = torch.matmul(inputs, kernel)
            if bias is not None:
                out = out + bias
        fn = self._activation_fn
        return out if fn is None else fn(out)

    def _effective_weights(self, dtype):
        kernel, bias = self.kernel, self.bias
        if self.lora_enabled:
            scale = self.lora_alpha / self.lora_rank
            kernel = kernel + scale * torch.matmul(self.lora_kernel_a, self.lora_kernel_b)
        if kernel.dtype != dtype and kernel.is_floating_point():
            kernel = kernel.to(dtype)
            bias = bias.to(dtype) if bias is not None else None
        return kernel, bias

    def _build_int_kernel(self, kernel_shape, mode, config):
        self.inputs_quantizer = quantized.inputs_quantizer(
            config, quantizers.AbsMaxQuantizer() if mode == "int8" else None)
        quantized.build_int_weights(
            self, "kernel", kernel_shape, mode, config, group_axis=0, packed_axis=1,
            scale_shape=lambda groups: (self.units,) if groups is None else (groups, self.units))

    def _quantized_output(self, inputs):
        """`inputs @ kernel` (+ bias) from the quantized kernel, with Keras' arithmetic."""
        mode, dtype = self._quantized_mode, inputs.dtype
        if mode == "float8":
            training = TRAINING.get()
            return quantized.float8_product(
                self, inputs, self.kernel, torch.matmul,
                self.training if training is None else training)
        kernel, scale = self.kernel, self.kernel_scale
        if mode == "int4":
            kernel = quantizers.unpack_int4(kernel, self.units, axis=-1)
            if self.__dict__.get("_int4_block_size") is not None:
                kernel = quantizers.dequantize_with_sz_map(
                    kernel, scale, self.kernel_zero, self.g_idx, group_axis=0).to(dtype)
                out = torch.matmul(inputs, kernel)
                return out if self.bias is None else out + self.bias
        quantizer = self.inputs_quantizer
        if quantizer:
            def product(x):
                x, x_scale = quantizer(x, axis=-1)
                return quantized.int_product(x, kernel).to(dtype) / (scale * x_scale)

            out = quantized.with_dequantized_gradient(
                inputs, product, lambda up: torch.matmul(up, (kernel.to(dtype) / scale).T))
        else:
            out = torch.matmul(inputs, kernel.to(dtype)) / scale
        return out if self.bias is None else out + self.bias

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the kernel in place: `"int8"`, `"int4"` or `"float8"` (Keras' layouts)."""
        if type_check and type(self) is not Dense:
            raise quantized.not_implemented(self)
        mode, config = quantized.begin_quantize(self, mode, config, _MODES)
        self.quantization_config = config
        with quantized.weight_scope(self, "kernel"):
            if mode in ("int8", "int4"):
                kernel = self.kernel.detach()
                values, scale, zero = _quantize_kernel(kernel, mode, config)
                quantized.drop_weight(self, "kernel")
                self._build_int_kernel(tuple(kernel.shape), mode, config)
                with torch.no_grad():
                    self.kernel.copy_(values)
                    self.kernel_scale.copy_(scale)
                    if zero is not None:
                        self.kernel_zero.copy_(zero)
            else:
                quantized.build_float8_weights(self)
        quantized.finish_quantize(self, mode, config)
        self._plan_weights()

    def save_own_variables(self, store):
        """Keras' layout: the kernel (with any LoRA update merged in) as `"0"`, then the
        bias. Other variables (a subclass's own, the LoRA factors) are not written; a
        quantized layer writes its mode's variables in Keras' order."""
        if self.built and quantized.quantization_mode(self):
            quantized.save_layout(self, store, quantized.DENSE_LAYOUT)
        elif self.built:
            with torch.no_grad():
                kernel, _ = self._effective_weights(self.kernel.dtype)
            save_serialized_weights(store, [kernel, self.bias])

    def load_own_variables(self, store):
        """Read the kernel and bias written by `save_own_variables`; LoRA factors restart
        at zero, since the saved kernel holds their update (as in Keras)."""
        names = quantized.DENSE_LAYOUT[quantized.quantization_mode(self)]
        load_serialized_weights(self, store, names, lora=("lora_kernel_a", "lora_kernel_b"))

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the kernel and learn a rank-`rank` update of it instead (LoRA)."""
        _enable_lora(self, rank, lora_alpha, a_initializer, b_initializer,
                     a_shape=(self.kernel.shape[0], rank), b_shape=(rank, self.kernel.shape[1]))
        self._plan_weights()

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            quantization_config=quantized.serialize_config(self.quantization_config),
        )
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


_MODES = ("int8", "int4", "float8")


def _quantize_kernel(kernel, mode, config):
    """Keras' quantization of a `(input_dim, units)` kernel: `(values, scale, zero)`, the
    values packed for int4; `zero` is None unless int4 uses groups."""
    block_size = config.block_size if isinstance(config, Int4QuantizationConfig) else None
    if mode == "int4" and block_size is not None and block_size != -1:
        values, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(
            kernel, block_size)
    else:
        default = quantizers.AbsMaxQuantizer(axis=0) if mode == "int8" else (
            quantizers.AbsMaxQuantizer(axis=0, value_range=(-8, 7), output_dtype="int8"))
        quantizer = QuantizationConfig.weight_quantizer_or_default(config, default)
        values, scale = quantizer(kernel)
        scale, zero = scale.squeeze(0), None
    if mode == "int4":
        values = quantizers.pack_int4(values, axis=-1)[0]
    return values, scale, zero


def save_serialized_weights(store, values):
    """Write `values` (None skipped) as `"0"`, `"1"`, ...: Keras' fixed weight list of
    Dense, EinsumDense and Embedding."""
    for i, value in enumerate(v for v in values if v is not None):
        store[str(i)] = value


def load_serialized_weights(layer, store, names, lora):
    """Assign the weights `names` (those the layer has) from `save_serialized_weights`'
    entries; zero the LoRA factors named in `lora` when LoRA is enabled (the saved weights
    include their update)."""
    variables = [getattr(layer, name, None) for name in names] if layer.built else []
    layer._assign_from_store(store, [v for v in variables if v is not None])
    if layer.lora_enabled:
        with torch.no_grad():
            for name in lora:
                getattr(layer, name).zero_()


def _enable_lora(layer, rank, lora_alpha, a_initializer, b_initializer, a_shape, b_shape):
    """Shared by Dense and EinsumDense: freeze `kernel`, add the two LoRA factors."""
    if not layer.built:
        raise ValueError(
            f"Cannot enable LoRA on layer '{layer.name}' ({type(layer).__name__}) before it "
            "is built. Call it on data or `build(input_shape)` first."
        )
    if layer.lora_enabled:
        raise ValueError(
            f"LoRA is already enabled on layer '{layer.name}' ({type(layer).__name__}). This "
            "can only be done once per layer."
        )
    if isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0:
        raise ValueError(f"`rank` must be a positive integer. Received: rank={rank!r}")
    layer.lora_kernel_a = layer.add_weight(name="lora_kernel_a", shape=a_shape,
                                           initializer=initializers.get(a_initializer),
                                           regularizer=layer.kernel_regularizer)
    layer.lora_kernel_b = layer.add_weight(name="lora_kernel_b", shape=b_shape,
                                           initializer=initializers.get(b_initializer),
                                           regularizer=layer.kernel_regularizer)
    layer.kernel.trainable = False
    layer.lora_enabled = True
    layer.lora_rank = rank
    layer.lora_alpha = lora_alpha if lora_alpha is not None else rank


# A narrow output (2-10 units: classifier heads) multiplied on Keras' (input_dim, units)
# kernel layout is 1.5-4x slower in CPU float32 GEMM than the same product transposed,
# `(kernel.T @ inputs.T).T`, once the batch is large: measured on x86 MKL for 2-24 units,
# 16-4096 inputs, 1-512 rows (the transposed route loses below 16 rows or 16K input
# elements, and for 1 or >= 12 units). Only in eager inference: with gradients the
# backward's products cancel the gain, and traced or compiled code leaves layout to the
# compiler (a batch-size branch would also specialize an exported batch dimension).
_NARROW_UNITS = (2, 10)
_NARROW_MIN_ROWS = 16
_NARROW_MIN_ELEMENTS = 16384


def _transposed_product_pays(inputs):
    # NOTE: the tracing check first: a shape test under torch.export is a guard
    # (then the row count, which rules out single-sample calls at once)
    return (not torch.compiler.is_compiling() and inputs.ndim == 2
            and inputs.shape[0] >= _NARROW_MIN_ROWS and not torch.is_grad_enabled()
            and inputs.is_cpu and inputs.dtype is torch.float32
            and inputs.numel() >= _NARROW_MIN_ELEMENTS)


def _transposed_product(inputs, kernel, bias):
    """`inputs @ kernel + bias` computed as `(kernel.T @ inputs.T + bias[:, None]).T`."""
    if bias is None:
        return torch.mm(kernel.t(), inputs.t()).t().contiguous()
    return torch.addmm(bias[:, None], kernel.t(), inputs.t()).t().contiguous()
