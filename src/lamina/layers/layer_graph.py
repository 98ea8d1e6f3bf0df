"""`LayerGraph`: a layer's part in functional graphs. Called on `KerasTensor`s, a layer
runs `call` on shape-only stand-ins and records a `Node`; `input` and `output` read the
recorded calls. A mixin of `Layer`; the eager call path is in `layer.py`.
"""

import numpy as np
import torch

from lamina import tree
from lamina.backend.symbolic import (
    DATA_DEPENDENT_ERRORS,
    KerasTensor,
    compute_output_spec,
    has_string_input,
)
from lamina.layers.input_spec import assert_input_compatibility
from lamina.ops.node import Node


def shape_of(x):
    """The shape of a tensor, array or `KerasTensor` as a tuple; None for anything else."""
    if isinstance(x, (torch.Tensor, KerasTensor, np.ndarray)):
        return tuple(x.shape)
    return None


class LayerGraph:
    """Symbolic calls, shape inference and graph position of a `Layer` (see `Layer`)."""

    def _symbolic_call(self, args, kwargs):
        first = self._first_input(args, kwargs)
        if not self.built:
            self._maybe_build(args, kwargs)
        if self.input_spec is not None:
            assert_input_compatibility(self.input_spec, first, self)
        try:
            if self._takes_strings or has_string_input(args, kwargs):
                # Strings have no fake-tensor stand-in: the layer's own spec rule answers.
                outputs = self.compute_output_spec(*args, **kwargs)
            else:
                outputs = compute_output_spec(self._full_call_tuple, args, kwargs)
        except DATA_DEPENDENT_ERRORS:
            # A data-dependent output shape: only the layer's own shape rule can tell.
            if type(self).compute_output_shape is LayerGraph.compute_output_shape:
                raise
            shapes = self.compute_output_shape(tree.map_structure(shape_of, first))
            if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
                outputs = KerasTensor(shapes, dtype=self.compute_dtype)
            else:
                outputs = tree.map_structure(
                    lambda s: KerasTensor(s, dtype=self.compute_dtype), list(shapes))
        if not self._fast_path and self.built:
            self._plan_fast_path()
        Node(self, args, kwargs, outputs)
        return outputs

    def _full_call_tuple(self, args, kwargs):
        return self._full_call(tuple(args), dict(kwargs))

    def compute_output_shape(self, input_shape):
        """Output shape for `input_shape`; by default inferred by a symbolic run of `call`."""
        def spec(shape):
            return KerasTensor(shape, dtype=self.compute_dtype)

        out = self.compute_output_spec(tree.map_structure(spec, input_shape)
                                       if isinstance(input_shape, (list, dict)) and
                                       not all(isinstance(d, (int, type(None)))
                                               for d in input_shape)
                                       else spec(input_shape))
        return tree.map_structure(lambda t: t.shape, out)

    def compute_output_spec(self, *args, **kwargs):
        if not self.built:
            self._maybe_build(args, kwargs)
        return compute_output_spec(self._full_call_tuple, args, kwargs)

    # -- position in the graph ---------------------------------------------------------
    @property
    def input(self):
        return self._node_attr("input_tensors", "input")

    @property
    def output(self):
        return self._node_attr("outputs", "output")

    def _node_attr(self, attr, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"Layer '{self.name}' ({type(self).__name__}) has never been called on a "
                f"symbolic input, so it has no defined {what}."
            )
        node = self._inbound_nodes[0]  # as Keras 3: the first call's, however many
        if attr == "outputs":
            return node.output_structure
        values = node.input_tensors
        return values[0] if len(values) == 1 else values

    def get_output_at(self, node_index):
        return self._inbound_nodes[node_index].output_structure

    def get_input_at(self, node_index):
        values = self._inbound_nodes[node_index].input_tensors
        return values[0] if len(values) == 1 else values
