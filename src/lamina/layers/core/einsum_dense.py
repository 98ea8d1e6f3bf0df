"""`EinsumDense`: a dense layer whose contraction is an einsum equation."""

import re

import torch

from lamina import activations, constraints, initializers, regularizers
from lamina.backend.context import TRAINING
from lamina.layers.activations.activation import direct_activation
from lamina.layers.core import quantized
from lamina.layers.core.dense import (
    _enable_lora,
    load_serialized_weights,
    save_serialized_weights,
)
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.quantizers import quantizers
from lamina.quantizers.quantization_config import Int4QuantizationConfig, QuantizationConfig


class EinsumDense(Layer):
    """A dense layer computing `activation(einsum(equation, inputs, kernel) + bias)`.

    Args:
        equation: `"<input>,<kernel>-><output>"`, e.g. `"abc,cd->abd"`. Kernel axes take
            their size from the input (contracted axes) or from `output_shape`. The input
            and output may start with `...` for any number of leading axes.
        output_shape: the output shape without the batch axis (an int for rank 1), aligned
            with the last axes of the output; None entries take the input's size.
        activation: activation name or function (None: linear).
        bias_axes: letters of the output axes that get a bias, e.g. `"d"`; None: no bias.
            The bias spans the output from its first bias axis on, size 1 elsewhere.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint, activity_regularizer: as in `Dense`.
        lora_rank, lora_alpha: low-rank adaptation of the kernel, as in `Dense`.

    >>> import torch, lamina
    >>> layer = EinsumDense("abc,cde->abde", output_shape=(None, 4, 6), bias_axes="de")
    >>> layer(torch.ones(2, 5, 3)).shape
    torch.Size([2, 5, 4, 6])
    >>> [tuple(w.shape) for w in layer.weights]
    [(3, 4, 6), (4, 6)]
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, lora_alpha=None,
                 gptq_unpacked_column_size=None, quantization_config=None, **kwargs):
        super().__init__(**kwargs)
        self.quantization_config = quantized.config_argument(quantization_config)
        self.equation = equation
        self._spec = _parse_equation(equation)
        if isinstance(output_shape, int):
            output_shape = (output_shape,)
        self.partial_output_shape = tuple(output_shape)
        self.bias_axes = bias_axes
        if bias_axes is not None:
            missing = [c for c in bias_axes if c not in self._spec[2]]
            if missing:
                raise ValueError(
                    f"Bias dimension '{missing[0]}' was requested, but is not part of the "
                    f"output spec '{self._spec[2]}' of equation '{equation}'."
                )
        self.activation = activations.get(activation)
        self._activation_fn = direct_activation(self.activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.lora_rank = lora_rank
        self.lora_alpha = lora_alpha if lora_alpha is not None else lora_rank
        self.lora_enabled = False
        self.bias = None

    def build(self, input_shape):
        kernel_shape, bias_shape, _ = self._shapes(tuple(input_shape))
        mode = quantized.quantization_mode(self)
        quantized.check_mode(self, mode, _MODES)
        self.__dict__["_layout"] = _QuantizationLayout(self._spec, len(input_shape))
        if mode in ("int8", "int4"):
            self._build_int_kernel(kernel_shape, mode, self.quantization_config)
        else:
            self.kernel = self.add_weight(
                name="kernel", shape=kernel_shape, initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        if bias_shape is not None:
            self.bias = self.add_weight(
                name="bias", shape=bias_shape, initializer=self.bias_initializer,
                regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        if mode == "float8":
            quantized.build_float8_weights(self)
        in_spec = self._spec[0]
        axes = {i - len(in_spec): input_shape[i - len(in_spec)]
                for i, c in enumerate(in_spec) if c in self._spec[1]}
        if self._spec[3]:
            self.input_spec = InputSpec(min_ndim=len(in_spec), axes=axes)
        else:
            self.input_spec = InputSpec(ndim=len(in_spec), axes=axes)
        self.built = True
        if self.lora_rank:
            self.enable_lora(self.lora_rank, lora_alpha=self.lora_alpha)
        self._plan_weights()

    def _plan_weights(self):
        self._quantized_mode = quantized.quantization_mode(self)
        self._plain_weights = not self.lora_enabled and not self._quantized_mode and (
            self.dtype_policy.compute_dtype == self.dtype_policy.variable_dtype)

    def _shapes(self, input_shape):
        """(kernel shape, bias shape or None, full output shape) for `input_shape`."""
        in_spec, kernel_spec, out_spec, ellipsis = self._spec
        where = f"Layer '{self.name}' (EinsumDense, equation '{self.equation}')"
        if ellipsis:
            extra = len(input_shape) - len(in_spec)
            if extra < 0:
                raise ValueError(f"{where} expects inputs of rank >= {len(in_spec)}. "
                                 f"Received: input_shape={input_shape}")
            sizes = dict(zip(in_spec, input_shape[extra:]))
            lead = tuple(input_shape[:extra])
        else:
            if len(input_shape) != len(in_spec):
                raise ValueError(f"{where} expects inputs of rank {len(in_spec)}. "
                                 f"Received: input_shape={input_shape}")
            sizes = dict(zip(in_spec, input_shape))
            lead = ()
        given = self.partial_output_shape
        if len(given) > len(out_spec):
            raise ValueError(f"{where}: `output_shape` {given} has more axes than the output "
                             f"spec '{out_spec}'.")
        out_sizes = {}
        for c, size in zip(out_spec[len(out_spec) - len(given):], given):
            if c in sizes and size is not None and sizes[c] is not None and sizes[c] != size:
                raise ValueError(
                    f"{where}: input shape and output shape do not match at shared dimension "
                    f"'{c}'. Input shape is {sizes[c]}, and output shape is {size}."
                )
            out_sizes[c] = size
        for c in out_spec:
            if out_sizes.get(c) is None:
                out_sizes[c] = sizes.get(c)
        kernel_shape = []
        for c in kernel_spec:
            size = sizes.get(c) if c in sizes else out_sizes.get(c)
            if c not in sizes and c not in out_spec:
                raise ValueError(f"{where}: weight dimension '{c}' did not have a match in "
                                 "either the input spec or the output spec.")
            if size is None:
                raise ValueError(f"{where}: the size of kernel axis '{c}' must be known; set "
                                 "it in `output_shape` or in the input shape. Received: "
                                 f"input_shape={input_shape}, output_shape={given}")
            kernel_shape.append(size)
        bias_shape = None
        if self.bias_axes is not None:
            first = min(out_spec.index(c) for c in self.bias_axes)
            bias_shape = tuple(out_sizes[c] if c in self.bias_axes else 1
                               for c in out_spec[first:])
            if None in bias_shape:
                raise ValueError(f"{where}: the size of bias axes '{self.bias_axes}' must be "
                                 f"known. Received: input_shape={input_shape}, "
                                 f"output_shape={given}")
        return tuple(kernel_shape), bias_shape, lead + tuple(out_sizes[c] for c in out_spec)

    def call(self, inputs):
        kernel, bias = self.kernel, self.bias
        if self._quantized_mode:
            out = self._quantized_output(inputs)
            fn = self._activation_fn
            return out if fn is None else fn(out)
        if not self._plain_weights:
            if self.lora_enabled:
                scale = self.lora_alpha / self.lora_rank
                update = torch.tensordot(self.lora_kernel_a, self.lora_kernel_b, 1)
                kernel = kernel + scale * update
            if kernel.dtype != inputs.dtype:
                kernel = kernel.to(inputs.dtype)
                bias = bias.to(inputs.dtype) if bias is not None else None
        out = torch.einsum(self.equation, inputs, kernel)
        if bias is not None:
            out = out + bias
        fn = self._activation_fn
        return out if fn is None else fn(out)

    def _build_int_kernel(self, kernel_shape, mode, config):
        layout = self._layout
        self.inputs_quantizer = quantized.inputs_quantizer(
            config, quantizers.AbsMaxQuantizer() if mode == "int8" else None)
        self.__dict__["_kernel_shape"] = tuple(kernel_shape)
        if mode == "int8":
            scale_shape = layout.kernel_scale_shape(kernel_shape)
            quantized.build_int_weights(self, "kernel", kernel_shape, mode, config,
                                        scale_shape=lambda groups: scale_shape,
                                        group_axis=0, packed_axis=0)
        else:
            rows, columns = layout.flat_shape(kernel_shape)
            quantized.build_int_weights(
                self, "kernel", (rows, columns), mode, config, group_axis=0, packed_axis=1,
                scale_shape=lambda groups: (columns,) if groups is None else (groups, columns))

    def _float_kernel(self, dtype):
        """The dequantized kernel, in the float kernel's shape."""
        scale = self.kernel_scale
        if self._quantized_mode == "int8":
            return self.kernel.to(dtype) / self._layout.kernel.restore(scale)
        columns = scale.shape[-1]
        kernel = quantizers.unpack_int4(self.kernel, columns, axis=-1)
        if self.__dict__.get("_int4_block_size") is None:
            kernel = kernel.to(dtype) / scale
        else:
            kernel = quantizers.dequantize_with_sz_map(
                kernel, scale, self.kernel_zero, self.g_idx, group_axis=0).to(dtype)
        return kernel.reshape(self._kernel_shape)

    def _quantized_output(self, inputs):
        """The einsum (+ bias) from the quantized kernel, with Keras' arithmetic."""
        mode, dtype, equation = self._quantized_mode, inputs.dtype, self.equation
        if mode == "float8":
            training = TRAINING.get()
            return quantized.float8_product(
                self, inputs, self.kernel, lambda x, k: torch.einsum(equation, x, k),
                self.training if training is None else training)
        quantizer, layout = self.inputs_quantizer, self._layout
        if not quantizer:
            out = torch.einsum(equation, inputs, self._float_kernel(dtype))
        else:
            def product(x):
                x, x_scale = quantizer(x, axis=layout.inputs.reduced)
                x_scale = layout.inputs.arrange(x_scale)
                if mode == "int8":
                    out = quantized.int_einsum(equation, x, self.kernel).to(dtype)
                    return out / (x_scale * self.kernel_scale)
                return torch.einsum(equation, x.to(dtype), self._float_kernel(dtype)) / x_scale

            out = quantized.with_dequantized_gradient(
                inputs, product, lambda up: torch.einsum(
                    layout.gradient_equation, up, self._float_kernel(dtype)))
        return out if self.bias is None else out + self.bias

    def quantize(self, mode=None, type_check=True, config=None):
        """Quantize the kernel in place: `"int8"`, `"int4"` or `"float8"` (Keras' layouts)."""
        if type_check and type(self) is not EinsumDense:
            raise quantized.not_implemented(self)
        mode, config = quantized.begin_quantize(self, mode, config, _MODES)
        self.quantization_config = config
        with quantized.weight_scope(self, "kernel"):
            if mode == "float8":
                quantized.build_float8_weights(self)
            else:
                kernel = self.kernel.detach()
                values, scale, zero = self._quantize_kernel(kernel, mode, config)
                quantized.drop_weight(self, "kernel")
                self._build_int_kernel(tuple(kernel.shape), mode, config)
                with torch.no_grad():
                    self.kernel.copy_(values)
                    self.kernel_scale.copy_(scale)
                    if zero is not None:
                        self.kernel_zero.copy_(zero)
        quantized.finish_quantize(self, mode, config)
        self._plan_weights()

    def _quantize_kernel(self, kernel, mode, config):
        """Keras' quantization of the kernel: `(values, scale, zero)`; int8 keeps the
        kernel's shape, int4 flattens it to (reduced, other) axes and packs it."""
        layout = self._layout
        if mode == "int8":
            quantizer = QuantizationConfig.weight_quantizer_or_default(
                config, quantizers.AbsMaxQuantizer(axis=layout.kernel.reduced))
            values, scale = quantizer(kernel)
            return values, layout.kernel.arrange(scale), None
        flat = kernel.reshape(layout.flat_shape(kernel.shape))
        block_size = config.block_size if isinstance(config, Int4QuantizationConfig) else None
        zero = None
        if block_size is None or block_size == -1:
            values, scale = quantizers.abs_max_quantize(flat, axis=0, value_range=(-8, 7))
            scale = scale.squeeze(0)
        else:
            values, scale, zero = quantizers.abs_max_quantize_grouped_with_zero_point(
                flat, block_size)
        return quantizers.pack_int4(values, axis=-1)[0], scale, zero

    def save_own_variables(self, store):
        """Keras' layout: the kernel (with any LoRA update merged in) as `"0"`, then the
        bias; a quantized layer writes its mode's variables in Keras' order."""
        if not self.built:
            return
        if self._quantized_mode:
            quantized.save_layout(self, store, quantized.DENSE_LAYOUT)
            return
        kernel = self.kernel
        if self.lora_enabled:
            with torch.no_grad():
                update = torch.tensordot(self.lora_kernel_a, self.lora_kernel_b, 1)
                kernel = kernel + (self.lora_alpha / self.lora_rank) * update
        save_serialized_weights(store, [kernel, self.bias])

    def load_own_variables(self, store):
        """Read what `save_own_variables` wrote; LoRA factors restart at zero."""
        load_serialized_weights(self, store,
                                quantized.DENSE_LAYOUT[quantized.quantization_mode(self)],
                                lora=("lora_kernel_a", "lora_kernel_b"))

    def enable_lora(self, rank, lora_alpha=None, a_initializer="he_uniform",
                    b_initializer="zeros"):
        """Freeze the kernel and learn a rank-`rank` update of it (LoRA): the factors are
        `(*kernel.shape[:-1], rank)` and `(rank, kernel.shape[-1])`, as in Keras."""
        shape = tuple(self.kernel.shape)
        _enable_lora(self, rank, lora_alpha, a_initializer, b_initializer,
                     a_shape=(*shape[:-1], rank), b_shape=(rank, shape[-1]))
        self._plain_weights = False

    def compute_output_shape(self, input_shape):
        return self._shapes(tuple(input_shape))[2]

    def get_config(self):
        config = super().get_config()
        config.update(
            output_shape=self.partial_output_shape,
            equation=self.equation,
            activation=activations.serialize(self.activation),
            bias_axes=self.bias_axes,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
            quantization_config=quantized.serialize_config(self.quantization_config),
        )
        if self.lora_rank:
            config.update(lora_rank=self.lora_rank, lora_alpha=self.lora_alpha)
        return config


_MODES = ("int8", "int4", "float8")


class _ScaleLayout:
    """How Keras lays out a scale computed over the axes of `source` (an input or kernel
    spec) that the output `out` lacks, so it broadcasts against the output: permute the
    source axes to output order (each reduced axis takes the next output slot the source
    lacks), add the slots still free, and drop reduced axes that found no slot."""

    def __init__(self, source, out, fallback):
        self.reduced = tuple(i for i, c in enumerate(source) if c not in out)
        free = [i for i, c in enumerate(out) if c not in source]
        self.order = [source.index(c) for c in out if c in source]
        self.squeeze = []
        # NOTE: Keras reuses the previous slot (initially `fallback`) for a reduced axis
        # when the free slots run out; its scale shapes follow from that, so do ours.
        slot = fallback
        for axis in self.reduced:
            if free:
                slot = free.pop(0)
            else:
                self.squeeze.append(axis)
            self.order.insert(slot, axis)
        self.expand = free

    def arrange(self, scale):
        """A keep-dims scale over the source -> the broadcastable layout Keras stores."""
        scale = scale.permute(self.order)
        for axis in sorted(self.expand):
            scale = scale.unsqueeze(axis)
        return scale.squeeze(tuple(self.squeeze)) if self.squeeze else scale

    def restore(self, scale):
        """Inverse of `arrange`: back to a keep-dims scale over the source axes."""
        for axis in sorted(self.squeeze):
            scale = scale.unsqueeze(axis)
        if self.expand:
            scale = scale.squeeze(tuple(self.expand))
        inverse = sorted(range(len(self.order)), key=self.order.__getitem__)
        return scale.permute(inverse)

    def shape(self, source_shape):
        """The stored scale's shape for a source of `source_shape`."""
        shape = [1 if i in self.reduced else d for i, d in enumerate(source_shape)]
        return tuple(self.arrange(torch.empty(shape, device="meta")).shape)


class _QuantizationLayout:
    """Where EinsumDense's quantization scales go, from its equation and input rank."""

    def __init__(self, spec, input_ndim):
        in_spec, kernel_spec, out_spec, ellipsis = spec
        if ellipsis:
            # NOTE: the elided axes get letters of their own, in input and output alike.
            spare = [c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in in_spec + kernel_spec]
            lead = "".join(spare[:max(input_ndim - len(in_spec), 0)])
            in_spec, out_spec = lead + in_spec, lead + out_spec
        fallback = out_spec.find(kernel_spec[-1])
        self.inputs = _ScaleLayout(in_spec, out_spec, fallback)
        self.kernel = _ScaleLayout(kernel_spec, out_spec, fallback)
        self.gradient_equation = f"{out_spec},{kernel_spec}->{in_spec}"

    def kernel_scale_shape(self, kernel_shape):
        return self.kernel.shape(kernel_shape)

    def flat_shape(self, kernel_shape):
        """int4's 2-D view of the kernel: (product of reduced axes, product of the rest)."""
        rows = columns = 1
        for i, d in enumerate(kernel_shape):
            if i in self.kernel.reduced:
                rows *= d
            else:
                columns *= d
        return rows, columns


def _parse_equation(equation):
    """Split `"in,kernel->out"` into (in, kernel, out, has_leading_ellipsis); a leading
    `...` on input and output is dropped (torch.einsum handles it)."""
    match = re.fullmatch(r"\s*(\.\.\.)?([a-zA-Z]*),([a-zA-Z]+)->(\.\.\.)?([a-zA-Z]*)\s*",
                         str(equation))
    if match is None or bool(match.group(1)) != bool(match.group(4)):
        raise ValueError(
            "Invalid einsum equation for EinsumDense. Expected the form 'ab,bc->ac' (an "
            "input, a kernel and an output spec of letters; input and output may both start "
            f"with '...'). Received: equation={equation!r}"
        )
    in_spec, kernel_spec, out_spec = match.group(2), match.group(3), match.group(5)
    return in_spec, kernel_spec, out_spec, bool(match.group(1))
