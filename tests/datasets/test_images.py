"""mnist, fashion_mnist, cifar10, cifar100 parsed from small files in the real formats."""

import gzip
import io
import os
import pickle
import tarfile

import numpy as np
import pytest
from dataset_files import npz_bytes

from lamina import backend
from lamina.datasets import cifar10, cifar100, fashion_mnist, mnist

RNG = np.random.default_rng(0)


def _images(n, *shape):
    return RNG.integers(0, 256, (n, *shape), dtype=np.uint8)


def test_mnist_returns_the_npz_arrays(origin):
    arrays = dict(x_train=_images(3, 28, 28), y_train=np.array([5, 0, 4], np.uint8),
                  x_test=_images(2, 28, 28), y_test=np.array([7, 2], np.uint8))
    origin.publish("mnist.npz", npz_bytes(**arrays))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    for got, name in [(x_train, "x_train"), (y_train, "y_train"), (x_test, "x_test"),
                      (y_test, "y_test")]:
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])
    assert origin.hits == ["/data/mnist.npz"]
    assert (origin.home / "datasets" / "mnist.npz").is_file()


def _idx(array):
    header = bytes((0, 0, 0x08, array.ndim)) + b"".join(
        d.to_bytes(4, "big") for d in array.shape)
    return gzip.compress(header + array.tobytes())


def test_fashion_mnist_reads_gzipped_idx_files_into_keras_cache_folder(origin):
    x_train, y_train = _images(4, 28, 28), np.array([9, 0, 0, 3], np.uint8)
    x_test, y_test = _images(2, 28, 28), np.array([1, 2], np.uint8)
    for name, array in [("train-images-idx3-ubyte.gz", x_train),
                        ("train-labels-idx1-ubyte.gz", y_train),
                        ("t10k-images-idx3-ubyte.gz", x_test),
                        ("t10k-labels-idx1-ubyte.gz", y_test)]:
        origin.publish(name, _idx(array))
    (gx, gy), (tx, ty) = fashion_mnist.load_data()
    assert gx.shape == (4, 28, 28) and tx.shape == (2, 28, 28)
    assert gx.dtype == gy.dtype == np.uint8
    np.testing.assert_array_equal(gx, x_train)
    np.testing.assert_array_equal(gy, y_train)
    np.testing.assert_array_equal(tx, x_test)
    np.testing.assert_array_equal(ty, y_test)
    assert (origin.home / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz").is_file()


def test_fashion_mnist_rejects_an_idx_file_whose_header_lies(origin):
    labels = np.array([1, 2], np.uint8)
    bad = gzip.compress(bytes((0, 0, 8, 1)) + (5).to_bytes(4, "big") + labels.tobytes())
    origin.publish("train-labels-idx1-ubyte.gz", bad)
    for name, array in [("train-images-idx3-ubyte.gz", _images(2, 28, 28)),
                        ("t10k-images-idx3-ubyte.gz", _images(2, 28, 28)),
                        ("t10k-labels-idx1-ubyte.gz", labels)]:
        origin.publish(name, _idx(array))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz holds 2 data bytes"):
        fashion_mnist.load_data()


def _pickled_batch(data, **labels):
    # Keys are bytes and the protocol is 2, as in the Python 2 pickles of the real archive.
    batch = {b"batch_label": b"a batch", b"data": data, b"filenames": [b"x.png"] * len(data)}
    batch.update({key.encode(): list(map(int, value)) for key, value in labels.items()})
    return pickle.dumps(batch, protocol=2)


def _tar_gz(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


def _cifar10_archive():
    batches = [_images(2, 3072) for _ in range(6)]
    labels = [RNG.integers(0, 10, 2) for _ in range(6)]
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    members = {f"cifar-10-batches-py/{n}": _pickled_batch(b, labels=y)
               for n, b, y in zip(names, batches, labels)}
    return _tar_gz(members), batches, labels


def test_cifar10_stacks_the_five_batches_channels_last(origin):
    body, batches, labels = _cifar10_archive()
    origin.publish("cifar-10-python.tar.gz", body)
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (2, 32, 32, 3)
    assert y_train.shape == (10, 1) and y_test.shape == (2, 1)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    # A row holds the red plane, then green, then blue, each row-major 32x32.
    row = batches[2][1]
    assert x_train[5, 3, 7, 2] == row[2 * 1024 + 3 * 32 + 7]
    np.testing.assert_array_equal(x_test[0, :, :, 1], batches[5][0][1024:2048].reshape(32, 32))
    np.testing.assert_array_equal(y_train[:, 0], np.concatenate(labels[:5]))
    np.testing.assert_array_equal(y_test[:, 0], labels[5])
    folder = origin.home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    assert (folder / "test_batch").is_file()
    assert (origin.home / "datasets" / "cifar-10-batches-py-target_archive").is_file()


def test_cifar10_channels_first_follows_image_data_format(origin):
    body, batches, _ = _cifar10_archive()
    origin.publish("cifar-10-python.tar.gz", body)
    previous = backend.image_data_format()
    backend.set_image_data_format("channels_first")
    try:
        (x_train, _), (x_test, _) = cifar10.load_data()
    finally:
        backend.set_image_data_format(previous)
    assert x_train.shape == (10, 3, 32, 32) and x_test.shape == (2, 3, 32, 32)
    np.testing.assert_array_equal(x_train[0].reshape(-1), batches[0][0])


@pytest.mark.parametrize("label_mode", ["fine", "coarse"])
def test_cifar100_label_modes(origin, label_mode):
    train, test = _images(3, 3072), _images(2, 3072)
    fine = {"train": [99, 0, 42], "test": [7, 8]}
    coarse = {"train": [19, 0, 3], "test": [1, 2]}
    origin.publish("cifar-100-python.tar.gz", _tar_gz({
        "cifar-100-python/train": _pickled_batch(train, fine_labels=fine["train"],
                                                 coarse_labels=coarse["train"]),
        "cifar-100-python/test": _pickled_batch(test, fine_labels=fine["test"],
                                                coarse_labels=coarse["test"]),
    }))
    (x_train, y_train), (x_test, y_test) = cifar100.load_data(label_mode=label_mode)
    expected = fine if label_mode == "fine" else coarse
    assert x_train.shape == (3, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (3, 1) and y_train.dtype == np.int64
    np.testing.assert_array_equal(y_train[:, 0], expected["train"])
    np.testing.assert_array_equal(y_test[:, 0], expected["test"])
    np.testing.assert_array_equal(x_test[1, :, :, 0], test[1][:1024].reshape(32, 32))
    assert os.path.isdir(origin.home / "datasets" / "cifar-100-python-target")


def test_cifar100_rejects_an_unknown_label_mode():
    with pytest.raises(ValueError, match='`label_mode` must be one of `"fine"`, `"coarse"`'):
        cifar100.load_data(label_mode="medium")
