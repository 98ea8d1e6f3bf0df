"""What Dense, EinsumDense and Embedding share once quantized (`layer.quantize(mode)` or a
quantized dtype policy from a file): building the quantized variables, the quantized
products, and the float8 delayed-scaling updates.

Variable names, shapes, dtypes and file order are Keras' (`kernel` int8 + `kernel_scale`;
int4 packed two per byte along the output axis, with `kernel_zero` and `g_idx` for groups;
float8 scales and amax histories), so quantized `.keras` files move both ways.
"""

import contextlib

import torch

from lamina import dtype_policies
from lamina.backend import naming
from lamina.quantizers import deserialize as deserialize_quantizer
from lamina.quantizers import quantizers
from lamina.quantizers.quantization_config import (
    QuantizationConfig,
    get_block_size_for_layer,
    validate_and_resolve_config,
)
from lamina.serialization.serialization import serialize_keras_object
from lamina.variables import bump_state_version

E4M3_MAX, E5M2_MAX = 448.0, 57344.0

# Each quantization mode's variables, in the order Keras writes them to weight files.
DENSE_LAYOUT = {
    None: ("kernel", "bias"),
    "int8": ("kernel", "bias", "kernel_scale"),
    "int4": ("kernel", "bias", "kernel_scale", "kernel_zero", "g_idx"),
    "float8": ("kernel", "bias", "inputs_scale", "inputs_amax_history", "kernel_scale",
               "kernel_amax_history", "outputs_grad_scale", "outputs_grad_amax_history"),
}


def quantization_mode(layer):
    """`layer`'s quantization mode (its policy's, or its entry's in a `DTypePolicyMap`)."""
    policy = layer.dtype_policy
    if isinstance(policy, dtype_policies.DTypePolicyMap):
        policy = policy[layer.path]
    return policy.quantization_mode


def config_argument(value):
    """A layer's `quantization_config` argument: a config, its serialized dict, or None."""
    if isinstance(value, dict):
        value = deserialize_quantizer(value)
    if value is not None and not isinstance(value, QuantizationConfig):
        raise ValueError("Argument `quantization_config` must be a `QuantizationConfig` "
                         f"(e.g. Int8QuantizationConfig()). Received: {value!r:.80}")
    return value


def serialize_config(config):
    return None if config is None else serialize_keras_object(config)


def check_mode(layer, mode, supported):
    """Refuse, with the reason, a quantized policy `layer` cannot build."""
    if mode is not None and mode not in supported:
        raise NotImplementedError(
            f"{type(layer).__name__} '{layer.name}' has dtype policy "
            f"'{layer.dtype_policy.name}': lamina does not implement {mode!r} quantization "
            f"for it. Supported: {supported}.")


def not_implemented(layer):
    return NotImplementedError(
        f"Layer {type(layer).__name__} does not have a `quantize` method implemented.")


def save_layout(layer, store, layout):
    """Write `layer`'s variables of its quantization mode in Keras' order (absent ones,
    such as a missing bias or the zero points of per-channel int4, are skipped)."""
    index = 0
    for name in layout[quantization_mode(layer)]:
        value = getattr(layer, name, None)
        if value is not None:
            store[str(index)] = value
            index += 1


def begin_quantize(layer, mode, config, supported):
    """Check that `layer` can be quantized now; return the resolved `(mode, config)`."""
    config = validate_and_resolve_config(mode, config)
    mode = config.mode
    if mode not in supported:
        raise NotImplementedError(
            f"{type(layer).__name__} '{layer.name}' does not support quantization "
            f"mode={mode!r} in lamina. Supported: {supported}.")
    if not layer.built:
        raise ValueError(
            f"Cannot quantize a layer that isn't yet built. Layer '{layer.name}' (of type "
            f"'{type(layer).__name__}') is not built yet.")
    if layer.__dict__.get("_is_quantized"):
        raise ValueError(f"Layer '{layer.name}' is already quantized with "
                         f"dtype_policy='{layer.dtype_policy.name}'. Received: mode={mode}")
    if mode == "int8" and layer.compute_dtype == "float16":
        raise ValueError(
            f"Quantization mode='{mode}' doesn't work well with compute_dtype='float16'. "
            "Consider loading model/layer with another dtype policy such as "
            "'mixed_bfloat16' or 'mixed_float16' before calling `quantize()`.")
    if getattr(layer, "lora_enabled", False):
        raise NotImplementedError(
            f"{type(layer).__name__} '{layer.name}': lamina does not quantize a layer with "
            "LoRA enabled. Merge the LoRA update first (save and reload the model).")
    return mode, config


def finish_quantize(layer, mode, config):
    """Give `layer` Keras' quantized policy (`int8_from_float32`, `int4/128_from_...`)
    unless it has one, and make its next call replan."""
    if layer.dtype_policy.quantization_mode is None:
        name = mode
        if mode == "int4":
            block_size = get_block_size_for_layer(layer, config)
            name = f"int4/{-1 if block_size is None else block_size}"
        layer.dtype_policy = dtype_policies.get(f"{name}_from_{layer.dtype_policy.name}")
    layer.__dict__["_is_quantized"] = True
    layer.__dict__["_planned"] = layer.__dict__["_fast_path"] = False
    bump_state_version()


@contextlib.contextmanager
def weight_scope(layer, anchor):
    """Name weights created after `build` as `anchor`'s siblings (`outer/dense/kernel`)."""
    prefix = getattr(layer, anchor).path.rpartition("/")[0]
    naming.NAME_SCOPE.append(prefix or layer.name)
    try:
        yield
    finally:
        naming.NAME_SCOPE.pop()


def drop_weight(layer, name):
    """Remove the weight `name` (about to be replaced by its quantized form)."""
    variable = getattr(layer, name)
    layer._tracked_variables[:] = [v for v in layer._tracked_variables if v is not variable]
    layer._untrack_tensor(variable)
    bump_state_version()


def _constant(layer, name, shape, dtype=None, initializer="zeros", trainable=False, **kwargs):
    return layer.add_weight(name=name, shape=shape, initializer=initializer, dtype=dtype,
                            trainable=trainable, **kwargs)


def build_int_weights(layer, name, shape, mode, config, scale_shape, group_axis, packed_axis):
    """Create `name` (int8, or int4 packed along `packed_axis`) with `<name>_scale` and, for
    int4 groups, `<name>_zero` and `g_idx`. `scale_shape(n_groups)` is the scale's shape;
    groups run along axis `group_axis` of the (unpacked) weight. Returns the block size."""
    block_size = get_block_size_for_layer(layer, config) if mode == "int4" else None
    stored = list(shape)
    if mode == "int4":
        stored[packed_axis] = (stored[packed_axis] + 1) // 2
    setattr(layer, name, _constant(layer, name, stored, dtype="int8"))
    grouped = block_size is not None and block_size > 0
    length = shape[group_axis]
    groups = -(-length // block_size) if grouped else None
    setattr(layer, f"{name}_scale", _constant(layer, f"{name}_scale", scale_shape(groups),
                                              initializer="ones"))
    if grouped:
        setattr(layer, f"{name}_zero", _constant(layer, f"{name}_zero", scale_shape(groups),
                                                 dtype="int8"))
        layer.g_idx = _constant(layer, "g_idx", (length,), dtype="float32")
        with torch.no_grad():
            layer.g_idx.copy_(torch.div(torch.arange(length, dtype=torch.float32), block_size,
                                        rounding_mode="floor"))
    layer.__dict__["_int4_block_size"] = block_size if grouped else None
    return block_size


def build_float8_weights(layer):
    """Float8's scales and amax histories (float32, overwritten by their 'gradients')."""
    length = getattr(layer.dtype_policy, "amax_history_length",
                     dtype_policies.QuantizedFloat8DTypePolicy.default_amax_history_length)
    for prefix in ("inputs", "kernel", "outputs_grad"):
        options = dict(dtype="float32", trainable=True, autocast=False,
                       overwrite_with_gradient=True)
        setattr(layer, f"{prefix}_scale",
                _constant(layer, f"{prefix}_scale", (), initializer="ones", **options))
        setattr(layer, f"{prefix}_amax_history",
                _constant(layer, f"{prefix}_amax_history", (length,), **options))


def inputs_quantizer(config, default):
    return QuantizationConfig.activation_quantizer_or_default(config, default)


def int_product(inputs, kernel):
    """`inputs @ kernel` of two int8 tensors, exact (int32 accumulation on CPU)."""
    if inputs.device.type == "cpu":
        return torch.matmul(inputs.to(torch.int32), kernel.to(torch.int32))
    # NOTE: CUDA has no int32 matmul; float32 is exact while the sums stay below 2**24.
    return torch.matmul(inputs.to(torch.float32), kernel.to(torch.float32))


def int_einsum(equation, inputs, kernel):
    """`einsum` of two int8 tensors, exact (int32 accumulation on CPU)."""
    if inputs.device.type == "cpu":
        return torch.einsum(equation, inputs.to(torch.int32), kernel.to(torch.int32))
    return torch.einsum(equation, inputs.to(torch.float32), kernel.to(torch.float32))


class _DequantizedGradient(torch.autograd.Function):
    """`product(inputs)` whose gradient is `input_gradient(upstream)` (Keras' custom
    gradient: the rounding of quantized inputs alone would give zero)."""

    @staticmethod
    def forward(ctx, inputs, product, input_gradient):
        ctx.input_gradient = input_gradient
        return product(inputs)

    @staticmethod
    def backward(ctx, upstream):
        return ctx.input_gradient(upstream), None, None


def with_dequantized_gradient(inputs, product, input_gradient):
    """`product(inputs)`, differentiable in `inputs` as the product with the dequantized
    kernel would be: `input_gradient(upstream)` gives that gradient (only called in a
    backward pass)."""
    if torch.is_grad_enabled() and inputs.requires_grad:
        return _DequantizedGradient.apply(inputs, product, input_gradient)
    return product(inputs)


class _Float8QDQ(torch.autograd.Function):
    """Quantize-dequantize through float8 e4m3 (forward); in training the 'gradients' of
    `scale` and `amax_history` are their next values (they overwrite the variables)."""

    @staticmethod
    def forward(ctx, x, scale, amax_history, training, compute_dtype):
        if training:
            ctx.new = (quantizers.compute_float8_scale(amax_history.max(), scale, E4M3_MAX),
                       quantizers.compute_float8_amax_history(x, amax_history))
        else:
            ctx.new = (None, None)
        return quantizers.quantize_and_dequantize(x, scale, "float8_e4m3fn", compute_dtype)

    @staticmethod
    def backward(ctx, upstream):
        return upstream, ctx.new[0], ctx.new[1], None, None


class _Float8GradQDQ(torch.autograd.Function):
    """Identity forward; the backward quantizes the incoming gradient through e5m2."""

    @staticmethod
    def forward(ctx, x, scale, amax_history, compute_dtype):
        ctx.save_for_backward(scale, amax_history)
        ctx.compute_dtype = compute_dtype
        return x.view_as(x)

    @staticmethod
    def backward(ctx, upstream):
        scale, amax_history = ctx.saved_tensors
        new_scale = quantizers.compute_float8_scale(amax_history.max(), scale, E5M2_MAX)
        grad = quantizers.quantize_and_dequantize(upstream, scale, "float8_e5m2",
                                                  ctx.compute_dtype)
        return (grad, new_scale, quantizers.compute_float8_amax_history(upstream, amax_history),
                None)


def float8_product(layer, inputs, kernel, product, training):
    """`product(inputs, kernel)` through float8 with the layer's delayed scaling, then the
    bias (rounded through bfloat16 first under a float32 policy, as Keras does)."""
    dtype = layer.compute_dtype
    training = bool(training)
    x = product(_Float8QDQ.apply(inputs, layer.inputs_scale, layer.inputs_amax_history,
                                 training, dtype),
                _Float8QDQ.apply(kernel, layer.kernel_scale, layer.kernel_amax_history,
                                 training, dtype))
    x = _Float8GradQDQ.apply(x, layer.outputs_grad_scale, layer.outputs_grad_amax_history, dtype)
    if layer.bias is not None:
        bias = layer.bias
        if dtype == "float32":
            bias = bias.to(torch.bfloat16).to(bias.dtype)
        x = x + bias
    return x
