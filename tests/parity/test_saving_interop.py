"""`.keras` and `.weights.h5` files move both ways between lamina and Keras 3 (the oracle)."""

import numpy as np
import pytest
import torch

import lamina
from lamina.models.graph import keras_operation_order

rng = np.random.default_rng(1)
X = rng.random((16, 4), dtype=np.float32)
Y = rng.random((16, 2), dtype=np.float32)
X2 = rng.random((16, 3, 2), dtype=np.float32)


def sequential(ns, rate=0.3):
    model = ns.Sequential(name="seq")
    model.add(ns.layers.InputLayer(shape=(4,)))
    model.add(ns.layers.Dense(8, activation="relu"))
    model.add(ns.layers.Dropout(rate))
    model.add(ns.layers.Dense(2))
    return model


def multi_io(ns):
    x = ns.Input((4,), name="x")
    y = ns.Input((3, 2), name="y")
    inner_in = ns.Input((4,))
    inner = ns.Model(inner_in, ns.layers.Dense(5)(inner_in), name="inner")
    shared = ns.layers.Dense(3, name="shared")
    a, b = shared(inner(x)), shared(inner(x))
    flat = ns.layers.Dense(3)(ns.layers.Flatten()(y))
    h = ns.ops.relu(ns.ops.add(ns.ops.add(a, b), flat))
    return ns.Model([x, y], {"p": ns.layers.Dense(1, name="p")(h),
                             "q": ns.layers.Dense(2, name="q")(h)}, name="multi")


def subclassed(ns):
    class Block(ns.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = ns.layers.Dense(3)
            self.extra = [ns.layers.Dense(3), ns.layers.Dropout(0.1)]

        def build(self, input_shape):
            self.gate = self.add_weight(shape=(3,), initializer="ones", trainable=False,
                                        name="gate")
            self.w = self.add_weight(shape=(3,), initializer="random_normal", name="w")

        def call(self, x):
            return self.extra[0](self.inner(x)) * self.gate * self.w

    class Net(ns.Model):
        def __init__(self):
            super().__init__()
            self.zeta = ns.layers.Dense(3)
            self.blocks = [Block(), Block()]
            self.heads = {"b": ns.layers.Dense(2), "a": ns.layers.Dense(3)}
            self._hidden = ns.layers.Dense(3)
            self.alias = self.zeta

        def call(self, x):
            h = self._hidden(self.zeta(x))
            for block in self.blocks:
                h = block(h)
            return self.heads["b"](self.heads["a"](h))

    return Net()


def _np(value):
    if isinstance(value, dict):
        return {k: _np(v) for k, v in value.items()}
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def _assert_same_outputs(a, b):
    a, b = _np(a), _np(b)
    if isinstance(a, dict):
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_allclose(b[key], a[key], atol=1e-5)
    else:
        np.testing.assert_allclose(b, a, atol=1e-5)


def _compile_and_fit(model, epochs):
    import keras

    ns = lamina if isinstance(model, lamina.Model) else keras
    model.compile(optimizer=ns.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    model.fit(X, Y, epochs=epochs, batch_size=8, shuffle=False, verbose=0)


def _assert_same_optimizer_state(a, b):
    va, vb = [_np(v) for v in a.optimizer.variables], [_np(v) for v in b.optimizer.variables]
    assert [v.shape for v in va] == [v.shape for v in vb]
    for x, y in zip(va, vb):
        np.testing.assert_allclose(y, x, atol=1e-6)


def test_keras_compiled_sequential_loads_in_lamina_and_trains_on(K, tmp_path):
    model = sequential(K, rate=0.0)  # dropout draws differ between the libraries
    _compile_and_fit(model, epochs=2)
    path = tmp_path / "keras_seq.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    _assert_same_outputs(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    assert loaded.compiled and type(loaded.optimizer).__name__ == "Adam"
    _assert_same_optimizer_state(model, loaded)
    model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_lamina_compiled_sequential_loads_in_keras_and_trains_on(K, tmp_path):
    model = sequential(lamina, rate=0.0)
    _compile_and_fit(model, epochs=2)
    path = tmp_path / "lamina_seq.keras"
    lamina.saving.save_model(model, path)
    loaded = K.saving.load_model(path)
    _assert_same_outputs(model.predict(X, verbose=0), loaded.predict(X, verbose=0))
    _assert_same_optimizer_state(model, loaded)
    model.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    loaded.fit(X, Y, epochs=1, batch_size=8, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-5)


def test_keras_functional_multi_io_loads_in_lamina(K, tmp_path):
    model = multi_io(K)
    path = tmp_path / "keras_multi.keras"
    model.save(path)
    loaded = lamina.saving.load_model(path)
    _assert_same_outputs(model.predict([X, X2], verbose=0), loaded.predict([X, X2], verbose=0))
    assert [layer.name for layer in loaded.layers if not isinstance(
        layer, lamina.layers.InputLayer)] == [
        layer.name for layer in model.layers if not isinstance(layer, K.layers.InputLayer)]


def test_lamina_functional_multi_io_loads_in_keras(K, tmp_path):
    model = multi_io(lamina)
    path = tmp_path / "lamina_multi.keras"
    lamina.saving.save_model(model, path)
    loaded = K.saving.load_model(path)
    _assert_same_outputs(model.predict([X, X2], verbose=0), loaded.predict([X, X2], verbose=0))
    ours = lamina.saving.load_model(path).get_config()
    theirs = loaded.get_config()
    assert [e["name"] for e in ours["layers"]] == [
        e["name"].replace("add_2", "add").replace("add_3", "add_1") for e in theirs["layers"]]


def test_functional_config_layer_order_matches_keras(K):
    """Keras orders a graph's layers deepest first, not by creation; that order fixes the
    config's layer list and the `layers/dense_N` weight paths."""
    def graph(ns):
        x = ns.Input((4,), name="x")
        y = ns.Input((4,), name="y")
        c = ns.layers.Dense(2, name="c")(x)
        b = ns.layers.Dense(2, name="b2")(ns.layers.Dense(2, name="b1")(x))
        a = ns.layers.Dense(2, name="a")(ns.layers.Dense(2, name="p")(y))
        out = ns.layers.Dense(2, name="out")(ns.ops.add(ns.ops.add(c, b), a))
        return ns.Model([x, y], out)

    keras_model, lamina_model = graph(K), graph(lamina)
    expected = [layer.name for layer in keras_model.layers]
    order = keras_operation_order(lamina_model._inputs_struct, lamina_model._outputs_struct)
    assert [op.name for op in order if isinstance(op, lamina.layers.Layer)] == expected
    config_names = [e["name"] for e in lamina_model.get_config()["layers"]]
    assert [n for n in config_names if not n.startswith("add")] == expected


@pytest.mark.parametrize("direction", ["keras_to_lamina", "lamina_to_keras"])
def test_subclassed_weights_files_move_both_ways(K, tmp_path, direction):
    source_ns, target_ns = (K, lamina) if direction == "keras_to_lamina" else (lamina, K)
    source, target = subclassed(source_ns), subclassed(target_ns)
    source(X[:2])
    target(X[:2])
    path = str(tmp_path / "net.weights.h5")
    if source_ns is K:
        source.save_weights(path)
        lamina.saving.load_weights(target, path)
    else:
        lamina.saving.save_weights(source, path)
        target.load_weights(path)
    _assert_same_outputs(_np(source(X)), _np(target(X)))
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_allclose(_np(b), _np(a), atol=0)


def test_h5_layout_matches_keras_group_for_group(K, tmp_path):
    import h5py

    def listing(path):
        with h5py.File(path) as f:
            items = []
            f.visititems(lambda n, o: items.append(
                (n, getattr(o, "shape", None), dict(o.attrs).get("name") is not None)))
            return items

    keras_model, lamina_model = subclassed(K), subclassed(lamina)
    keras_model(X[:2])
    lamina_model(torch.from_numpy(X[:2]))
    keras_model.save_weights(str(tmp_path / "k.weights.h5"))
    lamina.saving.save_weights(lamina_model, tmp_path / "l.weights.h5")
    assert listing(tmp_path / "l.weights.h5") == listing(tmp_path / "k.weights.h5")


def test_model_classes_are_written_under_keras_modules(K):
    """Keras 3 writes `Sequential` under module "keras" and `Functional` under its private
    module: lamina's serialized models name the same ones."""
    lam_seq = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    k_seq = K.Sequential([K.Input((3,)), K.layers.Dense(2)])
    li, ki = lamina.Input((3,)), K.Input((3,))
    lam_fun = lamina.Model(li, lamina.layers.Dense(2)(li))
    k_fun = K.Model(ki, K.layers.Dense(2)(ki))
    for ours, theirs in ((lam_seq, k_seq), (lam_fun, k_fun)):
        a = lamina.saving.serialize_keras_object(ours)
        b = K.saving.serialize_keras_object(theirs)
        assert (a["module"], a["class_name"], a.get("registered_name")) == (
            b["module"], b["class_name"], b.get("registered_name"))
