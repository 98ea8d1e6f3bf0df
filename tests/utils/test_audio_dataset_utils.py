"""`audio_dataset_from_directory` against Keras' documented semantics (Keras needs
TensorFlow for it): `tf.audio.decode_wav` scaling, padding, Keras' file order."""

import os
import wave

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import lamina
from lamina.utils import audio_dataset_from_directory

RNG = np.random.default_rng(1)


def _write_wav(path, samples):
    samples = np.asarray(samples, "<i2")
    with wave.open(str(path), "wb") as f:
        f.setnchannels(samples.shape[1])
        f.setsampwidth(2)
        f.setframerate(8000)
        f.writeframes(samples.tobytes())


@pytest.fixture
def audio_dir(tmp_path):
    clips = {}
    for cls, lengths in (("no", (5, 9, 3)), ("yes", (7, 4))):
        (tmp_path / cls).mkdir()
        for i, n in enumerate(lengths):
            path = tmp_path / cls / f"{i}.wav"
            clip = RNG.integers(-32768, 32768, (n, 2))
            _write_wav(path, clip)
            clips[str(path)] = clip.astype("float32") / 32768.0
    (tmp_path / "yes" / "readme.txt").write_text("skip me")
    return tmp_path, clips


def _keras_order(root, seed):
    paths = [os.path.join(root, c, f) for c in ("no", "yes")
             for f in sorted(os.listdir(os.path.join(root, c))) if f.endswith(".wav")]
    labels = np.array([0, 0, 0, 1, 1], "int32")
    np.random.RandomState(seed).shuffle(paths)
    np.random.RandomState(seed).shuffle(labels)
    return paths, labels


def test_batches_are_padded_to_the_longest_clip(audio_dir):
    root, clips = audio_dir
    ds = audio_dataset_from_directory(root, batch_size=2, seed=3, verbose=False)
    paths, labels = _keras_order(str(root), 3)
    assert ds.file_paths == paths and ds.class_names == ["no", "yes"]
    seen = []
    for x, y in ds:
        longest = max(len(clips[p]) for p in paths[len(seen):len(seen) + len(y)])
        assert x.dtype == torch.float32 and tuple(x.shape[1:]) == (longest, 2)
        for clip, label in zip(x, y):
            path = paths[len(seen)]
            n = len(clips[path])
            np.testing.assert_array_equal(clip[:n].numpy(), clips[path])
            assert not clip[n:].any() and int(label) == labels[len(seen)]
            seen.append(path)
    assert seen == paths


def test_output_sequence_length_cuts_and_pads(audio_dir):
    root, clips = audio_dir
    ds = audio_dataset_from_directory(root, output_sequence_length=6, shuffle=False,
                                      label_mode=None, verbose=False)
    batch = ds[0]
    assert tuple(batch.shape) == (5, 6, 2)
    for clip, path in zip(batch, ds.file_paths):
        expected = np.zeros((6, 2), "float32")
        expected[:min(6, len(clips[path]))] = clips[path][:6]
        np.testing.assert_array_equal(clip.numpy(), expected)


def test_ragged_split_and_fit(audio_dir):
    root, _ = audio_dir
    ragged = audio_dataset_from_directory(root, ragged=True, shuffle=False, verbose=False)
    clips, _ = ragged[0]
    assert [len(c) for c in clips] == [5, 9, 3, 7, 4]
    train, val = audio_dataset_from_directory(root, validation_split=0.4, subset="both",
                                              seed=2, verbose=False)
    assert len(train.file_paths) == 3 and len(val.file_paths) == 2
    ds = audio_dataset_from_directory(root, output_sequence_length=8, batch_size=2, seed=0,
                                      label_mode="categorical", verbose=False)
    assert [tuple(y.shape) for _, y in DataLoader(ds, batch_size=None)] == [(2, 2)] * 2 + [
        (1, 2)]
    model = lamina.Sequential([lamina.Input((8, 2)), lamina.layers.Flatten(),
                               lamina.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    assert len(model.fit(ds, epochs=1, verbose=0).history["loss"]) == 1


def test_bad_arguments_and_files(audio_dir, tmp_path):
    root, _ = audio_dir
    with pytest.raises(ValueError, match="Cannot set both `ragged` and"):
        audio_dataset_from_directory(root, ragged=True, output_sequence_length=3)
    with pytest.raises(NotImplementedError, match="resampling"):
        audio_dataset_from_directory(root, sampling_rate=16000)
    with pytest.raises(ValueError, match="should have an integer value"):
        audio_dataset_from_directory(root, sampling_rate=1.5)
    (root / "no" / "broken.wav").write_bytes(b"RIFF....nope")
    ds = audio_dataset_from_directory(root, shuffle=False, batch_size=1, verbose=False)
    with pytest.raises(ValueError, match="broken.wav"):
        list(ds)



def _keras_and_ours(root, kwargs):
    # The oracle: Keras 3's own audio_dataset_from_directory (a tf.data pipeline).
    keras = pytest.importorskip("keras")
    pytest.importorskip("tensorflow")
    theirs = keras.utils.audio_dataset_from_directory(str(root), verbose=False, **kwargs)
    ours = audio_dataset_from_directory(root, verbose=False, **kwargs)
    assert ours.class_names == theirs.class_names
    return list(ours), [(x.numpy(), y.numpy()) for x, y in theirs]


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 2},
    {"batch_size": 3, "output_sequence_length": 6, "label_mode": "categorical"},
    {"batch_size": 4, "validation_split": 0.4, "subset": "training", "seed": 3,
     "label_mode": "binary"},
])
def test_unshuffled_batches_equal_keras_on_tensorflow(audio_dir, kwargs):
    got, want = _keras_and_ours(audio_dir[0], {"shuffle": False, **kwargs})
    assert len(got) == len(want)
    for (x, y), (x_want, y_want) in zip(got, want):
        np.testing.assert_array_equal(np.asarray(x), x_want)
        np.testing.assert_array_equal(np.asarray(y), y_want)


def test_shuffled_batches_hold_keras_clips_and_labels(audio_dir):
    # Keras shuffles with tf.data's own generator, which lamina does not reproduce (use
    # image/text `format="tf"` for Keras' order); the clips and labels are the same.
    got, want = _keras_and_ours(audio_dir[0], {"shuffle": True, "seed": 7, "batch_size": 2,
                                               "output_sequence_length": 8})

    def rows(batches):
        return sorted((np.asarray(x[i]).tobytes(), int(y[i]))
                      for x, y in batches for i in range(len(y)))

    assert rows(got) == rows(want)
