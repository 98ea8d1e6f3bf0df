"""Padding variable-length sequences into one array (`lamina.utils.pad_sequences`)."""

import numpy as np


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (or truncate) a list of sequences to one length, as a numpy array.

    Args:
        sequences: list of sequences; each is a list or array whose items share one
            shape (scalars for token ids, or vectors).
        maxlen: length of the result; default: the longest sequence.
        dtype: dtype of the result (`object` for strings).
        padding: `"pre"` or `"post"`: where the padding `value` goes.
        truncating: `"pre"` or `"post"`: which end of a too-long sequence is cut.
        value: the padding value.

    Returns:
        An array of shape `(len(sequences), maxlen, *item_shape)`.

    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], padding="post")
    array([[1, 0, 0],
           [2, 3, 0],
           [4, 5, 6]], dtype=int32)
    >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2)
    array([[0, 1],
           [2, 3],
           [5, 6]], dtype=int32)
    """
    for name, mode in (("padding", padding), ("truncating", truncating)):
        if mode not in ("pre", "post"):
            raise ValueError(f'pad_sequences: `{name}` must be "pre" or "post", '
                             f"received {mode!r}.")
    if not hasattr(sequences, "__len__"):
        raise ValueError("pad_sequences: `sequences` must be a list of sequences, received "
                         f"{type(sequences).__name__}.")
    is_text = np.issubdtype(dtype, np.str_) or np.issubdtype(dtype, np.object_)
    if isinstance(value, str) and not is_text:
        raise ValueError(f"pad_sequences: a string padding value ({value!r}) needs "
                         f'`dtype=object` or a string dtype, received dtype={dtype!r}.')
    arrays = []
    for i, sequence in enumerate(sequences):
        if not hasattr(sequence, "__len__"):
            raise ValueError("pad_sequences: every sequence must be a list or array; "
                             f"sequence {i} is {sequence!r}.")
        arrays.append(np.asarray(sequence, dtype=dtype) if len(sequence) else None)
    item_shape = next((a.shape[1:] for a in arrays if a is not None), ())
    if maxlen is None:
        maxlen = max((len(a) for a in arrays if a is not None), default=0)

    out = np.full((len(arrays), maxlen, *item_shape), value, dtype=dtype)
    for i, array in enumerate(arrays):
        if array is None or maxlen == 0:
            continue
        kept = array[-maxlen:] if truncating == "pre" else array[:maxlen]
        if kept.shape[1:] != item_shape:
            raise ValueError(f"pad_sequences: sequence {i} has items of shape "
                             f"{kept.shape[1:]}, expected {item_shape} like the first "
                             "non-empty sequence.")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
