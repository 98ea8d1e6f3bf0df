"""`get_source_inputs`: the input tensors a symbolic tensor was computed from."""

from lamina import tree


def get_source_inputs(tensor):
    """The `Input` tensors at the root of `tensor`'s graph, each listed once.

    A tensor without history (not built from layers or ops) is returned as is.

    >>> import lamina
    >>> a, b = lamina.Input((2,)), lamina.Input((2,))
    >>> out = lamina.layers.Add()([a, b])
    >>> [t is a or t is b for t in get_source_inputs(out)]
    [True, True]
    """
    history = getattr(tensor, "_keras_history", None)
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if history is None or not getattr(history.operation, "_inbound_nodes", None):
        return [tensor]
    node = history.operation._inbound_nodes[history.node_index]
    if node.is_input:
        return tree.flatten(node.outputs)
    sources = []
    for parent in node.input_tensors:
        for source in get_source_inputs(parent):
            if all(source is not s for s in sources):
                sources.append(source)
    return sources
