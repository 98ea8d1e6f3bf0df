"""Nodes of the symbolic graph: one per call of a layer or op on `KerasTensor`s."""

import itertools
from collections import namedtuple

from lamina import tree
from lamina.backend.symbolic import KerasTensor

_NODE_IDS = itertools.count()

KerasHistory = namedtuple("KerasHistory", ["operation", "node_index", "tensor_index"])


class Node:
    """Records `operation(*call_args, **call_kwargs) -> outputs` on symbolic tensors."""

    def __init__(self, operation, call_args=(), call_kwargs=None, outputs=None):
        self.operation = operation
        self.creation_index = next(_NODE_IDS)  # creation order is a topological order
        self.call_args = tuple(call_args)
        self.call_kwargs = dict(call_kwargs or {})
        self.output_structure = outputs
        self.outputs = [t for t in tree.flatten(outputs) if isinstance(t, KerasTensor)]
        self.input_tensors = [t for t in tree.flatten((self.call_args, self.call_kwargs))
                              if isinstance(t, KerasTensor)]
        inbound = getattr(operation, "_inbound_nodes", None)
        if inbound is None:
            inbound = operation._inbound_nodes = []
        node_index = len(inbound)
        inbound.append(self)
        for i, t in enumerate(self.outputs):
            t._keras_history = KerasHistory(operation, node_index, i)

    @property
    def is_input(self):
        return not self.input_tensors

    @property
    def parent_nodes(self):
        parents = []
        for t in self.input_tensors:
            history = t._keras_history
            if history is not None:
                node = history.operation._inbound_nodes[history.node_index]
                if node not in parents:
                    parents.append(node)
        return parents

    def __repr__(self):
        return f"<Node operation={getattr(self.operation, 'name', self.operation)}>"
