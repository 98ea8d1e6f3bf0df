"""`RMSNormalization`: scale each sample by the inverse root mean square of its features."""

import torch
import torch.nn.functional as F

from lamina.layers.layer import Layer
from lamina.layers.normalization.layer_normalization import AxesPlan, standardize_axes


class RMSNormalization(Layer):
    """`scale * x / sqrt(mean(x**2, axis) + epsilon)`, with a learned `scale` weight.

    Args:
        axis: int or list of ints, the axes to normalize over.
        epsilon: added to the mean square.

    >>> import torch
    >>> y = RMSNormalization(epsilon=0.0)(torch.tensor([[3.0, 4.0]]))  # rms = sqrt(12.5)
    >>> [round(v, 4) for v in y.tolist()[0]]
    [0.8485, 1.1314]
    """

    def __init__(self, axis=-1, epsilon=1e-6, **kwargs):
        super().__init__(**kwargs)
        self.axis = standardize_axes(axis, self)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        plan = AxesPlan(self.axis, input_shape, self)
        if isinstance(self.axis, int):
            self.axis = [self.axis]  # Keras reports a list once built
        self.scale = self.add_weight(shape=plan.param_shape, name="scale", initializer="ones")
        self._plan = plan
        self.built = True

    def call(self, x):
        plan = self._plan
        if plan.trailing:
            return F.rms_norm(x, plan.param_shape, self.scale, self.epsilon)
        mean_square = torch.mean(x * x, dim=plan.axes, keepdim=True)
        return x * torch.rsqrt(mean_square + self.epsilon) * self.scale.view(plan.broadcast)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(axis=self.axis, epsilon=self.epsilon)
        return config
