"""`Conv1DTranspose`, `Conv2DTranspose`, `Conv3DTranspose`: transposed convolutions on
torch's `conv_transpose{1,2,3}d` kernels, with Keras' output sizes and cropping."""

import torch.nn.functional as F

from lamina.layers.convolutional.base_conv import BaseConv, int_tuple, positive_int


def transpose_output_length(length, kernel, stride, dilation, padding, output_padding):
    """Keras' output length of a transposed convolution along one axis."""
    if length is None:
        return None
    span = (kernel - 1) * dilation + 1
    if output_padding is None:
        if padding == "valid":
            return length * stride + max(span - stride, 0)
        return length * stride
    crop = span // 2 if padding == "same" else 0
    return (length - 1) * stride + span - 2 * crop + output_padding


def transpose_crop(kernel, stride, dilation, padding, output_padding):
    """Where Keras' output starts in the full (uncropped) transposed convolution, and
    how many units it has beyond that full result's symmetric crop (torch's
    `output_padding`; -1 means one unit less). Neither depends on the input length."""
    span = (kernel - 1) * dilation + 1
    if padding == "valid":
        start = 0
    elif output_padding is None:
        start = max(span - stride, 0) // 2
    else:
        start = max((2 * (span // 2) - output_padding) // 2, 0)
    # full length is (n - 1) * stride + span; Keras keeps `length` units from `start`.
    extra = transpose_output_length(1, kernel, stride, dilation, padding,
                                    output_padding) - span + 2 * start
    return start, extra


class ConvTranspose(BaseConv):
    """N-d transposed convolution (the gradient of a convolution with respect to its
    input), e.g. to upsample: `activation(conv_transpose(inputs, kernel) + bias)`.

    The kernel has Keras' layout `(*kernel_size, filters, in_channels)`.

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: ints or tuples, as in `Conv`.
        padding: `"valid"` or `"same"` (output size `input * stride`).
        output_padding: None, or int/tuple of extra output units per axis (each smaller
            than its stride); sets the output size exactly.
        data_format, activation, use_bias, initializers, regularizers, constraints:
            as in `Conv`.
    """

    _strided_dilation_ok = False
    _config_keys = ("filters", "kernel_size", "strides", "padding", "output_padding",
                    "data_format", "dilation_rate", "activation", "use_bias",
                    "kernel_initializer", "bias_initializer", "kernel_regularizer",
                    "bias_regularizer", "activity_regularizer", "kernel_constraint",
                    "bias_constraint")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        self.__dict__["_output_padding_arg"] = output_padding  # read by _plan_padding
        super().__init__(kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(self._where, "filters", filters)
        self._resolve(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer,
                      kernel_regularizer=kernel_regularizer, bias_regularizer=bias_regularizer,
                      kernel_constraint=kernel_constraint, bias_constraint=bias_constraint)

    def _plan_padding(self):
        # Runs inside BaseConv.__init__, once kernel_size/strides/dilation are known.
        output_padding = self._output_padding_arg
        if output_padding is not None:
            output_padding = int_tuple(self._where, "output_padding", output_padding,
                                       self.rank, minimum=0)
            for axis, (extra, stride) in enumerate(zip(output_padding, self.strides)):
                if extra >= stride:
                    raise ValueError(
                        f"{self._where}: `output_padding` must be smaller than `strides` on "
                        f"every axis; on axis {axis} it is {extra} with stride {stride}. "
                        f"Received: output_padding={output_padding}, strides={self.strides}"
                    )
        self.output_padding = output_padding
        self.__dict__.pop("_output_padding_arg", None)
        per_axis = [transpose_crop(k, s, d, self.padding,
                                   None if output_padding is None else output_padding[i])
                    for i, (k, s, d) in enumerate(zip(self.kernel_size, self.strides,
                                                      self.dilation_rate))]
        self._dynamic_padding, self._input_pad = False, None
        self._torch_padding = tuple(start for start, _ in per_axis)
        self._torch_output_padding = tuple(max(extra, 0) for _, extra in per_axis)
        # NOTE: torch crops symmetrically; where Keras keeps one unit less at the end,
        # the surplus unit is sliced off (a view).
        trims = [extra < 0 for _, extra in per_axis]
        self._trim = (slice(None), slice(None), *(
            slice(None, -1) if trim else slice(None) for trim in trims)) if any(trims) else None
        self._transpose_fn = (F.conv_transpose1d, F.conv_transpose2d,
                              F.conv_transpose3d)[self.rank - 1]

    def _create_weights(self, in_channels):
        shape = (*self.kernel_size, self.filters, in_channels)
        self.kernel = self._add_kernel("kernel", shape, "kernel")
        self._add_bias(self.filters)

    def _check_spatial(self, input_shape):
        return None  # a transposed convolution grows its input: any size works

    def _output_channels(self, in_channels):
        return self.filters

    def _output_spatial(self, spatial):
        pads = self.output_padding or (None,) * self.rank
        return [transpose_output_length(n, k, s, d, self.padding, p) for n, k, s, d, p in zip(
            spatial, self.kernel_size, self.strides, self.dilation_rate, pads)]

    def _convolve(self, x, padding):
        # (*k, filters, in) as torch's (in, filters, *k).
        y = self._transpose_fn(x, self._torch_kernel("kernel", x.dtype),
                               self._torch_bias(x.dtype), self.strides, padding,
                               self._torch_output_padding, 1, self.dilation_rate)
        return y if self._trim is None else y[self._trim]


class Conv1DTranspose(ConvTranspose):
    """As `ConvTranspose` with one spatial axis: inputs `(batch, steps, channels)`.

    >>> import torch
    >>> Conv1DTranspose(2, 3, strides=2, padding="same")(torch.ones(1, 5, 4)).shape
    torch.Size([1, 10, 2])
    """

    rank = 1


class Conv2DTranspose(ConvTranspose):
    """As `ConvTranspose` with two spatial axes: inputs `(batch, height, width, channels)`.

    >>> import torch
    >>> layer = Conv2DTranspose(3, 4, strides=2, padding="same")
    >>> layer(torch.ones(1, 7, 7, 8)).shape
    torch.Size([1, 14, 14, 3])
    >>> tuple(layer.kernel.shape)
    (4, 4, 3, 8)
    """

    rank = 2


class Conv3DTranspose(ConvTranspose):
    """As `ConvTranspose` with three spatial axes: inputs `(batch, d1, d2, d3, channels)`.

    >>> import torch
    >>> Conv3DTranspose(2, 2, strides=2)(torch.ones(1, 3, 3, 3, 1)).shape
    torch.Size([1, 6, 6, 6, 2])
    """

    rank = 3
