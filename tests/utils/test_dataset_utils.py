"""`timeseries_dataset_from_array` and `split_dataset`.

Keras 3 on torch builds the timeseries dataset with tf.data (TensorFlow is not
installed here), so its batches are checked against a numpy reference of Keras'
documented semantics; `split_dataset` runs on torch in Keras and is the oracle itself.
"""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import lamina
from lamina.utils import dataset_utils, split_dataset, timeseries_dataset_from_array


def reference_windows(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                      batch_size=128, start_index=None, end_index=None, order=None):
    """Keras' documented windows: start `s` gives `data[start_index + s + i*rate]`."""
    start_index = start_index or 0
    end_index = len(data) if end_index is None else end_index
    num = end_index - start_index - (sequence_length - 1) * sampling_rate
    if targets is not None:
        num = min(num, len(targets))
    starts = np.arange(0, num, sequence_stride) if order is None else order
    windows = [data[start_index + s + np.arange(sequence_length) * sampling_rate]
               for s in starts]
    ys = [targets[start_index + s] for s in starts] if targets is not None else None
    step = batch_size or 1
    batches = []
    for i in range(0, len(starts), step):
        x = np.stack(windows[i:i + step])
        y = None if ys is None else np.stack(ys[i:i + step])
        if batch_size is None:
            x, y = x[0], None if y is None else y[0]
        batches.append(x if y is None else (x, y))
    return batches


def assert_batches(actual, expected):
    actual = list(actual)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        if isinstance(e, tuple):
            assert isinstance(a, (tuple, list)) and len(a) == 2
            for a_part, e_part in zip(a, e):
                np.testing.assert_array_equal(np.asarray(a_part), e_part)
        else:
            np.testing.assert_array_equal(np.asarray(a), e)


DATA = np.arange(100, dtype="float32").reshape(50, 2)
TARGETS = np.arange(50, dtype="int64") * 10


@pytest.mark.parametrize("kwargs", [
    dict(sequence_length=5),
    dict(sequence_length=5, batch_size=7),
    dict(sequence_length=4, sequence_stride=3, sampling_rate=2, batch_size=4),
    dict(sequence_length=3, start_index=10, end_index=40, batch_size=5),
    dict(sequence_length=3, sampling_rate=3, start_index=4, batch_size=None),
    dict(sequence_length=50, batch_size=2),
])
@pytest.mark.parametrize("with_targets", [True, False])
def test_timeseries_batches_match_keras_semantics(kwargs, with_targets):
    targets = TARGETS if with_targets else None
    ds = timeseries_dataset_from_array(DATA, targets, **kwargs)
    assert_batches(ds, reference_windows(DATA, targets, **kwargs))


def test_timeseries_targets_shorter_than_data_limit_the_windows():
    ds = timeseries_dataset_from_array(DATA, TARGETS[:7], sequence_length=3, batch_size=4)
    x, y = ds[1]
    assert ds.num_samples == 7
    assert y.tolist() == [40, 50, 60]


def test_timeseries_shuffle_uses_keras_start_order_and_reshuffles_each_epoch():
    ds = timeseries_dataset_from_array(DATA, TARGETS, sequence_length=4, batch_size=8,
                                       shuffle=True, seed=3)
    order = np.arange(47)
    np.random.RandomState(3).shuffle(order)  # Keras' permutation of the start positions
    assert_batches(ds, reference_windows(DATA, TARGETS, 4, batch_size=8, order=order))
    first = torch.cat([y for _, y in ds])
    ds.on_epoch_end()
    second = torch.cat([y for _, y in ds])
    assert not torch.equal(first, second)
    assert sorted(first.tolist()) == sorted(second.tolist())


def test_timeseries_dataset_feeds_fit_and_dataloader():
    ds = timeseries_dataset_from_array(DATA, TARGETS.astype("float32"), sequence_length=5,
                                       batch_size=16)
    loader = DataLoader(ds, batch_size=None)
    assert_batches(loader, reference_windows(DATA, TARGETS.astype("float32"), 5,
                                             batch_size=16))
    model = lamina.Sequential([lamina.Input((5, 2)), lamina.layers.Flatten(),
                               lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2
    assert model.predict(loader, verbose=0).shape == (46, 1)


@pytest.mark.parametrize("kwargs, message", [
    (dict(start_index=-1), "`start_index` must be 0 or greater"),
    (dict(start_index=60), "`start_index` must be lower than the length"),
    (dict(start_index=10, end_index=5), "`end_index` must be higher than `start_index`"),
    (dict(end_index=50), "`end_index` must be lower than the length"),
    (dict(sampling_rate=0), "`sampling_rate` must be higher than 0"),
    (dict(sequence_stride=50), "`sequence_stride` must be lower than the length"),
])
def test_timeseries_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timeseries_dataset_from_array(DATA, None, sequence_length=3, **kwargs)


# --- split_dataset (Keras on torch is the oracle) ---------------------------------------


def _items(subset):
    return [tuple(np.asarray(t) for t in subset[i]) for i in range(len(subset))]


@pytest.mark.parametrize("kwargs", [
    dict(left_size=0.25, shuffle=True, seed=7), dict(right_size=0.5, shuffle=True, seed=1),
    dict(left_size=3, shuffle=True, seed=0), dict(left_size=0.4, right_size=6, shuffle=True,
                                                  seed=2),
])
def test_split_dataset_matches_keras(kwargs):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("Keras runs split_dataset on torch only with KERAS_BACKEND=torch")
    data = (np.arange(20, dtype="float32").reshape(10, 2), np.arange(10))
    for ours, theirs in zip(split_dataset(data, **kwargs),
                            keras.utils.split_dataset(data, **kwargs)):
        assert len(ours) == len(theirs)
        for a, b in zip(_items(ours), _items(theirs)):
            for a_part, b_part in zip(a, b):
                np.testing.assert_array_equal(a_part, b_part)


@pytest.mark.parametrize("kwargs, sizes", [
    (dict(left_size=0.8), (8, 2)), (dict(right_size=3), (7, 3)),
    (dict(left_size=4, right_size=0.3), (4, 3)),
])
def test_split_dataset_without_shuffle_keeps_the_order(kwargs, sizes):
    # Keras on torch shuffles even here (`random_split` without a generator); the
    # documented behaviour is a contiguous split.
    left, right = split_dataset((np.arange(10), np.arange(10) * 2), **kwargs)
    assert (len(left), len(right)) == sizes
    assert [int(left[i][0]) for i in range(len(left))] == list(range(sizes[0]))
    assert [int(right[i][1]) for i in range(len(right))] == [
        2 * i for i in range(sizes[0], sum(sizes))]


def test_split_dataset_of_a_single_array_and_of_a_batch_dataset():
    left, right = split_dataset(np.arange(10), left_size=0.3)
    assert [int(left[i][0]) for i in range(3)] == [0, 1, 2] and len(right) == 7
    ds = timeseries_dataset_from_array(DATA, TARGETS, sequence_length=2, batch_size=8)
    left, right = split_dataset(ds, right_size=9)
    assert (len(left), len(right)) == (40, 9)
    x, y = right[0]
    assert x.tolist() == DATA[40:42].tolist() and int(y) == TARGETS[40]


def test_split_dataset_feeds_fit():
    left, _ = split_dataset((np.ones((12, 3), "float32"), np.zeros((12, 1), "float32")),
                            left_size=0.5)
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile("sgd", "mse")
    model.fit(left, batch_size=4, epochs=1, verbose=0)
    assert model.evaluate(left, batch_size=4, verbose=0) >= 0


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(), ValueError, "At least one of the `left_size` or `right_size`"),
    (dict(left_size="half"), TypeError, "Invalid `left_size` Type"),
    (dict(left_size=0, right_size=0), ValueError, "Both `left_size` and `right_size`"),
    (dict(left_size=1.5), ValueError, "`left_size` should be either"),
    (dict(right_size=10), ValueError, "`right_size` should be either"),
    (dict(left_size=0.6, right_size=0.6), ValueError, "greater than 1"),
    (dict(left_size=6, right_size=6), ValueError, "should be smaller than the 10"),
])
def test_split_dataset_rejects_bad_sizes(kwargs, error, message):
    with pytest.raises(error, match=message):
        split_dataset(np.arange(10), **kwargs)


def test_split_dataset_rejects_unknown_inputs():
    with pytest.raises(TypeError, match="must be a `torch.utils.data.Dataset`"):
        split_dataset("not data", left_size=0.5)
    with pytest.raises(ValueError, match="same length"):
        split_dataset((np.zeros(3), np.zeros(4)), left_size=1)


@pytest.mark.parametrize("make", [
    lambda **kw: timeseries_dataset_from_array(DATA, None, sequence_length=2, **kw),
    lambda **kw: lamina.utils.text_dataset_from_directory(".", **kw),
    lambda **kw: lamina.utils.image_dataset_from_directory(".", **kw),
])
def test_keras_formats_need_their_library_and_others_are_refused(make, monkeypatch):
    with pytest.raises(ValueError, match='`format` should be None, "tf" or "grain"'):
        make(format="numpy")

    def missing(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(dataset_utils.importlib, "import_module", missing)
    with pytest.raises(ImportError, match='format="grain" returns a grain.IterDataset.*'
                                          "pip install grain.*leave `format` unset"):
        make(format="grain")


def test_split_dataset_preferred_backend():
    left, _ = split_dataset(np.arange(4), left_size=2, preferred_backend="torch")
    assert len(left) == 2
    with pytest.raises(ValueError, match="preferred_backend='jax'"):
        split_dataset(np.arange(4), left_size=2, preferred_backend="jax")


def test_fit_keeps_the_batch_order_of_a_dataset_utility_result():
    """Keras never reorders a tf.data dataset in `fit`: shuffle=True (fit's default)
    leaves these datasets' batch order alone."""
    import lamina

    seen = []

    class Recording(lamina.Sequential):
        def train_step(self, data):
            seen.append(int(data[0][0, 0, 0]))
            return super().train_step(data)

    data = np.arange(40, dtype="float32").reshape(40, 1)
    ds = timeseries_dataset_from_array(data, data[3:], sequence_length=3, batch_size=8)
    model = Recording([lamina.Input((3, 1)), lamina.layers.Flatten(), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(ds, epochs=2, verbose=0, shuffle=True)
    firsts = [int(batch[0][0, 0, 0]) for batch in ds]
    assert seen == firsts * 2
