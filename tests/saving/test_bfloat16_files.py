"""bfloat16 weights cross between lamina and Keras 3 in `.keras` and `.weights.h5` files.

Keras 3 stores a bfloat16 variable as 2-byte HDF5 opaque values (the raw bits) tagged with
the attribute `dtype="bfloat16"`. Keras is the oracle: its files load in lamina bit for bit
(weights and optimizer slots) and predict the same; lamina's files hold the same layout and
load in Keras bit for bit. Mixed-precision models (float32 variables) keep plain float32.
Opaque values that are not Keras' bfloat16 are refused as data."""

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina.saving import h5_safety
from lamina.saving.file_editor import KerasFileEditor
from lamina.saving.h5_safety import UnsafeH5Error

keras = pytest.importorskip("keras")
ml_dtypes = pytest.importorskip("ml_dtypes")  # a Keras dependency: its bfloat16 dtype

X = np.linspace(-2, 2, 24, dtype="float32").reshape(6, 4)
Y = np.linspace(0, 1, 18, dtype="float32").reshape(6, 3)


def build(lib, dtype, compiled=True):
    model = lib.Sequential([
        lib.Input((4,)),
        lib.layers.Dense(8, activation="relu", dtype=dtype),
        lib.layers.LayerNormalization(dtype=dtype),
        lib.layers.Dense(3, dtype=dtype),
    ])
    if compiled:
        model.compile(optimizer=lib.optimizers.Adam(0.05), loss="mse")
    return model


def trained(lib, dtype):
    model = build(lib, dtype)
    model.fit(X, Y, epochs=2, batch_size=3, verbose=0)
    return model


def bits(variable):
    """A variable's raw bits (the exact value, NaN payloads included) as a numpy array."""
    value = getattr(variable, "value", variable)
    value = value.detach().cpu()
    return value.view(torch.int16 if value.element_size() == 2 else torch.int32).numpy() \
        if value.is_floating_point() else value.numpy()


def assert_same_variables(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert str(a.dtype).rsplit(".", 1)[-1] == str(b.dtype).rsplit(".", 1)[-1], \
            (a.path, a.dtype, b.dtype)
        np.testing.assert_array_equal(bits(a), bits(b), err_msg=a.path)


def predictions(model):
    out = model.predict(X, verbose=0)
    out = out.float() if isinstance(out, torch.Tensor) else out
    return np.asarray(out, dtype="float32")


def assert_same_predictions(ours, theirs):
    """Predictions agree to bfloat16 precision. The weights are compared bit for bit; the
    outputs may differ in the last bits, since Keras rounds a Dense layer's matmul and bias
    add separately while lamina rounds once (outputs here are of order 1)."""
    np.testing.assert_allclose(predictions(ours), predictions(theirs), rtol=2**-6, atol=2**-5)


def datasets(path):
    """`{name: (HDF5 type class, item size, dtype attribute)}` for every dataset."""
    found = {}

    def visit(name, node):
        if isinstance(node, h5py.Dataset):
            found[name] = (node.id.get_type().get_class(), node.dtype.itemsize,
                           h5_safety.string_attribute(node, "dtype"))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return found


def weights_member(keras_path, tmp_path):
    import zipfile

    with zipfile.ZipFile(keras_path) as archive:
        out = tmp_path / "member.weights.h5"
        out.write_bytes(archive.read("model.weights.h5"))
    return out


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_keras_bfloat16_file_loads_bit_identical(tmp_path, suffix):
    theirs = trained(keras, "bfloat16")
    path = tmp_path / f"model{suffix}"
    theirs.save(str(path)) if suffix == ".keras" else theirs.save_weights(str(path))
    if suffix == ".keras":
        ours = lamina.models.load_model(path)
    else:
        ours = trained(lamina, "bfloat16")  # its own (different) weights and Adam slots
        ours.load_weights(path)
    assert {v.dtype for v in ours.layers[0].weights} == {torch.bfloat16}
    assert_same_variables(ours.weights, theirs.weights)
    assert_same_variables(ours.optimizer.variables, theirs.optimizer.variables)
    assert_same_predictions(ours, theirs)


@pytest.mark.parametrize("suffix", [".keras", ".weights.h5"])
def test_lamina_bfloat16_file_loads_in_keras_bit_identical(tmp_path, suffix):
    ours = trained(lamina, "bfloat16")
    path = tmp_path / f"model{suffix}"
    ours.save(path) if suffix == ".keras" else ours.save_weights(path)
    h5 = weights_member(path, tmp_path) if suffix == ".keras" else path
    layout = datasets(h5)
    kernel = layout["layers/dense/vars/0"]
    assert kernel == (h5py.h5t.OPAQUE, 2, "bfloat16")  # Keras' layout, not float32
    with h5py.File(h5, "r") as f:
        raw = np.asarray(f["layers/dense/vars/0"][()]).view("<i2")
    np.testing.assert_array_equal(raw, bits(ours.layers[0].kernel))
    if suffix == ".keras":
        theirs = keras.models.load_model(str(path))
    else:
        theirs = trained(keras, "bfloat16")
        theirs.load_weights(str(path))
    assert_same_variables(ours.weights, theirs.weights)
    assert_same_variables(ours.optimizer.variables, theirs.optimizer.variables)
    assert_same_predictions(ours, theirs)


def test_every_bfloat16_bit_pattern_written_as_keras_writes_it(tmp_path):
    """All 65536 patterns (NaN payloads, infinities, subnormals, -0) through lamina's
    writer and reader; the file matches the one Keras' own store writes for them, byte for
    byte, and Keras' store reads them back unchanged."""
    from keras.src.saving.saving_lib import H5IOStore

    patterns = np.arange(-(2**15), 2**15, dtype=np.int16)
    layer = lamina.layers.Layer(dtype="bfloat16")
    layer.table = layer.add_weight(shape=patterns.shape, initializer="zeros",
                                   dtype="bfloat16")
    with torch.no_grad():
        layer.table.copy_(torch.from_numpy(patterns.copy()).view(torch.bfloat16))
    layer.scalar = layer.add_weight(shape=(), initializer="zeros", dtype="bfloat16")
    layer.scalar.assign(-1.5)
    ours = tmp_path / "ours.weights.h5"
    lamina.saving.save_weights(layer, ours)

    theirs = tmp_path / "theirs.weights.h5"
    store = H5IOStore(str(theirs), mode="w")
    entry = store.make("")
    entry["0"] = patterns.view(ml_dtypes.bfloat16)
    entry["1"] = np.array(-1.5, dtype=ml_dtypes.bfloat16)
    store.close()
    with h5py.File(ours, "r") as a, h5py.File(theirs, "r") as b:
        for key in ("0", "1"):
            mine, keras_ds = a[f"vars/{key}"], b[f"vars/{key}"]
            assert mine.id.get_type().get_class() == keras_ds.id.get_type().get_class() \
                == h5py.h5t.OPAQUE
            assert mine.shape == keras_ds.shape and mine.dtype == keras_ds.dtype
            assert dict(mine.attrs) == dict(keras_ds.attrs) == {"dtype": "bfloat16"}
            assert np.asarray(mine[()]).tobytes() == np.asarray(keras_ds[()]).tobytes()

    read_back = H5IOStore(str(ours), mode="r").get("")
    np.testing.assert_array_equal(np.asarray(read_back["0"]).view(np.int16), patterns)
    fresh = lamina.layers.Layer(dtype="bfloat16")
    fresh.table = fresh.add_weight(shape=patterns.shape, dtype="bfloat16")
    fresh.scalar = fresh.add_weight(shape=(), dtype="bfloat16")
    lamina.saving.load_weights(fresh, theirs)
    np.testing.assert_array_equal(bits(fresh.table), patterns)
    assert fresh.scalar.dtype == torch.bfloat16 and float(fresh.scalar.detach()) == -1.5


@pytest.mark.parametrize("direction", ["keras_to_lamina", "lamina_to_keras"])
def test_mixed_bfloat16_models_round_trip_float32_variables(tmp_path, direction):
    source_lib, target_lib = (keras, lamina) if direction == "keras_to_lamina" \
        else (lamina, keras)
    source = trained(source_lib, "mixed_bfloat16")
    path = tmp_path / "mixed.keras"
    source.save(str(path))
    layout = datasets(weights_member(path, tmp_path))
    assert layout["layers/dense/vars/0"] == (h5py.h5t.FLOAT, 4, None)
    target = target_lib.models.load_model(str(path))
    assert str(target.layers[0].kernel.dtype).endswith("float32")
    assert target.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert_same_variables(target.weights, source.weights)
    assert_same_predictions(target, source)


def keras_bf16_weights(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, dtype="bfloat16")])
    path = tmp_path / "bf16.weights.h5"
    model.save_weights(str(path))
    return path


def replace_kernel(path, data, tag):
    with h5py.File(path, "a") as f:
        group = f["layers/dense/vars"]
        del group["0"]
        dataset = group.create_dataset("0", data=data)
        if tag is not None:
            dataset.attrs["dtype"] = tag


@pytest.mark.parametrize(("data", "tag", "message"), [
    (np.zeros((3, 2), "V4"), "bfloat16", "tagged dtype='bfloat16' but holds 4-byte opaque"),
    (np.zeros((3, 2), "V2"), None, "2-byte opaque values with no 'dtype' tag"),
    (np.zeros((3, 2), "V2"), "float16", "2-byte opaque values with the tag dtype='float16'"),
    (np.zeros((3, 2), "V2"), np.int64(7), "a non-string 'dtype' attribute"),
    (np.zeros((3, 1), "V4"), None, "4-byte opaque values with no 'dtype' tag"),
], ids=["wrong_size", "untagged", "wrong_tag", "non_string_tag", "untagged_wrong_size"])
def test_malformed_opaque_values_are_refused_clearly(tmp_path, data, tag, message):
    path = keras_bf16_weights(tmp_path)
    replace_kernel(path, data, tag)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, dtype="bfloat16")])
    with pytest.raises(UnsafeH5Error) as info:
        model.load_weights(path)
    text = str(info.value)
    assert message in text and "/layers/dense/vars/0" in text
    assert "Keras' bfloat16 weights: 2-byte values tagged dtype='bfloat16'" in text
    with pytest.raises(UnsafeH5Error, match="opaque"):
        lamina.saving.load_weights(model, path, skip_mismatch=True)
    with pytest.raises(UnsafeH5Error, match="opaque"):
        KerasFileEditor(path)


def test_earlier_lamina_files_float32_tagged_bfloat16_still_load(tmp_path):
    """lamina once wrote bfloat16 as float32 under the tag (Keras cannot read those); they
    still load, exactly."""
    path = keras_bf16_weights(tmp_path)
    kernel = np.array([[0.5, -1.25], [3.0, 0.09375], [-0.0, 7.0]], "float32")
    replace_kernel(path, kernel, "bfloat16")
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2, dtype="bfloat16")])
    model.load_weights(path)
    assert model.layers[0].kernel.dtype == torch.bfloat16
    np.testing.assert_array_equal(model.layers[0].kernel.float().detach().numpy(), kernel)


def test_bfloat16_values_read_by_numpy_style_loaders(tmp_path):
    """A `load_own_variables` written for Keras' store (`np.array(store["0"])`) gets the
    exact values as float32 (numpy has no bfloat16); torch code gets a bfloat16 tensor."""
    seen = {}

    class Probe(lamina.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(3, 2), dtype="bfloat16")
            self.b = self.add_weight(shape=(2,), dtype="bfloat16")

        def call(self, x):
            return x

        def load_own_variables(self, store):
            seen["np"] = np.array(store["0"])
            seen["torch"] = store["0"]
            super().load_own_variables(store)

    path = keras_bf16_weights(tmp_path)
    with h5py.File(path, "a") as f:
        raw = np.asarray(f["layers/dense/vars/0"][()]).view("<u2")
        f.move("layers/dense", "layers/probe")  # the path of a `Probe` layer
    expected = (raw.astype("<u4") << 16).view("<f4")
    model = lamina.Sequential([lamina.Input((3,)), Probe()])
    model.load_weights(path)
    assert seen["np"].dtype == np.float32
    np.testing.assert_array_equal(seen["np"], expected)
    assert seen["torch"].dtype == torch.bfloat16 and type(seen["torch"] + 0) is torch.Tensor
    np.testing.assert_array_equal(bits(model.layers[0].w), raw.view("<i2"))


def test_sharded_bfloat16_weights_load_in_keras(tmp_path):
    ours = build(lamina, "bfloat16", compiled=False)
    path = tmp_path / "model.weights.json"
    ours.save_weights(path, max_shard_size=1e-7)  # 100 bytes: several shards
    shards = sorted(tmp_path.glob("model_*.weights.h5"))
    assert len(shards) > 1
    assert any(v[0] == h5py.h5t.OPAQUE and v[2] == "bfloat16"
               for shard in shards for v in datasets(shard).values())
    theirs = build(keras, "bfloat16", compiled=False)
    theirs.load_weights(str(path))
    assert_same_variables(ours.weights, theirs.weights)
    again = build(lamina, "bfloat16", compiled=False)
    again.load_weights(path)
    assert_same_variables(again.weights, ours.weights)
