"""A functional model may take intermediate tensors as inputs, as in Keras 3: each becomes
a fresh `Input` (named `<tensor>CLONE`) and the layers after it are called again on it, so
weights are shared with the model the tensors came from."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _tail_graph():
    x = lamina.Input((4,))
    hidden = layers.Dense(3, name="head")(x)
    shifted = lamina.ops.add(hidden, 1.0)
    out = layers.Dense(2, name="tail")(shifted)
    return x, hidden, out


def test_model_on_an_intermediate_tensor_runs_the_layers_after_it():
    x, hidden, out = _tail_graph()
    model = lamina.Model(hidden, out)
    assert [type(layer).__name__ for layer in model.layers] == ["InputLayer", "Dense"]
    assert model.inputs[0].name.endswith("CLONE")
    data = np.random.default_rng(0).random((5, 3)).astype("float32")
    tail = model.get_layer("tail")
    expected = tail(torch.as_tensor(data) + 1.0)
    torch.testing.assert_close(model(data), expected)


def test_the_cut_model_shares_weights_with_the_full_one():
    x, hidden, out = _tail_graph()
    full = lamina.Model(x, out)
    cut = lamina.Model(hidden, out)
    assert cut.get_layer("tail") is full.get_layer("tail")
    cut.compile(optimizer="sgd", loss="mse")
    before = full.get_layer("tail").kernel.detach().clone()
    cut.fit(np.ones((8, 3), "float32"), np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert not torch.equal(before, full.get_layer("tail").kernel.detach())


def test_inputs_may_mix_inputs_and_intermediate_tensors(tmp_path):
    a, b = lamina.Input((2,), name="a"), lamina.Input((3,), name="b")
    encoded = layers.Dense(2, name="encode")(b)
    out = layers.Dense(1, name="out")(layers.Concatenate()([a, encoded]))
    model = lamina.Model([a, encoded], out)
    assert model.inputs[0] is a
    result = model([np.ones((4, 2), "float32"), np.ones((4, 2), "float32")])
    assert tuple(result.shape) == (4, 1)
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    args = [np.ones((4, 2), "float32"), np.full((4, 2), 2.0, "float32")]
    torch.testing.assert_close(loaded(args), model(args))


def test_an_input_missing_from_a_cut_graph_is_still_a_disconnected_graph():
    a, b = lamina.Input((2,)), lamina.Input((2,))
    hidden = layers.Dense(2)(a)
    out = layers.Add()([hidden, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        lamina.Model(hidden, out)


def test_matches_keras_on_an_intermediate_input():
    keras = pytest.importorskip("keras")
    data = np.random.default_rng(1).random((4, 3)).astype("float32")

    def build(lib):
        x = lib.Input((4,))
        hidden = lib.layers.Dense(3, name="head")(x)
        out = lib.layers.Dense(2, name="tail")(lib.ops.add(hidden, 1.0))
        return lib.Model(hidden, out)

    ours, theirs = build(lamina), build(keras)
    ours.get_layer("tail").set_weights(theirs.get_layer("tail").get_weights())
    assert [type(layer).__name__ for layer in ours.layers] == [
        type(layer).__name__ for layer in theirs.layers]
    assert ours.inputs[0].name.endswith("CLONE") and theirs.inputs[0].name.endswith("CLONE")
    np.testing.assert_allclose(ours.predict(data, verbose=0), theirs.predict(data, verbose=0),
                               atol=1e-6)
    config, keras_config = ours.get_config(), theirs.get_config()
    assert [l["class_name"] for l in config["layers"]] == [
        l["class_name"] for l in keras_config["layers"]]
