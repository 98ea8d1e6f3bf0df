"""Input signatures: what an exported function takes, as Keras states it.

A signature is a list with one entry per positional argument; each entry is a structure
(a spec, or a list/tuple/dict of them) of `InputSpec`s with a shape and a dtype. `None`
in a shape is a dimension the artifact leaves free: the batch axis by default.
"""

import numpy as np
import torch

from lamina import tree
from lamina.backend.dtypes import standardize_dtype, to_torch_dtype
from lamina.backend.symbolic import KerasTensor
from lamina.layers.input_spec import InputSpec

# NOTE: torch.export specializes sizes 0 and 1 to constants, so a free dimension is traced
# at 2 (Keras picks 2 for the same reason).
_TRACE_SIZE = 2


def make_input_spec(value):
    """An `InputSpec` (shape, dtype, name) from what Keras accepts in a signature:
    `InputSpec`, `KerasTensor`, a tensor or array (its batch axis becomes free), or any
    shape-and-dtype struct (`jax.ShapeDtypeStruct`, `tf.TensorSpec`)."""
    if isinstance(value, InputSpec):
        if value.shape is None or value.dtype is None:
            raise ValueError(
                f"An InputSpec in `input_signature` needs a `shape` and a `dtype`. Received: "
                f"{value!r}. Write e.g. `InputSpec(shape=(None, 784), dtype='float32')`.")
        return InputSpec(shape=value.shape, dtype=standardize_dtype(value.dtype),
                         name=value.name)
    if isinstance(value, KerasTensor):
        return InputSpec(shape=(None, *value.shape[1:]), dtype=value.dtype, name=value.name)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        dtype = standardize_dtype(value.dtype)
        return InputSpec(shape=(None, *value.shape[1:]), dtype=dtype)
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None:
        shape = tuple(None if d is None else int(d) for d in shape)
        return InputSpec(shape=shape, dtype=standardize_dtype(getattr(dtype, "name", dtype)),
                         name=getattr(value, "name", None))
    raise TypeError(
        f"Unsupported entry in `input_signature`: {value!r} of type {type(value).__name__}. "
        "Use `lamina.InputSpec(shape=..., dtype=...)`, a `lamina.KerasTensor`, a tensor, or "
        "an object with `shape` and `dtype`.")


def model_input_signature(model):
    """The signature of `model`'s call: its `Input`s, or for a subclassed model the
    shapes it was built with (batch axis free)."""
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' has not been built yet, so its input signature is "
            "unknown. Call it on data or `model.build(input_shape)` first, or pass "
            "`input_signature=[lamina.InputSpec(shape=(None, ...), dtype='float32')]`.")
    inputs_struct = model.__dict__.get("_inputs_struct")
    if inputs_struct is not None:  # Functional
        return [tree.map_structure(make_input_spec, inputs_struct)]
    graph_input = getattr(model, "_inputs", None)
    if isinstance(graph_input, KerasTensor):  # Sequential with a graph
        return [make_input_spec(graph_input)]
    shapes = (model.__dict__.get("_build_shapes") or {}).get("input_shape")
    if shapes is None:
        raise ValueError(
            f"Model '{model.name}' was built without an input shape, so its input signature "
            "is unknown. Pass `input_signature=[lamina.InputSpec(shape=..., dtype=...)]`.")
    dtype = model.compute_dtype

    def spec(shape):
        return InputSpec(shape=(None, *tuple(shape)[1:]), dtype=dtype)

    return [_map_shapes(spec, shapes)]


def _map_shapes(fn, shapes):
    """`fn` on each shape tuple of a (possibly nested) structure of shapes."""
    if isinstance(shapes, dict):
        return {k: _map_shapes(fn, v) for k, v in shapes.items()}
    if isinstance(shapes, (list, tuple)) and not all(
            d is None or isinstance(d, int) for d in shapes):
        return type(shapes)(_map_shapes(fn, s) for s in shapes)
    return fn(shapes)


def normalize_signature(model, input_signature):
    """`input_signature` as a list of positional arguments of `InputSpec` structures."""
    if input_signature is None:
        return model_input_signature(model)
    if not isinstance(input_signature, (list, tuple)):
        input_signature = [input_signature]
    signature = [tree.map_structure(make_input_spec, arg) for arg in input_signature]
    # A functional model takes its inputs as one structure; Keras users also list them
    # flat (`[spec_a, spec_b]`), which means the same here.
    inputs_struct = model.__dict__.get("_inputs_struct") if model is not None else None
    if (isinstance(inputs_struct, (list, tuple)) and len(signature) > 1
            and len(signature) == len(inputs_struct)):
        signature = [signature]
    return signature


def with_batch_size(signature, size):
    """`signature` with every free batch axis set to `size`."""
    def fix(spec):
        if not spec.shape or spec.shape[0] is not None:
            return spec
        return InputSpec(shape=(size, *spec.shape[1:]), dtype=spec.dtype, name=spec.name)

    return [tree.map_structure(fix, arg) for arg in signature]


def sample_arguments(signature):
    """Tensors of the signature's shapes (free dimensions at `_TRACE_SIZE`) to trace with."""
    def sample(spec):
        shape = tuple(_TRACE_SIZE if d is None else d for d in spec.shape)
        dtype = to_torch_dtype(spec.dtype)
        if dtype.is_floating_point or dtype.is_complex:
            return torch.rand(shape, dtype=dtype)
        if dtype == torch.bool:
            return torch.ones(shape, dtype=dtype)
        # NOTE: 1, not 0: an index that Embedding/StringLookup-style layers accept and that
        # Masking/`mask_zero` do not mask away.
        return torch.ones(shape, dtype=dtype)

    return tuple(tree.map_structure(sample, arg) for arg in signature)


def dynamic_shapes(signature, batch):
    """torch.export's `dynamic_shapes` for a `forward(*args)`: the batch axis (axis 0) of
    every input is the shared `batch` dim, other free axes are left to torch (`AUTO`)."""
    def dims(spec):
        free = {i: (batch if i == 0 else torch.export.Dim.AUTO)
                for i, d in enumerate(spec.shape) if d is None}
        return free or None

    return (tuple(tree.map_structure(dims, arg) for arg in signature),)


def flat_names(signature):
    """One name per flat input, in the program's input order: the spec's name, else
    `input_<i>` (the ONNX graph's input names)."""
    specs = program_order(signature)
    names = [spec.name or f"input_{i}" for i, spec in enumerate(specs)]
    if len(set(names)) != len(names):
        names = [f"input_{i}" for i in range(len(specs))]
    return names


def program_order(structure):
    """The leaves of `structure` in torch.export's order: dicts by insertion order
    (`tree.flatten`, like Keras, sorts their keys)."""
    if isinstance(structure, dict):
        return [leaf for value in structure.values() for leaf in program_order(value)]
    if isinstance(structure, (list, tuple)):
        return [leaf for value in structure for leaf in program_order(value)]
    return [structure]
