"""`lamina.utils.FeatureSpace`: encodings checked against hand computations and the
preprocessing layers' own (Keras-verified) hashing, both output modes, adapt sources,
use with a model, config and `.keras` round trips, and errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.utils import FeatureSpace

DATA = {
    "age": np.array([20.0, 30.0, 40.0, 50.0]),
    "pets": np.array([1, 2, 2, 3]),
    "color": np.array(["red", "blue", "red", "green"]),
}


def _one_hot(index, depth):
    row = np.zeros(depth, np.float32)
    row[index] = 1.0
    return row


def _space(**kwargs):
    features = {"age": "float_normalized", "pets": "integer_categorical",
                "color": "string_categorical"}
    space = FeatureSpace(features, **kwargs)
    space.adapt(DATA)
    return space


def test_concat_encodes_normalized_and_one_hot_features_in_sorted_name_order():
    out = _space()(DATA)
    assert out.dtype == torch.float32 and tuple(out.shape) == (4, 1 + 4 + 4)
    age = (DATA["age"] - DATA["age"].mean()) / DATA["age"].std()
    # Vocabularies: most frequent first, ties larger token first, index 0 the OOV.
    color_vocab = ["[UNK]", "red", "green", "blue"]
    pets_vocab = [-1, 2, 3, 1]
    expected = np.stack([np.concatenate([
        [age[i]],
        _one_hot(color_vocab.index(DATA["color"][i]), 4),
        _one_hot(pets_vocab.index(DATA["pets"][i]), 4),
    ]) for i in range(4)])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_unseen_categories_go_to_the_oov_slot():
    out = _space(output_mode="dict")({"age": [0.0], "pets": [9], "color": ["purple"]})
    np.testing.assert_array_equal(out["pets"].numpy(), [_one_hot(0, 4)])
    np.testing.assert_array_equal(out["color"].numpy(), [_one_hot(0, 4)])


def test_dict_mode_gives_one_tensor_per_feature_and_cross():
    space = _space(output_mode="dict", crosses=[("pets", "color")], crossing_dim=7)
    out = space(DATA)
    assert list(out) == ["age", "color", "pets", "pets_X_color"]
    assert {k: tuple(v.shape) for k, v in out.items()} == {
        "age": (4, 1), "color": (4, 4), "pets": (4, 4), "pets_X_color": (4, 7)}
    assert all(v.dtype == torch.float32 for v in out.values())


def test_cross_hashes_the_lookup_indices_of_its_features():
    space = _space(output_mode="dict", crosses=[("pets", "color")], crossing_dim=7)
    out = space(DATA)["pets_X_color"].numpy()
    pets = space.preprocessors["pets"](torch.as_tensor(DATA["pets"][:, None]))
    color = space.preprocessors["color"](DATA["color"][:, None])
    bins = layers.HashedCrossing(num_bins=7)([pets, color]).numpy().ravel()
    np.testing.assert_array_equal(out, np.stack([_one_hot(b, 7) for b in bins]))
    assert (out.sum(axis=1) == 1).all()


def test_hashed_features_one_hot_the_hashing_layer_bins():
    space = FeatureSpace({"s": "string_hashed", "i": "integer_hashed"}, hashing_dim=5,
                         output_mode="dict")
    data = {"s": np.array(["a", "b", "c"]), "i": np.array([3, 10, 42])}
    out = space(data)  # nothing to adapt
    for key in ("s", "i"):
        bins = layers.Hashing(num_bins=5)(data[key][:, None])
        bins = np.asarray(bins).ravel()
        np.testing.assert_array_equal(out[key].numpy(), np.stack([_one_hot(b, 5) for b in bins]))


def test_discretized_and_rescaled_floats():
    space = FeatureSpace({
        "d": FeatureSpace.float_discretized(num_bins=None, bin_boundaries=[0.0, 1.0]),
        "r": FeatureSpace.float_rescaled(scale=2.0, offset=1.0),
        "f": "float",
    })
    out = space({"d": [-5.0, 0.5, 3.0], "r": [1.0, 2.0, 3.0], "f": [7.0, 8.0, 9.0]})
    expected = np.array([
        [*_one_hot(0, 3), 7.0, 3.0],
        [*_one_hot(1, 3), 8.0, 5.0],
        [*_one_hot(2, 3), 9.0, 7.0],
    ])
    np.testing.assert_allclose(out.numpy(), expected)


def test_int_output_mode_keeps_indices_in_dict_mode_and_refuses_concat():
    features = {"color": FeatureSpace.string_categorical(output_mode="int")}
    space = FeatureSpace(features, output_mode="dict")
    space.adapt(DATA)
    out = space({"color": DATA["color"]})["color"]
    assert out.dtype == torch.int64
    np.testing.assert_array_equal(out.numpy().ravel(), [1, 3, 1, 2])
    concat = FeatureSpace(features, output_mode="concat")
    with pytest.raises(ValueError, match="feature 'color' has not been encoded"):
        concat.adapt(DATA)


def test_single_sample_comes_back_unbatched():
    space = _space()
    out = space({"age": 40.0, "pets": 2, "color": "red"})
    assert tuple(out.shape) == (9,)
    torch.testing.assert_close(out, space(DATA)[2])  # DATA's third row holds these values
    by_name = _space(output_mode="dict")({"age": 40.0, "pets": 2, "color": "red"})
    assert {k: tuple(v.shape) for k, v in by_name.items()} == {
        "age": (1,), "color": (4,), "pets": (4,)}


def test_call_takes_numpy_torch_and_lists():
    space = _space()
    reference = space(DATA)
    from_torch = space({"age": torch.tensor(DATA["age"]), "pets": torch.tensor(DATA["pets"]),
                        "color": DATA["color"]})
    from_lists = space({k: v.tolist() for k, v in DATA.items()})
    torch.testing.assert_close(from_torch, reference)
    torch.testing.assert_close(from_lists, reference)


class _Rows(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return {k: v[i] for k, v in DATA.items()}


class _Batches(lamina.utils.PyDataset):
    def __init__(self):
        super().__init__()

    @property
    def num_batches(self):
        return 2

    def __getitem__(self, i):
        return {k: v[2 * i:2 * i + 2] for k, v in DATA.items()}, np.zeros(2)


@pytest.mark.parametrize("source", [
    lambda: [{k: v[:2] for k, v in DATA.items()}, {k: v[2:] for k, v in DATA.items()}],
    lambda: ((({k: v[i:i + 1] for k, v in DATA.items()}), np.zeros(1)) for i in range(4)),
    lambda: torch.utils.data.DataLoader(_Rows(), batch_size=3),
    lambda: _Batches(),
])
def test_adapt_on_batches_matches_adapt_on_the_whole_dict(source):
    features = {"age": "float_normalized", "pets": "integer_categorical",
                "color": "string_categorical"}
    space = FeatureSpace(features)
    space.adapt(source())
    torch.testing.assert_close(space(DATA), _space()(DATA))


def test_trains_a_model_on_the_encoded_features_and_serves_raw_dicts():
    lamina.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = 256
    data = {"x": rng.normal(size=n).astype("float32"),
            "kind": rng.choice(["a", "b", "c"], size=n)}
    target = ((data["kind"] == "a") | (data["x"] > 1.0)).astype("float32")
    space = FeatureSpace({"x": "float_normalized", "kind": "string_categorical"})
    space.adapt(data)
    encoded = space.get_encoded_features()
    assert tuple(encoded.shape) == (None, 5)
    hidden = layers.Dense(16, activation="relu")
    head = layers.Dense(1, activation="sigmoid")
    vectors = lamina.Input(shape=(5,))
    training_model = lamina.Model(vectors, head(hidden(vectors)))
    training_model.compile(optimizer=lamina.optimizers.Adam(0.05), loss="binary_crossentropy",
                           metrics=["accuracy"])
    history = training_model.fit(space(data), target, epochs=30, batch_size=64, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    inference_model = lamina.Model(space.get_inputs(), head(hidden(encoded)))
    raw = {k: v[:8, None] for k, v in data.items()}
    torch.testing.assert_close(inference_model(raw), training_model(space(raw)))


def test_get_inputs_are_keras_inputs_of_the_feature_dtypes():
    inputs = _space().get_inputs()
    assert {k: (tuple(v.shape), v.dtype) for k, v in inputs.items()} == {
        "age": ((None, 1), "float32"), "pets": ((None, 1), "int32"),
        "color": ((None, 1), "string")}


def test_config_round_trip():
    space = FeatureSpace({"a": "float_discretized", "b": FeatureSpace.integer_hashed(9)},
                         crosses=[("a", "b")], crossing_dim=11, hashing_dim=4,
                         num_discretization_bins=6, output_mode="dict")
    config = space.get_config()
    again = FeatureSpace.from_config(config)
    assert again.get_config() == config
    assert again.crosses[0].feature_names == ("a", "b") and again.crosses[0].crossing_dim == 11
    assert again.preprocessors["a"].num_bins == 6 and again.preprocessors["b"].num_bins == 9


def test_keras_file_round_trip(tmp_path):
    space = _space(crosses=[("pets", "color")], crossing_dim=5)
    path = str(tmp_path / "space.keras")
    lamina.saving.save_model(space, path)
    loaded = lamina.saving.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    torch.testing.assert_close(loaded(DATA), space(DATA))
    space.save(str(tmp_path / "again.keras"))
    torch.testing.assert_close(lamina.saving.load_model(str(tmp_path / "again.keras"))(DATA),
                               space(DATA))


def test_reads_the_identity_layer_keras_writes_for_float_features():
    config = FeatureSpace({"f": "float"}).get_config()
    config["features"]["f"]["config"]["preprocessor"] = {
        "module": "keras.src.layers.preprocessing.feature_space", "class_name": "TFDIdentity",
        "config": {"name": "f_preprocessor", "trainable": True}, "registered_name": "TFDIdentity"}
    space = FeatureSpace.from_config(config)
    assert isinstance(space.preprocessors["f"], layers.Identity)
    np.testing.assert_array_equal(space({"f": [1.5, 2.5]}).numpy(), [[1.5], [2.5]])


def test_errors_name_the_feature_or_argument():
    with pytest.raises(ValueError, match="feature 'x'.*'floaty'"):
        FeatureSpace({"x": "floaty"})
    with pytest.raises(ValueError, match=r"unknown features: \['nope'\]"):
        FeatureSpace({"x": "float"}, crosses=[("x", "nope")])
    with pytest.raises(ValueError, match="output_mode"):
        FeatureSpace({"x": "float"}, output_mode="stack")
    with pytest.raises(ValueError, match="cannot be None or empty"):
        FeatureSpace({})
    fresh = FeatureSpace({"age": "float_normalized"})
    with pytest.raises(ValueError, match=r"call `.adapt\(dataset\)`"):
        fresh({"age": [1.0]})
    with pytest.raises(ValueError, match=r"call `.adapt\(dataset\)`"):
        fresh.get_encoded_features()
    with pytest.raises(ValueError, match="takes a dict of arrays"):
        fresh.adapt(3)
    with pytest.raises(ValueError, match=r"dataset lacks features \['age'\]"):
        fresh.adapt([{"other": [1.0]}])
    with pytest.raises(ValueError, match="received no data for feature 'age'"):
        fresh.adapt({"age": []})
    space = _space()
    with pytest.raises(ValueError, match=r"lacks features \['color'\]"):
        space({"age": [1.0], "pets": [1]})
    with pytest.raises(ValueError, match=r"unknown features \['size'\]"):
        space({**DATA, "size": [1, 2, 3, 4]})
    with pytest.raises(ValueError, match="only be called with a dict"):
        space([1.0])
    with pytest.raises(ValueError, match="Feature 'age' is a float32 feature"):
        space({**DATA, "age": np.array(["a", "b", "c", "d"])})
    with pytest.raises(ValueError, match="Feature 'color' is a string feature"):
        space({**DATA, "color": np.array([1, 2, 3, 4])})


def test_keras_guide_pattern_model_on_encoded_features():
    """Keras' structured-data guide: a training model whose inputs are the encoded
    features, then an inference model from the raw inputs through it."""
    space = lamina.utils.FeatureSpace(
        features={"a": "float_normalized", "b": "string_categorical"}, output_mode="concat")
    data = {"a": np.array([1.0, 2.0, 3.0, 4.0], "float32"), "b": np.array(["x", "y", "x", "z"])}
    space.adapt(data)
    encoded = space.get_encoded_features()
    hidden = lamina.layers.Dense(8, activation="relu")(encoded)
    out = lamina.layers.Dense(1, activation="sigmoid")(hidden)
    training_model = lamina.Model(inputs=encoded, outputs=out)
    training_model.compile(optimizer="adam", loss="binary_crossentropy")
    labels = np.array([0.0, 1.0, 0.0, 1.0], "float32")
    training_model.fit(space(data), labels, epochs=2, verbose=0)
    inference_model = lamina.Model(inputs=space.get_inputs(), outputs=training_model(encoded))
    np.testing.assert_allclose(inference_model.predict(data, verbose=0),
                               training_model.predict(space(data), verbose=0), atol=1e-6)
