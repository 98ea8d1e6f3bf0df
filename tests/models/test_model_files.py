import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _model():
    x = lamina.Input((4,))
    return lamina.Model(x, layers.Dense(2)(layers.Dense(3, activation="relu")(x)))


def test_model_save_and_models_load_model_round_trip(tmp_path):
    model = _model()
    model.compile("adam", "mse")
    model.fit(np.ones((8, 4), "float32"), np.zeros((8, 2), "float32"), verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = lamina.models.load_model(path)
    x = torch.randn(3, 4)
    np.testing.assert_allclose(loaded(x).detach(), model(x).detach(), atol=1e-6)
    assert loaded.compiled


def test_save_and_load_weights_and_json(tmp_path):
    model = _model()
    path = tmp_path / "w.weights.h5"
    model.save_weights(path)
    clone = lamina.models.model_from_json(model.to_json())
    clone.load_weights(path)
    x = torch.randn(2, 4)
    np.testing.assert_allclose(clone(x).detach(), model(x).detach(), atol=1e-6)
    with pytest.raises(TypeError, match="Unrecognized arguments"):
        clone.load_weights(path, colour=True)


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


def test_load_weights_by_name_from_a_legacy_h5_file(tmp_path):
    import h5py

    model = _model()
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = [l.name.encode() for l in model.layers]
        for layer in model.layers:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0".encode() for w in layer.weights]
            group.attrs["weight_names"] = names
            for name, value in zip(names, layer.get_weights()):
                group.create_dataset(name.decode(), data=value * 0 + 1)
    model.load_weights(path, by_name=True)
    assert all(np.all(w == 1) for w in model.get_weights())


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
