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
