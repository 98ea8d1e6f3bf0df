"""`BatchNormalization`: normalize with batch statistics in training, moving ones after."""

import numbers

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.backend.convert import convert_to_tensor
from lamina.distribution.distribution_lib import data_parallel_world, synchronized_moments
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


def resolve_axis(axis, rank, layer):
    """`axis` (negative allowed) as an index in `range(rank)`, or a ValueError naming `layer`."""
    if not -rank <= axis < rank:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}): `axis={axis}` is out of range for "
            f"inputs of rank {rank} (expected -{rank} <= axis < {rank}).")
    return axis % rank


class BatchNormalization(Layer):
    """Normalize features with per-batch statistics (training) or moving averages (inference).

    In training (`training=True` and the layer trainable), outputs use the batch mean and
    biased variance over every axis but `axis`, and the moving statistics move towards them:
    `moving = moving * momentum + batch_stat * (1 - momentum)`. Otherwise outputs use the
    moving statistics. `trainable=False` means inference, as in Keras.
    The output is `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    Args:
        axis: the features axis (int; `-1` for channels-last, `1` for channels-first).
        momentum: weight of the old moving statistics in their update.
        epsilon: added to the variance.
        center, scale: whether to learn `beta` / `gamma`.
        beta_initializer, gamma_initializer, moving_mean_initializer,
        moving_variance_initializer, beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: initializers, regularizers and constraints of the weights.
        synchronized: under `DataParallel` in a multi-process job, compute the batch
            statistics over every process's share of the batch (exact for even shares);
            otherwise per process.
        renorm: batch renormalization is not supported (only False).

    >>> import torch
    >>> layer = BatchNormalization(momentum=0.5)
    >>> x = torch.tensor([[1.0], [3.0]])
    >>> layer(x, training=True).flatten().tolist()
    [-0.9995003938674927, 0.9995003938674927]
    >>> layer.moving_mean.tolist(), layer.moving_variance.tolist()
    ([1.0], [1.0])
    """

    _casts_integer_inputs = True  # int/bool inputs compute in float, as in Keras

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, renorm=False, renorm_clipping=None,
                 renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Real):
            raise TypeError(
                f"Layer '{self.name}' (BatchNormalization): `axis` must be an int. "
                f"Received: axis={axis!r}")
        if renorm:
            raise NotImplementedError(
                f"Layer '{self.name}' (BatchNormalization): batch renormalization is not "
                "supported by lamina. Pass renorm=False.")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.renorm = False
        self.renorm_clipping = renorm_clipping
        self.renorm_momentum = renorm_momentum
        self.synchronized = synchronized
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        rank = len(input_shape)
        axis = resolve_axis(self.axis, rank, self)
        dim = input_shape[axis]
        if dim is None:
            raise ValueError(
                f"Layer '{self.name}' (BatchNormalization) needs a known size for axis "
                f"{self.axis}. Received: input_shape={tuple(input_shape)}")
        shape = (dim,)
        if self.scale:
            self.gamma = self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.moving_mean = self.add_weight(
            shape=shape, name="moving_mean", initializer=self.moving_mean_initializer,
            trainable=False, autocast=False)
        self.moving_variance = self.add_weight(
            shape=shape, name="moving_variance", initializer=self.moving_variance_initializer,
            trainable=False, autocast=False)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self._channel_axis = axis
        self._reduction_axes = tuple(i for i in range(rank) if i != axis)
        self.built = True

    def call(self, inputs, training=None, mask=None):
        if inputs.dtype in (torch.float16, torch.bfloat16):
            # NOTE: as Keras, mixed precision normalizes in float32 (the statistics are).
            return self.call(inputs.float(), training, mask).to(inputs.dtype)
        # NOTE: torch's batch_norm kernels want channels at axis 1; movedim is a view.
        x = inputs if self._channel_axis == 1 else inputs.movedim(self._channel_axis, 1)
        if training and self.trainable:
            if mask is None and self.synchronized and data_parallel_world() is not None:
                mean, variance = synchronized_moments(x)
                y = self._affine(x, mean, variance)
            elif mask is None:
                y, mean, variance = self._normalize_with_batch_stats(x)
            else:
                mean, variance = self._masked_moments(inputs, mask)
                y = self._affine(x, mean, variance)
            with torch.no_grad():
                stats = [self.moving_mean, self.moving_variance]
                torch._foreach_mul_(stats, self.momentum)
                torch._foreach_add_(stats, [mean.detach(), variance.detach()],
                                    alpha=1.0 - self.momentum)
        else:
            mean, variance = self.moving_mean, self.moving_variance
            if mean.dtype != x.dtype:
                mean, variance = mean.to(x.dtype), variance.to(x.dtype)
            y = F.batch_norm(x, mean, variance, self.gamma, self.beta, False, 0.0, self.epsilon)
        return y if self._channel_axis == 1 else y.movedim(1, self._channel_axis)

    def _normalize_with_batch_stats(self, x):
        # NOTE: torch's fused kernel normalizes with the biased batch variance (as Keras)
        # and, with momentum 1 and fresh buffers, hands back the batch mean and the
        # *unbiased* variance; rescaling it gives Keras' biased statistic with no extra pass.
        mean = torch.zeros_like(self.moving_mean)
        variance = torch.zeros_like(self.moving_variance)
        y = F.batch_norm(x, mean, variance, self.gamma, self.beta, True, 1.0, self.epsilon)
        count = x.numel() // x.shape[1]
        return y, mean, variance * ((count - 1) / count)

    def _affine(self, x, mean, variance):
        shape = [1] * x.ndim
        shape[1] = -1
        y = (x - mean.view(shape)) * torch.rsqrt(variance.view(shape) + self.epsilon)
        if self.gamma is not None:
            y = y * self.gamma.view(shape)
        if self.beta is not None:
            y = y + self.beta.view(shape)
        return y

    def _masked_moments(self, inputs, mask):
        if not isinstance(mask, torch.Tensor):
            mask = convert_to_tensor(mask)
        weights = mask.to(inputs.dtype).unsqueeze(self._channel_axis)
        count = torch.sum(weights.expand_as(inputs), dim=self._reduction_axes)
        mean = torch.sum(inputs * weights, dim=self._reduction_axes) / count
        shape = [1] * inputs.ndim
        shape[self._channel_axis] = -1
        centered = inputs - mean.view(shape)
        variance = torch.sum(centered * centered * weights, dim=self._reduction_axes) / count
        return mean, variance

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis, momentum=self.momentum, epsilon=self.epsilon, center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            moving_mean_initializer=initializers.serialize(self.moving_mean_initializer),
            moving_variance_initializer=initializers.serialize(
                self.moving_variance_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint),
            synchronized=self.synchronized, renorm=self.renorm,
            renorm_clipping=self.renorm_clipping, renorm_momentum=self.renorm_momentum,
        )
        return config
