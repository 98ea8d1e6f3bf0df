"""`SeparableConv1D`, `SeparableConv2D`: a depthwise convolution followed by a pointwise
(1x1) convolution that mixes channels, both on torch's convolution kernels."""

from lamina.layers.convolutional.base_conv import BaseConv, positive_int


class SeparableConv(BaseConv):
    """N-d depthwise-separable convolution: a depthwise convolution (`depth_multiplier`
    filters per input channel, with the strides, padding and dilation), then a 1x1
    convolution to `filters` channels, then bias and activation.

    Weights (Keras' layouts): `depthwise_kernel` `(*kernel_size, in, depth_multiplier)`,
    `pointwise_kernel` `(1, ..., 1, in * depth_multiplier, filters)`, `bias` `(filters,)`.

    Args:
        filters: number of output channels.
        kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
        activation, use_bias: as in `DepthwiseConv` and `Conv`.
        depthwise_*, pointwise_*, bias_* initializers, regularizers and constraints, and
        activity_regularizer.
    """

    _config_keys = ("depth_multiplier", "filters", "kernel_size", "strides", "padding",
                    "data_format", "dilation_rate", "activation", "use_bias",
                    "depthwise_initializer", "pointwise_initializer", "bias_initializer",
                    "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer",
                    "activity_regularizer", "depthwise_constraint", "pointwise_constraint",
                    "bias_constraint")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(kernel_size, strides=strides, padding=padding,
                         data_format=data_format, dilation_rate=dilation_rate,
                         activation=activation, use_bias=use_bias,
                         activity_regularizer=activity_regularizer, **kwargs)
        self.filters = positive_int(self._where, "filters", filters)
        self.depth_multiplier = positive_int(self._where, "depth_multiplier", depth_multiplier)
        self._resolve(depthwise_initializer=depthwise_initializer,
                      pointwise_initializer=pointwise_initializer,
                      bias_initializer=bias_initializer,
                      depthwise_regularizer=depthwise_regularizer,
                      pointwise_regularizer=pointwise_regularizer,
                      bias_regularizer=bias_regularizer,
                      depthwise_constraint=depthwise_constraint,
                      pointwise_constraint=pointwise_constraint, bias_constraint=bias_constraint)

    def _create_weights(self, in_channels):
        self._in_channels = in_channels
        middle = in_channels * self.depth_multiplier
        self.depthwise_kernel = self._add_kernel(
            "depthwise_kernel", (*self.kernel_size, in_channels, self.depth_multiplier),
            "depthwise")
        self.pointwise_kernel = self._add_kernel(
            "pointwise_kernel", (*(1,) * self.rank, middle, self.filters), "pointwise")
        self._add_bias(self.filters)

    def _output_channels(self, in_channels):
        return self.filters

    def _convolve(self, x, padding):
        depthwise = self._torch_kernel("depthwise_kernel", x.dtype, depthwise=True)
        y = self._conv_fn(x, depthwise, None, self.strides, padding, self.dilation_rate,
                          self._in_channels)
        pointwise = self._torch_kernel("pointwise_kernel", x.dtype)
        return self._conv_fn(y, pointwise, self._torch_bias(x.dtype))


class SeparableConv1D(SeparableConv):
    """As `SeparableConv` with one spatial axis: inputs `(batch, steps, channels)`.

    >>> import torch
    >>> SeparableConv1D(5, 3, padding="same")(torch.ones(1, 8, 4)).shape
    torch.Size([1, 8, 5])
    """

    rank = 1


class SeparableConv2D(SeparableConv):
    """As `SeparableConv` with two spatial axes: inputs `(batch, height, width, channels)`.

    >>> import torch
    >>> layer = SeparableConv2D(6, 3, depth_multiplier=2)
    >>> layer(torch.ones(1, 8, 8, 4)).shape
    torch.Size([1, 6, 6, 6])
    >>> [tuple(w.shape) for w in layer.weights]
    [(3, 3, 4, 2), (1, 1, 8, 6), (6,)]
    """

    rank = 2
