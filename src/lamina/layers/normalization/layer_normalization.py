"""`LayerNormalization`: normalize each sample over its feature axes."""

import numbers

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, regularizers
from lamina.layers.layer import Layer


def standardize_axes(axis, layer):
    """`axis` as given when an int, else as a list of ints (Keras' config form)."""
    def is_int(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, bool)

    if is_int(axis):
        return int(axis)
    if isinstance(axis, (list, tuple)) and axis and all(is_int(a) for a in axis):
        return [int(a) for a in axis]
    raise TypeError(
        f"{type(layer).__name__}: expected an int or a list/tuple of ints for the argument "
        f"'axis', but received: {axis!r}")


class AxesPlan:
    """What a per-sample normalization needs to know about its axes, computed at build.

    `axes` are the normalized axes (non-negative, sorted); `param_shape` the weight shape
    (the input's sizes on those axes); `broadcast` the weight shape as a view against the
    input; `trailing` says whether the axes are the input's last ones (so torch's fused
    `layer_norm`/`rms_norm` kernels apply with the weight as is).
    """

    def __init__(self, axis, input_shape, layer):
        rank = len(input_shape)
        axes = [axis] if isinstance(axis, int) else list(axis)
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(
                    f"Layer '{layer.name}' ({type(layer).__name__}): axis {a} is out of range "
                    f"for inputs of rank {rank}. Received: input_shape={tuple(input_shape)}")
        self.axes = tuple(sorted({a % rank for a in axes}))
        missing = [a for a in self.axes if input_shape[a] is None]
        if missing:
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) needs known sizes on the "
                f"normalized axes {missing}. Received: input_shape={tuple(input_shape)}")
        self.param_shape = tuple(input_shape[a] for a in self.axes)
        self.broadcast = tuple(input_shape[i] if i in self.axes else 1 for i in range(rank))
        self.trailing = self.axes == tuple(range(rank - len(self.axes), rank))


class LayerNormalization(Layer):
    """Normalize each sample to zero mean and unit variance over `axis`, then scale by
    `gamma` and shift by `beta`: `gamma * (x - mean) / sqrt(var + epsilon) + beta`.

    With `rms_scaling=True` the input is not centered and there is no `beta`:
    `gamma * x / sqrt(var + epsilon)` (Keras' definition).

    Args:
        axis: int or list of ints, the axes to normalize over.
        epsilon: added to the variance.
        center, scale: whether to learn `beta` / `gamma`.
        rms_scaling: scale by the inverse standard deviation without centering.
        beta_initializer, gamma_initializer, beta_regularizer, gamma_regularizer,
        beta_constraint, gamma_constraint: for the weights.

    >>> import torch
    >>> LayerNormalization(epsilon=0.0)(torch.tensor([[1.0, 3.0]])).tolist()
    [[-1.0, 1.0]]
    """

    _casts_integer_inputs = True  # int/bool inputs compute in float, as in Keras

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.axis = standardize_axes(axis, self)
        self.epsilon = float(epsilon)
        self.center = center
        self.scale = scale
        self.rms_scaling = rms_scaling
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
        plan = AxesPlan(self.axis, input_shape, self)
        if isinstance(self.axis, int):
            self.axis = [self.axis]  # Keras reports a list once built
        if self.scale or self.rms_scaling:
            self.gamma = self.add_weight(
                shape=plan.param_shape, name="gamma", initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center and not self.rms_scaling:
            self.beta = self.add_weight(
                shape=plan.param_shape, name="beta", initializer=self.beta_initializer,
                regularizer=self.beta_regularizer, constraint=self.beta_constraint)
        self._plan = plan
        self.built = True

    def call(self, inputs):
        plan = self._plan
        if self.rms_scaling:
            variance = torch.var(inputs, dim=plan.axes, correction=0, keepdim=True)
            out = inputs * torch.rsqrt(variance + self.epsilon)
            return out * self.gamma.view(plan.broadcast)
        if plan.trailing:
            return F.layer_norm(inputs, plan.param_shape, self.gamma, self.beta, self.epsilon)
        variance, mean = torch.var_mean(inputs, dim=plan.axes, correction=0, keepdim=True)
        out = (inputs - mean) * torch.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            out = out * self.gamma.view(plan.broadcast)
        if self.beta is not None:
            out = out + self.beta.view(plan.broadcast)
        return out

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            axis=self.axis, epsilon=self.epsilon, center=self.center, scale=self.scale,
            rms_scaling=self.rms_scaling,
            beta_initializer=initializers.serialize(self.beta_initializer),
            gamma_initializer=initializers.serialize(self.gamma_initializer),
            beta_regularizer=regularizers.serialize(self.beta_regularizer),
            gamma_regularizer=regularizers.serialize(self.gamma_regularizer),
            beta_constraint=constraints.serialize(self.beta_constraint),
            gamma_constraint=constraints.serialize(self.gamma_constraint),
        )
        return config
