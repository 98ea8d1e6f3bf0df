"""Hashing and HashedCrossing, and the hashes under them, against independent references.

- SipHash-2-4: the reference vectors of the SipHash paper (Aumasson and Bernstein,
  "SipHash: a fast short-input PRF", appendix A, and the reference implementation's
  vectors.h): key 00 01 .. 0f, message 00 01 .. (n-1).
- FarmHash Fingerprint64: the empty string hashes to the algorithm's constant k2; the
  other vectors (and the SipHash bucket and cross vectors) were generated with TensorFlow
  by tools/gen_fingerprint_vectors.py (TensorFlow is not a lamina dependency).
- Layer outputs: the examples of Keras 3's `Hashing` documentation, and properties that
  hold by construction (bin range, the mask bin, determinism, the encodings' sums); the
  lookups' OOV slots against the hashes above (one StringLookup row from the tools script).
"""

import json
import zipfile

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import HashedCrossing, Hashing, IntegerLookup, StringLookup
from lamina.layers.preprocessing.fingerprints import (
    fingerprint64,
    fingerprint_cat64,
    hash_bins,
    siphash24,
)

PAPER_KEY = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
SIPHASH_PAPER = {0: 0x726FDB47DD0E0E31, 1: 0x74F839C593DC67FD, 2: 0x0D6C8009D9A94F5A,
                 3: 0x85676696D7FB7E2D, 15: 0xA129CA6149BE45E5, 63: 0x958A324CEB064572}

FARMHASH64 = {  # length: Fingerprint64(_message(length)), from tools/gen_fingerprint_vectors.py
    0: 0x9AE16A3B2F90404F, 1: 0xBEC09CC447469D8B, 2: 0x16F8263645A8ECF5,
    3: 0x40B4412E33EEFD64, 4: 0xF3C7EE05197A7B92, 7: 0x4FEF0B39C12AA9A4,
    8: 0x0C97ECBC1E9D2626, 15: 0x2CA35F0A039B4F1B, 16: 0x7EDA0ED8C837A168,
    17: 0xC9518FE63EBF6127, 31: 0xBD5CA6EE28FC43CB, 32: 0xA53F806F23A314E8,
    33: 0xC24F9D7CE864F0E9, 63: 0x9643C13FC68D469C, 64: 0x0566266CB579ECA2,
    65: 0x77E0867714E6B0E4, 127: 0xCAA19A12C8273B7E, 128: 0x666823960B3AC271,
    129: 0x98206B8579BCA083, 200: 0x6D7105B27CBE2FD7,
}
SIPHASH_MOD_2_62 = {  # key (1, 2), TensorFlow's to_hash_bucket_strong with 2**62 buckets
    b"": 443797209252341627, b"A": 28707286999182992,
    b"hello world": 1015233985318741638, b"lamina" * 20: 1740083019471215958,
}
LETTERS = [["A"], ["B"], ["C"], ["D"], ["E"]]


def _message(n):
    return bytes((7 * i + 3) % 256 for i in range(n))


def test_siphash24_matches_the_papers_vectors():
    lengths = sorted(SIPHASH_PAPER)
    got = siphash24([bytes(range(n)) for n in lengths], PAPER_KEY)
    assert [int(v) for v in got] == [SIPHASH_PAPER[n] for n in lengths]


def test_siphash24_buckets_match_tensorflow():
    got = siphash24(list(SIPHASH_MOD_2_62), (1, 2)) % np.uint64(2**62)
    assert [int(v) for v in got] == list(SIPHASH_MOD_2_62.values())


def test_fingerprint64_matches_vectors_across_every_length_class():
    lengths = list(FARMHASH64)
    # mixed lengths in one call: each length is hashed as its own batch
    got = fingerprint64([_message(n) for n in lengths][::-1])[::-1]
    assert [int(v) for v in got] == list(FARMHASH64.values())
    assert int(fingerprint64([b""])[0]) == 0x9AE16A3B2F90404F  # FarmHash's k2


def test_fingerprint_cat64_crosses_as_tensorflow():
    # tf.sparse.cross_hashed([[1], [-2]] x [[b"a"], [b"bc"]], 1000) from the tools script
    key = np.full(2, 0xDECAFCAFFE, np.uint64)
    crossed = fingerprint_cat64(key, np.array([1, -2]).astype(np.uint64))
    crossed = fingerprint_cat64(crossed, fingerprint64([b"a", b"bc"]))
    assert (crossed % np.uint64(1000)).tolist() == [445, 173]
    assert HashedCrossing(1000)([np.array([1, -2]), np.array(["a", "bc"])]).tolist() == [
        445, 173]


@pytest.mark.parametrize("kwargs, inputs, want", [
    ({}, LETTERS, [[1], [0], [1], [1], [2]]),
    ({"mask_value": ""}, [["A"], ["B"], [""], ["C"], ["D"]], [[1], [1], [0], [2], [2]]),
    ({"salt": [133, 137]}, LETTERS, [[1], [2], [1], [0], [2]]),
    ({"salt": 133}, LETTERS, [[0], [0], [2], [1], [0]]),
])
def test_hashing_reproduces_keras_documented_examples(kwargs, inputs, want):
    out = Hashing(num_bins=3, **kwargs)(inputs)
    assert out.dtype == torch.int64
    assert out.tolist() == want


def test_integers_hash_as_their_decimal_strings_in_every_input_form():
    ints = np.array([[0, -7, 123456789012], [5, 5, 1]])
    strings = ints.astype(str)
    want = Hashing(97)(strings)
    # floats are truncated toward zero first (as Keras casts them)
    for form in (ints, torch.from_numpy(ints), ints.tolist(),
                 ints + 0.25 * np.sign(ints), strings.astype(bytes)):
        torch.testing.assert_close(Hashing(97)(form), want)
    torch.testing.assert_close(Hashing(97)(ints[1:].astype(np.int32)), want[1:])
    bins = (fingerprint64([str(v).encode() for v in ints.reshape(-1).tolist()])
            % np.uint64(97)).astype(np.int64).reshape(ints.shape)
    np.testing.assert_array_equal(want.numpy(), bins)


def test_bins_stay_in_range_mask_takes_zero_and_hashing_is_deterministic():
    rng = np.random.default_rng(0)
    values = rng.integers(-1000, 1000, size=(50, 4))
    values[::7, 0] = 42
    layer = Hashing(num_bins=5, mask_value=42)
    out = layer(values).numpy()
    assert ((out >= 0) & (out < 5)).all()
    np.testing.assert_array_equal(out == 0, values == 42)
    np.testing.assert_array_equal(Hashing(num_bins=5, mask_value=42)(values).numpy(), out)
    # unmasked values land where an unmasked 4-bin layer puts them, shifted by one
    plain = Hashing(num_bins=4)(values).numpy()
    np.testing.assert_array_equal(out[values != 42], plain[values != 42] + 1)
    # a salt changes the bins (SipHash) but not the range
    salted = Hashing(num_bins=1000, salt=7)(values).numpy()
    assert not np.array_equal(salted, Hashing(num_bins=1000)(values).numpy())
    assert ((salted >= 0) & (salted < 1000)).all()


def test_output_modes_encode_the_int_bins():
    x = np.array([["a", "b", "a"], ["c", "d", "e"]])
    bins = Hashing(num_bins=6)(x)
    one_hot = torch.nn.functional.one_hot(bins, 6).float()
    torch.testing.assert_close(Hashing(6, output_mode="one_hot")(x), one_hot)
    torch.testing.assert_close(Hashing(6, output_mode="count")(x), one_hot.sum(1))
    torch.testing.assert_close(Hashing(6, output_mode="multi_hot")(x), one_hot.amax(1))
    # one_hot on (batch, 1) encodes the last axis in place
    assert Hashing(6, output_mode="one_hot")(x[:, :1]).shape == (2, 6)
    assert Hashing(6, output_mode="count")(x).dtype == torch.float32
    assert Hashing(6, output_mode="count").compute_output_shape((None, 3)) == (None, 6)


def test_hashing_config_in_keras_order_and_round_trip():
    layer = Hashing(num_bins=3, salt=4, name="h")
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "num_bins", "salt", "mask_value",
                            "output_mode", "sparse"]
    assert config["salt"] == [4, 4]
    clone = Hashing.from_config(config)
    assert clone.get_config() == config
    torch.testing.assert_close(clone(LETTERS), layer(LETTERS))


def test_hashed_crossing_crosses_ints_and_strings_in_order():
    a, b = np.array([[1], [2], [3]]), np.array([["x"], ["y"], ["x"]])
    out = HashedCrossing(num_bins=50)([a, b])
    assert out.shape == (3, 1) and out.dtype == torch.int64
    assert ((out >= 0) & (out < 50)).all()
    # the same crosses from other input forms and shapes
    torch.testing.assert_close(HashedCrossing(50)([torch.tensor([1, 2, 3]), b[:, 0].tolist()]),
                               out[:, 0])
    assert HashedCrossing(50)([np.int64(2), "y"]).tolist() == out[1, 0].item()
    # the order of features matters (a cross is not symmetric in TensorFlow either)
    swapped = HashedCrossing(2**31 - 1)([b, a])
    assert not torch.equal(swapped, HashedCrossing(2**31 - 1)([a, b]))
    one_hot = HashedCrossing(50, output_mode="one_hot")([a, b])
    torch.testing.assert_close(one_hot, torch.nn.functional.one_hot(out[:, 0], 50).float())


def test_hashed_crossing_config_matches_keras():
    config = HashedCrossing(num_bins=11, name="cross").get_config()
    assert config == {"num_bins": 11, "output_mode": "int", "sparse": False, "name": "cross",
                      "dtype": "int64"}
    assert HashedCrossing.from_config(config).get_config() == config


def test_layers_inside_a_model_save_and_load(tmp_path):
    inputs = lamina.Input((2,), dtype="int64")
    hashed = Hashing(num_bins=8, output_mode="count", salt=[3, 5], name="h")(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(1)(hashed))
    assert model.output_shape == (None, 1)
    path = tmp_path / "model.keras"
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    layer = [c for c in config["config"]["layers"] if c["class_name"] == "Hashing"][0]
    assert layer["config"]["salt"] == [3, 5]
    loaded = lamina.saving.load_model(path)
    x = np.array([[1, 2], [30, 40]])
    torch.testing.assert_close(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("make, match", [
    (lambda: Hashing(num_bins=0), "num_bins"),
    (lambda: Hashing(num_bins=None), "num_bins"),
    (lambda: Hashing(num_bins=3, salt="seed"), "salt"),
    (lambda: Hashing(num_bins=3, salt=[1, 2, 3]), "salt"),
    (lambda: Hashing(num_bins=3, output_mode="count", sparse=True), "sparse"),
    (lambda: Hashing(num_bins=3, sparse=True), "sparse"),
    (lambda: Hashing(num_bins=3, output_mode="tf_idf"), "output_mode"),
    (lambda: HashedCrossing(num_bins=0), "num_bins"),
    (lambda: HashedCrossing(num_bins=3, sparse=True), "sparse"),
    (lambda: HashedCrossing(num_bins=3, output_mode="count"), "output_mode"),
])
def test_bad_arguments_raise_naming_the_argument(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_crossing_inputs_raise():
    layer = HashedCrossing(num_bins=3)
    with pytest.raises(ValueError, match="list or tuple"):
        layer(np.array([1, 2]))
    with pytest.raises(ValueError, match="at least two"):
        layer([np.array([1, 2])])
    with pytest.raises(ValueError, match="equal shape"):
        layer([np.array([1, 2]), np.array([1, 2, 3])])
    with pytest.raises(ValueError, match="integer or string"):
        layer([np.array([1.5, 2.0]), np.array([1, 2])])
    with pytest.raises(ValueError, match=r"\(batch_size, 1\)"):
        layer([np.ones((2, 3), int), np.ones((2, 3), int)])


def test_lookups_hash_oov_tokens_into_their_oov_slots():
    # As Keras: OOV slot = Fingerprint64(token) % num_oov_indices (SipHash-2-4 with a salt),
    # integers as decimal strings; the slots follow the mask index.
    tokens = np.array([["a", "zz", "q"], ["b", "", "hello"]])
    out = StringLookup(vocabulary=["a", "b"], num_oov_indices=3)(tokens).numpy()
    oov = ~np.isin(tokens, ["a", "b"])
    want = fingerprint64([t.encode() for t in tokens[oov].tolist()]) % np.uint64(3)
    np.testing.assert_array_equal(out[oov], want.astype(np.int64))
    np.testing.assert_array_equal(out[~oov], [3, 4])
    assert out.tolist() == [[3, 1, 2], [4, 2, 1]]  # STRING_LOOKUP_3_OOV of the tools script
    salted = StringLookup(vocabulary=["a", "b"], num_oov_indices=3, mask_token="",
                          salt=[5, 6])(tokens).numpy()
    keyed = siphash24([t.encode() for t in ["zz", "q", "hello"]], (5, 6)) % np.uint64(3)
    np.testing.assert_array_equal(salted[oov & (tokens != "")], keyed.astype(np.int64) + 1)
    assert salted[1, 1] == 0  # the mask token

    ints = np.array([[1, -50, 7], [3, 99, 123456]])
    layer = IntegerLookup(vocabulary=[1, 3], num_oov_indices=5, oov_method="farmhash")
    got = layer(ints).numpy()
    oov = ~np.isin(ints, [1, 3])
    want = fingerprint64([str(v).encode() for v in ints[oov].tolist()]) % np.uint64(5)
    np.testing.assert_array_equal(got[oov], want.astype(np.int64))
    # floormod stays the integer default
    floormod = IntegerLookup(vocabulary=[1, 3], num_oov_indices=5)(ints).numpy()
    np.testing.assert_array_equal(floormod[oov], ints[oov] % 5)
    config = IntegerLookup(vocabulary=[1, 3], num_oov_indices=5, oov_method="farmhash",
                           salt=9).get_config()
    assert (config["oov_method"], config["salt"]) == ("farmhash", [9, 9])


def test_lookup_salt_must_be_one_or_two_integers():
    with pytest.raises(ValueError, match="`salt` argument for `IndexLookup`"):
        StringLookup(num_oov_indices=2, salt="seed")


def test_hashing_leads_a_sequential_model_on_numpy_strings():
    model = lamina.Sequential([Hashing(8, output_mode="multi_hot"), lamina.layers.Dense(1)])
    x = np.array([["a", "b"], ["c", "d"], ["a", "a"]])
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(x, np.ones((3, 1), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(x, verbose=0).shape == (3, 1)


@pytest.mark.parametrize("key", [None, (3, 5)])
def test_hash_bins_of_numpy_arrays_match_the_bytes_of_each_value(key):
    # Text, bytes and int64 arrays are cut into rows in numpy (ASCII text and decimals
    # without Python strings); each value must hash as its UTF-8 or decimal bytes do.
    rng = np.random.default_rng(3)
    pieces = np.array(list("ab z\x00") + ["é", "\u3000", "xyz" * 30])
    texts = ["".join(rng.choice(pieces, size=rng.integers(0, 9))) for _ in range(300)]
    ascii_texts = [text for text in texts if text.isascii()]
    integers = np.concatenate([rng.integers(-10**12, 10**12, 200), np.arange(-12, 12),
                               [-2**63, 2**63 - 1]]).astype(np.int64)
    many_lengths = [f"{'q' * n}{n}" for n in range(100)]  # more lengths than one pass each

    def reference(values):
        hashes = [fingerprint64([v]) if key is None
                  else siphash24([v], key) for v in values]
        return np.concatenate(hashes) % np.uint64(97)

    for values, as_bytes in [
            (np.array(texts), [t.encode() for t in texts]),
            (np.array(ascii_texts), [t.encode() for t in ascii_texts]),
            (np.array([t.encode() for t in texts]), [t.encode() for t in texts]),
            (integers, [str(i).encode() for i in integers.tolist()]),
            (np.array(many_lengths), [t.encode() for t in many_lengths])]:
        got = hash_bins(values.reshape(2, -1) if len(values) % 2 == 0 else values,
                                     97, key)
        np.testing.assert_array_equal(got.reshape(-1), reference(as_bytes).astype(np.int64))
