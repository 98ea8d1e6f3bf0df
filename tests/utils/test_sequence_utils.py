"""`lamina.utils.pad_sequences`: padding, truncation, item shapes, bad input, Keras parity."""

import numpy as np
import pytest

from lamina.utils import pad_sequences

TOKENS = [[711, 632, 71], [73, 8, 3215, 55, 927], [83, 91, 1, 645, 1253, 927]]

CASES = [
    (TOKENS, {}),
    (TOKENS, {"padding": "post"}),
    (TOKENS, {"maxlen": 4}),
    (TOKENS, {"maxlen": 4, "truncating": "post", "padding": "post", "value": -1}),
    ([[1.5, 2.7], [], [3.1]], {"dtype": "float32"}),
    ([np.ones((2, 3)), np.zeros((4, 3))], {"dtype": "float32", "maxlen": 3}),
    ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
]


def test_pads_at_the_end_with_zeros_to_the_longest_sequence():
    out = pad_sequences(TOKENS, padding="post")
    assert out.dtype == np.int32 and out.shape == (3, 6)
    np.testing.assert_array_equal(out[0], [711, 632, 71, 0, 0, 0])
    np.testing.assert_array_equal(out[2], TOKENS[2])


def test_pre_padding_and_pre_truncation_are_the_defaults():
    out = pad_sequences(TOKENS, maxlen=4)
    np.testing.assert_array_equal(out, [[0, 711, 632, 71], [8, 3215, 55, 927],
                                        [1, 645, 1253, 927]])


def test_vector_items_keep_their_shape():
    out = pad_sequences([np.ones((2, 3)), np.zeros((4, 3))], dtype="float32")
    assert out.shape == (2, 4, 3)
    np.testing.assert_array_equal(out[0, :2], 0.0)
    np.testing.assert_array_equal(out[0, 2:], 1.0)


@pytest.mark.parametrize("argument", ["padding", "truncating"])
def test_rejects_unknown_padding_or_truncating_mode(argument):
    with pytest.raises(ValueError, match=f'`{argument}` must be "pre" or "post"'):
        pad_sequences(TOKENS, **{argument: "middle"})


def test_rejects_string_value_with_numeric_dtype():
    with pytest.raises(ValueError, match="needs `dtype=object`"):
        pad_sequences([["a"]], value="<pad>")


def test_rejects_items_of_different_shapes():
    with pytest.raises(ValueError, match=r"sequence 1 has items of shape \(2,\)"):
        pad_sequences([np.ones((2, 3)), np.ones((2, 2))], dtype="float32")


@pytest.mark.parametrize("sequences,kwargs", CASES)
def test_matches_keras(sequences, kwargs):
    keras = pytest.importorskip("keras")
    ours = pad_sequences(sequences, **kwargs)
    theirs = keras.utils.pad_sequences(sequences, **kwargs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)
