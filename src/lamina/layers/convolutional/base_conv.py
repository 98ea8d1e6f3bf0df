"""`BaseConv`: what every convolution layer shares.

Argument checks, Keras' output-size and `same`-padding arithmetic, the layout moves
between Keras' data formats and torch's `(N, C, *spatial)`, and the call pipeline.
Subclasses create their weights (in Keras' layouts) and run one torch kernel.
"""

import numbers

import torch
import torch.nn.functional as F

from lamina import activations, constraints, initializers, regularizers
from lamina.backend import config as backend_config
from lamina.layers.activations.activation import direct_activation
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

# NOTE: channels_last inputs `(N, *spatial, C)` reach torch as `x.permute(0, -1, 1, ...)`,
# a view whose strides are torch's `channels_last` memory format, so torch's
# channels-last kernels run on them without a copy; the output comes back the same way.
# Kernels stay in Keras' layout. While gradients are recorded, torch gets a permuted
# *view* of the Variable (free, and part of the autograd graph: the gradient lands on the
# Keras-layout Variable). Without gradients (inference), torch gets a contiguous copy in
# its preferred memory format, cached and re-made only when the Variable changes (its
# `_version` counter, bumped by every in-place write, or its storage): measured ~3x faster
# for small convolutions and ~20% for large ones on CPU, than letting torch re-layout a
# view on every call.

_RESOLVERS = {"_initializer": (initializers.get, initializers.serialize),
              "_regularizer": (regularizers.get, regularizers.serialize),
              "_constraint": (constraints.get, constraints.serialize)}


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def positive_int(layer_name, arg, value):
    """`value` as an int, or a ValueError naming the layer if it is not a positive integer
    (integer-valued floats such as `32.0` are accepted, as Keras does)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not _is_int(value) or value <= 0:
        raise ValueError(
            f"{layer_name}: argument `{arg}` must be a positive integer. "
            f"Received: {arg}={value!r}"
        )
    return int(value)


def int_tuple(layer_name, arg, value, rank, minimum=1):
    """`value` (an int or `rank` ints, each >= `minimum`) as a tuple of `rank` ints."""
    items = (value,) * rank if _is_int(value) else value
    try:
        items = tuple(items)
    except TypeError:
        items = None
    if items is None or len(items) != rank or not all(
            _is_int(v) and v >= minimum for v in items):
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(
            f"{layer_name}: argument `{arg}` must be an int or a tuple of {rank} {kind} ints. "
            f"Received: {arg}={value!r}"
        )
    return tuple(int(v) for v in items)


def conv_output_length(length, kernel, stride, dilation, padding):
    """Keras' output length of a convolution along one axis (None stays None)."""
    if length is None:
        return None
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        return (length - span) // stride + 1
    return (length + stride - 1) // stride  # same and causal: ceil(length / stride)


def same_padding(length, span, stride):
    """Keras' `same` padding `(before, after)` along one axis; the odd unit goes after."""
    out = (length + stride - 1) // stride
    total = max((out - 1) * stride + span - length, 0)
    return total // 2, total - total // 2


def same_padding_plan(spatial, spans, strides):
    """Keras' `same` padding for inputs of `spatial` size, as `(padding, pad)`: torch's
    symmetric `padding` and the `F.pad` argument for the odd unit Keras puts after (None
    when no axis has one). With stride 1 the plan doesn't depend on the size."""
    pads = [same_padding(n, span, s) for n, span, s in zip(spatial, spans, strides)]
    symmetric = tuple(before for before, _ in pads)
    extra = [after - before for before, after in pads]
    if not any(extra):
        return symmetric, None
    flat = []
    for unit in reversed(extra):  # F.pad lists the last axis first
        flat.extend((0, unit))
    return symmetric, tuple(flat)


class BaseConv(Layer):
    """Base of the convolution layers: checks and stores the shared arguments, lays
    inputs out for torch, pads as Keras does, and applies bias and activation.

    Subclasses set `rank`, `_create_weights(in_channels)`, `_convolve(x, padding)` (x in
    torch layout) and `_output_channels(in_channels)`.
    """

    rank = None
    _paddings = ("valid", "same")
    _strided_dilation_ok = True

    def __init__(self, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, activity_regularizer=None,
                 name=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, name=name, **kwargs)
        rank, where = self.rank, f"{type(self).__name__} '{self.name}'"
        self._where = where
        self.kernel_size = int_tuple(where, "kernel_size", kernel_size, rank)
        self.strides = int_tuple(where, "strides", strides, rank)
        self.dilation_rate = int_tuple(where, "dilation_rate", dilation_rate, rank)
        padding_ok = isinstance(padding, str) and padding.lower() in self._paddings
        if not padding_ok:
            raise ValueError(
                f"{where}: argument `padding` must be one of {self._paddings}. "
                f"Received: padding={padding!r}"
            )
        self.padding = padding.lower()
        if data_format is None:
            data_format = backend_config.image_data_format()
        if not isinstance(data_format, str) or data_format.lower() not in (
                "channels_last", "channels_first"):
            raise ValueError(
                f"{where}: argument `data_format` must be 'channels_last' or "
                f"'channels_first'. Received: data_format={data_format!r}"
            )
        self.data_format = data_format.lower()
        if not self._strided_dilation_ok and max(self.strides) > 1 and max(
                self.dilation_rate) > 1:
            raise ValueError(
                f"{where}: `strides > 1` cannot be combined with `dilation_rate > 1`. "
                f"Received: strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.activation = activations.get(activation)
        self._activation_fn = direct_activation(self.activation)
        self.use_bias = bool(use_bias)
        self.bias = None
        self._channels_last = self.data_format == "channels_last"
        self._channel_axis = -1 if self._channels_last else 1
        self.__dict__["_kernel_cache"] = {}  # name -> ((version, storage, dtype), tensor)
        self._cache_format = {2: torch.channels_last, 3: torch.channels_last_3d}.get(
            rank, torch.contiguous_format) if self._channels_last else torch.contiguous_format
        self._to_torch = (0, rank + 1, *range(1, rank + 1))
        self._from_torch = (0, *range(2, rank + 2), 1)
        self._kernel_perm = (rank + 1, rank, *range(rank))  # (*k, a, b) -> (b, a, *k)
        self._conv_fn = (F.conv1d, F.conv2d, F.conv3d)[rank - 1]
        self.input_spec = InputSpec(ndim=rank + 2)
        self._plan_padding()

    def _resolve(self, **named):
        """Store initializers/regularizers/constraints, resolved by their argument suffix."""
        for key, value in named.items():
            setattr(self, key, _RESOLVERS[key[key.rindex("_"):]][0](value))

    # -- padding plan (depends only on the arguments, and for strided `same` on the
    # -- input size, which is cached per size) -------------------------------------------
    def _plan_padding(self):
        spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
        self._spans = spans
        self.__dict__["_same_cache"] = {}  # plain bookkeeping, not tracked state
        self._dynamic_padding = False
        self._torch_padding, self._input_pad = (0,) * self.rank, None
        if self.padding == "causal":
            self._input_pad = (spans[0] - 1, 0)
        elif self.padding == "same":
            if max(self.strides) > 1:
                self._dynamic_padding = True
            else:
                self._torch_padding, self._input_pad = same_padding_plan(
                    (1,) * self.rank, spans, self.strides)

    def _same_padding_for(self, spatial):
        plan = self._same_cache.get(spatial)
        if plan is None:
            plan = same_padding_plan(spatial, self._spans, self.strides)
            self._same_cache[spatial] = plan
        return plan

    # -- build -----------------------------------------------------------------------------
    def build(self, input_shape):
        input_shape = tuple(input_shape)
        in_channels = input_shape[self._channel_axis]
        if in_channels is None:
            raise ValueError(
                f"{self._where} needs a known channel size (axis {self._channel_axis} for "
                f"data_format='{self.data_format}') to create its kernel. "
                f"Received: input_shape={input_shape}"
            )
        self._check_spatial(input_shape)
        self._create_weights(int(in_channels))
        self.input_spec = InputSpec(ndim=self.rank + 2,
                                    axes={self._channel_axis: int(in_channels)})
        # NOTE: decided once: with a float32 policy the weights enter torch uncast.
        self._plain_weights = self.compute_dtype == self.variable_dtype
        self.built = True

    def _spatial(self, shape):
        shape = tuple(shape)
        return shape[1:-1] if self._channels_last else shape[2:]

    def _check_spatial(self, input_shape):
        """Kernels larger than a `valid`-padded input leave nothing to compute: say so."""
        if self.padding != "valid" or len(tuple(input_shape)) != self.rank + 2:
            return
        for n, span in zip(self._spatial(input_shape), self._spans):
            if n is not None and n < span:
                raise ValueError(
                    f"{self._where}: the kernel (size {self.kernel_size}, dilation "
                    f"{self.dilation_rate}, so it spans {tuple(self._spans)}) is larger than "
                    f"the spatial size of the input with padding='valid'. Received: "
                    f"input_shape={tuple(input_shape)}. Use padding='same' or a larger input."
                )

    def _add_kernel(self, name, shape, prefix):
        return self.add_weight(
            name=name, shape=shape, initializer=getattr(self, f"{prefix}_initializer"),
            regularizer=getattr(self, f"{prefix}_regularizer"),
            constraint=getattr(self, f"{prefix}_constraint"))

    def _add_bias(self, size):
        if self.use_bias:
            self.bias = self._add_kernel("bias", (size,), "bias")

    def _torch_bias(self, dtype):
        bias = self.bias
        return bias if self._plain_weights or bias is None else bias.to(dtype)

    def _torch_kernel(self, name, dtype, depthwise=False):
        """The Keras-layout kernel `name` in torch's layout `(out, in, *k)` (`depthwise`:
        `(*k, in, m)` is first flattened to `(*k, 1, in * m)`)."""
        variable = getattr(self, name)
        if variable.requires_grad and torch.is_grad_enabled() or (
                torch.compiler.is_compiling()):
            return self._relayout(variable, dtype, depthwise)
        key = (variable._version, variable.data_ptr(), dtype)
        entry = self._kernel_cache.get(name)
        if entry is not None and entry[0] == key:
            return entry[1]
        with torch.no_grad():
            kernel = self._relayout(variable, dtype, depthwise).contiguous(
                memory_format=self._cache_format)
        if type(kernel) is torch.Tensor:  # never keep a fake tensor from a symbolic run
            self._kernel_cache[name] = (key, kernel)
        return kernel

    def _relayout(self, variable, dtype, depthwise):
        if depthwise:
            variable = variable.reshape(*self.kernel_size, 1, -1)
        kernel = variable.permute(self._kernel_perm)
        return kernel if self._plain_weights else kernel.to(dtype)

    # -- call ------------------------------------------------------------------------------
    def call(self, inputs):
        x = inputs.permute(self._to_torch) if self._channels_last else inputs
        if self._dynamic_padding:
            padding, pad = self._same_padding_for(x.shape[2:])
        else:
            padding, pad = self._torch_padding, self._input_pad
        try:
            if pad is not None:
                x = F.pad(x, pad)
            y = self._convolve(x, padding)
        except RuntimeError:
            self._check_spatial(inputs.shape)
            raise
        if self._channels_last:
            y = y.permute(self._from_torch)
        fn = self._activation_fn
        return y if fn is None else fn(y)

    # -- shapes and config -----------------------------------------------------------------
    def _output_spatial(self, spatial):
        return [conv_output_length(n, k, s, d, self.padding) for n, k, s, d in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate)]

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        self._check_spatial(input_shape)
        spatial = self._output_spatial(self._spatial(input_shape))
        channels = self._output_channels(input_shape[self._channel_axis])
        if self._channels_last:
            return (input_shape[0], *spatial, channels)
        return (input_shape[0], channels, *spatial)

    _config_keys = ()

    def get_config(self):
        config = super().get_config()
        for key in self._config_keys:
            value = getattr(self, key)
            suffix = key[key.rfind("_"):]
            if key == "activation":
                value = activations.serialize(value)
            elif suffix in _RESOLVERS:
                value = _RESOLVERS[suffix][1](value)
            config[key] = value
        return config
