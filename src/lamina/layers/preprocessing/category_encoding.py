"""`CategoryEncoding`: integer category indices to one-hot, multi-hot or count vectors.

`encode_categories` is the encoding itself, shared with `Discretization`'s output modes.
"""

import torch

from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import in_symbolic_run
from lamina.layers.layer import Layer

OUTPUT_MODES = ("one_hot", "multi_hot", "count")


def encode_categories(indices, output_mode, depth, dtype, count_weights=None, owner=""):
    """Encode integer `indices` as Keras' `output_mode` (`"int"`, `"one_hot"`,
    `"multi_hot"` or `"count"`) over `depth` categories, in `dtype` (a torch dtype).

    As Keras on torch: a negative index encodes as all zeros; an index `>= depth` raises;
    multi-hot and count reduce axis 1 of a batch (axis 0 of a single sample);
    one-hot drops a trailing axis of size 1; `count_weights` (count mode) weigh each index
    and set the output dtype. `owner` names the layer in the error.
    """
    if output_mode == "int":
        return indices.to(dtype)
    if indices.ndim == 0:
        indices = indices.unsqueeze(0)
    indices = indices.long()
    if (indices.numel() and indices.device.type != "meta" and not in_symbolic_run()
            and not torch.compiler.is_exporting()):
        # NOTE: Keras' torch one_hot raises here too; the check syncs on an accelerator.
        # An exported program cannot read a value back to the host: there the check is
        # skipped, and an index >= depth encodes as zeros. torch.compile keeps it (a graph
        # break), so compiled training still refuses bad indices.
        top = int(indices.max())
        if top >= depth:
            raise ValueError(
                f"{owner}: every input must be an index in [0, {depth}) ({depth} categories),"
                f" but the input holds {top}. Raise `num_tokens` (or the number of bins) or "
                "map larger values first, e.g. with IntegerLookup.")
    if output_mode == "one_hot" and indices.ndim > 1 and indices.shape[-1] == 1:
        indices = indices.squeeze(-1)
    if count_weights is not None:
        dtype = count_weights.dtype
    # A comparison against every category gives zeros for negative indices for free.
    one_hot = (indices.unsqueeze(-1) == torch.arange(depth, device=indices.device)).to(dtype)
    if output_mode == "one_hot":
        return one_hot
    axis = 1 if indices.ndim > 1 else 0
    if output_mode == "multi_hot":
        return one_hot.amax(dim=axis)
    if count_weights is not None:
        one_hot = one_hot * count_weights.unsqueeze(-1)
    return one_hot.sum(dim=axis)


def encoded_shape(input_shape, output_mode, depth):
    """The output shape of `encode_categories` for `input_shape` (Keras'
    `CategoryEncoding.compute_output_shape`)."""
    input_shape = tuple(input_shape)
    if not input_shape:
        return (depth,)
    if output_mode == "one_hot" and (input_shape[-1] != 1 or len(input_shape) == 1):
        return input_shape + (depth,)
    return input_shape[:-1] + (depth,)


class CategoryEncoding(Layer):
    """Encodes integer category indices as one-hot, multi-hot or count vectors.

    Each index must lie in `[0, num_tokens)`; a negative index encodes as zeros and a
    larger one raises. The output dtype is the layer's variable dtype (float32 by
    default), or that of `count_weights` in count mode.

    Args:
        num_tokens: the number of categories (the output's last dimension).
        output_mode: `"multi_hot"` (default; `"binary"` is an alias) marks the indices of a
            sample, `"one_hot"` encodes each index, `"count"` counts each index of a sample.
        sparse: only `False` (torch has no sparse output here).

    Call arguments:
        inputs: integer indices, a sample per row (or one sample of rank 1).
        count_weights: (count mode only) weights of the same shape as `inputs`.

    >>> import numpy as np
    >>> CategoryEncoding(num_tokens=4, output_mode="count")(np.array([[0, 1, 1, 3]]))
    tensor([[1., 2., 0., 1.]])
    """

    def __init__(self, num_tokens=None, output_mode="multi_hot", sparse=False, **kwargs):
        super().__init__(**kwargs)
        if output_mode == "binary":
            output_mode = "multi_hot"
        if output_mode not in OUTPUT_MODES:
            raise ValueError(f"Unknown arg for output_mode: {output_mode}")
        if num_tokens is None:
            raise ValueError(
                "num_tokens must be set to use this layer. If the number of tokens is not "
                "known beforehand, use the IntegerLookup layer instead.")
        if num_tokens < 1:
            raise ValueError(f"`num_tokens` must be >= 1. Received: num_tokens={num_tokens}.")
        if sparse:
            raise ValueError(
                f"CategoryEncoding layer '{self.name}': `sparse=True` is not supported (torch "
                "backend, as in Keras). Pass sparse=False.")
        self.num_tokens = num_tokens
        self.output_mode = output_mode
        self.sparse = sparse
        self.__dict__["_torch_dtype"] = to_torch_dtype(self.dtype_policy.variable_dtype)

    def call(self, inputs, count_weights=None):
        if count_weights is not None:
            if self.output_mode != "count":
                raise ValueError(
                    "`count_weights` is not used when `output_mode` is not `'count'`. "
                    f"Received `count_weights={count_weights}`.")
            count_weights = torch.as_tensor(
                count_weights, dtype=self.dtype_policy.compute_torch_dtype,
                device=inputs.device)
        return encode_categories(inputs, self.output_mode, self.num_tokens, self._torch_dtype,
                                 count_weights, owner=self._owner)

    @property
    def _owner(self):
        return f"CategoryEncoding layer '{self.name}'"

    def compute_output_shape(self, input_shape):
        return encoded_shape(input_shape, self.output_mode, self.num_tokens)

    def get_config(self):
        config = super().get_config()
        config.update(num_tokens=self.num_tokens, output_mode=self.output_mode)
        return config
