"""Small files in the formats of Keras' datasets."""

import io

import numpy as np


def npz_bytes(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def ragged(*sequences):
    """A 1-d object array of lists, as the IMDB/Reuters files store them."""
    out = np.empty(len(sequences), dtype=object)
    out[:] = [list(s) for s in sequences]
    return out
