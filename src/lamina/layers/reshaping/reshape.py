"""`Reshape`: give each sample a new shape."""

import math

from lamina.layers.layer import Layer


class Reshape(Layer):
    """Reshapes each sample to `target_shape` (the batch axis is kept).

    Args:
        target_shape: tuple of ints, the new per-sample shape; one entry may be -1, which
            is inferred from the input size.

    >>> import torch, lamina
    >>> Reshape((-1, 2))(torch.zeros(3, 4, 3)).shape
    torch.Size([3, 6, 2])
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            target_shape = tuple(target_shape)
        except TypeError:
            raise TypeError(
                "Argument `target_shape` must be a tuple of integers, e.g. (4, -1). "
                f"Received: target_shape={target_shape!r}"
            ) from None
        for d in target_shape:
            if isinstance(d, bool) or not isinstance(d, int) or d < -1:
                raise ValueError(
                    "Each dimension in `target_shape` must be a non-negative integer, or `-1` "
                    f"for a single unknown dimension. Received: target_shape={target_shape}."
                )
        if target_shape.count(-1) > 1:
            raise ValueError(
                "There must be at most one unknown dimension (-1) in `target_shape`. "
                f"Received: target_shape={target_shape}."
            )
        self.target_shape = target_shape
        self.built = True

    def call(self, inputs):
        try:
            return inputs.reshape(inputs.shape[0], *self.target_shape)
        except RuntimeError:
            # Slow path only on failure: explain the size mismatch, or resolve -1 for an
            # empty batch (torch cannot infer -1 from zero elements).
            shape = self._resolve(tuple(inputs.shape[1:]))
            return inputs.reshape(inputs.shape[0], *shape)

    def _resolve(self, input_shape):
        """`target_shape` with -1 filled in from a per-sample `input_shape` (None if it has
        unknown sizes)."""
        target = self.target_shape
        if any(d is None for d in input_shape):
            return tuple(None if d == -1 else d for d in target)
        total = math.prod(input_shape)
        known = math.prod(d for d in target if d != -1)
        where = f"Layer '{self.name}' (Reshape)"
        if -1 in target:
            if known == 0 or total % known:
                raise ValueError(
                    f"{where}: the input size cannot be divided by the specified dimensions in "
                    f"`target_shape`. Received: input_shape={input_shape}, "
                    f"target_shape={target}"
                )
            return tuple(total // known if d == -1 else d for d in target)
        if known != total:
            raise ValueError(
                f"{where}: the total size of each sample must be unchanged. Received: "
                f"input_shape={input_shape} ({total} elements), target_shape={target} "
                f"({known} elements)"
            )
        return target

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *self._resolve(tuple(input_shape[1:])))

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config
