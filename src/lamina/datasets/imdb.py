"""IMDB: 50,000 movie reviews labelled positive (1) or negative (0), as word indexes.

Words are indexed by frequency in the training set (1 is the most frequent word); by
default every index is shifted by `index_from=3` so that 0 pads, 1 starts a review and 2
marks a word left out of the vocabulary. Maas et al., 2011,
https://ai.stanford.edu/~amaas/data/sentiment/
"""

import json

import numpy as np

from lamina.datasets import _remote, _sequences


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Download (once) and load IMDB.

    Args:
        path: the file name in the cache (`~/.keras/datasets/`).
        num_words: keep the words with index below `num_words` (after the shift); others
            become `oov_char`. None keeps all but the largest index (Keras' rule).
        skip_top: words with index below `skip_top` (after the shift) become `oov_char`.
        maxlen: drop the reviews whose length (with `start_char`) is `maxlen` or more.
        seed: seed of the shuffle of each split.
        start_char: index put at the start of every review (None: nothing).
        oov_char: index of a word left out (None: such words are removed).
        index_from: added to every word index.
        **kwargs: accepted and ignored, as Keras does.

    Returns:
        `(x_train, y_train), (x_test, y_test)`: object arrays of lists of ints (25,000
        each), and the labels' int arrays.
    """
    del kwargs
    arrays = _remote.load_npz(_remote.fetch("imdb.npz", fname=path))
    # NOTE: one generator shuffles the training split, then the test split (Keras' order).
    rng = np.random.RandomState(seed)
    x_train, y_train = _sequences.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, y_test = _sequences.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = _sequences.shift(x_train, start_char, index_from)
    x_test = _sequences.shift(x_test, start_char, index_from)
    if maxlen:
        x_train, y_train = _sequences.drop_long(maxlen, x_train, y_train)
        x_test, y_test = _sequences.drop_long(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, "
                             "no sequence was kept. Increase maxlen.")
    xs = _sequences.limit_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    labels = np.concatenate([y_train, y_test])
    split = len(x_train)
    return ((_sequences.as_object_array(xs[:split]), labels[:split]),
            (_sequences.as_object_array(xs[split:]), labels[split:]))


def get_word_index(path="imdb_word_index.json"):
    """Download (once) and return IMDB's `{word: index}` (1 is the most frequent word).

    Add `index_from` (3 by default) to an index to find the word in `load_data`'s output.
    """
    with open(_remote.fetch("imdb_word_index.json", fname=path)) as f:
        return json.load(f)
