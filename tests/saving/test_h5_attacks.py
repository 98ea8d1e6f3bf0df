"""Weights files are read as data only: each test builds a malicious HDF5 file with h5py
and checks the loader refuses it by name, with no decoy value reaching any weight."""

import io
import warnings

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving import h5_safety, keras_archive

DECOY = 1234.5  # distinctive: found in a weight only if the loader read the decoy


def make_model():
    return lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])


def assert_no_decoy(model):
    for weight in model.weights:
        assert not np.any(np.asarray(weight.numpy()) == DECOY), weight.path


@pytest.fixture
def decoy_h5(tmp_path):
    path = tmp_path / "decoy.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.full((3, 2), DECOY, np.float32))
        f.create_group("g").create_dataset("0", data=np.full((3, 2), DECOY, np.float32))
        f["g"].create_dataset("1", data=np.full((2,), DECOY, np.float32))
    return str(path)


def _replace(f, name, make):
    del f[name]
    make(f, name)


def _external_link(decoy_h5, tmp_path):
    return lambda f, name: f.__setitem__(name, h5py.ExternalLink(decoy_h5, "/x"))


def _external_storage(decoy_h5, tmp_path):
    raw = tmp_path / "decoy.raw"
    raw.write_bytes(np.full((3, 2), DECOY, np.float32).tobytes())
    return lambda f, name: f.create_dataset(name, shape=(3, 2), dtype="f4",
                                            external=[(str(raw), 0, 24)])


def _virtual(decoy_h5, tmp_path):
    def make(f, name):
        layout = h5py.VirtualLayout(shape=(3, 2), dtype="f4")
        layout[:] = h5py.VirtualSource(decoy_h5, "x", shape=(3, 2))
        f.create_virtual_dataset(name, layout)
    return make


def _soft_link_out(decoy_h5, tmp_path):
    def make(f, name):
        f.create_dataset("/stash", data=np.full((3, 2), DECOY, np.float32))
        f[name] = h5py.SoftLink("/stash")
    return make


ATTACKS = {
    "external link": (_external_link, "ExternalLink to '.*decoy.h5:/x'"),
    "external storage": (_external_storage, "stored in external file"),
    "virtual dataset": (_virtual, "virtual dataset"),
    "soft link": (_soft_link_out, "SoftLink to '/stash'"),
}


def _weights_file(tmp_path, attack):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:
        _replace(f, "layers/dense/vars/0", attack)
    return path


@pytest.mark.parametrize("kind", list(ATTACKS))
def test_weights_h5_refuses_data_from_outside_the_file(tmp_path, decoy_h5, kind):
    make, message = ATTACKS[kind]
    path = _weights_file(tmp_path, make(decoy_h5, tmp_path))
    model = make_model()
    with pytest.raises(ValueError, match=rf"'/layers/dense/vars/0'.*{message}"):
        model.load_weights(path)
    # A malicious file is not a mismatch: `skip_mismatch` does not let it through.
    with pytest.raises(ValueError, match=message):
        model.load_weights(path, skip_mismatch=True)
    assert_no_decoy(model)


@pytest.mark.parametrize("link", ["external", "soft"])
def test_links_replacing_a_whole_vars_group_are_refused(tmp_path, decoy_h5, link):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars"]
        if link == "external":
            f["layers/dense/vars"] = h5py.ExternalLink(decoy_h5, "/g")
        else:
            f["stash"] = h5py.ExternalLink(decoy_h5, "/g")
            f["layers/dense/vars"] = h5py.SoftLink("/stash")
    model = make_model()
    with pytest.raises(ValueError, match=r"'/layers/dense/vars'.*Link"):
        model.load_weights(path, skip_mismatch=True)
    assert_no_decoy(model)


@pytest.mark.parametrize("kind", list(ATTACKS))
def test_keras_archive_refuses_data_from_outside_its_weights(tmp_path, decoy_h5, kind):
    make, message = ATTACKS[kind]
    weights = _weights_file(tmp_path, make(decoy_h5, tmp_path)).read_bytes()
    archive = tmp_path / "m.keras"
    make_model().save(archive)
    members = keras_archive.read_archive(archive)
    members[keras_archive.WEIGHTS] = weights
    keras_archive.write_archive(archive, members)
    with pytest.raises(ValueError, match=message):
        lamina.saving.load_model(archive)
    model = make_model()
    with pytest.raises(ValueError, match=message):
        model.load_weights(archive)
    assert_no_decoy(model)


NON_NUMERIC = {
    "vlen": h5py.vlen_dtype(np.float32),
    "object string": h5py.string_dtype(),
    "fixed string": np.dtype("S8"),
    "reference": h5py.ref_dtype,
    "compound": np.dtype([("a", "f4"), ("b", "f4")]),
}


@pytest.mark.parametrize("kind", list(NON_NUMERIC))
def test_non_numeric_datasets_are_refused_by_dtype(tmp_path, kind):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:
        _replace(f, "layers/dense/vars/0",
                 lambda f, name: f.create_dataset(name, shape=(3, 2), dtype=NON_NUMERIC[kind]))
    model = make_model()
    with pytest.raises(ValueError, match=r"'/layers/dense/vars/0': expected a numeric array"):
        model.load_weights(path, skip_mismatch=True)


def _lazy_dataset(shape):
    """A chunked dataset declaring `shape` with nothing written: a few bytes on disk."""
    return lambda f, name: f.create_dataset(name, shape=shape, dtype="f4", chunks=(2**20,))


def _forbid_reads(monkeypatch):
    def read(node):
        raise AssertionError(f"read {node.name} before checking its shape")
    monkeypatch.setattr(h5_safety, "read", read)


def test_shape_bomb_is_refused_even_with_skip_mismatch(tmp_path, monkeypatch):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:  # 4 TiB declared
        _replace(f, "layers/dense/vars/0", _lazy_dataset((2**40,)))
    assert path.stat().st_size < 2**20
    _forbid_reads(monkeypatch)
    with pytest.raises(ValueError, match=r"'/layers/dense/vars/0': it declares shape "
                                         r"\(1099511627776,\).*shape bomb"):
        make_model().load_weights(path, skip_mismatch=True)


def test_oversized_entry_is_a_shape_mismatch_found_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:  # 1 GiB declared: under the bomb floor
        _replace(f, "layers/dense/vars/0", _lazy_dataset((2**28,)))
    _forbid_reads(monkeypatch)
    model = make_model()
    before = [w.numpy().copy() for w in model.weights]
    with pytest.raises(ValueError, match=r"Dense 'dense_\d+'.*shape \(268435456,\).*"
                                         r"larger than any of its variables.*skip_mismatch"):
        model.load_weights(path)
    # A shape mismatch, so `skip_mismatch` skips the layer with a warning, as in Keras.
    with pytest.warns(UserWarning, match="Skipping loading weights of Dense"):
        model.load_weights(path, skip_mismatch=True)
    for weight, value in zip(model.weights, before):
        np.testing.assert_array_equal(weight.numpy(), value)


def test_shape_bomb_is_refused_for_user_loaders_too(tmp_path):
    with h5py.File(tmp_path / "b.h5", "w") as f:
        f.create_dataset("x", shape=(2**40,), dtype="f4", chunks=(2**20,))
        with pytest.raises(ValueError, match="declares shape .* stores only 0 bytes"):
            h5_safety.dataset(f, "x")


def test_plugin_filters_are_refused_and_builtin_ones_read(tmp_path):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:  # 32008: bitshuffle, which HDF5 would dlopen
        _replace(f, "layers/dense/vars/0", lambda f, name: f.create_dataset(
            name, data=np.ones((3, 2), "f4"), chunks=(3, 2), compression=32008,
            allow_unknown_filter=True))
        _replace(f, "layers/dense/vars/1", lambda f, name: f.create_dataset(
            name, data=np.ones(2, "f4"), chunks=(2,), compression="gzip", shuffle=True))
    with pytest.raises(ValueError, match="'/layers/dense/vars/0': it needs HDF5 filter 32008"):
        make_model().load_weights(path, skip_mismatch=True)
    with h5py.File(path, "a") as f:
        _replace(f, "layers/dense/vars/0", lambda f, name: f.create_dataset(
            name, data=np.ones((3, 2), "f4"), chunks=(3, 2), compression="lzf"))
    model = make_model()
    model.load_weights(path)
    assert all(np.all(w.numpy() == 1) for w in model.weights)


def test_missing_and_extra_variable_entries_name_the_entry(tmp_path):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:
        del f["layers/dense/vars/1"]
    with pytest.raises(ValueError, match=r"expected 2 variables.*holds 1 at "
                                         r"'layers/dense/vars'.*skip_mismatch"):
        make_model().load_weights(path)
    with h5py.File(path, "a") as f:
        f["layers/dense/vars"].create_dataset("1", data=np.zeros(2))
        f["layers/dense/vars"].create_dataset("2", data=np.zeros(2))
    with pytest.raises(ValueError, match=r"expected 2 variables.*holds 3"):
        make_model().load_weights(path)
    with pytest.warns(UserWarning, match="Skipping loading weights of Dense"):
        make_model().load_weights(path, skip_mismatch=True)


def _legacy_file(path, make_kernel):
    """A tf.keras 2.x weights file for `make_model()`, its kernel made by `make_kernel`."""
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.13.1"
        f.attrs["layer_names"] = np.array([b"dense"])
        layer = f.create_group("dense")
        layer.attrs["weight_names"] = np.array([b"dense/kernel:0", b"dense/bias:0"])
        layer.create_dataset("dense/bias:0", data=np.zeros(2, np.float32))
        make_kernel(f, "dense/dense/kernel:0")


@pytest.mark.parametrize("by_name", [False, True])
@pytest.mark.parametrize("kind", list(ATTACKS))
def test_legacy_h5_refuses_data_from_outside_the_file(tmp_path, decoy_h5, kind, by_name):
    make, message = ATTACKS[kind]
    path = tmp_path / "legacy.h5"
    _legacy_file(path, make(decoy_h5, tmp_path))
    model = make_model()
    model.layers[0].name = "dense"
    with pytest.raises(ValueError, match=rf"'/dense/dense/kernel:0'.*{message}"):
        model.load_weights(str(path), by_name=by_name, skip_mismatch=True)
    assert_no_decoy(model)


@pytest.mark.parametrize("shape", [(2**28,), (2**40,)])
def test_legacy_h5_checks_shapes_before_reading(tmp_path, monkeypatch, shape):
    path = tmp_path / "legacy.h5"
    _legacy_file(path, _lazy_dataset(shape))
    _forbid_reads(monkeypatch)
    message = (r"expects shape \(3, 2\).*\(268435456,\)" if shape == (2**28,)
               else "shape bomb")
    with pytest.raises(ValueError, match=message):
        make_model().load_weights(str(path))


@pytest.mark.parametrize("layer_name", ["../dense", "/dense", "dense/./x"])
def test_legacy_layer_names_must_be_plain_paths(tmp_path, layer_name):
    path = tmp_path / "legacy.h5"
    _legacy_file(path, lambda f, name: f.create_dataset(name, data=np.ones((3, 2), "f4")))
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = np.array([layer_name.encode()])
    with pytest.raises(ValueError, match="not a plain relative path"):
        make_model().load_weights(str(path))


def test_legitimate_files_still_load(tmp_path):
    source = make_model()
    source.compile(optimizer="adam", loss="mse")
    source.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    source.save(tmp_path / "m.keras")
    source.save_weights(tmp_path / "m.weights.h5")
    loaded = lamina.saving.load_model(tmp_path / "m.keras")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        target = make_model()
        target.load_weights(tmp_path / "m.weights.h5")
    for a, b, c in zip(source.weights, loaded.weights, target.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    with h5py.File(io.BytesIO(keras_archive.read_archive(tmp_path / "m.keras")[
            keras_archive.WEIGHTS]), "r") as f:
        assert h5_safety.read(h5_safety.dataset(f, "layers/dense/vars/0")).shape == (3, 2)


def test_empty_null_dataset_is_refused_with_its_path(tmp_path):
    path = tmp_path / "w.weights.h5"
    make_model().save_weights(path)
    with h5py.File(path, "a") as f:
        _replace(f, "layers/dense/vars/0",
                 lambda f, name: f.create_dataset(name, data=h5py.Empty("f4")))
    with pytest.raises(ValueError, match=r"'/layers/dense/vars/0': it is an empty \(null\)"):
        make_model().load_weights(path)


def test_values_for_layers_the_model_lacks_are_an_error(tmp_path):
    path = tmp_path / "big.weights.h5"
    lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4),
                       lamina.layers.Dense(2)]).save_weights(path)
    small = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(4)])
    with pytest.raises(ValueError, match=r"holds values for \['layers/dense_1'\].*skip_mismatch"):
        small.load_weights(path)
    with pytest.warns(UserWarning, match=r"holds values for \['layers/dense_1'\]"):
        small.load_weights(path, skip_mismatch=True)
    with h5py.File(path) as f:  # the layer the model has was still loaded
        np.testing.assert_array_equal(small.layers[0].kernel.detach().numpy(),
                                      f["layers/dense/vars/0"][()])


def test_a_compiled_models_file_loads_into_an_uncompiled_model(tmp_path):
    model = make_model()
    model.compile(optimizer="adam", loss="mse")
    model.fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0)
    path = tmp_path / "trained.weights.h5"
    model.save_weights(path)
    fresh = make_model()
    fresh.load_weights(path)  # the optimizer's group is not an extra entry
    np.testing.assert_array_equal(fresh.get_weights()[0], model.get_weights()[0])
