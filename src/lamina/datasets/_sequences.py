"""The word-index rules shared by IMDB and Reuters (Keras 3's, quirks included)."""

import numpy as np


def shuffled(rng, *arrays):
    """`arrays` in the order of one `rng.shuffle` of their indices (a `RandomState`)."""
    order = np.arange(len(arrays[0]))
    rng.shuffle(order)
    return [a[order] for a in arrays]


def shift(sequences, start_char, index_from):
    """Add `index_from` to every word and put `start_char` (unless None) in front."""
    head = [] if start_char is None else [start_char]
    return [head + [w + index_from for w in seq] for seq in sequences]


def drop_long(maxlen, sequences, labels):
    """Keep the sequences strictly shorter than `maxlen`, with their labels."""
    kept = [(seq, label) for seq, label in zip(sequences, labels) if len(seq) < maxlen]
    return [seq for seq, _ in kept], [label for _, label in kept]


def limit_vocabulary(sequences, num_words, skip_top, oov_char):
    """Words outside `[skip_top, num_words)` become `oov_char`, or go when it is None.

    Without `num_words` the bound is the largest index present, so (as in Keras) that one
    word is out of vocabulary too.
    """
    if not num_words:
        num_words = max(max(seq) for seq in sequences)
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in seq]
                for seq in sequences]
    return [[w for w in seq if skip_top <= w < num_words] for seq in sequences]


def as_object_array(sequences):
    """A 1-d object array of the lists (Keras' type for the real, ragged data).

    NOTE: Keras' `np.array(sequences, dtype=object)` turns into a 2-d array of ints when
    every sequence has the same length; this stays one list per sample in every case.
    """
    out = np.empty(len(sequences), dtype=object)
    out[:] = sequences
    return out
