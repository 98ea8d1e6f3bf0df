"""imdb and reuters: Keras' shift, num_words, skip_top, maxlen and oov rules, by hand."""

import json

import numpy as np
import pytest
from dataset_files import npz_bytes, ragged

from lamina.datasets import imdb, reuters

# Labels are unique so each sequence can be found again after the shuffle.
IMDB = dict(x_train=ragged([1, 2, 3], [4, 5], [2]), y_train=np.array([10, 11, 12]),
            x_test=ragged([3, 3], [1, 4, 5, 6]), y_test=np.array([20, 21]))


def _by_label(x, y):
    return {int(label): list(seq) for seq, label in zip(x, y)}


@pytest.fixture
def imdb_file(origin):
    origin.publish("imdb.npz", npz_bytes(**IMDB))


def test_imdb_default_shift_start_and_largest_index_out_of_vocabulary(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    assert isinstance(x_train, np.ndarray) and x_train.dtype == object
    assert x_train.shape == (3,) and x_test.shape == (2,)
    assert y_train.dtype == np.int64
    # +3 shift, start char 1; num_words=None makes the largest index (6 + 3 = 9) oov (2).
    assert _by_label(x_train, y_train) == {10: [1, 4, 5, 6], 11: [1, 7, 8], 12: [1, 5]}
    assert _by_label(x_test, y_test) == {20: [1, 6, 6], 21: [1, 4, 7, 8, 2]}


def test_imdb_shuffles_train_then_test_with_one_generator(imdb_file):
    rng = np.random.RandomState(7)
    train_order, test_order = np.arange(3), np.arange(2)
    rng.shuffle(train_order)
    rng.shuffle(test_order)
    (_, y_train), (_, y_test) = imdb.load_data(seed=7)
    np.testing.assert_array_equal(y_train, IMDB["y_train"][train_order])
    np.testing.assert_array_equal(y_test, IMDB["y_test"][test_order])


def test_imdb_num_words_and_skip_top_replace_with_oov(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=7, skip_top=2)
    # The window is [2, 7): the start char 1 itself falls below skip_top (Keras' rule).
    assert _by_label(x_train, y_train) == {10: [2, 4, 5, 6], 11: [2, 2, 2], 12: [2, 5]}
    assert _by_label(x_test, y_test) == {20: [2, 6, 6], 21: [2, 4, 2, 2, 2]}


def test_imdb_oov_none_drops_the_words(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=7, oov_char=None)
    assert _by_label(x_train, y_train) == {10: [1, 4, 5, 6], 11: [1], 12: [1, 5]}
    assert _by_label(x_test, y_test) == {20: [1, 6, 6], 21: [1, 4]}


def test_imdb_maxlen_keeps_strictly_shorter_sequences(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(maxlen=4)
    # The largest index left after filtering (8) is the one that becomes oov.
    assert _by_label(x_train, y_train) == {11: [1, 7, 2], 12: [1, 5]}
    assert _by_label(x_test, y_test) == {20: [1, 6, 6]}
    with pytest.raises(ValueError, match="maxlen=3, no sequence was kept"):
        imdb.load_data(maxlen=3)


def test_imdb_raw_indexes_without_start_or_shift(imdb_file):
    (x_train, y_train), (x_test, y_test) = imdb.load_data(start_char=None, index_from=0)
    assert _by_label(x_train, y_train) == {10: [1, 2, 3], 11: [4, 5], 12: [2]}
    assert _by_label(x_test, y_test) == {20: [3, 3], 21: [1, 4, 5, 2]}


def test_imdb_get_word_index_reads_the_json(origin):
    origin.publish("imdb_word_index.json", json.dumps({"the": 1, "film": 19}).encode())
    assert imdb.get_word_index() == {"the": 1, "film": 19}
    assert origin.hits == ["/data/imdb_word_index.json"]


REUTERS = dict(x=ragged([1, 2], [3], [4, 4, 4], [5, 1], [2, 3, 4, 5]),
               y=np.array([0, 1, 2, 3, 4]))


@pytest.fixture
def reuters_file(origin):
    origin.publish("reuters.npz", npz_bytes(**REUTERS))


def test_reuters_shuffles_shifts_and_splits_by_test_split(reuters_file):
    order = np.arange(5)
    np.random.RandomState(113).shuffle(order)
    (x_train, y_train), (x_test, y_test) = reuters.load_data()
    assert x_train.dtype == object and x_train.shape == (4,) and x_test.shape == (1,)
    np.testing.assert_array_equal(np.concatenate([y_train, y_test]), order)
    found = _by_label(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    # +3 shift and start char 1; the largest index (5 + 3 = 8) is oov (2).
    assert found == {0: [1, 4, 5], 1: [1, 6], 2: [1, 7, 7, 7], 3: [1, 2, 4],
                     4: [1, 5, 6, 7, 2]}


def test_reuters_vocabulary_and_maxlen_rules(reuters_file):
    (x_train, y_train), (x_test, y_test) = reuters.load_data(
        num_words=7, skip_top=4, maxlen=4, test_split=0.5, oov_char=None)
    # maxlen=4 drops the two sequences of 4 and 5 words; the window [4, 7) keeps 4, 5, 6.
    found = _by_label(np.concatenate([x_train, x_test]), np.concatenate([y_train, y_test]))
    assert found == {0: [4, 5], 1: [6], 3: [4]}
    assert len(x_train) == 1 and len(x_test) == 2


def test_reuters_word_index_and_label_names(origin):
    origin.publish("reuters_word_index.json", json.dumps({"said": 2}).encode())
    assert reuters.get_word_index() == {"said": 2}
    names = reuters.get_label_names()
    assert len(names) == 46 and names[3] == "earn" and names[-1] == "lead"


def test_equal_length_sequences_stay_one_list_per_sample(origin):
    # Keras' np.array(..., dtype=object) would make a 2-d int array here; lamina keeps lists.
    origin.publish("reuters.npz", npz_bytes(x=ragged([1, 2], [3, 4], [5, 6]), y=np.arange(3)))
    (x_train, _), (x_test, _) = reuters.load_data(test_split=0.4)
    assert x_train.shape == (1,) and x_test.shape == (2,)
    assert all(isinstance(seq, list) and len(seq) == 3 for seq in [*x_train, *x_test])
