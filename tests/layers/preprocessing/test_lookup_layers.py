"""StringLookup and IntegerLookup against hand-computed expectations from Keras 3's
documented semantics (index layout: mask, OOV slots, tokens; adapt order: count, then
token, both descending)."""

import collections
import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import IntegerLookup, StringLookup
from lamina.testing import run_layer_test

VOCAB = ["a", "b", "c"]


def test_string_lookup_int_mode_maps_oov_to_one_and_mask_to_zero():
    layer = StringLookup(vocabulary=VOCAB, mask_token="")
    out = layer(np.array([["a", "", "c"], ["zz", "b", "a"]]))
    assert out.dtype == torch.int64
    assert out.tolist() == [[2, 0, 4], [1, 3, 2]]
    assert layer.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    assert layer.get_vocabulary(include_special_tokens=False) == VOCAB
    assert layer.vocabulary_size() == 5


def test_string_lookup_takes_lists_bytes_and_scalars():
    layer = StringLookup(vocabulary=VOCAB)
    assert layer([b"a", b"c"]).tolist() == [1, 3]
    assert layer(np.array([b"b"], dtype="S1")).tolist() == [2]
    assert layer("c").tolist() == 3


@pytest.mark.parametrize("output_mode,want", [
    ("one_hot", [[[0, 1, 0, 0], [0, 0, 0, 1]], [[1, 0, 0, 0], [0, 1, 0, 0]]]),
    ("multi_hot", [[0, 1, 0, 1], [1, 1, 0, 0]]),
    ("count", [[0, 1, 0, 1], [1, 1, 0, 0]]),
])
def test_string_lookup_encodes_per_output_mode(output_mode, want):
    out = StringLookup(vocabulary=VOCAB, output_mode=output_mode)(
        np.array([["a", "c"], ["q", "a"]]))
    assert out.dtype == torch.int64 and out.tolist() == want


def test_mask_token_encodes_as_nothing_outside_int_mode():
    layer = StringLookup(vocabulary=["a", "b"], mask_token="", output_mode="count")
    # the mask takes no index here: [UNK]=0, a=1, b=2
    assert layer(np.array([["a", "", "a"], ["z", "b", ""]])).tolist() == [[0, 2, 0],
                                                                       [1, 0, 1]]


def test_tf_idf_with_given_weights_pads_special_slots_with_their_mean():
    layer = StringLookup(vocabulary=["a", "b"], idf_weights=[0.5, 1.0], output_mode="tf_idf",
                         max_tokens=5, pad_to_max_tokens=True)
    out = layer(np.array([["a", "a", "q"]]))
    # count * idf; the OOV slot weighs mean(0.5, 1.0); padding weighs 0
    torch.testing.assert_close(out, torch.tensor([[0.75, 1.0, 0.0, 0.0, 0.0]]))


def test_tf_idf_adapt_learns_log_idf():
    docs = [["a", "b", "a"], ["b", "c", "c"]]
    layer = StringLookup(output_mode="tf_idf")
    layer.adapt(docs)
    # counts: a 2, b 2, c 2 -> ties by token descending
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    idf = {t: np.log(1 + 2 / (1 + sum(t in d for d in docs))) for t in "abc"}
    weights = [idf["c"], idf["b"], idf["a"]]
    want = [np.mean(weights), *weights]
    out = layer(np.array([["a", "c", "z", "a"]]))
    np.testing.assert_allclose(out.numpy()[0], [want[0], want[1], 0.0, 2 * want[3]], rtol=1e-6)


def test_adapt_orders_by_frequency_then_larger_token_first():
    data = np.array(["x", "y", "y", "z", "z", "w", "w", "w"])
    layer = StringLookup()
    layer.adapt(data)
    assert layer.get_vocabulary() == ["[UNK]", "w", "z", "y", "x"]
    ints = IntegerLookup(max_tokens=4)
    ints.adapt(np.array([[3, 3, 7], [7, 9, 1]]))
    # 3 and 7 twice (7 first), then 9 over 1; max_tokens keeps 3 tokens after OOV
    assert ints.get_vocabulary() == [-1, 7, 3, 9]


def test_adapt_on_batches_skips_special_tokens_and_counts_across_batches():
    batches = [np.array([["a", "b"]]), (np.array([["b", ""]]), np.zeros(1))]
    layer = StringLookup(mask_token="")
    layer.adapt(iter(batches))
    assert layer.get_vocabulary() == ["", "[UNK]", "b", "a"]
    ints = IntegerLookup()
    ints.adapt(torch.utils.data.DataLoader(torch.tensor([4, 4, 2, -1]), batch_size=2))
    assert ints.get_vocabulary() == [-1, 4, 2]


def test_update_state_takes_ragged_rows_as_documents():
    layer = StringLookup(output_mode="tf_idf")
    layer.update_state([["a", "b", "a"], ["b"], []])
    layer.finalize_state()
    assert layer.get_vocabulary() == ["[UNK]", "b", "a"]  # 2 each: b over a
    want = np.log(1 + 3 / (1 + np.array([2.0, 1.0])))  # b in 2 documents, a in 1
    np.testing.assert_allclose(layer(np.array(["b", "a"])).numpy(),
                               [0.0, want[0], want[1]], rtol=1e-6)


def test_adapt_reads_a_py_dataset_by_index():
    class Batches(lamina.utils.PyDataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return np.array([[i, 2]]), np.zeros(1)

    layer = IntegerLookup()
    layer.adapt(Batches())
    assert layer.get_vocabulary() == [-1, 2, 1, 0]  # 2 three times, then 1 over 0
    layer.adapt(Batches(), steps=1)
    assert layer.get_vocabulary() == [-1, 2, 0]


@pytest.mark.parametrize("cls,vocab,data", [
    (StringLookup, ["a", "b", "c"], np.array([["c", "a"], ["q", "b"]])),
    (IntegerLookup, [10, 20, 30], np.array([[30, 10], [99, 20]])),
])
def test_invert_round_trip(cls, vocab, data):
    forward = cls(vocabulary=vocab, mask_token=None)
    inverse = cls(vocabulary=forward.get_vocabulary(), invert=True)
    back = inverse(forward(data))
    oov = "[UNK]" if cls is StringLookup else -1
    want = np.where(np.isin(data, vocab), data, oov)
    assert np.asarray(back).tolist() == want.tolist()


def test_invert_maps_mask_index_and_out_of_range_indices():
    layer = StringLookup(vocabulary=["a", "b"], invert=True, mask_token="")
    assert layer(np.array([[0, 1, 2, 3, 4, -1]])).tolist() == [
        ["", "[UNK]", "a", "b", "[UNK]", "[UNK]"]]
    ints = IntegerLookup(vocabulary=[12, 36, 1138, 42], invert=True)
    assert ints(np.array([[1, 3, 4], [4, 0, 2]])).tolist() == [[12, 1138, 42], [42, -1, 36]]


def test_integer_lookup_mask_and_floormod_oov_slots():
    layer = IntegerLookup(vocabulary=[5, 6], num_oov_indices=3, mask_token=0)
    # mask 0 -> 0; OOV t -> 1 + t mod 3; 5 -> 4, 6 -> 5
    assert layer(np.array([5, 9, 0, 8, -4, 6])).tolist() == [4, 1, 0, 3, 3, 5]
    assert layer.get_vocabulary() == [0, -1, -1, -1, 5, 6]


@pytest.mark.parametrize("output_mode,want", [
    ("int", [[1, 2, 0]]),
    ("one_hot", [[[0, 1, 0], [0, 0, 1], [1, 0, 0]]]),
    ("multi_hot", [[1, 1, 1]]),
    ("count", [[1, 1, 1]]),
])
def test_integer_lookup_output_modes(output_mode, want):
    layer = IntegerLookup(vocabulary=[5, 6], output_mode=output_mode)
    assert layer(torch.tensor([[5, 6, 9]])).tolist() == want


def test_integer_lookup_passes_the_layer_test_harness():
    x = np.array([[5, 6, 9], [6, 6, 5]], dtype="int64")
    run_layer_test(IntegerLookup, {"vocabulary": [5, 6], "output_mode": "one_hot"},
                   input_data=x, expected_output_dtype="int64",
                   expected_output=np.eye(3, dtype="int64")[[[1, 2, 0], [2, 2, 1]]],
                   expected_num_trainable_weights=0, run_training_check=False)


def test_num_oov_indices_zero_rejects_oov_inputs():
    layer = StringLookup(vocabulary=VOCAB, num_oov_indices=0)
    assert layer(["a", "c"]).tolist() == [0, 2]
    with pytest.raises(ValueError, match=r"found OOV values \['q'\]"):
        layer(["a", "q"])


def test_vocabulary_file_is_read_one_token_per_line(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("a\nb\n[UNK]\n", encoding="utf-8")
    layer = StringLookup(vocabulary=str(path))
    # as Keras' text-file table: every line is a token, special tokens too
    assert layer(np.array(["a", "[UNK]", "q"])).tolist() == [1, 3, 0]
    assert layer.get_config()["vocabulary"] is None
    ints = tmp_path / "ints.txt"
    ints.write_text("7\n3\n")
    assert IntegerLookup(vocabulary=str(ints))(np.array([3, 7, 1])).tolist() == [2, 1, 0]


def test_config_holds_the_listed_vocabulary_as_keras_writes_it():
    config = StringLookup(vocabulary=VOCAB, mask_token="", name="words").get_config()
    # Keras 3.15's StringLookup config keys, in its order
    assert list(config) == [
        "name", "trainable", "dtype", "invert", "max_tokens", "num_oov_indices",
        "oov_token", "mask_token", "output_mode", "sparse", "pad_to_max_tokens",
        "idf_weights", "vocabulary", "vocabulary_size", "oov_method", "salt", "encoding"]
    assert config["vocabulary"] == VOCAB and config["vocabulary_size"] == 5
    clone = StringLookup.from_config(json.loads(json.dumps(config)))
    assert clone.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    ints = IntegerLookup(vocabulary=np.array([4, 2])).get_config()
    assert ints["vocabulary"] == [4, 2] and ints["vocabulary_dtype"] == "int64"


def test_adapted_lookup_round_trips_through_a_keras_file(tmp_path):
    lookup = IntegerLookup(output_mode="tf_idf", name="ids")
    lookup.adapt(np.array([[3, 3, 7], [7, 9, 1]]))
    inputs = lamina.Input((3,), dtype="int64")
    model = lamina.Model(inputs, lamina.layers.Dense(1)(lookup(inputs)))
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        # Keras' layout (paths by class): the learned vocabulary, special tokens first
        assert archive.read("assets/layers/integer_lookup/vocabulary.txt") == b"-1\n7\n3\n9\n1"
        config = json.loads(archive.read("config.json"))
    layer_config = [c for c in config["config"]["layers"] if c["class_name"] == "IntegerLookup"]
    assert layer_config[0]["config"]["vocabulary"] is None
    assert layer_config[0]["config"]["vocabulary_size"] == 5
    loaded = lamina.saving.load_model(path)
    x = np.array([[1, 9, 5], [7, 7, 3]])
    assert loaded.get_layer("ids").get_vocabulary() == [-1, 7, 3, 9, 1]
    torch.testing.assert_close(loaded.get_layer("ids")(x), lookup(x))
    torch.testing.assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_integer_lookup_inside_a_functional_model_trains():
    inputs = lamina.Input((4,), dtype="int64")
    encoded = IntegerLookup(vocabulary=[10, 20, 30], output_mode="multi_hot")(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(1)(encoded))
    assert model.output_shape == (None, 1)
    rng = np.random.default_rng(0)
    x = rng.choice([10, 20, 30, 40], size=(64, 4))
    y = (x == 20).any(axis=1).astype("float32")[:, None]
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_string_lookup_feeds_a_model_from_a_data_pipeline():
    words = np.array(["red", "green", "blue", "red", "green", "red"] * 8)
    lookup = StringLookup(output_mode="multi_hot")
    lookup.adapt(words)
    assert lookup.get_vocabulary() == ["[UNK]", "red", "green", "blue"]

    class Colors(torch.utils.data.Dataset):
        def __len__(self):
            return len(words)

        def __getitem__(self, i):  # strings become tensors in the worker
            return lookup(words[i:i + 1]).float(), torch.tensor([float(words[i] == "red")])

    loader = torch.utils.data.DataLoader(Colors(), batch_size=8)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(loader, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_bad_vocabularies_raise_naming_layer_and_argument():
    with pytest.raises(ValueError, match="StringLookup layer 'w'.*repeated term.*'a'"):
        StringLookup(vocabulary=["a", "b", "a"], name="w")
    with pytest.raises(ValueError, match="'w'.*reserved mask token.*mask_token=''"):
        StringLookup(vocabulary=["a", ""], mask_token="", name="w")
    with pytest.raises(ValueError, match="'w'.*vocabulary size is 4; `max_tokens` is 3"):
        StringLookup(vocabulary=VOCAB, max_tokens=3, name="w")
    with pytest.raises(ValueError, match="'w'.*Cannot set an empty vocabulary"):
        StringLookup(vocabulary=[], name="w")
    with pytest.raises(ValueError, match="set for `IntegerLookup`, it must be greater than 1"):
        IntegerLookup(max_tokens=1)
    with pytest.raises(ValueError, match="'ids'.*must be integers.*StringLookup"):
        IntegerLookup(vocabulary=["a"], name="ids")
    with pytest.raises(ValueError, match="Vocabulary file .*missing.txt does not exist"):
        StringLookup(vocabulary="missing.txt")


def test_bad_adapt_and_arguments_raise_clearly():
    with pytest.raises(ValueError, match="StringLookup layer 'w': adapt.. received no tokens"):
        StringLookup(name="w").adapt(np.array([], dtype=str))
    with pytest.raises(ValueError, match="Cannot adapt layer 'w' after setting a static"):
        StringLookup(vocabulary=VOCAB, name="w").adapt(["a"])
    with pytest.raises(ValueError, match="`salt` can only be used when `oov_method='farmhash'"):
        IntegerLookup(num_oov_indices=2, salt=3)
    with pytest.raises(ValueError, match="`output_mode` must be `'int'` when `invert`"):
        StringLookup(invert=True, output_mode="count")
    with pytest.raises(ValueError, match="`sparse=True`"):
        IntegerLookup(output_mode="count", sparse=True)
    with pytest.raises(RuntimeError, match="must set the layer's vocabulary"):
        StringLookup(output_mode="multi_hot")(["a"])
    with pytest.raises(ValueError, match="'w'.*inputs must be strings.*IntegerLookup"):
        StringLookup(vocabulary=VOCAB, name="w")(np.array([1, 2]))


def test_counts_match_an_independent_counter():
    rng = np.random.default_rng(3)
    data = rng.integers(0, 50, size=(40, 7))
    layer = IntegerLookup()
    layer.adapt(data)
    counts = collections.Counter(data.ravel().tolist())
    want = sorted(counts, key=lambda t: (-counts[t], -t))
    assert layer.get_vocabulary(include_special_tokens=False) == want
    index = {t: i + 1 for i, t in enumerate(want)}
    assert layer(data).tolist() == [[index[t] for t in row] for row in data.tolist()]


def test_string_lookup_first_in_a_sequential_trains_on_numpy_strings():
    import lamina

    words = np.array([["cat"], ["dog"], ["cat"], ["bird"]] * 8)
    labels = np.array([1.0, 0.0, 1.0, 0.0] * 8, dtype="float32").reshape(-1, 1)
    model = lamina.Sequential([
        lamina.layers.StringLookup(vocabulary=["cat", "dog", "bird"]),
        lamina.layers.Embedding(5, 4),
        lamina.layers.Flatten(),
        lamina.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    history = model.fit(words, labels, epochs=3, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 3
    predictions = model.predict(np.array([["cat"], ["dog"]]), verbose=0)
    assert predictions.shape == (2, 1)


@pytest.mark.parametrize("colliding", [False, True])
def test_string_lookup_matches_a_dict_on_a_random_corpus(colliding, monkeypatch):
    # Lookups search hashed keys in numpy (falling back to a dict when two tokens share
    # a key); adapt counts with a Counter. Both must agree with a plain-Python reading:
    # rank by count then token, descending, and map unknown strings to the OOV index.
    if colliding:
        monkeypatch.setattr(lamina.layers.preprocessing.string_lookup, "_string_keys",
                            lambda strings: np.zeros(strings.size, np.uint64))
    rng = np.random.default_rng(5)
    pieces = np.array(["a", "b", "ab", "é", "\u3000", "x" * 40, "\x00q", ""])
    def draw(size):
        return np.array(["".join(rng.choice(pieces, size=rng.integers(1, 4)))
                         for _ in range(size)])
    corpus = draw(400).reshape(100, 4)
    layer = StringLookup(mask_token="")
    layer.adapt(corpus)
    counts = collections.Counter(corpus.reshape(-1).tolist())
    del counts[""]
    ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
    assert layer.get_vocabulary() == ["", "[UNK]"] + ranked
    queries = np.concatenate([draw(60), ["", "zz"]]).reshape(2, -1)
    index = {token: i for i, token in enumerate(layer.get_vocabulary())}
    want = [[index.get(token, 1) for token in row] for row in queries.tolist()]
    assert layer(queries).tolist() == want
    assert layer(queries[0, 0]).tolist() == want[0][0]
