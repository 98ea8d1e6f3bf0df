"""A `SeedGenerator` held by a layer is that layer's state, as in Keras: `variables` lists
its `seed_generator_state`; weights, `get_weights()` and weight files leave it out."""

import copy
import io
import pickle
import zipfile

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina import layers


class Noisy(layers.Layer):
    def __init__(self, seed=3, **kwargs):
        super().__init__(**kwargs)
        self.generator = lamina.random.SeedGenerator(seed)

    def call(self, x):
        return x + lamina.random.normal(tuple(x.shape), seed=self.generator)

    def get_config(self):
        return {**super().get_config(), "seed": 3}


def test_layer_variables_list_the_seed_state_but_weights_do_not():
    layer = Noisy()
    layer.build((None, 2))
    state = layer.generator.state
    assert [v.path for v in layer.variables] == ["seed_generator/seed_generator_state"]
    assert state.name == "seed_generator_state" and state.dtype == torch.int32
    assert tuple(state.shape) == (2,) and not state.trainable
    assert layer.non_trainable_variables == [state]
    assert layer.weights == [] and layer.non_trainable_weights == []
    assert layer.trainable_variables == []


def test_model_lists_seed_states_after_each_layers_weights():
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2), layers.Dropout(0.3),
                               layers.Dense(1)])
    paths = [v.path for v in model.variables]
    assert paths[2].endswith("seed_generator_state") and len(paths) == 5
    assert len(model.weights) == len(model.get_weights()) == 4
    assert len(model.non_trainable_variables) == 1 and model.non_trainable_weights == []
    model.trainable = False
    assert len(model.non_trainable_variables) == 5 and len(model.non_trainable_weights) == 4


def test_seed_state_counts_draws_and_assign_shows_through():
    layer = Noisy()
    x = torch.zeros(2, 3)
    first = layer(x)
    assert layer.generator.state.tolist() == [3, 1]
    layer.generator.state.assign([3, 0])
    torch.testing.assert_close(layer(x), first)
    assert layer.generator.counter == 1 and layer.generator.seed == 3


def test_symbolic_runs_do_not_advance_the_seed_state():
    layer = Noisy()
    model = lamina.Sequential([lamina.Input((3,)), layer])
    assert layer.generator.state.tolist() == [3, 0]
    model.summary(print_fn=lambda *a, **k: None)
    model.compute_output_spec(lamina.KerasTensor((None, 3)))
    assert layer.generator.state.tolist() == [3, 0]
    first = model(torch.zeros(1, 3))
    again = Noisy()(torch.zeros(1, 3))  # an unbuilt twin draws with the same seed
    torch.testing.assert_close(first, again)


def test_seed_state_stays_on_the_host_and_out_of_state_dict():
    layer = Noisy()
    layer.build((None, 3))
    assert layer.generator.state.device.type == "cpu"
    assert all("seed" not in key for key in layer.state_dict())


def test_weights_files_hold_no_seed_state(tmp_path):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2), layers.Dropout(0.5, seed=1),
                               layers.GaussianNoise(0.1, seed=2), layers.Dense(1)])
    model(np.ones((2, 3), "float32"), training=True)
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        assert len(weights["layers/dropout/vars"]) == 0
        assert len(weights["layers/gaussian_noise/vars"]) == 0
    loaded = lamina.saving.load_model(tmp_path / "m.keras")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_copies_and_pickles_keep_their_own_seed_state():
    layer = layers.Dropout(0.5, seed=3)
    twin = copy.deepcopy(layer)
    twin.seed_generator.torch_generator("cpu")
    assert layer.seed_generator.counter == 0 and twin.seed_generator.counter == 1
    assert twin.variables == [twin.seed_generator.state]
    restored = pickle.loads(pickle.dumps(layer))
    restored.seed_generator.torch_generator("cpu")
    assert restored.seed_generator.state.tolist() == [3, 1]
    assert layer.seed_generator.counter == 0


def test_seed_generators_in_lists_are_tracked_once():
    class Pair(layers.Layer):
        def __init__(self):
            super().__init__()
            shared = lamina.random.SeedGenerator(1)
            self.generators = [shared, lamina.random.SeedGenerator(2)]
            self.alias = shared

        def call(self, x):
            return x

    layer = Pair()
    assert [int(v[0]) for v in layer.variables] == [1, 2]


def test_next_returns_a_copy_of_the_state():
    generator = lamina.random.SeedGenerator(5)
    state = generator.next()
    assert state.tolist() == [5, 0] and generator.state.tolist() == [5, 1]
    with pytest.raises(ValueError, match="must be an integer"):
        lamina.random.SeedGenerator(1.5)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_recurrent_cells_hold_a_seed_generator_from_the_start(cls):
    layer = cls(3, seed=4)
    layer(np.ones((2, 5, 2), "float32"))
    names = [v.name for v in layer.variables]
    assert names[-1] == "seed_generator_state" and names.count("seed_generator_state") == 1
    assert layer.weights == layer.variables[:-1]
    dropping = cls(3, dropout=0.5, seed=4)
    dropping(np.ones((2, 5, 2), "float32"), training=True)
    assert [int(v) for v in dropping.variables[-1]] == [4, 1]
