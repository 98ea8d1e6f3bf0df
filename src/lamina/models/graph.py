"""The one walk over a functional graph, and what it finds.

`walk` runs once per `Functional`, at construction (kept as `Functional._graph`); the
replay plan, the saved config, the summary and `Functional.operations` all read it.
Its `operations` are in Keras 3's order (deepest first; ties broken by discovery order
from the outputs). That order decides the layer list of a saved config and the
`layers/dense`, `layers/dense_1`... names of the weights file.
"""

from typing import NamedTuple

from lamina import tree
from lamina.backend.symbolic import KerasTensor


class Graph(NamedTuple):
    """The nodes and operations between a functional model's inputs and outputs."""

    nodes: list  # each node after its parents (depth-first post-order from the outputs)
    node_depth: dict  # id(node) -> Keras' depth: 0 at the outputs, growing toward inputs
    operations: list  # each operation once, in Keras 3's order (unused inputs included)


def _producing_node(tensor):
    history = tensor._keras_history
    if history is None:
        raise ValueError(
            f"Tensor {tensor} was not produced by a layer or op: functional models need "
            "outputs computed from `lamina.Input` tensors."
        )
    return history.operation._inbound_nodes[history.node_index]


def _post_order(flat_inputs, flat_outputs):
    """`(nodes, discovery)`: the nodes between the inputs and outputs, each after its
    parents, and each operation's discovery index (pre-order, from the outputs)."""
    input_ids = {id(t) for t in flat_inputs}
    finished, order, discovery = set(), [], {}
    for output in flat_outputs:
        stack = [(output, False)]
        while stack:
            tensor, expanded = stack.pop()
            node = _producing_node(tensor)
            if expanded:
                if id(node) not in finished:
                    finished.add(id(node))
                    order.append(node)
                continue
            if id(node) in finished:
                continue
            discovery.setdefault(id(node.operation), len(discovery))
            stack.append((tensor, True))
            if id(tensor) in input_ids:
                continue
            if node.is_input:
                raise ValueError(
                    f"Graph disconnected: cannot obtain value for tensor {tensor} at layer "
                    f"'{node.operation.name}'. The following inputs were given: "
                    f"{[t.name for t in flat_inputs]}. Pass every `Input` the outputs "
                    "depend on."
                )
            for parent in reversed(node.input_tensors):
                stack.append((parent, False))
    return order, discovery


def _depths(nodes):
    """`(node_depth, op_depth)`, keyed by `id`: Keras' depth of each node (post-order
    `nodes`) and of each operation (a layer called twice takes its deepest call's)."""
    node_depth, op_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), op_depth.get(id(node.operation), 0))
        op_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    return node_depth, op_depth


def walk(inputs, outputs):
    """The `Graph` from `inputs` to `outputs` (nested structures of `KerasTensor`s).

    Raises `ValueError` when an output depends on an `Input` that `inputs` lacks.

    >>> import lamina
    >>> x = lamina.Input((4,), name="x")
    >>> c = lamina.layers.Dense(2, name="c")(x)
    >>> b = lamina.layers.Dense(2, name="b2")(lamina.layers.Dense(2, name="b1")(x))
    >>> [op.name for op in walk(x, lamina.ops.add(c, b)).operations]
    ['x', 'b1', 'c', 'b2', 'add']
    """
    flat_inputs = tree.flatten(inputs)
    nodes, discovery = _post_order(flat_inputs, tree.flatten(outputs))
    node_depth, op_depth = _depths(nodes)
    operations = {id(node.operation): node.operation for node in nodes}
    for tensor in flat_inputs:  # inputs the outputs do not use
        op = tensor._keras_history.operation
        if id(op) not in op_depth:
            operations[id(op)] = op
            op_depth[id(op)] = 0
            discovery[id(op)] = -1
    order = sorted(operations.values(), key=lambda op: (-op_depth[id(op)], discovery[id(op)]))
    return Graph(nodes, node_depth, order)


def keras_operation_order(inputs, outputs):
    """Operations of the graph from `inputs` to `outputs`, in Keras 3's order."""
    return walk(inputs, outputs).operations


def cut_at_inputs(inputs, outputs, make_input):
    """`(inputs, outputs)` re-rooted so every input is an `Input`, as Keras does for a model
    whose inputs are intermediate tensors (e.g. `FeatureSpace.get_encoded_features()`).

    Each such input becomes `make_input(tensor)`, a fresh `Input` of its spec, and the
    operations between the inputs and the outputs are called again on the new tensors:
    the same layers (so weights are shared) on new nodes. `Input` tensors stay as they are.
    """
    new_of = {}
    for t in tree.flatten(inputs):
        history = t._keras_history
        producer = history.operation if history is not None else None
        new_of[id(t)] = t if producer is not None and producer._inbound_nodes[
            history.node_index].is_input else make_input(t)

    def resolve(t):
        found = new_of.get(id(t))
        if found is not None:
            return found
        node = _producing_node(t)
        if node.is_input:  # an Input the model was not given: `walk` names it
            return t
        args = tree.map_structure(lambda x: resolve(x) if isinstance(x, KerasTensor) else x,
                                  list(node.call_args))
        kwargs = tree.map_structure(
            lambda x: resolve(x) if isinstance(x, KerasTensor) else x, node.call_kwargs)
        produced = [x for x in tree.flatten(node.operation(*args, **kwargs))
                    if isinstance(x, KerasTensor)]
        for old, new in zip(node.outputs, produced):
            new_of[id(old)] = new
        return new_of[id(t)]

    return (tree.map_structure(lambda t: new_of[id(t)], inputs),
            tree.map_structure(resolve, outputs))
