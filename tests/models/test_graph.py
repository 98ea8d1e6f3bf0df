import pytest

import lamina
from lamina import layers
from lamina.models import graph


def test_walk_orders_operations_deepest_first_and_keeps_unused_inputs():
    x = lamina.Input((4,), name="x")
    unused = lamina.Input((2,), name="unused")
    c = layers.Dense(2, name="c")(x)
    b = layers.Dense(2, name="b2")(layers.Dense(2, name="b1")(x))
    found = graph.walk([x, unused], lamina.ops.add(c, b))
    assert [op.name for op in found.operations] == ["x", "b1", "c", "b2", "unused", "add"]
    assert [node.operation.name for node in found.nodes][-1] == "add"
    assert found.node_depth[id(found.nodes[-1])] == 0
    assert found.node_depth[id(found.nodes[0])] == 3


def test_walk_names_the_given_inputs_when_the_graph_is_disconnected():
    a = lamina.Input((3,), name="a")
    b = lamina.Input((3,), name="b")
    with pytest.raises(ValueError, match=r"Graph disconnected.*inputs were given: \['a'\]"):
        graph.walk(a, layers.Dense(2)(b))


def test_walk_rejects_a_tensor_not_produced_by_a_layer():
    x = lamina.Input((3,))
    loose = lamina.KerasTensor((None, 3))
    with pytest.raises(ValueError, match="was not produced by a layer or op"):
        graph.walk(x, loose)


def test_config_and_summary_reuse_the_walk_made_at_construction(monkeypatch):
    x = lamina.Input((3,), name="x")
    y = lamina.ops.add(layers.Dense(3, name="d")(x), x)
    model = lamina.Model(x, y)

    def fail(*args, **kwargs):
        raise AssertionError("graph walked again")

    monkeypatch.setattr(graph, "_post_order", fail)
    assert [entry["name"] for entry in model.get_config()["layers"]] == ["x", "d", "add"]
    lines = []
    model.summary(print_fn=lines.append)
    assert "Connected to" in lines[0] and "d (Dense)" in lines[0]
