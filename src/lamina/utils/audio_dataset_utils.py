"""`audio_dataset_from_directory`: a folder of class folders of `.wav` files, as batches."""

import wave

import numpy as np
import torch

from lamina.utils import dataset_utils
from lamina.utils.dataset_utils import BatchDataset


class AudioDataset(BatchDataset):
    """Batches `audio` or `(audio, labels)`: float32 `(batch, samples, channels)` in
    [-1, 1), zero-padded to the longest clip of the batch (or cut/padded to
    `output_sequence_length`); with `ragged=True`, a list of `(samples, channels)`.

    Attributes:
        class_names: the class names (label `i` is `class_names[i]`), or None.
        file_paths: the audio files, in the dataset's first-epoch order.
    """

    def __init__(self, file_paths, labels, class_names, label_mode, output_sequence_length,
                 ragged, batch_size, shuffle, seed):
        super().__init__(len(file_paths), batch_size=batch_size, shuffle=shuffle, seed=seed)
        self.file_paths = list(file_paths)
        self.class_names = class_names
        self._labels = None if labels is None else dataset_utils.labels_tensor(
            labels, label_mode, len(class_names) if class_names else 0)
        self._length = output_sequence_length
        self._ragged = ragged

    def _load(self, indices):
        clips = [torch.from_numpy(decode_wav(self.file_paths[i], self._length))
                 for i in indices]
        if not self._ragged:
            clips = torch.nn.utils.rnn.pad_sequence(clips, batch_first=True)
        if self._labels is None:
            return clips
        return clips, self._labels[torch.as_tensor(indices)]

    def _load_one(self, index):
        clip = torch.from_numpy(decode_wav(self.file_paths[index], self._length))
        if self._labels is None:
            return clip
        return clip, self._labels[index]


def decode_wav(path, length=None):
    """A 16-bit PCM WAV file as float32 `(samples, channels)` in [-1, 1), as
    `tf.audio.decode_wav`; `length` cuts or zero-pads it to that many samples."""
    try:
        with wave.open(path, "rb") as f:
            width, channels = f.getsampwidth(), f.getnchannels()
            frames = f.readframes(f.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise ValueError(f"Could not decode the audio file {path!r}: {e}") from e
    if width != 2:
        raise ValueError(f"Could not decode the audio file {path!r}: only 16-bit PCM WAV is "
                         f"supported, this one has {8 * width}-bit samples.")
    audio = np.frombuffer(frames, "<i2").reshape(-1, channels).astype("float32") / 32768.0
    if length is not None:
        audio = audio[:length]
        if len(audio) < length:
            audio = np.concatenate([audio, np.zeros((length - len(audio), channels),
                                                    "float32")])
    return audio


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                 class_names=None, batch_size=32, sampling_rate=None,
                                 output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None,
                                 follow_links=False, verbose=True):
    """Batches of audio clips (and labels) from the `.wav` files under `directory`.

    Arguments, file order and labels as `image_dataset_from_directory`.
    `output_sequence_length` cuts or zero-pads every clip to that many samples;
    `ragged=True` keeps each clip's length. Resampling (`sampling_rate`) needs
    tensorflow-io in Keras and is not available here.

    Returns:
        An `AudioDataset` (for `fit` and `DataLoader(ds, batch_size=None)`), with
        `class_names` and `file_paths`; `(training, validation)` for `subset="both"`.
    """
    dataset_utils.check_labels_arg(labels, label_mode, class_names)
    if ragged and output_sequence_length is not None:
        raise ValueError("Cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError("`sampling_rate` should have an integer value. "
                             f"Received: sampling_rate={sampling_rate}")
        if sampling_rate <= 0:
            raise ValueError("`sampling_rate` should be higher than 0. "
                             f"Received: sampling_rate={sampling_rate}")
        raise NotImplementedError("`sampling_rate` (resampling) is not available in lamina; "
                                  "leave it None to keep each file's rate.")
    if labels is None or label_mode is None:
        labels = label_mode = None

    def build(paths, part_labels, names, shuffled, seed):
        return AudioDataset(paths, part_labels, names, label_mode, output_sequence_length,
                            ragged, batch_size, shuffled, seed)

    result = dataset_utils.directory_datasets(
        build, directory, labels, label_mode, class_names, (".wav",), "audio files", shuffle,
        seed, validation_split, subset, follow_links, verbose)
    return tuple(result) if subset == "both" else result  # Keras: a tuple here, not a list
