"""Preprocessing layers on data outside the model, inside `DataLoader` workers: random
layers draw differently in each worker and each epoch (forked workers would otherwise
replay one copied seed state), stay reproducible under `torch.manual_seed`, and the
deterministic layers give in a worker what they give in the main process."""

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from lamina import layers

# 24 images: RandomFlip (flipped or not, one draw per image, as Keras) repeats a whole
# batch by chance with probability 2**-24.
IMAGES = torch.arange(24 * 12 * 12 * 3, dtype=torch.float32).reshape(24, 12, 12, 3) % 251


class Augmented(Dataset):
    def __init__(self, layer, length=4):
        self.layer, self.length = layer, length

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        return self.layer(IMAGES, training=True)


def epochs(layer, count=2, workers=2):
    loader = DataLoader(Augmented(layer), batch_size=None, num_workers=workers,
                        multiprocessing_context="fork")
    return [torch.stack(list(loader)) for _ in range(count)]


def distinct(batches):
    return len({b.numpy().tobytes() for b in batches}) == len(batches)


def make_layers(seed):
    return [
        layers.RandomRotation(0.5, seed=seed),
        layers.RandomFlip("horizontal_and_vertical", seed=seed),
        layers.Pipeline([layers.RandomTranslation(0.3, 0.3, seed=seed),
                         layers.RandomContrast(0.5, seed=seed)]),
        layers.RandAugment(value_range=(0, 255), num_ops=3, seed=seed),
    ]


def test_each_worker_and_epoch_draws_its_own_augmentations():
    for seed in (None, 3):
        for layer in make_layers(seed):
            first, second = epochs(layer)
            # Items 0 and 1 come from different workers; every item differs, and the
            # second epoch's workers do not replay the first's.
            assert distinct(list(first) + list(second)), (type(layer).__name__, seed)


def test_seeded_layers_in_workers_are_reproducible_under_torch_manual_seed():
    torch.manual_seed(11)
    first = epochs(layers.RandomZoom(0.4, seed=5), count=1)[0]
    torch.manual_seed(11)
    again = epochs(layers.RandomZoom(0.4, seed=5), count=1)[0]
    torch.testing.assert_close(first, again, rtol=0, atol=0)


def test_the_main_process_keeps_keras_seeded_draws():
    # Outside workers nothing is reseeded: a seeded layer draws as a fresh twin does.
    ours, twin = layers.RandomRotation(0.5, seed=7), layers.RandomRotation(0.5, seed=7)
    epochs(ours, count=1)  # the workers' reseeding happens in their processes only
    torch.testing.assert_close(ours(IMAGES, training=True), twin(IMAGES, training=True))


def test_deterministic_layers_give_the_same_in_a_worker():
    norm = layers.Normalization()
    norm.adapt(np.random.default_rng(0).normal(size=(32, 3)).astype("float32"))
    text = layers.TextVectorization(output_sequence_length=4)
    text.adapt(["the cat sat", "the dog ran away"])

    class Rows(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, index):
            x = np.full((1, 3), float(index), "float32")
            return norm(x), text(["the dog sat down"]), layers.Resizing(5, 7)(IMAGES)

    got = list(DataLoader(Rows(), batch_size=None, num_workers=2,
                          multiprocessing_context="fork"))
    for index, (x, ids, small) in enumerate(got):
        torch.testing.assert_close(x, norm(np.full((1, 3), float(index), "float32")))
        assert ids.tolist() == text(["the dog sat down"]).tolist()
        torch.testing.assert_close(small, layers.Resizing(5, 7)(IMAGES))
