"""Quantization arithmetic, in torch: abs-max int8/int4, grouped int4 with zero points,
int4 packing, float8 delayed scaling, fake quantization.

Every function is plain tensor code with no data-dependent Python branch, so a quantized
layer traces with `torch.export`. The numerics follow Keras' (same rounding: half to even,
same order of operations), so a model quantized here or in Keras holds the same values.
"""

import torch

from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype

_EPSILON = 1e-7  # Keras' `backend.epsilon()` default, fixed when its functions are defined
_FLOAT8_MAX = {"float8_e4m3fn": 448.0, "float8_e5m2": 57344.0}


def _tensor(x):
    return x if isinstance(x, torch.Tensor) else convert_to_tensor(x)


def _axes(axis, ndim):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(a % ndim for a in axes)


class Quantizer:
    """Base class of quantizers: `__call__(x)` returns the quantized `x` (and its scale).

    >>> Quantizer().output_dtype
    'int8'
    """

    _keras_module = "keras.quantizers"

    def __init__(self, output_dtype="int8"):
        self.output_dtype = output_dtype

    def __call__(self, x):
        return x

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{self} does not implement get_config()")


def abs_max_quantize(inputs, axis, value_range=(-127, 127), dtype="int8", epsilon=_EPSILON,
                     to_numpy=False):
    """Symmetric quantization: `scale = value_range[1] / (max|inputs| over axis + epsilon)`,
    `outputs = clip(round(inputs * scale))`. Returns `(outputs, scale)`; the scale keeps the
    reduced axes (size 1). `to_numpy` is accepted for Keras compatibility.

    >>> q, s = abs_max_quantize(torch.tensor([[1.0, -2.0]]), axis=-1)
    >>> q.tolist()
    [[64, -127]]
    """
    inputs = _tensor(inputs)
    axes = _axes(axis, inputs.ndim)
    denominator = torch.amax(inputs.abs(), dim=axes, keepdim=True) + epsilon
    # NOTE: `number / tensor` is a reciprocal times the number in torch (1 ulp off Keras'
    # true division); dividing two tensors is exact.
    scale = torch.full_like(denominator, value_range[1]) / denominator
    scale = scale.to(inputs.dtype)
    outputs = torch.clamp(torch.round(inputs * scale), value_range[0], value_range[1])
    return outputs.to(to_torch_dtype(dtype)), scale


def abs_max_quantize_grouped_with_zero_point(inputs, block_size, value_range=(-8, 7),
                                             dtype="int8", epsilon=_EPSILON, to_numpy=False):
    """Asymmetric quantization of a 2-D `(input_dim, output_dim)` tensor in groups of
    `block_size` rows. Returns `(outputs, scale, zero_point)`, scale and zero point of shape
    `(n_groups, output_dim)`; a last partial group is padded with zeros, as Keras does.
    """
    inputs = _tensor(inputs)
    input_dim, output_dim = inputs.shape
    n_groups = -(-input_dim // block_size)
    qmin, qmax = value_range
    padded = torch.nn.functional.pad(inputs, (0, 0, 0, n_groups * block_size - input_dim))
    groups = padded.reshape(n_groups, block_size, output_dim)
    low = torch.amin(groups, dim=1, keepdim=True)
    high = torch.amax(groups, dim=1, keepdim=True)
    scale = (high - low + epsilon) / (qmax - qmin)
    zero = torch.clamp(torch.round(-low / scale) + qmin, qmin, qmax)
    outputs = torch.clamp(torch.round(groups / scale) + zero, qmin, qmax)
    outputs = outputs.to(to_torch_dtype(dtype)).reshape(-1, output_dim)[:input_dim]
    return outputs, scale.squeeze(1).to(inputs.dtype), zero.squeeze(1).to(torch.int8)


def dequantize_with_sz_map(values, scale, zero, g_idx, group_axis=-1):
    """`(values - zero) * scale`, with the group of each position along the other axis
    given by `g_idx` (the scale and zero point have one entry per group on `group_axis`)."""
    groups = g_idx.to(torch.int64)
    scale = torch.index_select(scale, group_axis % scale.ndim, groups)
    zero = torch.index_select(zero, group_axis % zero.ndim, groups).to(scale.dtype)
    return (values - zero) * scale


class AbsMaxQuantizer(Quantizer):
    """Symmetric abs-max quantizer along `axis` (the call's `axis`, else -1).

    >>> q, scale = AbsMaxQuantizer(axis=-1)(torch.tensor([[1.0, -2.0]]))
    >>> q.tolist(), q.dtype
    ([[64, -127]], torch.int8)
    """

    def __init__(self, axis=None, value_range=(-127, 127), epsilon=_EPSILON,
                 output_dtype="int8"):
        Quantizer.__init__(self, output_dtype=output_dtype)
        self.axis = None if axis is None else ((axis,) if isinstance(axis, int)
                                               else tuple(axis))
        self.value_range = tuple(value_range)
        self.epsilon = epsilon
        if output_dtype == "int8" and (value_range[0] < -128 or value_range[1] > 127):
            raise ValueError("Quantizer with output_dtype='int8' requires value_range to be "
                             "within the interval [-128, 127]. Received: "
                             f"value_range={value_range}")

    def __call__(self, x, axis=None, to_numpy=False):
        axis = self.axis if axis is None else axis
        return abs_max_quantize(x, -1 if axis is None else axis, self.value_range,
                                self.output_dtype, self.epsilon)

    def get_config(self):
        config = {"value_range": self.value_range, "epsilon": self.epsilon,
                  "output_dtype": self.output_dtype}
        if self.axis is not None:
            config["axis"] = self.axis
        return config


def pack_int4(arr, axis=0, dtype="int8"):
    """Pack int4 values (held in int8) two per byte along `axis`: even positions in the low
    nibble. Returns `(packed, packed_shape, original_length)`.

    >>> packed, shape, n = pack_int4(torch.tensor([1, -2, 3], dtype=torch.int8))
    >>> unpack_int4(packed, n).tolist()
    [1, -2, 3]
    """
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    arr = _tensor(arr)
    if standardize_dtype(arr.dtype) != dtype:
        raise TypeError(f"Expected {dtype} tensor for packing, got "
                        f"{standardize_dtype(arr.dtype)}.")
    axis = axis % arr.ndim
    moved = arr.movedim(axis, 0)
    n = moved.shape[0]
    if n % 2:
        moved = torch.cat([moved, moved.new_zeros((1, *moved.shape[1:]))])
    low, high = moved[::2] & 15, moved[1::2] & 15
    packed = (low | (high << 4)).to(arr.dtype).movedim(0, axis)
    return packed, tuple(packed.shape), n


def unpack_int4(packed, orig_len, axis=0, dtype="int8"):
    """Inverse of `pack_int4`: `orig_len` int4 values along `axis`, signed for int8."""
    if dtype not in ("int8", "uint8"):
        raise ValueError(f"Expected dtype to be 'int8' or 'uint8', but got '{dtype}'.")
    packed = _tensor(packed)
    if packed.dtype not in (torch.int8, torch.uint8):
        raise TypeError(f"Expected int8 or uint8 tensor for unpacking, got {packed.dtype}")
    moved = packed.movedim(axis % packed.ndim, 0)
    low, high = moved & 15, (moved >> 4) & 15
    if dtype == "int8":
        low, high = (low ^ 8) - 8, (high ^ 8) - 8  # sign-extend the nibbles
    target = to_torch_dtype(dtype)
    both = torch.stack([low.to(target), high.to(target)], dim=1)
    unpacked = both.reshape(-1, *moved.shape[1:])[:orig_len]
    return unpacked.movedim(0, axis % packed.ndim)


def compute_float8_scale(amax, scale, dtype_max, margin=0):
    """The next float8 scale from the history maximum `amax` (Keras' delayed scaling); the
    current `scale` stays where `amax` is zero or not finite."""
    amax, scale = _tensor(amax), _tensor(scale)
    inverse = torch.reciprocal(scale)
    factor = torch.full_like(amax, dtype_max) / amax / (2 ** margin)
    factor = torch.where(amax > 0.0, factor, inverse)
    factor = torch.where(torch.isfinite(amax), factor, inverse)
    return torch.reciprocal(factor)


def compute_float8_amax_history(x, amax_history):
    """`amax_history` rolled by one, with `max|x|` in front."""
    x, amax_history = _tensor(x), _tensor(amax_history)
    update = torch.amax(x.abs()).to(amax_history.dtype).reshape(1)
    return torch.cat([update, torch.roll(amax_history, -1)[1:]])


def quantize_and_dequantize(inputs, scale, quantized_dtype, compute_dtype):
    """Round-trip `inputs / scale` through `quantized_dtype` (a float8 type), times `scale`.

    >>> quantize_and_dequantize(torch.tensor([1000.0]), torch.tensor(1.0),
    ...                         "float8_e4m3fn", "float32").tolist()
    [448.0]
    """
    compute = to_torch_dtype(compute_dtype)
    limit = _FLOAT8_MAX[standardize_dtype(quantized_dtype)]
    scale = _tensor(scale).to(compute)
    x = torch.clamp(_tensor(inputs) / scale, -limit, limit)
    return x.to(to_torch_dtype(quantized_dtype)).to(compute) * scale


class _FakeQuant(torch.autograd.Function):
    """Fake quantization with Keras' gradients: straight through inside the nudged range,
    to `min`/`max` outside it."""

    @staticmethod
    def forward(ctx, x, min_vals, max_vals, num_bits, narrow_range, axis):
        dtype = torch.promote_types(min_vals.dtype, torch.float32)
        low, high = min_vals.to(dtype), max_vals.to(dtype)
        quant_max = (1 << num_bits) - 1
        quant_min = 1 if narrow_range else 0
        scale = (high - low) / (quant_max - quant_min)
        inv_scale = (quant_max - quant_min) / (high - low)
        zero = torch.round(torch.clamp(quant_min - low / scale, quant_min, quant_max))
        nudged_min = (quant_min - zero) * scale
        nudged_max = (quant_max - zero) * scale
        quant_zero = torch.floor(-nudged_min * inv_scale + 0.5)
        shifted = torch.clamp(x.to(dtype), nudged_min, nudged_max) - nudged_min
        result = torch.floor(shifted * inv_scale - quant_zero + 0.5) * scale
        ctx.save_for_backward(x, nudged_min, nudged_max)
        ctx.shapes = (min_vals.shape, max_vals.shape, axis)
        return result.to(x.dtype)

    @staticmethod
    def backward(ctx, upstream):
        x, nudged_min, nudged_max = ctx.saved_tensors
        min_shape, max_shape, axis = ctx.shapes
        inside = (x >= nudged_min) & (x <= nudged_max)
        zero = torch.zeros((), dtype=upstream.dtype, device=upstream.device)
        dx = torch.where(inside, upstream, zero)
        axes = [i for i in range(upstream.ndim) if i != axis]
        below = torch.where(x <= nudged_min, upstream, zero)
        above = torch.where(x >= nudged_max, upstream, zero)
        grad_min = below.sum(dim=axes) if axis is not None else below.sum()
        grad_max = above.sum(dim=axes) if axis is not None else above.sum()
        return dx, grad_min.reshape(min_shape), grad_max.reshape(max_shape), None, None, None


def fake_quant_with_min_max_vars(inputs, min_vals, max_vals, num_bits=8, narrow_range=False,
                                 axis=None):
    """Quantize `inputs` to `num_bits` levels between `min_vals` and `max_vals` (per
    channel along `axis` when given) and back, as TensorFlow's `fake_quant_*` ops.

    >>> fake_quant_with_min_max_vars(torch.tensor([0.3, 2.0]), 0.0, 1.0).tolist()
    [0.3019607961177826, 1.0]
    """
    inputs = _tensor(inputs)
    min_vals = _tensor(min_vals)
    max_vals = _tensor(max_vals)
    if axis is not None:
        axis = axis % inputs.ndim
        shape = [1] * inputs.ndim
        shape[axis] = -1
        # NOTE: per-channel bounds broadcast along `axis` inside the arithmetic.
        bounds = (min_vals.reshape(shape), max_vals.reshape(shape))
        out = _FakeQuant.apply(inputs, *bounds, int(num_bits), narrow_range, axis)
        return out
    return _FakeQuant.apply(inputs, min_vals, max_vals, int(num_bits), narrow_range, None)
