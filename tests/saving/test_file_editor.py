"""`lamina.saving.KerasFileEditor` against Keras 3's own editor as the oracle: the same
file gives the same `weights_dict`, summary and comparison; the same edits give the same
saved file; edited files load in Keras and in lamina; files cross between the two
editors; bad input raises the exception types Keras raises, with clear messages.

Where Keras' editor is defective (bare names in files with several top-level objects,
sub-objects of an object with variables, silent overwrites), lamina's behaviour is
asserted on its own, against the file's known contents."""

import os
import zipfile

import h5py
import numpy as np
import pytest

import lamina
from lamina.saving.file_editor import KerasFileEditor
from lamina.saving.h5_safety import UnsafeH5Error

keras = pytest.importorskip("keras")

X = np.linspace(-1, 1, 12, dtype="float32").reshape(4, 3)
Y = np.linspace(0, 1, 8, dtype="float32").reshape(4, 2)


def keras_model(compiled=True):
    inputs = keras.Input((3,))
    x = keras.layers.Dense(4, name="d1")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Dropout(0.1)(x)
    outputs = keras.layers.Dense(2, name="d2")(x)
    model = keras.Model(inputs, outputs)
    if compiled:
        model.compile(optimizer="adam", loss="mse")
        model.fit(X, Y, verbose=0)
    return model


def keras_sequential(*units, bias=True):
    return keras.Sequential([keras.Input((3,)),
                             *(keras.layers.Dense(u, use_bias=bias) for u in units)])


def lamina_sequential(*units, bias=True):
    return lamina.Sequential([lamina.Input((3,)),
                              *(lamina.layers.Dense(u, use_bias=bias) for u in units)])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A trained Keras model (with optimizer state) as `.keras` and `.weights.h5`, and a
    weights file holding only layers (where Keras' bare-name lookup works)."""
    directory = tmp_path_factory.mktemp("editor")
    model = keras_model()
    paths = {"keras": str(directory / "m.keras"), "h5": str(directory / "m.weights.h5"),
             "layers": str(directory / "layers.weights.h5")}
    model.save(paths["keras"])
    model.save_weights(paths["h5"])
    keras.utils.set_random_seed(1)
    keras_sequential(4, 2).save_weights(paths["layers"])
    return paths


def flat(tree, path=""):
    """`{"a/b/0": array}` for a nested weights dict."""
    out = {}
    for key, value in tree.items():
        where = f"{path}/{key}" if path else key
        if isinstance(value, dict):
            out.update(flat(value, where))
        else:
            out[where] = np.asarray(value)
    return out


def assert_same_weights(a, b):
    a, b = flat(a), flat(b)
    assert sorted(a) == sorted(b)
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def h5_contents(path):
    """Every group and dataset of an h5 file: `{name: None or array}`."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda name, node: out.__setitem__(
            name, node[()] if isinstance(node, h5py.Dataset) else None))
    return out


def assert_same_h5(path_a, path_b):
    a, b = h5_contents(path_a), h5_contents(path_b)
    assert sorted(a) == sorted(b)
    for key, value in a.items():
        if value is not None:
            assert value.dtype == b[key].dtype, key
            np.testing.assert_array_equal(value, b[key], err_msg=key)


def both(path, capsys=None):
    editors = KerasFileEditor(path), keras.saving.KerasFileEditor(path)
    if capsys is not None:
        capsys.readouterr()
    return editors


# -- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_reads_the_same_weights_and_metadata_as_keras(files, kind):
    ours, theirs = both(files[kind])
    assert_same_weights(ours.weights_dict, theirs.weights_dict)
    assert list(flat(ours.weights_dict)) == list(flat(theirs.weights_dict))  # same order
    assert ours.object_metadata == theirs.object_metadata
    assert ours.config == theirs.config
    assert ours.metadata == theirs.metadata
    assert ours.filepath == files[kind]
    # An int32 scalar (the iteration count) reads as a numpy scalar, as in Keras.
    assert type(ours.weights_dict["optimizer"]["0"]) is type(theirs.weights_dict["optimizer"]["0"])


def test_lamina_saved_archive_reads_the_same_in_both_editors(tmp_path, capsys):
    model = lamina_sequential(4, 2)
    model.compile(optimizer="adam", loss="mse")
    model.fit(X, Y, verbose=0)
    path = str(tmp_path / "lamina.keras")
    model.save(path)
    ours, theirs = both(path, capsys)
    assert_same_weights(ours.weights_dict, theirs.weights_dict)
    assert ours.config == theirs.config and ours.metadata == theirs.metadata
    assert ours.object_metadata == theirs.object_metadata


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_opening_and_summary_print_what_keras_prints(files, kind, capsys):
    KerasFileEditor(files[kind]).summary()
    ours = capsys.readouterr().out
    keras.saving.KerasFileEditor(files[kind]).summary()
    theirs = capsys.readouterr().out
    assert ours == theirs
    assert "  > layers\n  \u2502   \u251c\u2500 batch_normalization\n" in ours


def test_summary_tree_of_mixed_objects_and_weights_matches_keras(files, capsys):
    ours, theirs = both(files["layers"], capsys)
    for editor in (ours, theirs):
        editor.add_object("aaa", {"0": np.ones(2), "sub": {"1": np.ones((2, 3), "int8")}})
        editor.add_object("zzz", {"0": np.float32(3)})
        editor.add_object("layers/dense/inner", {"k": np.ones(1)})
    ours.summary()
    printed = capsys.readouterr().out
    theirs.summary()
    assert printed == capsys.readouterr().out
    assert "  \u2514\u2500 zzz\n      \u2514\u2500 0: shape=(), dtype=float32\n" in printed


# -- edits, compared with Keras' editor --------------------------------------------------


def edit(editor):
    """The same edits, by full path (Keras' editor finds full paths reliably)."""
    editor.delete_weight("layers/dense_1", "1")
    editor.add_weights("layers/dense_1", {"1": np.full((2,), 5.0, "float32"),
                                          "2": np.arange(6).reshape(2, 3)})
    editor.rename_object("layers/batch_normalization", "norm")
    editor.delete_object("optimizer")
    editor.add_object("layers/extra", {"0": np.eye(2, dtype="float16"),
                                       "1": np.ones(3, "float64")})


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_same_edits_give_the_same_file_as_keras(files, kind, tmp_path, capsys):
    ours, theirs = both(files[kind], capsys)
    edit(ours)
    edit(theirs)
    assert_same_weights(ours.weights_dict, theirs.weights_dict)
    ours.save(tmp_path / "ours.weights.h5")
    theirs.save(str(tmp_path / "theirs.weights.h5"))
    assert_same_h5(tmp_path / "ours.weights.h5", tmp_path / "theirs.weights.h5")
    ours.resave_weights(tmp_path / "again.weights.h5")
    assert_same_h5(tmp_path / "ours.weights.h5", tmp_path / "again.weights.h5")


def test_bare_names_resolve_as_in_keras_where_keras_finds_them(files, capsys):
    ours, theirs = both(files["layers"], capsys)
    for editor in (ours, theirs):
        editor.rename_object("dense", "first")
        editor.add_weights("first", {"2": np.ones(3)})
        editor.delete_weight("dense_1", "0")
        editor.delete_object("first")
    assert_same_weights(ours.weights_dict, theirs.weights_dict)
    assert list(ours.weights_dict["layers"]) == ["dense_1"]


def test_bare_names_resolve_in_files_with_an_optimizer(files, capsys):
    """Keras' editor reports 'dense_1' as ambiguous here (a defect): it is unique."""
    editor = KerasFileEditor(files["h5"])
    expected = flat(editor.weights_dict)
    editor.rename_object("dense_1", "head")
    editor.delete_weight("head", "1")
    editor.delete_object("batch_normalization")
    got = flat(editor.weights_dict)
    assert sorted(got) == sorted(
        [k.replace("dense_1", "head") for k in expected if "batch_norm" not in k
         and k != "layers/dense_1/1"])
    np.testing.assert_array_equal(got["layers/head/0"], expected["layers/dense_1/0"])
    with pytest.raises(ValueError, match=r"'0' is ambiguous: .*layers/dense/0"):
        editor.delete_object("0")


def test_adapted_file_loads_in_keras_and_in_lamina(files, tmp_path, capsys):
    """The editor's purpose: a file saved from `Dense(4) -> Dense(2)` is adapted to a
    model with a new `Dense(5)` in the middle, then loads in both libraries."""
    editor = KerasFileEditor(files["layers"])
    old = flat(editor.weights_dict)
    kernel = np.arange(20, dtype="float32").reshape(4, 5) / 10
    new_head = np.ones((5, 2), "float32")
    editor.rename_object("layers/dense_1", "dense_2")
    editor.add_weights("dense_2", {"0": new_head})  # resized: (4, 2) -> (5, 2)
    editor.add_object("layers/dense_1", {"0": kernel, "1": np.zeros(5, "float32")})
    path = str(tmp_path / "adapted.weights.h5")
    editor.save(path)

    theirs, ours = keras_sequential(4, 5, 2), lamina_sequential(4, 5, 2)
    assert editor.compare(ours) == {"status": "success", "error_count": 0, "match_count": 6}
    theirs.load_weights(path)
    ours.load_weights(path)
    expected = [old["layers/dense/0"], old["layers/dense/1"], kernel, np.zeros(5),
                new_head, old["layers/dense_1/1"]]
    for model in (theirs, ours):
        for weight, value in zip(model.weights, expected, strict=True):
            np.testing.assert_array_equal(np.asarray(weight.numpy()), value)
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(ours.predict(x, verbose=0)),
                               np.asarray(theirs.predict(x, verbose=0)), rtol=1e-5)
    assert "Comparison successful" in capsys.readouterr().out


def test_files_cross_between_the_two_editors(files, tmp_path, capsys):
    theirs = keras.saving.KerasFileEditor(files["keras"])
    edit(theirs)
    theirs.save(str(tmp_path / "by_keras.weights.h5"))
    ours = KerasFileEditor(tmp_path / "by_keras.weights.h5")
    assert_same_weights(ours.weights_dict, theirs.weights_dict)

    ours = KerasFileEditor(files["keras"])
    edit(ours)
    ours.save(tmp_path / "by_lamina.weights.h5")
    back = keras.saving.KerasFileEditor(str(tmp_path / "by_lamina.weights.h5"))
    assert_same_weights(back.weights_dict, ours.weights_dict)


def test_resaved_keras_file_loads_into_keras_and_lamina_models(files, tmp_path, capsys):
    editor = KerasFileEditor(files["keras"])
    path = tmp_path / "resaved.weights.h5"
    editor.save(path)
    reference = keras.saving.load_model(files["keras"])
    theirs = keras_model(compiled=False)
    theirs.load_weights(str(path))
    ours = lamina.saving.load_model(files["keras"], compile=False)
    ours.load_weights(path)
    for a, b, c in zip(reference.weights, theirs.weights, ours.weights, strict=True):
        np.testing.assert_array_equal(np.asarray(b.numpy()), np.asarray(a.numpy()))
        np.testing.assert_array_equal(np.asarray(c.numpy()), np.asarray(a.numpy()))


def test_object_with_weights_and_sub_objects_keeps_both(tmp_path, capsys):
    class Scaled(lamina.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = lamina.layers.Dense(2)

        def build(self, input_shape):
            self.scale = self.add_weight(shape=(1,), initializer="ones")
            self.inner.build(input_shape)

        def call(self, x):
            return self.inner(x) * self.scale

    model = lamina.Sequential([lamina.Input((3,)), Scaled()])
    model.layers[0].scale.assign([3.0])
    path = tmp_path / "nested.weights.h5"
    model.save_weights(path)
    editor = KerasFileEditor(path)
    assert sorted(flat(editor.weights_dict)) == [
        "layers/scaled/0", "layers/scaled/inner/0", "layers/scaled/inner/1"]
    editor.save(tmp_path / "copy.weights.h5")
    fresh = lamina.Sequential([lamina.Input((3,)), Scaled()])
    fresh.load_weights(tmp_path / "copy.weights.h5")
    for a, b in zip(model.weights, fresh.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_keras_bfloat16_weights_read_exactly_and_resave_loadable(tmp_path, capsys):
    """Keras stores bfloat16 as opaque 2-byte values (its own editor cannot save them);
    lamina's reads them as exact float32 values and saves float32, which a bfloat16 model
    of either library loads back unchanged."""
    source = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16")])
    source.layers[0].bias.assign([0.5, -3.0])
    path = str(tmp_path / "bf16.weights.h5")
    source.save_weights(path)
    expected = [np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(w, "float32")))
                for w in source.weights]
    editor = KerasFileEditor(path)
    dense = editor.weights_dict["layers"]["dense"]
    for key, value in zip(("0", "1"), expected, strict=True):
        assert dense[key].dtype == np.float32
        np.testing.assert_array_equal(dense[key], value)
    editor.save(tmp_path / "out.weights.h5")
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16")])
    theirs.load_weights(str(tmp_path / "out.weights.h5"))
    ours = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, dtype="bfloat16")])
    ours.load_weights(tmp_path / "out.weights.h5")
    for model in (theirs, ours):
        for weight, value in zip(model.weights, expected, strict=True):
            got = keras.ops.convert_to_numpy(keras.ops.cast(weight.value, "float32")) \
                if model is theirs else weight.float().detach().numpy()
            np.testing.assert_array_equal(got, value)


# -- compare ----------------------------------------------------------------------------


@pytest.mark.parametrize(("file_units", "file_bias", "ref_units", "ref_bias"), [
    ((2,), True, (2,), True),      # all match
    ((2,), True, (3,), True),      # kernel and bias shapes differ
    ((2,), True, (2,), False),     # a weight only in the file
    ((2,), False, (2,), True),     # a weight only in the model
    ((2,), False, (2, 2), False),  # an object only in the model
    ((2, 2), False, (2,), False),  # an object only in the file
])
def test_compare_agrees_with_keras(tmp_path, capsys, file_units, file_bias, ref_units,
                                   ref_bias):
    path = str(tmp_path / "c.weights.h5")
    keras_sequential(*file_units, bias=file_bias).save_weights(path)
    ours, theirs = both(path, capsys)
    got = ours.compare(lamina_sequential(*ref_units, bias=ref_bias))
    printed = capsys.readouterr().out
    expected = theirs.compare(keras_sequential(*ref_units, bias=ref_bias))
    assert got == expected
    keras_lines = [line for line in capsys.readouterr().out.splitlines()
                   if line.startswith("...")]
    assert keras_lines == [line for line in printed.splitlines() if line.startswith("...")]


def test_compare_counts_each_weight_once(files, capsys):
    editor = KerasFileEditor(files["h5"])
    ours = lamina.saving.load_model(files["keras"], compile=False)
    # No optimizer in the reference: the file's optimizer is the one mismatch.
    assert editor.compare(ours) == {"status": "error", "error_count": 1, "match_count": 8}
    editor.delete_object("optimizer")
    editor.add_weights("layers/dense", {"0": np.ones((3, 5), "float32")})
    result = editor.compare(ours)
    assert result == {"status": "error", "error_count": 1, "match_count": 7}
    printed = capsys.readouterr().out
    assert ("...Weight shape mismatch for /layers/dense/0\n    In reference model: "
            "shape=(3, 4)\n    In saved file: shape=(3, 5)\n") in printed
    assert "Found 1 error: saved file is not compatible" in printed


# -- bad input: the exception types Keras raises ----------------------------------------


def assert_both_raise(error_type, ours, theirs, match):
    with pytest.raises(error_type):
        theirs()
    with pytest.raises(error_type, match=match):
        ours()


@pytest.mark.parametrize("name", ["missing.keras", "missing.weights.h5"])
def test_missing_file_is_file_not_found(tmp_path, name):
    path = str(tmp_path / name)
    assert_both_raise(FileNotFoundError, lambda: KerasFileEditor(path),
                      lambda: keras.saving.KerasFileEditor(path), "No file found at")


@pytest.mark.parametrize("name", ["model.h5", "model.json", "weights"])
def test_other_extensions_are_refused(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"")
    assert_both_raise(ValueError, lambda: KerasFileEditor(path),
                      lambda: keras.saving.KerasFileEditor(str(path)),
                      r"must name a `\.keras` archive or a `\.weights\.h5` file")


def test_damaged_files_raise_keras_error_types(tmp_path):
    junk_archive = tmp_path / "junk.keras"
    junk_archive.write_bytes(b"not a zip file")
    assert_both_raise(zipfile.BadZipFile, lambda: KerasFileEditor(junk_archive),
                      lambda: keras.saving.KerasFileEditor(str(junk_archive)),
                      "not a valid `.keras` zip archive")
    with pytest.raises(ValueError):  # lamina's loaders raise ValueError: both hold
        KerasFileEditor(junk_archive)
    junk_h5 = tmp_path / "junk.weights.h5"
    junk_h5.write_bytes(b"not an HDF5 file")
    assert_both_raise(OSError, lambda: KerasFileEditor(junk_h5),
                      lambda: keras.saving.KerasFileEditor(str(junk_h5)),
                      "not a readable HDF5 weights file")


@pytest.mark.parametrize(("call", "match"), [
    (lambda e: e.rename_object("nope", "x"), "No object or weight named 'nope' in the file"),
    (lambda e: e.delete_object("nope"), "No object or weight named 'nope'"),
    (lambda e: e.delete_weight("nope", "0"), "No object or weight named 'nope'"),
    (lambda e: e.add_weights("nope", {"0": np.ones(2)}), "No object or weight named 'nope'"),
    (lambda e: e.rename_object("layers/nope", "x"), "Nothing at path 'layers/nope'"),
    (lambda e: e.delete_object("layers/dense/7"), "Nothing at path 'layers/dense/7'"),
    (lambda e: e.add_weights("layers/dropout", {"0": np.ones(2)}),
     "Nothing at path 'layers/dropout'"),
    (lambda e: e.add_object("a/b/c", {"0": np.ones(2)}), "parent path 'a' does not exist"),
    (lambda e: e.delete_weight("layers/dense", "5"),
     r"Object 'layers/dense' has no weight '5'. Its weights: \['0', '1'\]"),
    (lambda e: e.rename_object("layers/dense", "layers/other"),
     "must be a single name, not a path"),
    (lambda e: e.add_weights("layers/dense", [np.ones(2)]), "must be a dict mapping weight names"),
    (lambda e: e.add_object("layers/new", [np.ones(2)]), "must be a dict mapping weight names"),
    (lambda e: e.save("out.keras"), r"must end in `\.weights\.h5`"),
    (lambda e: e.resave_weights("out.h5"), r"must end in `\.weights\.h5`"),
    (lambda e: e.compare(3), "must be a lamina model"),
], ids=["rename-unknown", "delete-unknown", "delete-weight-unknown", "add-weights-unknown",
        "rename-bad-path", "delete-bad-path", "add-weights-absent-object", "add-object-no-parent",
        "delete-missing-weight", "rename-to-path", "add-weights-list", "add-object-list",
        "save-keras-suffix", "resave-h5-suffix", "compare-non-model"])
def test_bad_edits_raise_value_error_as_keras(files, tmp_path, capsys, call, match,
                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    ours, theirs = both(files["layers"], capsys)
    before = flat(ours.weights_dict)
    assert_both_raise(ValueError, lambda: call(ours), lambda: call(theirs), match)
    after = flat(ours.weights_dict)  # nothing changed, nothing written
    assert list(after) == list(before)
    for key, value in before.items():
        np.testing.assert_array_equal(after[key], value)
    assert os.listdir(tmp_path) == []


def test_added_weights_of_the_wrong_shape_fail_to_load_in_both(files, tmp_path, capsys):
    """Adding is not checked against any model (the file has none); the mismatch shows in
    `compare` and when loading, as a ValueError in both libraries, naming the layer."""
    ours, theirs = both(files["layers"], capsys)
    for editor in (ours, theirs):
        editor.add_weights("layers/dense_1", {"0": np.ones((5, 2), "float32")})
    got = ours.compare(lamina_sequential(4, 2))
    expected = theirs.compare(keras_sequential(4, 2))
    assert (got["status"], got["error_count"]) == (expected["status"], expected["error_count"])
    assert got["match_count"] == 3  # Keras counts its 3 matches again per level: 5
    assert "In saved file: shape=(5, 2)" in capsys.readouterr().out
    ours.save(tmp_path / "bad.weights.h5")
    with pytest.raises(ValueError):
        keras_sequential(4, 2).load_weights(str(tmp_path / "bad.weights.h5"))
    with pytest.raises(ValueError, match=r"dense_1.*\(5, 2\)|\(5, 2\).*dense_1"):
        lamina_sequential(4, 2).load_weights(tmp_path / "bad.weights.h5")


def test_lamina_checks_added_values_when_added(files, capsys):
    """Keras fails on these only in `save` (TypeError for a non-string name, ValueError for
    a non-numeric value) or never (a ragged list); lamina raises the same types at once."""
    editor = KerasFileEditor(files["layers"])
    with pytest.raises(TypeError, match="names in the file must be strings"):
        editor.add_object("layers/new", {0: np.ones(2)})
    with pytest.raises(ValueError, match=r"value of '0' must be a numeric array.*<U3"):
        editor.add_weights("layers/dense", {"0": "abc"})
    with pytest.raises(ValueError, match="value of 'sub/0' is not an array of a single shape"):
        editor.add_object("layers/new", {"sub": {"0": [[1, 2], [3]]}})
    with pytest.raises(ValueError, match="`add_weights` takes arrays"):
        editor.add_weights("layers/dense", {"sub": {"0": np.ones(2)}})
    with pytest.raises(ValueError, match="cannot be named 'vars'"):
        editor.add_object("layers/vars", {"0": np.ones(2)})
    with pytest.raises(ValueError, match="'layers/dense/0' is a weight, not an object"):
        editor.add_weights("layers/dense/0", {"1": np.ones(2)})
    with pytest.raises(ValueError, match="'layers/dense/0' is a weight, not an object"):
        editor.add_object("layers/dense/0/x", {"1": np.ones(2)})
    # Keras silently overwrites the other object; lamina refuses.
    with pytest.raises(ValueError, match="already exists next to it"):
        editor.rename_object("layers/dense", "dense_1")
    assert sorted(flat(editor.weights_dict)) == [
        "layers/dense/0", "layers/dense/1", "layers/dense_1/0", "layers/dense_1/1"]
    editor.add_weights("dense", {"2": lamina.ops.ones((2,))})  # tensors are accepted
    assert editor.weights_dict["layers"]["dense"]["2"].tolist() == [1.0, 1.0]


# -- safety ------------------------------------------------------------------------------


def test_links_outside_the_file_are_refused(tmp_path, files):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["data"] = np.full(3, 1234.5)
    path = tmp_path / "linked.weights.h5"
    with h5py.File(path, "w") as f:
        f.create_group("layers/dense/vars")["0"] = np.ones(2)
        f["layers/dense/vars/1"] = h5py.ExternalLink(str(secret), "data")
    open_files = len(h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE))
    with pytest.raises(UnsafeH5Error, match=r"read '[^']*linked\.weights\.h5' at "
                       r"'/layers/dense/vars/1': it is an HDF5 ExternalLink"):
        KerasFileEditor(path)
    assert len(h5py.h5f.get_obj_ids(types=h5py.h5f.OBJ_FILE)) == open_files  # closed


def test_weights_over_the_load_limit_are_refused_before_reading(files, capsys):
    from lamina.serialization import serialization

    previous = serialization.max_load_bytes()
    serialization.set_max_load_bytes(64)
    try:
        with pytest.raises(ValueError, match="more than the limit of 64 bytes"):
            KerasFileEditor(files["h5"])
    finally:
        serialization.set_max_load_bytes(previous)


def test_failed_save_leaves_the_previous_file_untouched(files, tmp_path, capsys):
    editor = KerasFileEditor(files["layers"])
    target = tmp_path / "out.weights.h5"
    editor.save(target)
    before = target.read_bytes()
    editor.weights_dict["layers"]["bad"] = {"0": np.array([object()], dtype=object)}
    with pytest.raises(TypeError):
        editor.save(target)
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.weights.h5"]


def test_top_level_quantizer_is_the_quantizers_class():
    assert lamina.Quantizer is lamina.quantizers.Quantizer
    assert lamina.saving.KerasFileEditor is KerasFileEditor
