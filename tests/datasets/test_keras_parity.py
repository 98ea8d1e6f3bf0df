"""Keras 3's own loaders, pointed at the files lamina cached, give lamina's answers."""

import gzip
import importlib
import io
import pickle
import tarfile

import numpy as np
import pytest
from dataset_files import npz_bytes, ragged

from lamina import datasets

keras = pytest.importorskip("keras")


def _keras_loader(monkeypatch, name, local_path):
    """`keras.datasets.<name>` whose `get_file` returns `local_path` (no network)."""
    module = importlib.import_module(f"keras.src.datasets.{name}")
    monkeypatch.setattr(module, "get_file", lambda *args, **kwargs: str(local_path))
    return module


def _assert_same(ours, theirs):
    if isinstance(ours, tuple):
        assert isinstance(theirs, tuple) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _assert_same(a, b)
        return
    assert type(ours) is type(theirs) and ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype
    if ours.dtype == object:
        assert [list(s) for s in ours] == [list(s) for s in theirs]
    else:
        np.testing.assert_array_equal(ours, theirs)


WORDS = ragged([1, 2, 3], [4, 5], [2], [7, 1, 1, 9], [3, 3, 8, 2, 6], [5], [9, 9])


@pytest.mark.parametrize("kwargs", [
    {}, dict(num_words=6, skip_top=2), dict(maxlen=6, seed=3), dict(oov_char=None,
                                                                   num_words=8),
    dict(start_char=None, index_from=0), dict(start_char=None, index_from=2),
])
def test_imdb_matches_keras(origin, monkeypatch, kwargs):
    origin.publish("imdb.npz", npz_bytes(x_train=WORDS[:4], y_train=np.array([1, 0, 1, 1]),
                                         x_test=WORDS[4:], y_test=np.array([0, 0, 1])))
    ours = datasets.imdb.load_data(**kwargs)
    theirs = _keras_loader(monkeypatch, "imdb",
                           origin.home / "datasets" / "imdb.npz").load_data(**kwargs)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("kwargs", [
    {}, dict(num_words=7, skip_top=3, test_split=0.5), dict(maxlen=5, test_split=0.5),
    dict(oov_char=None, num_words=5, seed=1),
])
def test_reuters_matches_keras(origin, monkeypatch, kwargs):
    origin.publish("reuters.npz", npz_bytes(x=WORDS, y=np.arange(7) % 3))
    ours = datasets.reuters.load_data(**kwargs)
    theirs = _keras_loader(monkeypatch, "reuters",
                           origin.home / "datasets" / "reuters.npz").load_data(**kwargs)
    _assert_same(ours, theirs)
    assert datasets.reuters.get_label_names() == keras.datasets.reuters.get_label_names()


@pytest.mark.parametrize("name,kwargs", [
    ("boston_housing", dict(test_split=0.25, seed=4)),
    ("california_housing", dict(version="small", test_split=0.1)),
])
def test_housing_matches_keras(origin, monkeypatch, name, kwargs):
    rng = np.random.default_rng(3)
    origin.publish(f"{name}.npz", npz_bytes(x=rng.random((640, 8)), y=rng.random(640)))
    ours = getattr(datasets, name).load_data(**kwargs)
    theirs = _keras_loader(monkeypatch, name,
                           origin.home / "datasets" / f"{name}.npz").load_data(**kwargs)
    _assert_same(ours, theirs)


def test_mnist_matches_keras(origin, monkeypatch):
    rng = np.random.default_rng(4)
    arrays = {k: rng.integers(0, 256, shape, dtype=np.uint8) for k, shape in [
        ("x_train", (3, 28, 28)), ("y_train", (3,)), ("x_test", (2, 28, 28)),
        ("y_test", (2,))]}
    origin.publish("mnist.npz", npz_bytes(**arrays))
    ours = datasets.mnist.load_data()
    theirs = _keras_loader(monkeypatch, "mnist",
                           origin.home / "datasets" / "mnist.npz").load_data()
    _assert_same(ours, theirs)


def test_fashion_mnist_matches_keras(origin, monkeypatch):
    rng = np.random.default_rng(5)
    files = {"train-labels-idx1-ubyte.gz": rng.integers(0, 10, 3, dtype=np.uint8),
             "train-images-idx3-ubyte.gz": rng.integers(0, 256, (3, 28, 28), dtype=np.uint8),
             "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, 2, dtype=np.uint8),
             "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (2, 28, 28), dtype=np.uint8)}
    for name, array in files.items():
        header = bytes((0, 0, 8, array.ndim)) + b"".join(
            d.to_bytes(4, "big") for d in array.shape)
        origin.publish(name, gzip.compress(header + array.tobytes()))
    ours = datasets.fashion_mnist.load_data()
    folder = origin.home / "datasets" / "fashion-mnist"
    module = importlib.import_module("keras.src.datasets.fashion_mnist")
    monkeypatch.setattr(module, "get_file", lambda fname, **kwargs: str(folder / fname))
    _assert_same(ours, module.load_data())


def test_cifar100_matches_keras(origin, monkeypatch):
    rng = np.random.default_rng(6)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for split, n in [("train", 3), ("test", 2)]:
            body = pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                                 b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
                                 b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)]},
                                protocol=3)
            info = tarfile.TarInfo(f"cifar-100-python/{split}")
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    origin.publish("cifar-100-python.tar.gz", buffer.getvalue())
    for label_mode in ("fine", "coarse"):
        ours = datasets.cifar100.load_data(label_mode)
        theirs = _keras_loader(monkeypatch, "cifar100",
                               origin.home / "datasets" / "cifar-100-python-target"
                               ).load_data(label_mode)
        _assert_same(ours, theirs)
