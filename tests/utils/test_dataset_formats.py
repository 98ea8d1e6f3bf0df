"""The dataset utilities' `format="tf"` / `format="grain"` return Keras' datasets: the
same type, batches (values, dtypes, shuffled order) and `class_names`/`file_paths` as
Keras 3 with TensorFlow and Grain installed (the oracle), and `fit` reads them."""

import numpy as np
import pytest
import tensorflow as tf
import torch
from PIL import Image

import lamina

keras = pytest.importorskip("keras")

CLASSES = ("cat", "dog", "eel")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Class folders of small PNGs of several sizes, and of text files with CRLF and
    non-ASCII text."""
    root = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(0)
    for c in CLASSES:
        (root / "img" / c).mkdir(parents=True)
        (root / "txt" / c).mkdir(parents=True)
        for i in range(5):
            shape = (int(rng.integers(6, 14)), int(rng.integers(6, 14)), 3)
            Image.fromarray(rng.integers(0, 255, shape, dtype=np.uint8)).save(
                root / "img" / c / f"{i}.png")
            (root / "txt" / c / f"{i}.txt").write_bytes(
                f"{c} number {i}\r\nline two \u00e9 ".encode() * (i + 1))
    return root


def as_numpy(value):
    if isinstance(value, (torch.Tensor, tf.Tensor)):
        return np.asarray(value.numpy())  # a scalar tf.string reads as bytes
    return np.asarray(value)


def assert_same_batches(ours, theirs):
    assert type(ours) is type(theirs)
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs) > 0
    for a, b in zip(ours, theirs):
        a, b = (a, b) if isinstance(a, tuple) and not isinstance(a[0], str) else ((a,), (b,))
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert type(x) is type(y)
            x, y = as_numpy(x), as_numpy(y)
            assert x.dtype == y.dtype and x.shape == y.shape
            if x.dtype.kind in "OSU":
                np.testing.assert_array_equal(x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-4)


IMAGE_CASES = [
    dict(),
    dict(label_mode="categorical", crop_to_aspect_ratio=True, image_size=(8, 12)),
    dict(label_mode=None, pad_to_aspect_ratio=True, image_size=(10, 6),
         color_mode="grayscale", interpolation="nearest"),
    dict(validation_split=0.3, subset="training", image_size=(5, 5), batch_size=4),
]


@pytest.mark.parametrize("format", ["tf", "grain"])
@pytest.mark.parametrize("kwargs", IMAGE_CASES, ids=lambda kw: ",".join(kw) or "defaults")
def test_image_dataset_formats_match_keras(root, format, kwargs):
    kwargs = {"image_size": (8, 8), "seed": 1, "verbose": False, **kwargs}
    ours = lamina.utils.image_dataset_from_directory(root / "img", format=format, **kwargs)
    theirs = keras.utils.image_dataset_from_directory(root / "img", format=format, **kwargs)
    assert_same_batches(ours, theirs)
    assert ours.class_names == theirs.class_names
    assert ours.file_paths == theirs.file_paths


@pytest.mark.parametrize("format", ["tf", "grain"])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(max_length=7, label_mode="binary", class_names=["cat", "dog"]),
    dict(validation_split=0.5, subset="validation", batch_size=None),
], ids=lambda kw: ",".join(kw) or "defaults")
def test_text_dataset_formats_match_keras(root, format, kwargs):
    kwargs = {"seed": 1, "verbose": False, **kwargs}
    ours = lamina.utils.text_dataset_from_directory(root / "txt", format=format, **kwargs)
    theirs = keras.utils.text_dataset_from_directory(root / "txt", format=format, **kwargs)
    assert_same_batches(ours, theirs)
    assert ours.class_names == theirs.class_names


@pytest.mark.parametrize("format", ["tf", "grain"])
@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(shuffle=True, seed=5, batch_size=4, sampling_rate=2, sequence_stride=3),
    dict(start_index=3, end_index=40, batch_size=None),
], ids=lambda kw: ",".join(kw) or "defaults")
def test_timeseries_formats_match_keras(format, kwargs):
    data, targets = np.arange(100, dtype="float64").reshape(50, 2), np.arange(50)
    ours = lamina.utils.timeseries_dataset_from_array(data, targets, 4, format=format,
                                                      **kwargs)
    theirs = keras.utils.timeseries_dataset_from_array(data, targets, 4, format=format,
                                                       **kwargs)
    assert_same_batches(ours, theirs)


X = np.arange(20, dtype="float32").reshape(10, 2)
Y = np.arange(10)


@pytest.mark.parametrize("make, kwargs", [
    (lambda: tf.data.Dataset.from_tensor_slices((X, Y)), dict(left_size=0.6)),
    (lambda: tf.data.Dataset.from_tensor_slices({"a": X, "b": Y}).batch(3),
     dict(left_size=4, shuffle=True, seed=3)),
    (lambda: (X, Y), dict(preferred_backend="tensorflow", left_size=0.6, shuffle=True,
                          seed=7)),
    (lambda: X, dict(preferred_backend="tensorflow", right_size=0.3)),
], ids=["tf", "tf-batched-shuffled", "arrays-to-tf", "array-to-tf"])
def test_split_dataset_into_tf_datasets_matches_keras(make, kwargs):
    ours = lamina.utils.split_dataset(make(), **kwargs)
    theirs = keras.utils.split_dataset(make(), **kwargs)
    for a, b in zip(ours, theirs):
        assert isinstance(a, tf.data.Dataset)
        a, b = list(a.as_numpy_iterator()), list(b.as_numpy_iterator())
        assert len(a) == len(b) > 0
        for x, y in zip(a, b):
            tf.nest.map_structure(np.testing.assert_array_equal, x, y)


@pytest.mark.parametrize("format", ["tf", "grain"])
def test_fit_reads_the_formatted_datasets(root, format):
    images = lamina.utils.image_dataset_from_directory(
        root / "img", image_size=(6, 6), batch_size=4, format=format, verbose=False)
    model = lamina.Sequential([lamina.Input((6, 6, 3)), lamina.layers.Flatten(),
                               lamina.layers.Dense(3)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    assert np.isfinite(model.fit(images, epochs=1, verbose=0).history["loss"][0])
    texts = lamina.utils.text_dataset_from_directory(root / "txt", batch_size=4,
                                                     format=format, verbose=False)
    vectorize = lamina.layers.TextVectorization(max_tokens=12, output_sequence_length=4)
    vectorize.adapt(["cat dog eel number line two"])
    model = lamina.Sequential([vectorize, lamina.layers.Embedding(12, 2),
                               lamina.layers.GlobalAveragePooling1D(), lamina.layers.Dense(3)])
    model.compile("sgd", "sparse_categorical_crossentropy")
    assert np.isfinite(model.fit(texts, epochs=1, verbose=0).history["loss"][0])
    assert model.predict(texts, verbose=0).shape == (15, 3)
