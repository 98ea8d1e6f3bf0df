import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _model():
    x = lamina.Input((4,))
    return lamina.Model(x, layers.Dense(2)(layers.Dense(3, activation="relu")(x)))


def test_clone_model_has_same_architecture_and_fresh_weights():
    model = _model()
    clone = lamina.models.clone_model(model)
    assert [type(l) for l in clone.layers] == [type(l) for l in model.layers]
    assert clone.count_params() == model.count_params()
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])


@pytest.mark.parametrize("make", [_model, lambda: lamina.Sequential(
    [lamina.Input((4,)), layers.Dense(2)])])
def test_clone_of_a_compiled_model_is_compiled_alike_with_its_own_optimizer(make):
    model = make()
    model.compile(lamina.optimizers.Adam(0.01), "mse", metrics=["mae"])
    clone = lamina.models.clone_model(model)
    assert clone.compiled and clone.optimizer is not model.optimizer
    assert clone.get_compile_config() == model.get_compile_config()
    clone.fit(np.ones((4, 4), "float32"), np.zeros((4, 2), "float32"), verbose=0)
    assert sorted(clone.history.history) == ["loss", "mae"]
    assert not lamina.models.clone_model(make()).compiled


def test_clone_model_with_clone_function_and_input_tensors():
    model = _model()
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    new_input = lamina.Input((4,), name="fresh")
    clone = lamina.models.clone_model(model, input_tensors=new_input,
                                      clone_function=clone_function)
    assert seen == [l.name for l in model.layers[1:]]
    assert clone.inputs[0] is new_input and clone.output_shape == (None, 2)
    clone.set_weights(model.get_weights())
    x = torch.randn(2, 4)
    np.testing.assert_allclose(clone(x).detach(), model(x).detach(), atol=1e-6)
    seq = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    seq_clone = lamina.models.clone_model(seq)
    assert seq_clone.output_shape == (None, 2) and seq_clone.layers[0] is not seq.layers[0]
    with pytest.raises(ValueError, match="one per model input"):
        lamina.models.clone_model(model, input_tensors=[new_input, new_input])


def test_clone_model_clones_a_shared_layer_once_and_reuses_op_functions():
    x = lamina.Input((4,), name="x")
    shared = layers.Dense(4, name="shared")
    y = lamina.ops.add(shared(x), shared(lamina.ops.relu(x)))
    model = lamina.Model(x, y)
    seen = []

    def clone_function(layer):
        seen.append(layer.name)
        return type(layer).from_config(layer.get_config())

    clone = lamina.models.clone_model(model, clone_function=clone_function)
    assert seen == ["shared"]
    assert [op.name for op in clone.operations] == [op.name for op in model.operations]
    assert clone.get_layer("shared") is not shared
    clone.set_weights(model.get_weights())
    data = torch.randn(2, 4)
    np.testing.assert_allclose(clone(data).detach(), model(data).detach(), atol=1e-6)


def test_clone_model_of_a_dict_input_model_keeps_the_structure():
    a, b = lamina.Input((2,), name="a"), lamina.Input((3,), name="b")
    model = lamina.Model({"a": a, "b": b}, layers.Dense(1)(layers.Concatenate()([a, b])))
    clone = lamina.models.clone_model(model)
    assert sorted(clone.input) == ["a", "b"] and clone.input["a"] is not a
    out = clone({"a": torch.ones(1, 2), "b": torch.ones(1, 3)})
    assert out.shape == (1, 1)
