"""`Conv1D`, `Conv2D`, `Conv3D`: convolution layers on torch's `conv{1,2,3}d` kernels."""

from lamina.layers.convolutional.base_conv import BaseConv, positive_int


class Conv(BaseConv):
    """N-d convolution: `activation(conv(inputs, kernel) + bias)`.

    The kernel has Keras' layout `(*kernel_size, in_channels // groups, filters)`, so
    weights copy 1:1 with Keras.

    Args:
        filters: number of output channels.
        kernel_size: int or tuple, the window size.
        strides: int or tuple, the step of the window (default 1).
        padding: `"valid"` (no padding) or `"same"` (output size `ceil(input / stride)`,
            the odd padding unit goes after); `Conv1D` also takes `"causal"`.
        data_format: `"channels_last"` `(batch, *spatial, channels)` or
            `"channels_first"` `(batch, channels, *spatial)`; None reads
            `lamina.backend.image_data_format()`.
        dilation_rate: int or tuple, the spacing of the window's taps.
        groups: split the channels into this many independent groups.
        activation, use_bias: activation to apply, and whether to add a bias.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        activity_regularizer, kernel_constraint, bias_constraint: as in `Dense`.
    """

    _strided_dilation_ok = False
    _config_keys = ("filters", "kernel_size", "strides", "padding", "data_format",
                    "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer",
                    "bias_initializer", "kernel_regularizer", "bias_regularizer",
                    "activity_regularizer", "kernel_constraint", "bias_constraint")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(self._where, "filters", filters)
        self.groups = positive_int(self._where, "groups", groups)
        if self.filters % self.groups:
            raise ValueError(
                f"{self._where}: `filters` must be divisible by `groups`. "
                f"Received: filters={self.filters}, groups={self.groups}"
            )
        self._resolve(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                      kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)
        # NOTE: torch 2.13's oneDNN weight-gradient kernel segfaults on a 1x1 conv2d with
        # stride > 1 over a channels-last input (ResNet/Xception shortcuts). A 1x1 kernel
        # reads only every s-th position and needs no padding, so slicing those positions
        # and convolving with stride 1 gives the same result and avoids that kernel.
        self._pointwise_steps = None
        if all(k == 1 for k in self.kernel_size) and max(self.strides) > 1:
            self._pointwise_steps = (slice(None), slice(None), *(
                slice(None, None, s) for s in self.strides))

    def _create_weights(self, in_channels):
        if in_channels % self.groups:
            raise ValueError(
                f"{self._where}: the number of input channels must be divisible by `groups`. "
                f"Received: groups={self.groups}, input channels={in_channels}"
            )
        shape = (*self.kernel_size, in_channels // self.groups, self.filters)
        self.kernel = self._add_kernel("kernel", shape, "kernel")
        self._add_bias(self.filters)

    def _output_channels(self, in_channels):
        return self.filters

    def _convolve(self, x, padding):
        strides = self.strides
        if self._pointwise_steps is not None:
            x, strides = x[self._pointwise_steps], 1
        # (*k, in/groups, filters) as torch's (filters, in/groups, *k).
        return self._conv_fn(x, self._torch_kernel("kernel", x.dtype),
                             self._torch_bias(x.dtype), strides, padding,
                             self.dilation_rate, self.groups)


class Conv1D(Conv):
    """As `Conv` with one spatial axis: inputs `(batch, steps, channels)`.

    `padding="causal"` pads only the start, so output step `t` sees inputs `<= t`.

    >>> import torch
    >>> layer = Conv1D(4, 3, padding="causal")
    >>> layer(torch.ones(2, 10, 3)).shape
    torch.Size([2, 10, 4])
    """

    rank = 1
    _paddings = ("valid", "same", "causal")


class Conv2D(Conv):
    """As `Conv` with two spatial axes: inputs `(batch, height, width, channels)`.

    >>> import torch
    >>> layer = Conv2D(8, 3, strides=2, padding="same", activation="relu")
    >>> layer(torch.ones(2, 28, 28, 1)).shape
    torch.Size([2, 14, 14, 8])
    >>> tuple(layer.kernel.shape)
    (3, 3, 1, 8)
    """

    rank = 2


class Conv3D(Conv):
    """As `Conv` with three spatial axes: inputs `(batch, d1, d2, d3, channels)`.

    >>> import torch
    >>> Conv3D(2, 3)(torch.ones(1, 5, 6, 7, 3)).shape
    torch.Size([1, 3, 4, 5, 2])
    """

    rank = 3
