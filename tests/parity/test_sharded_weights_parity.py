"""Sharded weights move both ways between Keras 3 and lamina: the same `.weights.json` map
text, the same shard names and groups, and identical weights and optimizer state."""

import json

import h5py
import numpy as np
import pytest

import lamina

SHARD_GB = 0.0005  # ~0.5 MB: the model below spans five shards, the optimizer four


def build(ns):
    ns.utils.set_random_seed(0)
    model = ns.Sequential([ns.Input((300,)), ns.layers.Dense(400),
                           ns.layers.BatchNormalization(), ns.layers.Dense(100),
                           ns.layers.Dense(3)])
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    model.fit(rng.random((8, 300), "float32"), rng.random((8, 3), "float32"), verbose=0)
    return model


def _np(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return np.asarray(value)


def state(model):
    return [_np(v.numpy() if hasattr(v, "numpy") else v)
            for v in [*model.weights, *model.optimizer.variables]]


def assert_same_state(a, b):
    a_state, b_state = state(a), state(b)
    assert len(a_state) == len(b_state)
    for x, y in zip(a_state, b_state):
        np.testing.assert_array_equal(x, y)


def layout(path):
    """Every group/dataset of an h5 file with its shape and attributes."""
    entries = []
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, node: entries.append(
            (name, getattr(node, "shape", None), {k: str(v) for k, v in node.attrs.items()})))
    return sorted(entries, key=str)


def test_keras_sharded_weights_load_in_lamina(K, tmp_path):
    source = build(K)
    source.save_weights(tmp_path / "k.weights.json", max_shard_size=SHARD_GB)
    assert len(list(tmp_path.glob("k_*.weights.h5"))) > 2
    target = build(lamina)
    for weight in target.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    target.load_weights(tmp_path / "k.weights.json")
    assert_same_state(target, source)


def test_lamina_sharded_weights_load_in_keras(K, tmp_path):
    source = build(lamina)
    source.save_weights(tmp_path / "l.weights.json", max_shard_size=SHARD_GB)
    target = build(K)
    for weight in target.weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    target.load_weights(tmp_path / "l.weights.json")
    assert_same_state(source, target)


@pytest.mark.parametrize("max_shard_size", [SHARD_GB, 0.002, 1])
def test_sharded_files_match_keras_map_and_shards(K, tmp_path, max_shard_size):
    (tmp_path / "k").mkdir()
    (tmp_path / "l").mkdir()
    build(K).save_weights(tmp_path / "k" / "m.weights.json", max_shard_size=max_shard_size)
    build(lamina).save_weights(tmp_path / "l" / "m.weights.json",
                               max_shard_size=max_shard_size)
    keras_map = (tmp_path / "k" / "m.weights.json").read_text()
    assert (tmp_path / "l" / "m.weights.json").read_text() == keras_map
    names = sorted({s for v in json.loads(keras_map)["weight_map"].values() for s in v})
    assert sorted(p.name for p in (tmp_path / "l").glob("*.weights.h5")) == names
    for name in names:
        assert layout(tmp_path / "l" / name) == layout(tmp_path / "k" / name), name
