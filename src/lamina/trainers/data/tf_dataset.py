"""`tf.data.Dataset` inputs, when TensorFlow is installed (it is never imported here).

A dataset can only exist once its user imported TensorFlow, so detection looks at
`sys.modules` and the class's module name, and costs nothing when TensorFlow is absent.
Each pass iterates the dataset afresh; its batches become numpy arrays (sharing the
tensors' memory), which `EpochIterator` turns into torch tensors on the device. String
tensors stay on the host as numpy arrays of bytes, for the text layers.
"""

import sys

from lamina import tree

# tf.data's cardinality codes.
INFINITE = -1
UNKNOWN = -2


def is_tf_dataset(x):
    """True for a `tf.data.Dataset` (any of its subclasses), without importing TensorFlow.

    >>> is_tf_dataset([1, 2])
    False
    """
    if "tensorflow" not in sys.modules:
        return False
    return any(
        parent.__name__ == "DatasetV2" and parent.__module__.startswith("tensorflow.python.")
        for parent in type(x).__mro__
    )


def _to_host(value):
    """One leaf of a tf batch as numpy (the tensor's buffer, no copy for dense tensors)."""
    kind = type(value).__name__
    if kind == "SparseTensor":
        value = sys.modules["tensorflow"].sparse.to_dense(value)
    elif kind == "RaggedTensor":
        raise ValueError(
            "A tf.data.Dataset batch holds a tf.RaggedTensor, which torch cannot hold: make "
            "its rows equally long first, e.g. `dataset.map(lambda x, y: (x.to_tensor(), y))` "
            "or `dataset.padded_batch(...)`."
        )
    numpy = getattr(value, "numpy", None)
    return value if numpy is None else numpy()


class TFDatasetAdapter:
    """Streams a `tf.data.Dataset`'s batches as numpy structures, one pass per epoch.

    `num_batches` is the dataset's cardinality when tf.data knows it; `infinite` is set
    for a repeating dataset, which needs `steps_per_epoch`.
    """

    reiterable = True

    def __init__(self, dataset):
        self.dataset = dataset
        cardinality = int(dataset.cardinality())
        self.infinite = cardinality == INFINITE
        self.num_batches = cardinality if cardinality >= 0 else None
        if cardinality == 0:
            raise ValueError("The tf.data.Dataset is empty: it yields 0 batches.")

    def iter_pass(self):
        for batch in self.dataset:
            yield tree.map_structure(_to_host, batch)

    def on_pass_end(self):
        pass
