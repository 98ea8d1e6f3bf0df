import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _mlp():
    inputs = lamina.Input(shape=(8,), name="x")
    h = layers.Dense(16, activation="relu")(inputs)
    outputs = layers.Dense(3)(h)
    return lamina.Model(inputs, outputs, name="mlp")


def test_model_with_inputs_outputs_is_functional_and_callable():
    model = _mlp()
    assert type(model).__name__ == "Functional"
    assert isinstance(model, lamina.Model) and isinstance(model, torch.nn.Module)
    out = model(torch.ones(4, 8))
    assert out.shape == (4, 3)
    assert model.input_shape == (None, 8) and model.output_shape == (None, 3)
    assert [l.name for l in model.layers] == ["x", "dense", "dense_1"]


def test_functional_matches_manual_composition():
    model = _mlp()
    x = torch.randn(5, 8)
    dense, dense_1 = model.layers[1], model.layers[2]
    np.testing.assert_allclose(model(x).detach(), dense_1(dense(x)).detach())


def test_multi_input_multi_output_lists_and_dicts():
    a = lamina.Input((3,), name="a")
    b = lamina.Input((2,), name="b")
    merged = layers.Dense(4)(lamina.ops.concatenate([a, b], axis=-1))
    out1 = layers.Dense(1, name="out1")(merged)
    out2 = layers.Dense(2, name="out2")(merged)
    model = lamina.Model({"a": a, "b": b}, {"first": out1, "second": out2})
    result = model({"a": torch.ones(4, 3), "b": torch.ones(4, 2)})
    assert set(result) == {"first", "second"}
    assert result["first"].shape == (4, 1) and result["second"].shape == (4, 2)
    with pytest.raises(ValueError, match=r"expects input keys \['a', 'b'\].*\['a', 'c'\]"):
        model({"a": torch.ones(4, 3), "c": torch.ones(4, 2)})
    listed = lamina.Model([a, b], [out1, out2])
    outs = listed([torch.ones(2, 3), torch.ones(2, 2)])
    assert isinstance(outs, list) and len(outs) == 2
    with pytest.raises(ValueError, match="expects 2 inputs"):
        listed([torch.ones(2, 3)])


def test_shared_layer_creates_multiple_nodes():
    shared = layers.Dense(4, name="shared")
    a = lamina.Input((3,))
    b = lamina.Input((3,))
    model = lamina.Model([a, b], [shared(a), shared(b)])
    assert len(shared._inbound_nodes) == 2
    assert len(model.weights) == 2
    x = torch.randn(2, 3)
    out_a, out_b = model([x, x])
    np.testing.assert_allclose(out_a.detach(), out_b.detach())
    # Keras 3: `output`/`input` of a shared layer are those of its first call
    assert shared.output is shared.get_output_at(0) and shared.input is a
    assert shared.get_output_at(1) is not shared.output


def test_nested_model_as_a_layer():
    inner = _mlp()
    x = lamina.Input((8,))
    y = layers.Dense(1)(inner(x))
    outer = lamina.Model(x, y)
    assert outer(torch.ones(2, 8)).shape == (2, 1)
    assert len(outer.weights) == 6
    assert any(k.startswith("layers.1.layers.1") for k in outer.state_dict())


def test_feature_extraction_from_layer_outputs():
    model = _mlp()
    extractor = lamina.Model(model.inputs, [l.output for l in model.layers])
    features = extractor(torch.ones(2, 8))
    assert [tuple(f.shape) for f in features] == [(2, 8), (2, 16), (2, 3)]


def test_get_layer_by_name_and_index():
    model = _mlp()
    assert model.get_layer("dense").name == "dense"
    assert model.get_layer(index=2).name == "dense_1"
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="only has 3 layers"):
        model.get_layer(index=9)


def test_duplicate_layer_names_are_rejected():
    x = lamina.Input((3,))
    y = layers.Dense(2, name="same")(x)
    z = layers.Dense(2, name="same")(y)
    with pytest.raises(ValueError, match="'same' is used 2 times"):
        lamina.Model(x, z)


def test_disconnected_graph_is_reported():
    a = lamina.Input((3,), name="a")
    b = lamina.Input((3,), name="b")
    y = layers.Dense(2)(b)
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(a, y)


def test_wrong_input_shape_is_reported():
    model = _mlp()
    with pytest.raises(ValueError, match=r"expected shape \(None, 8\), received shape \(2, 5\)"):
        model([np.ones((2, 5), "float32")])


def test_ops_between_layers_are_recorded():
    x = lamina.Input((4,))
    y = layers.Dense(4)(x)
    z = lamina.ops.relu(y) * 2.0
    model = lamina.Model(x, z)
    out = model(torch.ones(3, 4))
    dense = model.layers[1]
    np.testing.assert_allclose(out.detach(), 2 * torch.relu(dense(torch.ones(3, 4))).detach())


def test_plan_is_replayed_without_graph_search(monkeypatch):
    model = _mlp()
    from lamina.models import graph

    def fail(*args, **kwargs):
        raise AssertionError("graph searched at call time")

    monkeypatch.setattr(graph, "_post_order", fail)
    assert model(torch.ones(1, 8)).shape == (1, 3)


def test_operations_lists_layers_and_ops_in_keras_order_as_a_copy():
    x = lamina.Input((3,), name="x")
    d = layers.Dense(2, name="d")
    y = lamina.ops.add(d(x), layers.Dense(2, name="e")(lamina.ops.relu(x)))
    model = lamina.Model(x, y)
    names = [op.name for op in model.operations]
    assert names == ["x", "relu", "d", "e", "add"]
    assert model.operations[2] is d
    model.operations.clear()
    assert len(model.operations) == 5
