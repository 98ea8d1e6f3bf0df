"""Reuters: 11,228 newswires labelled with 46 topics, as word indexes.

Words are indexed by frequency (1 is the most frequent word); by default every index is
shifted by `index_from=3` so that 0 pads, 1 starts a newswire and 2 marks a word left out
of the vocabulary. Built by Keras from Reuters-21578.
"""

import json

import numpy as np

from lamina.datasets import _remote, _sequences

_LABEL_NAMES = (
    "cocoa", "grain", "veg-oil", "earn", "acq", "wheat", "copper", "housing",
    "money-supply", "coffee", "sugar", "trade", "reserves", "ship", "cotton", "carcass",
    "crude", "nat-gas", "cpi", "money-fx", "interest", "gnp", "meal-feed", "alum",
    "oilseed", "gold", "tin", "strategic-metal", "livestock", "retail", "ipi",
    "iron-steel", "rubber", "heat", "jobs", "lei", "bop", "zinc", "orange", "pet-chem",
    "dlr", "gas", "silver", "wpi", "hog", "lead",
)


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3):
    """Download (once) and load Reuters, shuffled by `seed` and split by `test_split`.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`).
        num_words: keep the words with index below `num_words` (after the shift); others
            become `oov_char`. None keeps all but the largest index (Keras' rule).
        skip_top: words with index below `skip_top` (after the shift) become `oov_char`.
        maxlen: drop the newswires whose length (with `start_char`) is `maxlen` or more.
        test_split: the fraction kept for testing (the last part after shuffling).
        seed: seed of the shuffle.
        start_char: index put at the start of every newswire (None: nothing).
        oov_char: index of a word left out (None: such words are removed).
        index_from: added to every word index.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints, and int
        label arrays (0..45, see `get_label_names`).
    """
    arrays = _remote.load_npz(_remote.fetch("reuters.npz", fname=path))
    xs, labels = _sequences.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = _sequences.shift(xs, start_char, index_from)
    if maxlen:
        xs, labels = _sequences.drop_long(maxlen, xs, labels)
    xs = _sequences.limit_vocabulary(xs, num_words, skip_top, oov_char)
    split = int(len(xs) * (1 - test_split))
    return ((_sequences.as_object_array(xs[:split]), np.array(labels[:split])),
            (_sequences.as_object_array(xs[split:]), np.array(labels[split:])))


def get_word_index(path="reuters_word_index.json"):
    """Download (once) and return Reuters' `{word: index}` (1 is the most frequent word).

    Add `index_from` (3 by default) to an index to find the word in `load_data`'s output.
    """
    with open(_remote.fetch("reuters_word_index.json", fname=path)) as f:
        return json.load(f)


def get_label_names():
    """The 46 topic names, indexed by label.

    >>> get_label_names()[:3]
    ('cocoa', 'grain', 'veg-oil')
    """
    return _LABEL_NAMES
