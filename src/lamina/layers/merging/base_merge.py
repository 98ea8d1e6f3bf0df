"""`Merge`: the base of layers that combine a list of tensors into one."""

import torch

from lamina.backend.convert import tensor_unless_symbolic
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import KerasTensor
from lamina.layers.layer import Layer
from lamina.ops.node import Node


def is_single_shape(shape):
    """True for one shape (`(2, 3)`), False for a list of shapes."""
    return isinstance(shape, (list, tuple)) and all(
        d is None or isinstance(d, int) for d in shape)


def expand_mask(mask, ndim):
    """`mask` with trailing unit axes so that it broadcasts against an `ndim` tensor."""
    if mask.ndim >= ndim:
        return mask
    return mask.reshape(*mask.shape, *([1] * (ndim - mask.ndim)))


class Merge(Layer):
    """Base of the elementwise merging layers (`Add`, `Multiply`, ...).

    Inputs are a list of tensors whose non-batch shapes broadcast against each other
    (aligned on the right, as numpy does); a lower-rank input gains unit axes right after
    the batch axis. Subclasses define `_merge(inputs)` and, when masked entries must not
    take part, `_merge_masked(inputs, masks)`.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self._ranks = None

    def _where(self):
        return f"Layer '{self.name}' ({type(self).__name__})"

    def _check_list(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or is_single_shape(input_shape):
            raise ValueError(
                f"{self._where()}: a merge layer should be called on a list of inputs. "
                f"Received: input_shape={input_shape} (not a list of shapes)"
            )
        if len(input_shape) < 1:
            raise ValueError(
                f"{self._where()}: a merge layer should be called on a list of at least 1 "
                f"input. Received: {len(input_shape)} inputs."
            )

    def _elementwise_shape(self, shape1, shape2):
        """The broadcast of two non-batch shapes (None where either is unknown)."""
        if shape1 is None or shape2 is None:
            return None
        if len(shape1) < len(shape2):
            shape1, shape2 = shape2, shape1
        lead = len(shape1) - len(shape2)
        out = list(shape1[:lead])
        for i, j in zip(shape1[lead:], shape2):
            if i is None or j is None:
                out.append(None)
            elif i == 1 or j == 1 or i == j:
                out.append(j if i == 1 else i)
            else:
                raise ValueError(
                    f"{self._where()}: Inputs have incompatible shapes. Received shapes "
                    f"{tuple(shape1)} and {tuple(shape2)}"
                )
        return tuple(out)

    def build(self, input_shape):
        self._check_list(input_shape)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(
                f"{self._where()}: Cannot merge tensors with different batch sizes. Received "
                f"tensors with shapes {[tuple(s) for s in input_shape]}"
            )
        self.compute_output_shape(input_shape)
        ranks = [len(s) for s in input_shape]
        # NOTE: only inputs of different ranks need new axes; record the target rank once.
        self._ranks = max(ranks) if len(set(ranks)) > 1 else None
        self.built = True

    def compute_output_shape(self, input_shape):
        self._check_list(input_shape)
        shape = tuple(input_shape[0][1:])
        for other in input_shape[1:]:
            shape = self._elementwise_shape(shape, tuple(other[1:]))
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        batch = batch_sizes.pop() if len(batch_sizes) == 1 else None
        return (batch, *shape)

    def call(self, inputs, mask=None):
        if self._ranks is not None:
            inputs = [x.reshape(x.shape[0], *([1] * (self._ranks - x.ndim)), *x.shape[1:])
                      for x in inputs]
        if mask is None or all(m is None for m in mask):
            return self._merge(inputs)
        return self._merge_masked(inputs, mask)

    def _symbolic_call(self, args, kwargs):
        try:
            return super()._symbolic_call(args, kwargs)
        except RuntimeError:
            # NOTE: the symbolic run stands one size in for every unknown size, which cannot
            # broadcast against a known size (None vs 5); infer the output from shapes then.
            inputs = args[0] if args else kwargs["inputs"]
            shape = self.compute_output_shape([tuple(x.shape) for x in inputs])
            dtype = to_torch_dtype(inputs[0].dtype)
            for x in inputs[1:]:
                dtype = torch.promote_types(dtype, to_torch_dtype(x.dtype))
            outputs = KerasTensor(shape, dtype=standardize_dtype(dtype))
            Node(self, args, kwargs, outputs)
            return outputs

    def _merge(self, inputs):
        raise NotImplementedError

    def _merge_masked(self, inputs, masks):
        return self._merge(inputs)

    def compute_mask(self, inputs, mask=None):
        if mask is None:
            return None
        if not isinstance(mask, (list, tuple)):
            raise ValueError(f"{self._where()}: `mask` should be a list. Received: mask={mask}")
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(
                f"{self._where()}: `inputs` should be a list. Received: inputs={inputs}")
        if len(mask) != len(inputs):
            raise ValueError(
                f"{self._where()}: The lists `inputs` and `mask` should have the same length. "
                f"Received: {len(inputs)} inputs and {len(mask)} masks"
            )
        # An input without a mask is valid everywhere, so the union is valid everywhere.
        if any(m is None for m in mask):
            return None
        out = tensor_unless_symbolic(mask[0])
        for m in mask[1:]:
            out = torch.logical_or(out, tensor_unless_symbolic(m))
        return out

    def get_config(self):
        # NOTE: defined so that the base class does not add constructor kwargs
        # (`input_shape`...) it remembers for user layers.
        return super().get_config()
