"""Where Keras' datasets live, their checksums, and safe readers for their file formats.

Every loader downloads through `get_file` from the URL Keras 3 uses, with Keras' checksum,
into Keras' cache layout, so a dataset Keras downloaded is reused here and the other way
round.

`LAMINA_DATASETS_ORIGIN` (an environment variable, read on every download) replaces the
folder part of each URL: with it set to `http://127.0.0.1:8000/data`, `mnist.npz` comes
from `http://127.0.0.1:8000/data/mnist.npz`. It is meant for mirrors and tests; the file
names and checksums stay Keras'.

The IMDB/Reuters `.npz` files hold ragged `dtype=object` arrays and the CIFAR batches are
Python pickles, so both need pickle. They are read with `_ArrayUnpickler`, which rebuilds
numpy arrays, dicts, lists, strings and numbers and refuses every other global, so a
tampered file cannot run code.
"""

import codecs
import io
import os
import pickle
import zipfile

import numpy as np

from lamina.utils.download_utils import get_file

KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR_HOME = "https://www.cs.toronto.edu/~kriz/"
ORIGIN_ENV = "LAMINA_DATASETS_ORIGIN"

# Keras 3's checksums (sha256, or md5 for the two word indexes), by remote file name.
HASHES = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "cifar-10-python.tar.gz":
        "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar-100-python.tar.gz":
        "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
    "california_housing.npz":
        "1a2e3a52e0398de6463aebe6f4a8da34fb21fbb6b934cf88c3425e766f2a1a6f",
}


def fetch(remote_name, fname=None, folder=KERAS_DATASETS, **get_file_kwargs):
    """`get_file` for one of Keras' dataset files; returns the cached path."""
    override = os.environ.get(ORIGIN_ENV)
    base = override.rstrip("/") + "/" if override else folder
    return get_file(fname=fname if fname is not None else remote_name,
                    origin=base + remote_name, file_hash=HASHES[remote_name],
                    **get_file_kwargs)


# --- safe pickle ---------------------------------------------------------------------

# numpy pickles an array as `_reconstruct(ndarray, ...)` plus a `dtype`; numpy < 2 wrote
# the module as `numpy.core.multiarray`, numpy 2 as `numpy._core.multiarray`. Both are
# resolved here to the running numpy's function, without importing the deprecated path.
# Python 3 writes `bytes` at pickle protocol <= 2 as `_codecs.encode(text, "latin1")`, a
# pure conversion, so CIFAR-style batches re-pickled by Python 3 load too.
_RECONSTRUCT = np.empty(0).__reduce__()[0]
_ALLOWED = {
    ("_codecs", "encode"): codecs.encode,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _RECONSTRUCT,
    ("numpy._core.multiarray", "_reconstruct"): _RECONSTRUCT,
}


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file, source, encoding):
        super().__init__(file, encoding=encoding)
        self._source = source

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"Refusing to load `{module}.{name}` from {self._source}: only numpy arrays "
                "and plain containers are allowed in a dataset file. The file may be "
                "corrupted or tampered with; delete it to download it again.") from None


def load_pickle(path, encoding="bytes"):
    """Unpickle `path` allowing only numpy arrays, dicts, lists, strings and numbers."""
    with open(path, "rb") as f:
        return _ArrayUnpickler(f, os.fspath(path), encoding).load()


# A member declaring more than this, at more than _MAX_RATIO times its stored size, is
# refused before it is inflated (a zip bomb); the real dataset members are far below.
_MAX_MEMBER_BYTES = 1 << 32
_MAX_RATIO = 100


def _read_npy(stream, source):
    fmt = np.lib.format
    version = fmt.read_magic(stream)
    read_header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    if not dtype.hasobject:
        stream.seek(0)
        return np.lib.format.read_array(stream, allow_pickle=False)
    # NOTE: an object array's payload is one pickled ndarray right after the header.
    array = _ArrayUnpickler(stream, source, "latin1").load()
    if not isinstance(array, np.ndarray) or array.shape != shape:
        raise ValueError(f"{source} holds no array of the shape {shape} its header "
                         "announces. The file may be corrupted; delete it to download it "
                         "again.")
    return array


def load_npz(path):
    """`{name: array}` of an `.npz` file, object arrays read with the restricted unpickler."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            member = info.filename
            if not member.endswith(".npy"):
                continue
            source = f"{os.fspath(path)}:{member}"
            if (info.file_size > _MAX_MEMBER_BYTES
                    and info.file_size > _MAX_RATIO * info.compress_size):
                raise ValueError(f"Refusing to inflate {source}: it declares "
                                 f"{info.file_size} bytes stored in {info.compress_size}.")
            arrays[member[:-len(".npy")]] = _read_npy(io.BytesIO(archive.read(info)), source)
    return arrays
