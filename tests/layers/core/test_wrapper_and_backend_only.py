"""`layers.Wrapper`, and the JAX/TensorFlow-only layers that raise with a way forward."""

import pytest
import torch

import lamina
from lamina import layers


class Twice(layers.Wrapper):
    def call(self, x):
        return 2 * self.layer(x)


def test_wrapper_builds_and_serializes_its_layer():
    wrapper = Twice(layers.Dense(3, name="inner"))
    out = wrapper(torch.ones(2, 4))
    assert tuple(out.shape) == (2, 3) and wrapper.layer.built
    config = wrapper.get_config()
    assert config["layer"]["class_name"] == "Dense"
    clone = Twice.from_config(config)
    assert clone.layer.units == 3


def test_wrapper_rejects_non_layers():
    with pytest.raises(ValueError, match="isn't a supported layer type"):
        Twice(torch.nn.Linear(2, 2))


@pytest.mark.parametrize("name, error, hint", [
    ("JaxLayer", ValueError, "TorchModuleWrapper"),
    ("FlaxLayer", ValueError, "Flax modules"),
    ("TFSMLayer", NotImplementedError, "load_model"),
])
def test_backend_only_layers_exist_and_raise_with_a_way_forward(name, error, hint):
    cls = getattr(layers, name)
    with pytest.raises(error, match=f"{name} is not available in lamina.*{hint}"):
        cls("anything")


def test_orbax_checkpoint_raises_with_a_way_forward():
    with pytest.raises(NotImplementedError, match="ModelCheckpoint"):
        lamina.callbacks.OrbaxCheckpoint("/tmp/ckpt")
