"""Parametrized activation layers: `ReLU`, `LeakyReLU`, `PReLU`, `ELU`, `Softmax`.

They compute with the `lamina.ops` op that their `lamina.activations` function calls (one
Python frame fewer per call), so both share one set of dtype rules.
"""

import warnings

import torch

from lamina import activations, constraints, initializers, ops, regularizers
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class ReLU(Layer):
    """Rectified linear unit with a cap, a leak and a threshold.

    `f(x) = max_value` for `x >= max_value`, `x` for `threshold <= x < max_value`, and
    `negative_slope * (x - threshold)` below `threshold`.

    Args:
        max_value: non-negative float cap, or None for no cap.
        negative_slope: non-negative float, the slope below `threshold`.
        threshold: non-negative float, where the unit switches on.

    >>> import torch
    >>> ReLU(max_value=6.0)(torch.tensor([-1.0, 3.0, 9.0])).tolist()
    [0.0, 3.0, 6.0]
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and max_value < 0.0:
            raise ValueError(
                "max_value of a ReLU layer cannot be a negative value. "
                f"Received: max_value={max_value}"
            )
        if negative_slope is None or negative_slope < 0.0:
            raise ValueError(
                "negative_slope of a ReLU layer cannot be None or a negative value. "
                f"Received: negative_slope={negative_slope}"
            )
        if threshold is None or threshold < 0.0:
            raise ValueError(
                "threshold of a ReLU layer cannot be None or a negative value. "
                f"Received: threshold={threshold}"
            )
        self.max_value = max_value
        self.negative_slope = negative_slope
        self.threshold = threshold
        self.supports_masking = True
        self._plain = max_value is None and negative_slope == 0 and threshold == 0
        self.built = True

    def call(self, inputs):
        if self._plain:
            # NOTE: the op, not `activations.relu`: its argument checks cost 6% of a plain
            # ReLU call (3.02 vs 2.84 us, 8x16 CPU float32).
            return ops.relu(inputs)
        return activations.relu(inputs, negative_slope=self.negative_slope,
                                max_value=self.max_value, threshold=self.threshold)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope,
                      threshold=self.threshold)
        return config


class LeakyReLU(Layer):
    """`x` for positive `x`, `negative_slope * x` otherwise.

    Args:
        negative_slope: non-negative float, the slope for negative inputs.

    >>> import torch
    >>> LeakyReLU(0.5)(torch.tensor([-2.0, 3.0])).tolist()
    [-1.0, 3.0]
    """

    def __init__(self, negative_slope=0.3, **kwargs):
        if "alpha" in kwargs:
            negative_slope = kwargs.pop("alpha")
            warnings.warn("Argument `alpha` is deprecated. Use `negative_slope` instead.",
                          stacklevel=2)
        super().__init__(**kwargs)
        if negative_slope is None or negative_slope < 0:
            raise ValueError(
                "The negative_slope value of a Leaky ReLU layer cannot be None or negative "
                f"value. Expected a float. Received: negative_slope={negative_slope}"
            )
        self.negative_slope = negative_slope
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.leaky_relu(inputs, self.negative_slope)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["negative_slope"] = self.negative_slope
        return config


class PReLU(Layer):
    """Leaky ReLU with a learned slope: `x` for positive `x`, `alpha * x` otherwise.

    `alpha` has the input's per-sample shape, with size 1 on `shared_axes`.

    Args:
        alpha_initializer: initializer of `alpha` (default zeros).
        alpha_regularizer: optional regularizer of `alpha`.
        alpha_constraint: optional constraint of `alpha`.
        shared_axes: axes (1-indexed, the batch axis is 0) along which one slope is
            shared, e.g. `[1, 2]` for one slope per channel of `(batch, h, w, c)` images.

    >>> import torch
    >>> layer = PReLU(alpha_initializer="ones", shared_axes=[1])
    >>> layer(torch.tensor([[[-2.0, 3.0]]])).tolist()
    [[[-2.0, 3.0]]]
    >>> tuple(layer.alpha.shape)
    (1, 2)
    """

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None,
                 alpha_constraint=None, shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        elif isinstance(shared_axes, (list, tuple)):
            self.shared_axes = list(shared_axes)
        else:
            self.shared_axes = [shared_axes]

    def build(self, input_shape):
        param_shape = list(input_shape[1:])
        if self.shared_axes is not None:
            for axis in self.shared_axes:
                param_shape[axis - 1] = 1
        if any(d is None for d in param_shape):
            raise ValueError(
                f"Layer '{self.name}' (PReLU) needs known sizes for the axes that are not "
                f"shared, to create `alpha`. Received: input_shape={tuple(input_shape)}, "
                f"shared_axes={self.shared_axes}; share the unknown axes with `shared_axes`."
            )
        self.alpha = self.add_weight(shape=param_shape, name="alpha",
                                     initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer,
                                     constraint=self.alpha_constraint)
        shared = set(self.shared_axes or ())
        self.input_spec = InputSpec(ndim=len(input_shape), axes={
            i: input_shape[i] for i in range(1, len(input_shape)) if i not in shared})
        self.built = True

    def call(self, inputs):
        alpha = self.alpha
        if alpha.dtype is not inputs.dtype:  # mixed precision: float32 weight, half inputs
            alpha = alpha.to(inputs.dtype)
        return torch.where(inputs > 0, inputs, inputs * alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha_initializer=initializers.serialize(self.alpha_initializer),
            alpha_regularizer=regularizers.serialize(self.alpha_regularizer),
            alpha_constraint=constraints.serialize(self.alpha_constraint),
            shared_axes=self.shared_axes,
        )
        return config


class ELU(Layer):
    """Exponential linear unit: `x` for positive `x`, `alpha * (exp(x) - 1)` otherwise.

    Args:
        alpha: float, the scale of the negative part.

    >>> import torch
    >>> ELU()(torch.tensor([0.0, 2.0])).tolist()
    [0.0, 2.0]
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha
        self.supports_masking = True
        self.built = True

    def call(self, inputs):
        return ops.elu(inputs, self.alpha)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class Softmax(Layer):
    """Softmax along `axis`; with a `mask`, masked entries get probability 0 and the rest
    are normalized among themselves (a fully masked slice is all zeros).

    Args:
        axis: int or tuple of ints, the axes to normalize over.

    Call args:
        inputs: the logits.
        mask: optional boolean tensor broadcastable to `inputs` (True = keep).

    >>> import torch
    >>> Softmax()(torch.zeros(1, 2)).tolist()
    [[0.5, 0.5]]
    >>> Softmax()(torch.zeros(1, 3), mask=torch.tensor([[True, True, False]])).tolist()
    [[0.5, 0.5, 0.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        # As Keras: one axis in a list is that axis (torch's softmax, not the logsumexp form).
        self._axis = axis if isinstance(axis, int) or len(axis) > 1 else axis[0]
        self.supports_masking = True
        self.built = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.softmax(inputs, self._axis)
        mask = self._check_mask(inputs, mask)
        # NOTE: the lowest finite value (not -inf) keeps fully masked slices free of NaN;
        # they are zeroed afterwards like every masked entry.
        low = torch.finfo(inputs.dtype).min
        out = ops.softmax(inputs.masked_fill(~mask, low), self._axis)
        return out.masked_fill(~mask, 0.0)

    def _check_mask(self, inputs, mask):
        if not isinstance(mask, torch.Tensor):
            mask = torch.as_tensor(mask, device=inputs.device)
        if mask.ndim > inputs.ndim:
            raise ValueError(
                f"Layer '{self.name}' (Softmax): The `mask` must be broadcastable to `inputs` "
                "and must not have more dimensions. Received: "
                f"inputs.shape={tuple(inputs.shape)}, mask.shape={tuple(mask.shape)}"
            )
        for m, n in zip(reversed(mask.shape), reversed(inputs.shape)):
            if m != 1 and m != n:
                raise ValueError(
                    f"Layer '{self.name}' (Softmax): The `mask` must be broadcastable to "
                    "`inputs`. Each mask dimension must be 1 or match the corresponding input "
                    f"dimension. Received: inputs.shape={tuple(inputs.shape)}, "
                    f"mask.shape={tuple(mask.shape)}"
                )
        return mask if mask.dtype is torch.bool else mask.bool()

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config
