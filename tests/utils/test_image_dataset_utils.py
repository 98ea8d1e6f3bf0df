"""Image utilities and `image_dataset_from_directory` / `text_dataset_from_directory`.

`load_img`, `img_to_array`, `array_to_img`, `save_img` and `smart_resize` run in Keras 3
on torch (Pillow only): Keras is the oracle. The directory datasets need TensorFlow in
Keras, so they are checked against Keras' documented semantics: file order from
`np.random.RandomState(seed)`, labels, the validation split, and Keras' torch-backend
`ops.image.resize` for the pixels.
"""

import os

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import lamina
from lamina.utils import (
    array_to_img,
    image_dataset_from_directory,
    image_utils,
    img_to_array,
    load_img,
    save_img,
    text_dataset_from_directory,
)

PIL = pytest.importorskip("PIL.Image")
RNG = np.random.default_rng(0)


def _write_images(root, spec):
    """`spec`: class -> list of (name, (h, w), mode). Returns {path: uint8 array}."""
    written = {}
    for cls, files in spec.items():
        folder = os.path.join(root, cls) if cls else root
        os.makedirs(folder, exist_ok=True)
        for name, (h, w), mode in files:
            channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
            array = RNG.integers(0, 256, (h, w, channels), dtype=np.uint8)
            image = PIL.fromarray(array[:, :, 0] if channels == 1 else array, mode)
            path = os.path.join(folder, name)
            image.save(path)
            written[path] = array
    return written


@pytest.fixture
def image_dir(tmp_path):
    spec = {
        "cats": [(f"c{i}.png", (8 + i, 10), "RGB") for i in range(5)],
        "dogs": [(f"d{i}.png", (12, 6 + i), "RGBA") for i in range(4)]
                + [("notes.txt", (1, 1), "L")],
        "zebras": [("z0.png", (5, 5), "L"), ("z1.bmp", (7, 9), "RGB")],
    }
    written = _write_images(str(tmp_path), {k: [f for f in v if f[0].endswith(("png", "bmp"))]
                                            for k, v in spec.items()})
    (tmp_path / "dogs" / "notes.txt").write_text("not an image")
    (tmp_path / ".hidden").mkdir()
    return tmp_path, written


def keras_order(root, class_names, formats, seed, shuffle=True):
    """Keras' index: sorted class folders, sorted files, then RandomState(seed) shuffles."""
    paths, labels = [], []
    for i, cls in enumerate(class_names):
        for name in sorted(os.listdir(os.path.join(root, cls))):
            if name.lower().endswith(formats):
                paths.append(os.path.join(root, cls, name))
                labels.append(i)
    labels = np.array(labels, dtype="int32")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        np.random.RandomState(seed).shuffle(labels)
    return paths, labels


def keras_pixels(array, size, interpolation="bilinear", **kwargs):
    keras = pytest.importorskip("keras")
    out = keras.ops.image.resize(np.asarray(array, "float32"), size,
                                 interpolation=interpolation, **kwargs)
    return keras.ops.convert_to_numpy(out)


def _rgb(array):
    if array.shape[-1] == 1:
        return np.asarray(PIL.fromarray(array[:, :, 0], "L").convert("RGB"))
    return array[:, :, :3]


IMAGE_FORMATS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


@pytest.mark.parametrize("shuffle", [False, True])
def test_image_dataset_batches_follow_keras(image_dir, shuffle):
    root, written = image_dir
    ds = image_dataset_from_directory(root, batch_size=4, image_size=(6, 7), seed=5,
                                      shuffle=shuffle, verbose=False)
    paths, labels = keras_order(str(root), ["cats", "dogs", "zebras"], IMAGE_FORMATS, 5,
                                shuffle)
    assert ds.class_names == ["cats", "dogs", "zebras"]
    assert ds.file_paths == paths
    assert len(ds) == 3
    images = torch.cat([x for x, _ in ds])
    got_labels = torch.cat([y for _, y in ds])
    assert images.dtype == torch.float32 and tuple(images.shape) == (11, 6, 7, 3)
    assert got_labels.dtype == torch.int32 and got_labels.tolist() == labels.tolist()
    for image, path in zip(images, paths):
        np.testing.assert_allclose(image.numpy(), keras_pixels(_rgb(written[path]), (6, 7)),
                                   atol=1e-4)


@pytest.mark.parametrize("kwargs", [
    dict(interpolation="nearest"), dict(interpolation="bicubic"),
    dict(crop_to_aspect_ratio=True), dict(pad_to_aspect_ratio=True),
])
def test_image_dataset_resize_options_follow_keras_resize(image_dir, kwargs):
    root, written = image_dir
    ds = image_dataset_from_directory(root, batch_size=None, image_size=(5, 9),
                                      shuffle=False, labels=None, verbose=False, **kwargs)
    for i, path in enumerate(ds.file_paths):
        image = ds[i]
        expected = keras_pixels(_rgb(written[path]), (5, 9), **kwargs)
        np.testing.assert_allclose(np.asarray(image, "float32"), expected, atol=1e-3)


@pytest.mark.parametrize("color_mode, channels", [("grayscale", 1), ("rgba", 4), ("rgb", 3)])
def test_color_modes_and_channels_first(image_dir, color_mode, channels):
    root, _ = image_dir
    ds = image_dataset_from_directory(root, color_mode=color_mode, image_size=4,
                                      shuffle=False, verbose=False, label_mode=None)
    assert tuple(ds[0].shape) == (11, 4, 4, channels)
    first = image_dataset_from_directory(root, color_mode=color_mode, image_size=4,
                                         shuffle=False, verbose=False, label_mode=None,
                                         data_format="channels_first")
    torch.testing.assert_close(first[0], ds[0].permute(0, 3, 1, 2))


def test_label_modes_and_explicit_labels(image_dir):
    root, _ = image_dir
    cat = image_dataset_from_directory(root, label_mode="categorical", shuffle=False,
                                       image_size=3, verbose=False, batch_size=32)
    _, y = cat[0]
    assert y.dtype == torch.float32 and tuple(y.shape) == (11, 3)
    assert y.argmax(-1).tolist() == [0] * 5 + [1] * 4 + [2] * 2
    two = image_dataset_from_directory(root, label_mode="binary", shuffle=False, image_size=3,
                                       class_names=["zebras", "cats"], verbose=False)
    _, y = two[0]
    assert two.class_names == ["zebras", "cats"]
    assert tuple(y.shape) == (7, 1) and y[:, 0].tolist() == [0.0, 0.0] + [1.0] * 5
    with pytest.raises(ValueError, match="exactly 2"):
        image_dataset_from_directory(root, label_mode="binary", verbose=False)
    nested = root / "flat"
    _write_images(str(nested), {"": [("a.png", (3, 3), "RGB"), ("b.png", (3, 3), "RGB")]})
    ds = image_dataset_from_directory(nested, labels=[7, 3], shuffle=False, image_size=3,
                                      verbose=False)
    assert ds.class_names == ["3", "7"] and ds[0][1].tolist() == [7, 3]


def test_validation_split_subsets(image_dir):
    root, _ = image_dir
    paths, _ = keras_order(str(root), ["cats", "dogs", "zebras"], IMAGE_FORMATS, 9)
    train, val = image_dataset_from_directory(root, validation_split=0.3, subset="both",
                                              seed=9, image_size=3, verbose=False)
    assert train.file_paths == paths[:-3] and val.file_paths == paths[-3:]
    assert val.shuffle is False and train.class_names == val.class_names
    only_val = image_dataset_from_directory(root, validation_split=0.3, subset="validation",
                                            seed=9, image_size=3, verbose=False)
    assert only_val.file_paths == paths[-3:]
    with pytest.raises(ValueError, match="must provide a `seed`"):
        image_dataset_from_directory(root, validation_split=0.3, subset="training")
    with pytest.raises(ValueError, match="`subset` is set, `validation_split` must be set"):
        image_dataset_from_directory(root, subset="training", seed=1)


def test_feeds_fit_and_dataloader(image_dir):
    root, _ = image_dir
    ds = image_dataset_from_directory(root, image_size=(4, 4), batch_size=4, seed=1,
                                      verbose=False)
    loader_batches = list(DataLoader(ds, batch_size=None))
    assert [tuple(x.shape) for x, _ in loader_batches] == [(4, 4, 4, 3)] * 2 + [(3, 4, 4, 3)]
    model = lamina.Sequential([lamina.Input((4, 4, 3)), lamina.layers.Rescaling(1 / 255),
                               lamina.layers.Flatten(), lamina.layers.Dense(3)])
    model.compile("adam", lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(ds, verbose=0).shape == (11, 3)


def test_bad_directories_and_files_are_named(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No class folders found in directory"):
        image_dataset_from_directory(tmp_path / "empty", verbose=False)
    with pytest.raises(ValueError, match="Directory not found"):
        image_dataset_from_directory(tmp_path / "missing", verbose=False)
    (tmp_path / "classes" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="No images found in directory"):
        image_dataset_from_directory(tmp_path / "classes", verbose=False)
    (tmp_path / "classes" / "a" / "broken.png").write_bytes(b"not a png")
    ds = image_dataset_from_directory(tmp_path / "classes", verbose=False)
    with pytest.raises(ValueError, match="broken.png"):
        ds[0]
    with pytest.raises(ValueError, match="`class_names` passed did not match"):
        image_dataset_from_directory(tmp_path / "classes", class_names=["b"], verbose=False)
    with pytest.raises(ValueError, match="`color_mode` must be one of"):
        image_dataset_from_directory(tmp_path / "classes", color_mode="cmyk")
    with pytest.raises(ValueError, match="`label_mode` argument must be one of"):
        image_dataset_from_directory(tmp_path / "classes", label_mode="onehot")


def test_missing_pillow_is_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setattr(image_utils, "_pil_image", None)
    with pytest.raises(ImportError, match="pip install pillow"):
        load_img(tmp_path / "x.png")
    with pytest.raises(ImportError, match="pip install pillow"):
        image_dataset_from_directory(tmp_path)


# --- image utilities: Keras is the oracle -------------------------------------------------


@pytest.fixture
def K():
    keras = pytest.importorskip("keras")
    return keras


@pytest.mark.parametrize("kwargs", [
    dict(), dict(color_mode="grayscale"), dict(color_mode="rgba"),
    dict(target_size=(5, 3)), dict(target_size=(4, 9), interpolation="bilinear"),
    dict(target_size=(4, 4), keep_aspect_ratio=True, interpolation="bicubic"),
])
def test_load_img_and_img_to_array_match_keras(K, tmp_path, kwargs):
    path = str(tmp_path / "a.png")
    PIL.fromarray(RNG.integers(0, 256, (7, 11, 3), dtype=np.uint8)).save(path)
    ours, theirs = load_img(path, **kwargs), K.utils.load_img(path, **kwargs)
    assert (ours.mode, ours.size) == (theirs.mode, theirs.size)
    for fmt in ("channels_last", "channels_first"):
        np.testing.assert_array_equal(img_to_array(ours, fmt), K.utils.img_to_array(theirs,
                                                                                     fmt))


@pytest.mark.parametrize("shape, scale", [((4, 5, 3), True), ((4, 5, 4), False),
                                          ((4, 5, 1), True), ((4, 5, 1), False)])
def test_array_to_img_and_save_img_match_keras(K, tmp_path, shape, scale):
    x = RNG.uniform(0, 250 if not scale else 2, shape).astype("float32")
    ours, theirs = array_to_img(x, scale=scale), K.utils.array_to_img(x, scale=scale)
    assert ours.mode == theirs.mode
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
    save_img(tmp_path / "ours.png", x, scale=scale)
    K.utils.save_img(tmp_path / "keras.png", x, scale=scale)
    assert ((tmp_path / "ours.png").read_bytes() == (tmp_path / "keras.png").read_bytes())


def test_array_to_img_keeps_wide_grayscale_as_int32(K):
    x = RNG.uniform(0, 1000, (3, 4, 1)).astype("float32")
    ours, theirs = array_to_img(x, scale=False), K.utils.array_to_img(x, scale=False)
    assert ours.mode == theirs.mode == "I"
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_area_interpolation_averages_boxes(tmp_path):
    array = RNG.integers(0, 256, (4, 6, 3), dtype=np.uint8)
    PIL.fromarray(array).save(tmp_path / "a.png")
    ds = image_dataset_from_directory(tmp_path, labels=None, image_size=(2, 3),
                                      interpolation="area", batch_size=None, verbose=False)
    expected = array.astype("float32").reshape(2, 2, 3, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(np.asarray(ds[0]), expected, rtol=1e-5)


def test_smart_resize_matches_keras(K):
    x = RNG.uniform(0, 255, (2, 9, 14, 3)).astype("float32")
    ours = lamina.preprocessing.image.smart_resize(x, (6, 6))
    theirs = K.ops.convert_to_numpy(K.preprocessing.image.smart_resize(x, (6, 6)))
    np.testing.assert_allclose(np.asarray(ours), theirs, atol=1e-4)


def test_image_utils_errors():
    with pytest.raises(ValueError, match="rank 3"):
        array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unsupported channel number"):
        array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="path-like or io.BytesIO"):
        load_img(3)
    with pytest.raises(ValueError, match="Unsupported image shape"):
        img_to_array(np.zeros((2,)))


# --- text ----------------------------------------------------------------------------


@pytest.fixture
def text_dir(tmp_path):
    texts = {}
    for cls, n in (("neg", 3), ("pos", 4)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            path = tmp_path / cls / f"{i}.txt"
            path.write_text(f"{cls} review number {i} é")
            texts[str(path)] = path.read_text()
    (tmp_path / "pos" / "skip.md").write_text("not a text file")
    return tmp_path, texts


def test_text_dataset_follows_keras(text_dir):
    root, texts = text_dir
    ds = text_dataset_from_directory(root, batch_size=3, seed=4, verbose=False)
    paths, labels = keras_order(str(root), ["neg", "pos"], (".txt",), 4)
    assert ds.file_paths == paths and ds.class_names == ["neg", "pos"]
    got = [(list(x), y.tolist()) for x, y in ds]
    assert [t for x, _ in got for t in x] == [texts[p] for p in paths]
    assert [v for _, y in got for v in y] == labels.tolist()
    short = text_dataset_from_directory(root, max_length=5, shuffle=False, verbose=False,
                                        label_mode=None)
    assert list(short[0])[:2] == ["neg r", "neg r"]
    train, val = text_dataset_from_directory(root, validation_split=0.5, subset="both",
                                             seed=4, verbose=False)
    assert train.file_paths + val.file_paths == paths and len(val.file_paths) == 3


def test_text_dataset_feeds_a_dataloader(text_dir):
    root, _ = text_dir
    ds = text_dataset_from_directory(root, batch_size=4, label_mode="categorical",
                                     shuffle=False, verbose=False)
    batches = list(DataLoader(ds, batch_size=None))
    assert [len(x) for x, _ in batches] == [4, 3]
    assert batches[0][1].shape == (4, 2)


def test_text_dataset_empty_directory(tmp_path):
    (tmp_path / "a").mkdir()
    with pytest.raises(ValueError, match="No text files found"):
        text_dataset_from_directory(tmp_path, verbose=False)
