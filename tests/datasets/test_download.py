"""What every loader gets from `get_file`: caching, checksums, the origin, safe pickle."""

import io
import os
import pickle
import zipfile

import numpy as np
import pytest
from dataset_files import npz_bytes, ragged

from lamina.datasets import _remote, imdb, mnist

MNIST = dict(x_train=np.zeros((1, 28, 28), np.uint8), y_train=np.zeros(1, np.uint8),
             x_test=np.ones((1, 28, 28), np.uint8), y_test=np.ones(1, np.uint8))


def test_second_call_uses_the_cache_without_a_request(origin):
    origin.publish("mnist.npz", npz_bytes(**MNIST))
    mnist.load_data()
    (_, _), (x_test, _) = mnist.load_data()
    assert origin.hits == ["/data/mnist.npz"]
    assert x_test.sum() == 28 * 28


def test_path_names_the_cached_file_but_not_the_remote_one(origin):
    origin.publish("mnist.npz", npz_bytes(**MNIST))
    mnist.load_data(path="my_mnist.npz")
    assert origin.hits == ["/data/mnist.npz"]
    assert sorted(os.listdir(origin.home / "datasets")) == ["my_mnist.npz"]


def test_checksum_mismatch_is_a_clear_error_and_keeps_nothing(origin):
    origin.publish("mnist.npz", npz_bytes(**MNIST), file_hash="0" * 64)
    with pytest.raises(ValueError, match="file hash does not match"):
        mnist.load_data()
    assert os.listdir(origin.home / "datasets") == []


def test_a_corrupted_cached_file_is_downloaded_again(origin):
    body = npz_bytes(**MNIST)
    origin.publish("mnist.npz", body)
    cached = origin.home / "datasets" / "mnist.npz"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(body[:100])
    mnist.load_data()
    assert origin.hits == ["/data/mnist.npz"] and cached.read_bytes() == body


def test_keras_location_and_checksum_are_used_without_the_override(monkeypatch, tmp_path):
    calls = []
    monkeypatch.delenv(_remote.ORIGIN_ENV, raising=False)
    monkeypatch.setattr(_remote, "get_file", lambda **kw: calls.append(kw) or "unused")
    _remote.fetch("imdb.npz", fname="x.npz")
    assert calls == [dict(fname="x.npz", file_hash=_remote.HASHES["imdb.npz"], origin=(
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/imdb.npz"))]
    assert _remote.HASHES["imdb.npz"].startswith("69664113")


class _Gadget:
    def __reduce__(self):
        return (print, ("this must not run",))


def _npz_with_pickled_payload(payload):
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|O", "fortran_order": False, "shape": (1,)})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x_train.npy", header.getvalue() + pickle.dumps(payload))
    return buffer.getvalue()


def test_object_arrays_refuse_any_global_but_numpy(origin, capsys):
    origin.publish("imdb.npz", _npz_with_pickled_payload(_Gadget()))
    with pytest.raises(pickle.UnpicklingError,
                       match=r"Refusing to load `builtins.print` from .*imdb.npz:x_train.npy"):
        imdb.load_data()
    assert "this must not run" not in capsys.readouterr().out


def test_load_npz_reads_ragged_and_numeric_arrays(tmp_path):
    path = tmp_path / "a.npz"
    path.write_bytes(npz_bytes(x=ragged([1], [2, 3]), y=np.arange(2)))
    arrays = _remote.load_npz(path)
    assert [list(s) for s in arrays["x"]] == [[1], [2, 3]]
    np.testing.assert_array_equal(arrays["y"], [0, 1])


def test_an_interrupted_download_resumes_where_it_stopped(origin):
    body = npz_bytes(**MNIST)
    origin.publish("mnist.npz", body, cut_short=True)
    with pytest.raises(ConnectionError, match="closed after"):
        mnist.load_data()
    # Only the partial download is kept, never a half file under the dataset's name.
    assert os.listdir(origin.home / "datasets") == ["mnist.npz.part"]
    (x_train, _), _ = mnist.load_data()
    assert origin.ranges == [None, f"bytes={len(body) // 2}-"]
    assert x_train.shape == (1, 28, 28)
    assert os.listdir(origin.home / "datasets") == ["mnist.npz"]
    assert (origin.home / "datasets" / "mnist.npz").read_bytes() == body


def test_a_highly_compressed_npz_member_is_refused_before_inflating(tmp_path, monkeypatch):
    monkeypatch.setattr(_remote, "_MAX_MEMBER_BYTES", 1000)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x=np.zeros(100_000, np.uint8))
    path = tmp_path / "bomb.npz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ValueError, match=r"Refusing to inflate .*bomb.npz:x.npy"):
        _remote.load_npz(path)


def test_cifar_style_pickles_refuse_other_globals(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _Gadget()}, protocol=2))
    with pytest.raises(pickle.UnpicklingError, match=r"_*builtins?_*\.print` from .*data_batch_1"):
        _remote.load_pickle(path)
