"""EpochIterator over streamed inputs: generators, PyDataset, DataLoader, torch Dataset."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, IterableDataset, TensorDataset

from lamina.trainers.data import EpochIterator, PyDataset, Sequence


def firsts(it):
    """The first entry of x in each batch of one epoch."""
    return [int(b[0].reshape(-1)[0]) for _, b in it.enumerate_epoch()]


def counting_generator(n, size=2):
    for i in range(n):
        yield np.full((size, 1), i, "float64"), np.full((size,), i % 2)


class Squares(PyDataset):
    """Batch i holds [i*bs, (i+1)*bs) and its squares; records epoch hooks."""

    def __init__(self, n=10, batch_size=4, **kwargs):
        super().__init__(**kwargs)
        self.n, self.batch_size, self.ends, self.begins = n, batch_size, 0, 0

    def __len__(self):
        return -(-self.n // self.batch_size)

    def __getitem__(self, i):
        x = np.arange(i * self.batch_size, min((i + 1) * self.batch_size, self.n))
        return x.reshape(-1, 1).astype("float32"), x**2

    def on_epoch_begin(self):
        self.begins += 1

    def on_epoch_end(self):
        self.ends += 1


class SlowFirst(Squares):
    """Early batches take longest, so out-of-order completion would show."""

    def __getitem__(self, i):
        import time

        time.sleep(0.02 * max(0, 4 - i))
        return super().__getitem__(i)


class Endless(PyDataset):
    num_batches = None

    def __getitem__(self, i):
        return np.full((1, 1), i, "float32")


class Stream(IterableDataset):
    def __iter__(self):
        for i in range(5):
            yield torch.tensor([float(i)]), torch.tensor(i)


def test_generator_yielding_x_y_moves_tensors_and_casts_floats():
    it = EpochIterator(counting_generator(3), device="cpu")
    out = [b for _, b in it.enumerate_epoch()]
    assert it.num_batches is None
    assert len(out) == 3
    assert out[0][0].dtype == torch.float32 and out[0][1].dtype == torch.int64
    assert isinstance(out[0], list) and len(out[0]) == 2  # Keras' form: [x, y]


def test_generator_yielding_bare_x_and_triples():
    def gen():
        yield np.ones((2, 3), "float32")
        yield np.ones((2, 3), "float32"), np.zeros(2), np.full(2, 0.5)

    (_, first), (_, (x2, y2, s2)) = EpochIterator(gen()).enumerate_epoch()
    assert isinstance(first, torch.Tensor)  # bare x stays bare, as in Keras
    assert s2.tolist() == [0.5, 0.5] and y2.shape == (2,)


def test_generator_is_not_restarted_between_epochs():
    it = EpochIterator(counting_generator(5), steps_per_epoch=2, device="cpu")
    assert it.num_batches == 2
    assert [firsts(it) for _ in range(4)] == [[0, 1], [2, 3], [4], []]


def test_generator_without_steps_ends_epoch_when_exhausted():
    it = EpochIterator(counting_generator(3), device="cpu")
    assert firsts(it) == [0, 1, 2]
    assert firsts(it) == []


def test_generator_class_weight_applied_per_batch():
    it = EpochIterator(counting_generator(2), class_weight={1: 3.0}, device="cpu")
    weights = [b[2].tolist() for _, b in it.enumerate_epoch()]
    assert weights == [[1.0, 1.0], [3.0, 3.0]]


def test_generator_class_weight_multiplies_yielded_sample_weight():
    def gen():
        yield np.zeros((2, 1)), np.array([0, 1]), np.array([2.0, 3.0])

    (_, (_, _, sw)), = EpochIterator(gen(), class_weight={0: 5.0, 1: 7.0}).enumerate_epoch()
    np.testing.assert_allclose(sw.numpy(), [10.0, 21.0])


def test_pydataset_one_pass_per_epoch_with_hooks():
    ds = Squares()
    it = EpochIterator(ds, device="cpu")
    assert it.num_batches == 3
    out = [b for _, b in it.enumerate_epoch()]
    assert torch.cat([b[1] for b in out]).tolist() == [i * i for i in range(10)]
    assert (ds.begins, ds.ends) == (1, 1)
    assert firsts(it) == [0, 4, 8]
    assert ds.ends == 2


def test_pydataset_steps_per_epoch_continues_across_passes():
    ds = Squares()
    it = EpochIterator(ds, steps_per_epoch=4, device="cpu")
    assert firsts(it) == [0, 4, 8, 0]
    assert ds.ends == 1
    assert firsts(it) == [4, 8, 0, 4]


@pytest.mark.parametrize("multiprocessing", [False, True])
def test_pydataset_workers_preserve_batch_order(multiprocessing):
    ds = SlowFirst(n=24, batch_size=3, workers=3, use_multiprocessing=multiprocessing,
                   max_queue_size=4)
    it = EpochIterator(ds, device="cpu")
    assert firsts(it) == list(range(0, 24, 3))
    assert firsts(it) == list(range(0, 24, 3))  # a second pass with a fresh pool


def test_pydataset_workers_stop_cleanly_when_epoch_ends_early():
    ds = Squares(n=40, batch_size=2, workers=2, max_queue_size=3)
    it = EpochIterator(ds, steps_per_epoch=3, device="cpu")
    assert firsts(it) == [0, 2, 4]
    it.reset()
    assert firsts(it) == [0, 2, 4]


def test_endless_pydataset_needs_steps_and_reports_unknown_length():
    it = EpochIterator(Endless(), steps_per_epoch=3, device="cpu")
    assert firsts(it) == [0, 1, 2] and firsts(it) == [3, 4, 5]
    assert EpochIterator(Endless(), device="cpu").num_batches is None


def test_pydataset_base_contract():
    assert Sequence is PyDataset
    ds = PyDataset()
    assert (ds.workers, ds.use_multiprocessing, ds.max_queue_size) == (1, False, 10)
    with pytest.raises(NotImplementedError, match="__getitem__"):
        ds[0]
    with pytest.raises(NotImplementedError, match="num_batches"):
        _ = ds.num_batches
    with pytest.raises(ValueError, match="`workers` must be >= 1"):
        PyDataset(workers=0)

    class NoSuper(PyDataset):
        def __init__(self):
            pass

        def __len__(self):
            return 1

    assert NoSuper().workers == 1 and NoSuper().num_batches == 1


def test_dataloader_map_style():
    data = TensorDataset(torch.arange(10.0).reshape(10, 1), torch.arange(10))
    it = EpochIterator(DataLoader(data, batch_size=4), device="cpu")
    assert it.num_batches == 3
    out = [b for _, b in it.enumerate_epoch()]
    assert [len(b[0]) for b in out] == [4, 4, 2]
    assert out[0][1].tolist() == [0, 1, 2, 3] and len(out[0]) == 2
    assert firsts(it) == [0, 4, 8]


def test_dataloader_iterable_dataset_has_unknown_length():
    it = EpochIterator(DataLoader(Stream(), batch_size=2), device="cpu")
    assert it.num_batches is None
    assert firsts(it) == [0, 2, 4]
    assert firsts(it) == [0, 2, 4]


def test_dataloader_with_steps_per_epoch_keeps_going():
    it = EpochIterator(DataLoader(Stream(), batch_size=2), steps_per_epoch=4, device="cpu")
    assert firsts(it) == [0, 2, 4, 0]


def test_torch_dataset_is_batched_and_shuffled_like_arrays():
    data = TensorDataset(torch.arange(10.0).reshape(10, 1), torch.arange(10))
    it = EpochIterator(data, batch_size=3, shuffle=True, device="cpu")
    out = [b for _, b in it.enumerate_epoch()]
    assert it.num_batches == 4 and [len(b[0]) for b in out] == [3, 3, 3, 1]
    seen = torch.cat([b[1] for b in out]).tolist()
    assert sorted(seen) == list(range(10)) and seen != list(range(10))
    assert [len(b[0]) for _, b in EpochIterator(data).enumerate_epoch()] == [10]


@pytest.mark.parametrize(
    "make", [lambda: counting_generator(2), lambda: Squares(),
             lambda: DataLoader(TensorDataset(torch.zeros(4, 1)), batch_size=2)],
    ids=["generator", "PyDataset", "DataLoader"],
)
def test_streams_ignore_batch_size_and_reject_y_and_sample_weight(make):
    it = EpochIterator(make(), batch_size=8)  # ignored, as in Keras
    assert next(iter(it.enumerate_epoch()))[0] == 0
    with pytest.raises(ValueError, match="`y` should not be passed"):
        EpochIterator(make(), y=np.zeros(4))
    with pytest.raises(ValueError, match="`sample_weight` should not be passed"):
        EpochIterator(make(), sample_weight=np.zeros(4))


def test_empty_streams_are_rejected():
    with pytest.raises(ValueError, match="Squares is empty"):
        EpochIterator(Squares(n=0))
    with pytest.raises(ValueError, match="TensorDataset is empty"):
        EpochIterator(TensorDataset(torch.zeros(0, 1)))
    with pytest.raises(ValueError, match="yields 0 batches"):
        EpochIterator(DataLoader(TensorDataset(torch.zeros(0, 1)), batch_size=2))


def test_torch_dataset_rejects_y():
    with pytest.raises(ValueError, match="torch Dataset, `y` and `sample_weight`"):
        EpochIterator(TensorDataset(torch.zeros(4, 1)), y=np.zeros(4))


def test_stream_batches_with_bad_content_are_named():
    def gen():
        yield np.array([{}], dtype=object), np.zeros(1)

    with pytest.raises(ValueError, match="`x` must hold numbers"):
        list(EpochIterator(gen()).enumerate_epoch())

    def too_long():
        yield 1, 2, 3, 4

    with pytest.raises(ValueError, match=r"`\(x, y, sample_weight\)`.*length 4"):
        list(EpochIterator(too_long()).enumerate_epoch())


@pytest.mark.parametrize("workers", [1, 2])
def test_pydataset_resume_continues_the_pass_in_its_shuffled_order(workers):
    torch.manual_seed(5)
    reference = EpochIterator(Squares(n=24, batch_size=4, workers=workers), shuffle=True)
    expected = [firsts(reference) for _ in range(2)]
    torch.manual_seed(5)
    interrupted = EpochIterator(Squares(n=24, batch_size=4, workers=workers), shuffle=True)
    partial = []
    for step, batch in interrupted.enumerate_epoch():
        partial.append(int(batch[0].reshape(-1)[0]))
        if step == 2:
            break
    state, rng = interrupted.get_state(), torch.get_rng_state()
    assert state["position"] == 3
    resumed = EpochIterator(Squares(n=24, batch_size=4, workers=workers), shuffle=True)
    torch.set_rng_state(rng)
    assert resumed.resume(state, 3) == 3
    assert [partial + firsts(resumed), firsts(resumed)] == expected


def test_streams_without_a_position_restart_the_epoch_on_resume():
    assert EpochIterator(Endless(), steps_per_epoch=2).get_state() is None
    iterator = EpochIterator(counting_generator(4))
    assert iterator.get_state() is None and iterator.resume(None, 3) == 0
