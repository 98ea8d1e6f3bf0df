"""TextVectorization: expectations computed by hand from Keras 3's documented semantics
(checked against Keras 3.15 on TensorFlow)."""

import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.layers import TextVectorization
from lamina.trainers.data.py_dataset import PyDataset

CORPUS = ["The cat sat.", "the cat ran", "A dog ran!"]


def test_default_standardize_lowercases_ascii_and_strips_keras_punctuation():
    layer = TextVectorization(vocabulary=["cats", "dont", "àb", "Àb", "x\xa0y", "\x1cz"])
    # ASCII-only lowercasing (as TensorFlow's), all 32 ASCII punctuation marks stripped,
    # and only ASCII whitespace separates tokens.
    out = layer(["CATS, don't!", "Àb x\xa0y \x1cz", "#$%&()*+,-./:;<=>?@[\\]^_`{|}~'\""])
    assert out.tolist() == [[2, 3, 0], [5, 6, 7], [0, 0, 0]]


@pytest.mark.parametrize("standardize, want", [
    ("lower", ["a,", "b!"]), ("strip_punctuation", ["A", "B"]), (None, ["A,", "B!"])])
def test_standardize_presets(standardize, want):
    layer = TextVectorization(standardize=standardize)
    layer.adapt(["A, B!"])
    assert sorted(layer.get_vocabulary(include_special_tokens=False)) == sorted(want)


def test_callables_receive_the_batch_as_numpy_strings():
    seen = []

    def standardize(batch):
        seen.append(batch.shape)
        return np.char.upper(batch)

    layer = TextVectorization(standardize=standardize,
                              split=lambda batch: [s.split("-") for s in batch])
    layer.adapt(np.array(["a-b-b", "c"]))
    assert layer.get_vocabulary() == ["", "[UNK]", "B", "C", "A"]
    assert layer(["c-a"]).tolist() == [[3, 4]]
    assert seen[0] == (2,)


def test_character_split_and_split_none():
    chars = TextVectorization(split="character", standardize=None)
    chars.adapt(["aab", "abc"])
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    assert chars(["cab", "z"]).tolist() == [[4, 2, 3], [1, 0, 0]]
    tokens = TextVectorization(split=None)
    tokens.adapt(np.array([["a", "b"], ["b", "c"]]))
    assert tokens.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    assert tokens(np.array([["a", "b"], ["b", "z"]])).tolist() == [[4, 2], [2, 1]]


def test_ngrams_follow_the_unigrams_width_by_width():
    layer = TextVectorization(ngrams=2, output_sequence_length=6)
    layer.adapt(np.array(["a b c", "b c", "c"]))
    # counts: c 3, "b c" 2, b 2, "a b" 1, a 1; ties broken by the larger token first
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b c", "b", "a b", "a"]
    # "a b c d": a b c d, then "a b" "b c" "c d"; cut to 6
    assert layer(["a b c d", "c"]).tolist() == [[6, 4, 2, 1, 5, 3], [2, 0, 0, 0, 0, 0]]
    assert layer("a b").tolist() == [6, 4, 5, 0, 0, 0]
    widths = TextVectorization(ngrams=(3,), vocabulary=["a b c"])
    assert widths(["a b c d"]).tolist() == [[2, 1]]


def test_output_sequence_length_pads_and_cuts_and_without_it_pads_to_the_longest():
    adapted = TextVectorization(output_sequence_length=1)
    adapted.adapt(["a b b"])  # adapt counts every token; only calls are cut
    assert adapted.get_vocabulary() == ["", "[UNK]", "b", "a"]
    layer = TextVectorization(vocabulary=["a", "b"], output_sequence_length=3)
    assert layer(["a b a b", "b", ""]).tolist() == [[2, 3, 2], [3, 0, 0], [0, 0, 0]]
    free = TextVectorization(vocabulary=["a", "b"])
    assert free(np.array([["a b q"], ["b"]])).tolist() == [[2, 3, 1], [3, 0, 0]]
    assert free(np.array([b"a", b"b"])).dtype == torch.int64


@pytest.mark.parametrize("mode, want", [
    ("multi_hot", [[1, 1, 1, 0], [0, 1, 0, 0]]),
    ("count", [[1, 2, 1, 0], [0, 1, 0, 0]]),
])
def test_multi_hot_and_count(mode, want):
    layer = TextVectorization(vocabulary=["a", "b", "c"], output_mode=mode)
    assert layer(["a a b q", "a"]).tolist() == want
    padded = TextVectorization(vocabulary=["a"], output_mode=mode, max_tokens=5,
                               pad_to_max_tokens=True)
    assert padded(["a"]).shape == (1, 5)


def test_tf_idf_learns_log_idf_and_gives_unk_the_mean():
    layer = TextVectorization(output_mode="tf_idf", ngrams=(1, 3))
    layer.adapt(["a b c", "b c", "c"])
    assert layer.get_vocabulary() == ["[UNK]", "c", "b", "a b c", "a"]
    # idf = log(1 + documents / (1 + document frequency)); [UNK] gets the mean
    idf = np.log(1 + 3 / (1 + np.array([3, 2, 1, 1])))
    out = layer(["a b c d", "c"])
    # "a b c d": a, b, c, d, "a b c", "b c d" -> two OOV
    want = [[2 * idf.mean(), idf[0], idf[1], idf[2], idf[3]], [0, idf[0], 0, 0, 0]]
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    given = TextVectorization(output_mode="tf_idf", vocabulary=["a", "b"],
                              idf_weights=[0.5, 2.0])
    np.testing.assert_allclose(given(["b b q"]).numpy(), [[1.25, 0.0, 4.0]])


def test_adapt_caps_at_max_tokens_and_reads_batches():
    layer = TextVectorization(max_tokens=4)
    layer.adapt(CORPUS)
    assert layer.get_vocabulary() == ["", "[UNK]", "the", "ran"]
    assert layer.vocabulary_size() == 4

    def batches():
        yield np.array(CORPUS[:2])
        yield np.array(CORPUS[2:]), np.array([0])

    for data in (batches(), torch.utils.data.DataLoader(CORPUS, batch_size=2)):
        full = TextVectorization()
        full.adapt(data)
        assert full.get_vocabulary()[:4] == ["", "[UNK]", "the", "ran"]

    class Texts(PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return np.array(CORPUS[i::2]), np.zeros(1)

    by_index = TextVectorization()
    by_index.adapt(Texts(), steps=1)  # "The cat sat." and "A dog ran!"
    assert by_index.get_vocabulary() == ["", "[UNK]", "the", "sat", "ran", "dog", "cat", "a"]


def test_vocabulary_file_and_set_vocabulary(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("hello\nwörld\n", encoding="utf-8")
    layer = TextVectorization(vocabulary=str(path))
    assert layer(["Hello wörld x"]).tolist() == [[2, 3, 1]]
    assert layer.get_config()["vocabulary"] is None
    layer.set_vocabulary(["x", "hello"])
    assert layer(["Hello wörld x"]).tolist() == [[3, 1, 2]]
    assert layer.get_vocabulary(include_special_tokens=False) == ["x", "hello"]


def test_config_matches_keras_and_round_trips():
    layer = TextVectorization(output_mode="tf_idf", ngrams=(1, 3), name="tv")
    layer.adapt(["a b c", "b c", "c"])
    config = layer.get_config()
    # Keras 3.15's keys, in its order
    assert list(config) == [
        "name", "trainable", "dtype", "max_tokens", "standardize", "split", "ngrams",
        "output_mode", "output_sequence_length", "pad_to_max_tokens", "sparse", "ragged",
        "vocabulary", "idf_weights", "encoding", "vocabulary_size"]
    assert config["ngrams"] == (1, 3) and config["vocabulary_size"] == 5
    given = TextVectorization(vocabulary=["a", "b"], output_sequence_length=3)
    clone = TextVectorization.from_config(json.loads(json.dumps(given.get_config())))
    assert clone(["b a q"]).tolist() == given(["b a q"]).tolist() == [[3, 2, 1]]


def test_adapted_layer_round_trips_through_a_keras_file(tmp_path):
    layer = TextVectorization(output_sequence_length=4, name="tv")
    layer.adapt(CORPUS)
    model = lamina.Sequential([layer, lamina.layers.Embedding(9, 2)])
    x = np.array(["the dog sat", "ran away"])
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        # Keras' layout (paths by class), the vocabulary twice: the layer's and its lookup's
        vocab = b"\n[UNK]\nthe\nran\ncat\nsat\ndog\na"
        folder = "assets/layers/text_vectorization/"
        assert archive.read(folder + "vocabulary.txt") == vocab
        assert archive.read(folder + "_lookup_layer/vocabulary.txt") == vocab
    loaded = lamina.saving.load_model(path)
    assert loaded.layers[0].get_vocabulary() == layer.get_vocabulary()
    assert loaded.layers[0](x).tolist() == layer(x).tolist() == [[2, 6, 5, 0], [3, 1, 0, 0]]


@lamina.saving.register_keras_serializable(package="text_test")
def shout(batch):
    return np.char.upper(batch)


def test_registered_callables_and_ngrams_survive_a_keras_file(tmp_path):
    layer = TextVectorization(standardize=shout, ngrams=2, vocabulary=["A", "A B"])
    path = tmp_path / "model.keras"
    lamina.Sequential([layer]).save(path)
    loaded = lamina.saving.load_model(path).layers[0]
    assert loaded.standardize is shout and loaded.ngrams == 2
    assert loaded(["a b"]).tolist() == layer(["a b"]).tolist() == [[2, 1, 3]]


def test_works_in_a_dataloader_worker_pipeline():
    layer = TextVectorization(vocabulary=["good", "bad"], output_sequence_length=3)
    texts = ["good", "bad bad", "good good good", "meh"]

    class Reviews(torch.utils.data.Dataset):
        def __len__(self):
            return len(texts)

        def __getitem__(self, i):
            return layer(texts[i])

    batch = next(iter(torch.utils.data.DataLoader(Reviews(), batch_size=4)))
    assert batch.tolist() == [[2, 0, 0], [3, 3, 0], [2, 2, 2], [1, 0, 0]]


def test_bad_arguments_and_inputs_raise_clearly():
    with pytest.raises(ValueError, match="`standardize` argument of TextVectorization.*upper"):
        TextVectorization(standardize="upper")
    with pytest.raises(ValueError, match="`split` argument of TextVectorization.*comma"):
        TextVectorization(split="comma")
    with pytest.raises(ValueError, match="`ngrams` must be None, an integer"):
        TextVectorization(ngrams="2")
    with pytest.raises(ValueError, match="`ragged=True` is not supported"):
        TextVectorization(ragged=True)
    with pytest.raises(ValueError, match="`output_sequence_length` must not be set"):
        TextVectorization(output_mode="count", output_sequence_length=3)
    layer = TextVectorization(vocabulary=["a"], name="tv")
    with pytest.raises(ValueError, match="TextVectorization layer 'tv': inputs must be "
                                         "strings.*dtype int64"):
        layer(np.array([1, 2]))
    with pytest.raises(ValueError, match="'tv': inputs must be strings.*torch tensors"):
        layer(torch.tensor([1]))
    with pytest.raises(ValueError, match="rank 1 or have a last dimension of 1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="'tv2': adapt\\(\\) received no strings"):
        TextVectorization(name="tv2").adapt([])


def test_first_layer_of_a_model_trained_on_string_arrays():
    rng = np.random.default_rng(0)
    good, bad = ["great", "fine", "love"], ["awful", "bad", "hate"]
    labels = rng.integers(0, 2, size=96)
    words = [rng.choice(good if label else bad, size=3).tolist() + ["movie"] for label in labels]
    x = np.array([" ".join(w).upper() + "!" for w in words])  # standardized in the layer
    y = labels.astype("float32")[:, None]
    vectorize = TextVectorization(output_mode="multi_hot")
    vectorize.adapt(x)
    model = lamina.Sequential([vectorize, lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=lamina.optimizers.Adam(0.1), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=8, batch_size=16, shuffle=True, validation_split=0.25,
                        verbose=0)
    assert history.history["accuracy"][-1] > 0.9
    assert history.history["val_accuracy"][-1] > 0.9
    probabilities = model.predict(np.array(["love it", "hate it"]), verbose=0)
    assert probabilities[0, 0] > 0.5 > probabilities[1, 0]


def _reference_tokens(text, standardize):
    """Keras' rules written plainly: ASCII lowercasing, the 32 ASCII punctuation marks
    dropped, tokens separated by ASCII whitespace only."""
    if "lower" in standardize:
        text = "".join(c.lower() if "A" <= c <= "Z" else c for c in text)
    if "punctuation" in standardize:
        text = "".join(c for c in text if c not in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    tokens, token = [], ""
    for c in text + " ":
        if c in " \t\n\v\f\r":
            tokens, token = tokens + [token] * bool(token), ""
        else:
            token += c
    return tokens


@pytest.mark.parametrize("standardize", ["lower_and_strip_punctuation", "lower",
                                         "strip_punctuation"])
@pytest.mark.parametrize("output_mode", ["int", "tf_idf"])
def test_batched_fast_paths_match_a_per_string_reference(standardize, output_mode):
    # The layer standardizes and splits whole batches at once; a random corpus with
    # newlines, non-ASCII letters and spaces `str.split` (not Keras) splits at must give
    # what a string-by-string reading gives, ties in the ranking included.
    rng = np.random.default_rng(7)
    alphabet = list("abAB .,!'-\n\t\x1c\xa0\u3000éÀ")
    corpus = ["".join(rng.choice(alphabet, size=rng.integers(0, 20))) for _ in range(200)]
    corpus[:2] = ["a b", "A\x1cB"]  # one batch without exotic spaces, one with
    layer = TextVectorization(standardize=standardize, output_mode=output_mode, max_tokens=30)
    layer.adapt(corpus)
    sequences = [_reference_tokens(text, standardize) for text in corpus]
    counts = {}
    for tokens in sequences:
        for token in tokens:
            counts[token] = counts.get(token, 0) + 1
    ranked = sorted(counts, key=lambda t: (counts[t], t), reverse=True)
    start = 2 if output_mode == "int" else 1
    assert layer.get_vocabulary()[start:] == ranked[:30 - start]
    if output_mode != "int":
        return
    index = {token: i for i, token in enumerate(layer.get_vocabulary()) if i}
    width = max(map(len, sequences))
    want = [[index.get(t, 1) for t in tokens] + [0] * (width - len(tokens))
            for tokens in sequences]
    assert layer(np.array(corpus)).tolist() == want
    assert layer(corpus[:2]).tolist() == [row[:max(map(len, sequences[:2]))]
                                          for row in want[:2]]
