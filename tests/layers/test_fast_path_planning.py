"""A layer takes its per-call fast path however it was built: by its first call, by an
explicit `build()`, as a parent's child, or when loaded."""

import torch

import lamina
from lamina import layers


def _calls_full_path(layer, x, monkeypatch):
    seen = []
    original = type(layer)._full_call

    def spy(self, args, kwargs):
        seen.append(self)
        return original(self, args, kwargs)

    monkeypatch.setattr(type(layer), "_full_call", spy)
    layer(x)
    return bool(seen)


def test_layer_built_by_build_takes_the_fast_path_from_its_second_call(monkeypatch):
    dense = layers.Dense(4)
    dense.build((None, 3))
    x = torch.randn(2, 3)
    assert _calls_full_path(dense, x, monkeypatch)  # the first call plans
    assert not _calls_full_path(dense, x, monkeypatch)


def test_children_built_by_their_parent_take_the_fast_path(monkeypatch):
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=4)
    q = torch.randn(2, 5, 8)
    mha(q, q)
    mha(q, q)
    assert not _calls_full_path(mha._query_dense, q, monkeypatch)


def test_loaded_model_layers_take_the_fast_path(tmp_path, monkeypatch):
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    model.save(tmp_path / "m.keras")
    loaded = lamina.models.load_model(tmp_path / "m.keras")
    x = torch.randn(2, 3)
    loaded(x)
    assert not _calls_full_path(loaded.layers[0], x, monkeypatch)
