"""Legacy Keras 2 / tf.keras `.h5` weights: Keras-written and hand-built tf.keras 2.x files."""

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import legacy_h5, saving_api

keras = pytest.importorskip("keras")

rng = np.random.default_rng(3)
X_SEQ = rng.random((3, 5, 4), dtype=np.float32)


def recurrent_model(ns):
    """LSTM, Bidirectional(GRU), BatchNormalization, MultiHeadAttention and a nested model
    whose sublayers interleave trainable and non-trainable weights."""
    x = ns.Input((5, 4))
    h = ns.layers.LSTM(4, return_sequences=True)(x)
    h = ns.layers.MultiHeadAttention(2, 3)(h, h)
    inner_in = ns.Input((5, 4))
    inner = ns.Model(inner_in, ns.layers.Dense(3)(ns.layers.BatchNormalization()(inner_in)),
                     name="inner")
    h = ns.layers.Bidirectional(ns.layers.GRU(2))(inner(h))
    h = ns.layers.BatchNormalization()(h)
    return ns.Model(x, ns.layers.Dense(2)(h))


def _randomize(model):
    """Non-default weights everywhere (BatchNorm statistics included)."""
    model.set_weights([rng.random(w.shape, dtype=np.float32) + 0.5 for w in model.get_weights()])


def test_keras_written_h5_loads_by_order(tmp_path):
    keras.backend.clear_session(free_memory=False)
    source = recurrent_model(keras)
    _randomize(source)
    path = str(tmp_path / "model.h5")
    source.save(path)
    with h5py.File(path, "r") as f:  # the legacy layout, not Keras 3's attribute paths
        assert "model_weights" in f and "layer_names" in f["model_weights"].attrs
        names = list(f["model_weights/inner"].attrs["weight_names"])
        assert [n.rsplit("/", 1)[-1] for n in names] == [
            "gamma", "beta", "kernel", "bias", "moving_mean", "moving_variance"]
    target = recurrent_model(lamina)
    target.load_weights(path)
    np.testing.assert_allclose(target.predict(X_SEQ, verbose=0),
                               source.predict(X_SEQ, verbose=0), atol=1e-5)


def _write(group, layer_name, weights):
    """One layer group in the tf.keras 2.x layout: byte-string names with `:0` suffixes."""
    layer = group.create_group(layer_name)
    names = [f"{layer_name}/{n}:0" for n, _ in weights]
    layer.attrs["weight_names"] = np.array([n.encode() for n in names], dtype="S")
    for name, value in zip(names, (v for _, v in weights)):
        layer.create_dataset(name, data=value)


def tf2_model(ns):
    inner_in = ns.Input((4,))
    inner = ns.Model(inner_in, ns.layers.Dense(3, name="dense_in")(
        ns.layers.BatchNormalization(name="bn_in")(inner_in)), name="inner")
    x = ns.Input((6,))
    h = ns.layers.BatchNormalization(name="bn")(ns.layers.Dense(4, name="dense")(x))
    return ns.Model(x, ns.layers.Dense(2, name="head")(inner(h)))


def _tf2_file(path, values, bn_order=("gamma", "beta", "moving_mean", "moving_variance")):
    with h5py.File(path, "w") as f:
        f.attrs["backend"] = b"tensorflow"
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["layer_names"] = np.array([b"input_1", b"dense", b"bn", b"inner", b"head"])
        _write(f, "input_1", [])
        _write(f, "dense", [("kernel", values["dense/kernel"]), ("bias", values["dense/bias"])])
        _write(f, "bn", [(n, values[f"bn/{n}"]) for n in bn_order])
        # tf.keras orders a nested model's weights trainable first, across its sublayers.
        inner = f.create_group("inner")
        order = ["bn_in/gamma", "bn_in/beta", "dense_in/kernel", "dense_in/bias",
                 "bn_in/moving_mean", "bn_in/moving_variance"]
        inner.attrs["weight_names"] = np.array([f"{n}:0".encode() for n in order])
        for name in order:
            inner.create_dataset(f"{name}:0", data=values[name])
        _write(f, "head", [("kernel", values["head/kernel"]), ("bias", values["head/bias"])])


def _tf2_values():
    shapes = {"dense/kernel": (6, 4), "dense/bias": (4,), "head/kernel": (3, 2),
              "head/bias": (2,), "dense_in/kernel": (4, 3), "dense_in/bias": (3,)}
    shapes.update({f"{bn}/{n}": (4,) for bn in ("bn", "bn_in")
                   for n in ("gamma", "beta", "moving_mean", "moving_variance")})
    return {k: rng.random(s, dtype=np.float32) + 0.5 for k, s in shapes.items()}


@pytest.mark.parametrize("bn_order", [("gamma", "beta", "moving_mean", "moving_variance"),
                                      ("moving_variance", "beta", "gamma", "moving_mean")])
def test_hand_built_tf2_file_loads_every_weight_in_place(tmp_path, bn_order):
    values = _tf2_values()
    path = tmp_path / "tf2.h5"
    _tf2_file(path, values, bn_order)
    model = tf2_model(lamina)
    model.load_weights(str(path))
    for weight in model.weights:
        np.testing.assert_array_equal(weight.numpy(), values[weight.path.split("/", 1)[-1]
                                                             if weight.path.startswith(
                                                                 "inner/") else weight.path])
    if bn_order[0] != "gamma":
        return  # Keras reads a reordered file positionally: no oracle for that case
    reference = tf2_model(keras)  # the oracle reads the same file to the same predictions
    reference.load_weights(str(path))
    x = rng.random((2, 6), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0), reference.predict(x, verbose=0),
                               atol=1e-5)


def test_by_name_loads_matching_layers_and_skips_mismatches(tmp_path):
    values = _tf2_values()
    path = tmp_path / "tf2.h5"
    _tf2_file(path, values)
    x = lamina.Input((6,))
    other = lamina.layers.Dense(4, name="dense")(x)
    other = lamina.layers.Dense(5, name="head")(lamina.layers.Dense(3, name="new")(other))
    model = lamina.Model(x, other)
    head_before = model.get_layer("head").kernel.numpy().copy()
    with pytest.raises(ValueError, match=r"layer 'head' \(Dense\).*'head/kernel'.*\(3, 5\)"
                                         r".*\(3, 2\).*'head/kernel:0'"):
        saving_api.load_weights(model, path, by_name=True)
    np.testing.assert_array_equal(model.get_layer("dense").kernel.numpy() == values[
        "dense/kernel"], False)  # a failed load assigns nothing
    with pytest.warns(UserWarning, match="Skipping loading Shape mismatch in layer 'head'"):
        saving_api.load_weights(model, path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(model.get_layer("dense").kernel.numpy(), values["dense/kernel"])
    np.testing.assert_array_equal(model.get_layer("head").kernel.numpy(), head_before)


def test_topological_errors_name_counts_and_shapes(tmp_path):
    path = tmp_path / "tf2.h5"
    _tf2_file(path, _tf2_values())
    small = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"model has 1 layers with weights.*file holds 4"):
        small.load_weights(str(path))
    x = lamina.Input((6,))
    h = lamina.layers.BatchNormalization()(lamina.layers.Dense(4)(x))
    inner_in = lamina.Input((4,))
    inner = lamina.Model(inner_in, lamina.layers.Dense(3)(
        lamina.layers.BatchNormalization()(inner_in)))
    wide = lamina.Model(x, lamina.layers.Dense(7)(inner(h)))
    with pytest.raises(ValueError, match=r"layer #3 'dense_\d' \(Dense\).*expects shape "
                                         r"\(3, 7\).*holds shape \(3, 2\)"):
        wide.load_weights(str(path))
    with pytest.warns(UserWarning, match="Skipping loading Shape mismatch in layer #3"):
        saving_api.load_weights(wide, path, skip_mismatch=True)


def test_weight_count_mismatch_names_both_counts(tmp_path):
    path = tmp_path / "tf2.h5"
    _tf2_file(path, _tf2_values())
    x = lamina.Input((6,))
    h = lamina.layers.Dense(4, name="bn", use_bias=False)(x)
    model = lamina.Model(x, h)
    with pytest.raises(ValueError, match=r"Weight count mismatch for layer 'bn' \(Dense\): "
                                         r"the layer has 1 weights.*holds 4"):
        saving_api.load_weights(model, path, by_name=True)


def test_bad_files_are_refused(tmp_path):
    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(4)])
    with pytest.raises(FileNotFoundError, match="No file found"):
        model.load_weights(str(tmp_path / "missing.h5"))
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="not a legacy Keras h5 weights file.*layer_names"):
        model.load_weights(str(tmp_path / "plain.h5"))
    with h5py.File(tmp_path / "old.h5", "w") as f:
        f.attrs["keras_version"] = b"1.2.2"
        f.attrs["layer_names"] = np.array([b"dense"])
    with pytest.raises(ValueError, match="Keras 1.2.2.*not supported"):
        model.load_weights(str(tmp_path / "old.h5"))
    model.save_weights(str(tmp_path / "m.weights.h5"))
    with pytest.raises(ValueError, match="`by_name` only supports loading legacy"):
        saving_api.load_weights(model, tmp_path / "m.weights.h5", by_name=True)


def test_chunked_layer_names_and_keras3_paths_are_read(tmp_path):
    path = tmp_path / "chunked.h5"
    kernel = rng.random((6, 4), dtype=np.float32)
    with h5py.File(path, "w") as f:
        f.attrs["layer_names0"] = np.array([b"dense"])
        f.attrs["layer_names1"] = np.array([b"dense_1"])
        _write(f, "dense", [("kernel", kernel), ("bias", np.ones(4, np.float32))])
        _write(f, "dense_1", [("kernel", kernel[:4, :2]), ("bias", np.ones(2, np.float32))])
    model = lamina.Sequential([lamina.Input((6,)), lamina.layers.Dense(4),
                               lamina.layers.Dense(2)])
    model.load_weights(str(path))
    np.testing.assert_array_equal(model.layers[1].kernel.numpy(), kernel[:4, :2])
    assert legacy_h5.is_legacy_path("a.hdf5") and not legacy_h5.is_legacy_path("a.weights.h5")
