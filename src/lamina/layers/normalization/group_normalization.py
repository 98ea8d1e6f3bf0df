"""`GroupNormalization`: normalize each sample over groups of channels."""

import numbers

import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer
from lamina.layers.normalization.batch_normalization import resolve_axis


class GroupNormalization(Layer):
    """Split the channels into `groups` and normalize each sample within each group (over
    the group's channels and all other non-batch axes), then scale by `gamma` and shift by
    `beta` per channel. `groups=-1` puts each channel in its own group (instance norm);
    `groups=1` normalizes over all channels (layer norm).

    Args:
        groups: number of groups; must divide the number of channels.
        axis: the channels axis.
        epsilon: added to the variance.
        center, scale: whether to learn `beta` / `gamma`.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: for the weights.

    >>> import torch
    >>> GroupNormalization(groups=2, epsilon=0.0)(torch.tensor([[1.0, 3.0, 5.0, 9.0]])).tolist()
    [[-1.0, 1.0, -1.0, 1.0]]
    """

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(groups, bool) or not isinstance(groups, numbers.Integral) or (
                groups <= 0 and groups != -1):
            raise ValueError(
                f"Layer '{self.name}' (GroupNormalization): received an invalid value for "
                "argument `groups`, expected a positive integer (or `-1` for instance "
                f"normalization). Received: groups={groups!r}")
        self.groups = int(groups)
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = constraints.get(beta_constraint)
        self.gamma_constraint = constraints.get(gamma_constraint)
        self.supports_masking = True
        self.gamma = None
        self.beta = None

    def build(self, input_shape):
        rank = len(input_shape)
        axis = resolve_axis(self.axis, rank, self)
        channels = input_shape[axis]
        where = f"Layer '{self.name}' (GroupNormalization)"
        if channels is None:
            raise ValueError(
                f"{where} needs a known number of channels on axis {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}")
        if self.groups == -1:
            self.groups = channels
        if self.groups > channels:
            raise ValueError(
                f"{where}: the number of groups ({self.groups}) cannot be more than the "
                f"number of channels ({channels}).")
        if channels % self.groups:
            raise ValueError(
                f"{where}: the number of groups ({self.groups}) must divide the number of "
                f"channels ({channels}).")
        if self.scale:
            self.gamma = self.add_weight(
                shape=(channels,), name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(
                shape=(channels,), name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})
        self._channel_axis = axis
        self.built = True

    def call(self, inputs):
        # NOTE: torch's group_norm wants channels at axis 1; movedim is a view.
        if self._channel_axis == 1:
            return F.group_norm(inputs, self.groups, self.gamma, self.beta, self.epsilon)
        x = inputs.movedim(self._channel_axis, 1)
        y = F.group_norm(x, self.groups, self.gamma, self.beta, self.epsilon)
        return y.movedim(1, self._channel_axis)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            groups=self.groups, axis=self.axis, epsilon=self.epsilon, center=self.center,
            scale=self.scale,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint),
        )
        return config
