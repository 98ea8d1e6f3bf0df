"""`DepthwiseConv1D`, `DepthwiseConv2D`: one filter bank per input channel, run as a
torch grouped convolution (`groups = in_channels`)."""

from lamina.layers.convolutional.base_conv import BaseConv, positive_int


class DepthwiseConv(BaseConv):
    """N-d depthwise convolution: each input channel is convolved with its own
    `depth_multiplier` filters; output channel `c * depth_multiplier + m` is filter `m`
    of input channel `c`.

    The kernel has Keras' layout `(*kernel_size, in_channels, depth_multiplier)`.

    Args:
        kernel_size, strides, padding, data_format, dilation_rate: as in `Conv`
            (strides and dilation may both exceed 1 here).
        depth_multiplier: filters per input channel.
        activation, use_bias: activation to apply, and whether to add a bias.
        depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
        activity_regularizer, depthwise_constraint, bias_constraint: for the kernel and bias.
    """

    _config_keys = ("depth_multiplier", "kernel_size", "strides", "padding", "data_format",
                    "dilation_rate", "activation", "use_bias", "depthwise_initializer",
                    "bias_initializer", "depthwise_regularizer", "bias_regularizer",
                    "activity_regularizer", "depthwise_constraint", "bias_constraint")

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.depth_multiplier = positive_int(self._where, "depth_multiplier", depth_multiplier)
        self._resolve(depthwise_initializer=depthwise_initializer,
                      bias_initializer=bias_initializer,
                      depthwise_regularizer=depthwise_regularizer,
                      bias_regularizer=bias_regularizer,
                      depthwise_constraint=depthwise_constraint, bias_constraint=bias_constraint)

    def _create_weights(self, in_channels):
        self._in_channels = in_channels
        shape = (*self.kernel_size, in_channels, self.depth_multiplier)
        self.kernel = self._add_kernel("kernel", shape, "depthwise")
        self._add_bias(in_channels * self.depth_multiplier)

    def _output_channels(self, in_channels):
        return None if in_channels is None else in_channels * self.depth_multiplier

    def _convolve(self, x, padding):
        # (*k, in, m) -> (*k, 1, in * m) -> torch's (in * m, 1, *k), one group per channel.
        return self._conv_fn(x, self._torch_kernel("kernel", x.dtype, depthwise=True),
                             self._torch_bias(x.dtype), self.strides, padding,
                             self.dilation_rate, self._in_channels)


class DepthwiseConv1D(DepthwiseConv):
    """As `DepthwiseConv` with one spatial axis: inputs `(batch, steps, channels)`.

    >>> import torch
    >>> DepthwiseConv1D(3, depth_multiplier=2)(torch.ones(1, 8, 4)).shape
    torch.Size([1, 6, 8])
    """

    rank = 1


class DepthwiseConv2D(DepthwiseConv):
    """As `DepthwiseConv` with two spatial axes: inputs `(batch, height, width, channels)`.

    >>> import torch
    >>> layer = DepthwiseConv2D(3, padding="same")
    >>> layer(torch.ones(1, 8, 8, 4)).shape
    torch.Size([1, 8, 8, 4])
    >>> tuple(layer.kernel.shape)
    (3, 3, 4, 1)
    """

    rank = 2
