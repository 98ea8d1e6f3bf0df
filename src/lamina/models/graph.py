"""Graph facts that saving needs and that `models/functional.py` can import downward.

`keras_operation_order` gives a functional graph's operations in Keras 3's order (deepest
first; ties broken by discovery order from the outputs). That order decides the layer list
of a saved config and the `layers/dense`, `layers/dense_1`... names of the weights file.
"""

from lamina import tree


def _producing_node(tensor):
    history = tensor._keras_history
    if history is None:
        raise ValueError(
            f"Tensor {tensor} was not produced by a layer or op: functional models need "
            "outputs computed from `lamina.Input` tensors."
        )
    return history.operation._inbound_nodes[history.node_index]


def network_nodes(inputs, outputs):
    """`(nodes, discovery)`: the nodes between `inputs` and `outputs`, outputs last
    (children before parents reversed), and each operation's discovery index."""
    input_ids = {id(t) for t in tree.flatten(inputs)}
    finished, order, discovery = set(), [], {}
    for output in tree.flatten(outputs):
        # Iterative depth-first search from each output, parents first (post-order).
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
            if not node.is_input and id(tensor) not in input_ids:
                for parent in reversed(node.input_tensors):
                    stack.append((parent, False))
    return order, discovery


def node_depths(nodes):
    """`(node_depth, op_depth)`, keyed by `id`: Keras' depth of each node of `nodes`
    (`network_nodes`' order) and of each operation (0 at the outputs, growing toward the
    inputs; a layer called twice takes its deepest call's depth)."""
    node_depth, op_depth = {}, {}
    for node in reversed(nodes):
        depth = max(node_depth.setdefault(id(node), 0), op_depth.get(id(node.operation), 0))
        op_depth[id(node.operation)] = depth
        node_depth[id(node)] = depth
        for parent in node.parent_nodes:
            node_depth[id(parent)] = max(depth + 1, node_depth.get(id(parent), 0))
    return node_depth, op_depth


def keras_operation_order(inputs, outputs):
    """Operations of the graph from `inputs` to `outputs`, in Keras 3's order.

    >>> import lamina
    >>> x = lamina.Input((4,), name="x")
    >>> c = lamina.layers.Dense(2, name="c")(x)
    >>> b = lamina.layers.Dense(2, name="b2")(lamina.layers.Dense(2, name="b1")(x))
    >>> [op.name for op in keras_operation_order(x, lamina.ops.add(c, b))]
    ['x', 'b1', 'c', 'b2', 'add']
    """
    nodes, discovery = network_nodes(inputs, outputs)
    _, op_depth = node_depths(nodes)
    operations = {id(node.operation): node.operation for node in nodes}
    for tensor in tree.flatten(inputs):  # inputs the outputs do not use
        op = tensor._keras_history.operation
        if id(op) not in op_depth:
            operations[id(op)] = op
            op_depth[id(op)] = 0
            discovery[id(op)] = -1
    return sorted(operations.values(),
                  key=lambda op: (-op_depth[id(op)], discovery[id(op)]))
