"""EpochIterator over in-memory arrays: batching, shuffling, steps, class weights, errors."""

import numpy as np
import pytest
import torch

import lamina
from lamina.trainers.data import EpochIterator, unpack_x_y_sample_weight
from lamina.trainers.data.data_utils import strings_as_arrays


def batches(it):
    """One epoch's batches, each unpacked to `(x, y, sample_weight)`."""
    return [unpack_x_y_sample_weight(batch) for _, batch in it.enumerate_epoch()]


def rows(it):
    """The first column of x for each batch of one epoch, as lists."""
    return [b[0][:, 0].tolist() for b in batches(it)]


def column(n, dtype="float32"):
    return np.arange(n, dtype=dtype).reshape(n, 1)


def test_batches_cover_data_in_order_with_partial_last_batch():
    it = EpochIterator(column(10), np.arange(10), batch_size=4, device="cpu")
    out = batches(it)
    assert it.num_batches == 3
    assert [tuple(b[0].shape) for b in out] == [(4, 1), (4, 1), (2, 1)]
    assert torch.cat([b[1] for b in out]).tolist() == list(range(10))
    assert all(b[2] is None for b in out)


def test_steps_are_numbered_from_zero_each_epoch():
    it = EpochIterator(column(5), batch_size=2, device="cpu")
    assert [s for s, _ in it.enumerate_epoch()] == [0, 1, 2]
    assert [s for s, _ in it.enumerate_epoch()] == [0, 1, 2]


def test_default_batch_size_is_32():
    it = EpochIterator(column(70), device="cpu")
    assert [len(b[0]) for b in batches(it)] == [32, 32, 6]


def test_missing_y_and_sample_weight_are_none():
    (x, y, sw), = batches(EpochIterator(column(3), device="cpu"))
    assert y is None and sw is None and x.shape == (3, 1)


def test_float32_numpy_input_shares_memory_without_copy():
    x = column(8)
    it = EpochIterator(x, batch_size=8, device="cpu")
    (bx, _, _), = batches(it)
    assert bx.data_ptr() == x.ctypes.data  # a slice of the shared buffer
    x[3, 0] = 100.0
    assert bx[3, 0].item() == 100.0


def test_float64_becomes_floatx_once_and_ints_keep_dtype():
    it = EpochIterator(column(4, "float64"), np.arange(4, dtype="int32"), device="cpu")
    (x, y, _), = batches(it)
    assert x.dtype == torch.float32
    assert y.dtype == torch.int32
    (x, y, _), = batches(EpochIterator(np.zeros((2, 1), "uint8"), np.zeros(2, bool)))
    assert (x.dtype, y.dtype) == (torch.uint8, torch.bool)


def test_torch_tensor_input_is_used_in_place():
    x = torch.arange(6.0).reshape(6, 1)
    (bx, _, _), = batches(EpochIterator(x, batch_size=6, device="cpu"))
    assert bx.data_ptr() == x.data_ptr()


def test_multi_input_structures_keep_their_shape():
    x = {"b": column(5), "a": column(5) * 10}
    y = [np.arange(5), np.ones(5, "float32")]
    out = batches(EpochIterator(x, y, batch_size=3, device="cpu"))
    assert list(out[0][0]) == ["b", "a"]
    assert out[1][0]["a"][:, 0].tolist() == [30.0, 40.0]
    assert isinstance(out[0][1], list) and out[0][1][0].tolist() == [0, 1, 2]
    tup = batches(EpochIterator((column(4), column(4) + 1), batch_size=4, device="cpu"))
    assert isinstance(tup[0][0], tuple) and tup[0][0][1][:, 0].tolist() == [1, 2, 3, 4]
    assert tup[0][1] is None


def test_shuffle_is_a_permutation_that_changes_per_epoch():
    it = EpochIterator(column(50), np.arange(50), batch_size=8, shuffle=True, device="cpu")
    first = sum(rows(it), [])
    second = sum(rows(it), [])
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != list(range(50)) and first != second
    (x, y, _), = batches(EpochIterator(column(6), np.arange(6), batch_size=6, shuffle=True))
    assert x[:, 0].long().tolist() == y.tolist()  # x and y are shuffled together


def test_shuffle_is_reproducible_under_manual_seed():
    def order():
        torch.manual_seed(7)
        return rows(EpochIterator(column(20), batch_size=6, shuffle=True, device="cpu"))

    assert order() == order()


def test_shuffle_batch_keeps_chunks_contiguous():
    it = EpochIterator(column(10), batch_size=4, shuffle="batch", device="cpu")
    seen = sorted(rows(it))
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_steps_per_epoch_beyond_one_pass_keeps_going_across_passes():
    it = EpochIterator(column(10), batch_size=4, steps_per_epoch=5, device="cpu")
    assert it.num_batches == 5
    assert rows(it) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7]]
    # the next epoch continues from where the last one stopped
    assert rows(it)[0] == [8, 9]


def test_steps_per_epoch_shorter_than_a_pass_resumes_next_epoch_and_reset_restarts():
    it = EpochIterator(column(10), batch_size=4, steps_per_epoch=2, device="cpu")
    assert rows(it) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert rows(it) == [[8, 9], [0, 1, 2, 3]]
    it.reset()
    assert rows(it) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_steps_per_epoch_with_shuffle_reshuffles_each_pass():
    torch.manual_seed(3)
    it = EpochIterator(column(6), batch_size=6, shuffle=True, steps_per_epoch=3, device="cpu")
    passes = rows(it)
    assert all(sorted(p) == list(range(6)) for p in passes)
    assert len({tuple(p) for p in passes}) > 1


def test_class_weight_from_int_labels_matches_lookup():
    y = np.array([0, 1, 2, 1, 3])
    cw = {0: 0.5, 1: 2.0, 2: 3.0}
    (_, _, sw), = batches(EpochIterator(column(5), y, class_weight=cw, device="cpu"))
    expected = [cw.get(c, 1.0) for c in y]  # class 3 is not in the dict: weight 1
    np.testing.assert_allclose(sw.numpy(), expected)
    assert sw.dtype == torch.float32


def test_class_weight_from_one_hot_and_column_labels():
    labels = np.array([2, 0, 1, 2])
    one_hot = np.eye(3, dtype="float32")[labels]
    cw = {0: 1.0, 1: 4.0, 2: 9.0}
    expected = [cw[c] for c in labels]
    for y in (one_hot, labels.reshape(-1, 1), labels.astype("float32")):
        (_, _, sw), = batches(EpochIterator(column(4), y, class_weight=cw, device="cpu"))
        np.testing.assert_allclose(sw.numpy(), expected)


def test_class_weight_follows_shuffle():
    y = np.array([0, 1, 1, 0, 1, 0])
    cw = {0: 10.0, 1: 100.0}
    it = EpochIterator(np.arange(6).reshape(6, 1), y, batch_size=4,
                       shuffle=True, class_weight=cw, device="cpu")
    for x, by, sw in batches(it):
        idx = x[:, 0].numpy()
        np.testing.assert_allclose(sw.numpy(), [cw[c] for c in y[idx]])
        assert by.tolist() == y[idx].tolist()


def test_class_weight_with_sample_weight_is_refused_like_keras():
    with pytest.raises(ValueError, match="cannot `class_weight` and `sample_weight`"):
        EpochIterator(np.zeros((4, 1)), np.zeros(4), np.ones(4), class_weight={0: 1.0})


def test_class_weight_matches_keras():
    keras = pytest.importorskip("keras")
    from keras.src.trainers.epoch_iterator import EpochIterator as KerasEpochIterator

    y = np.array([[0, 1], [1, 0], [1, 0], [0, 1]])
    cw = {0: 1.5, 1: 5.0}
    k_batch, = [b[-1] if not isinstance(b[-1], list) else b[-1][0]
                   for b in KerasEpochIterator(np.zeros((4, 1)), y, class_weight=cw,
                                               batch_size=4)]
    (_, _, sw), = batches(EpochIterator(np.zeros((4, 1)), y, class_weight=cw, device="cpu"))
    np.testing.assert_allclose(sw.numpy(), keras.ops.convert_to_numpy(k_batch[2]))


def test_rejects_mismatched_x_and_y_lengths_naming_both():
    with pytest.raises(ValueError, match=r"cardinality.*x sizes: 3.*y sizes: 4"):
        EpochIterator(column(3), np.arange(4))


def test_rejects_mismatched_sample_weight_length():
    with pytest.raises(ValueError, match=r"sample_weight sizes: 2"):
        EpochIterator(column(3), np.arange(3), np.ones(2))


def test_rejects_mismatched_lengths_inside_multi_input():
    with pytest.raises(ValueError, match=r"x sizes: 3, 5"):
        EpochIterator({"a": column(3), "b": column(5)})


def test_rejects_empty_data():
    with pytest.raises(ValueError, match="empty: `x` has 0 samples"):
        EpochIterator(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="`x` is empty"):
        EpochIterator([])


def test_rejects_non_numeric_arrays():
    with pytest.raises(ValueError, match=r"`x` must hold numbers.*object"):
        EpochIterator(np.array([{}, None], dtype=object))
    with pytest.raises(ValueError, match=r"`y` must hold numbers.*object"):
        EpochIterator(column(2), np.array([{}, None], dtype=object))


def test_string_arrays_stay_numpy_for_text_layers():
    x = np.array(["a", "b b", "c", "d"])
    (x0, y0, _), (x1, _, _) = batches(EpochIterator(x, column(4), batch_size=2, shuffle=True))
    assert isinstance(x0, np.ndarray) and sorted([*x0, *x1]) == sorted(x)
    assert isinstance(y0, torch.Tensor)


def test_rejects_unsupported_types_listing_accepted_ones():
    with pytest.raises(ValueError, match=r"x='abc' \(of type str\).*numpy arrays.*PyDataset"):
        EpochIterator("abc")
    with pytest.raises(ValueError, match=r"of type object.*DataLoader"):
        EpochIterator(object())
    with pytest.raises(ValueError, match="`x` must be given"):
        EpochIterator(None)
    with pytest.raises(ValueError, match=r"Unrecognized data type in `y`: received str"):
        EpochIterator(column(2), ["a", "b"])


def test_rejects_scalar_inputs_and_bad_arguments():
    with pytest.raises(ValueError, match="batch \\(first\\) dimension"):
        EpochIterator(np.float32(3.0))
    with pytest.raises(ValueError, match="`batch_size` must be a positive integer"):
        EpochIterator(column(2), batch_size=0)
    with pytest.raises(ValueError, match="`steps_per_epoch` must be a positive integer"):
        EpochIterator(column(2), steps_per_epoch=-1)
    with pytest.raises(ValueError, match="`shuffle` must be True, False or 'batch'"):
        EpochIterator(column(2), shuffle="yes")


def test_rejects_bad_class_weight():
    with pytest.raises(ValueError, match="single output"):
        EpochIterator(column(2), [np.arange(2), np.arange(2)], class_weight={0: 1.0})
    with pytest.raises(ValueError, match="integer class indices"):
        EpochIterator(column(2), np.arange(2), class_weight={"cat": 1.0})
    with pytest.raises(ValueError, match="needs targets"):
        EpochIterator(column(2), class_weight={0: 1.0})
    with pytest.raises(ValueError, match="non-empty dict"):
        EpochIterator(column(2), np.arange(2), class_weight=[1.0, 2.0])


def test_non_cpu_device_gets_the_whole_dataset_moved_once():
    # "meta" stands in for an accelerator: data is placed once, batches are cut there.
    it = EpochIterator(column(10), np.arange(10), batch_size=4, shuffle=True, device="meta",
                       class_weight={1: 2.0})
    assert all(t.device.type == "meta" for t in it.adapter._flat)
    out = batches(it)
    assert [tuple(b[0].shape) for b in out] == [(4, 1), (4, 1), (2, 1)]
    assert all(b[0].device.type == "meta" and b[2].device.type == "meta" for b in out)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("fits", [True, False], ids=["on_device", "pinned_host"])
def test_cuda_batches_match_cpu_batches(fits, monkeypatch):
    from lamina.trainers.data import arrays

    monkeypatch.setattr(arrays, "_fits_on_device", lambda tensors, device: fits)
    x, y = column(37), np.arange(37)
    for shuffle in (False, True):
        torch.manual_seed(1)
        got = batches(EpochIterator(x, y, batch_size=8, shuffle=shuffle, device="cuda"))
        assert all(b[0].is_cuda and b[1].is_cuda for b in got)
        xs = torch.cat([b[0] for b in got]).cpu()[:, 0]
        assert sorted(xs.long().tolist()) == list(range(37))
        assert xs.long().tolist() == torch.cat([b[1] for b in got]).cpu().tolist()


def test_read_only_and_reversed_arrays_are_accepted_without_warnings():
    x = column(6)
    x.flags.writeable = False
    (bx, _, _), = batches(EpochIterator(x, batch_size=6, device="cpu"))
    assert bx.data_ptr() == x.ctypes.data  # still shared, no copy
    (rx, _, _), = batches(EpochIterator(column(4)[::-1], batch_size=4, device="cpu"))
    assert rx[:, 0].tolist() == [3.0, 2.0, 1.0, 0.0]


@pytest.mark.parametrize("shuffle", [False, True, "batch"])
@pytest.mark.parametrize("steps_per_epoch", [None, 3])
def test_resume_continues_the_interrupted_pass_in_its_order(shuffle, steps_per_epoch):
    x = np.arange(10, dtype="float32").reshape(10, 1)

    def epochs(iterator, count):
        return [[int(b[0][0, 0]) for _, b in iterator.enumerate_epoch()] for _ in range(count)]

    torch.manual_seed(3)
    reference = EpochIterator(x, x, batch_size=2, shuffle=shuffle,
                              steps_per_epoch=steps_per_epoch, device="cpu")
    expected = epochs(reference, 3)
    torch.manual_seed(3)
    interrupted = EpochIterator(x, x, batch_size=2, shuffle=shuffle,
                                steps_per_epoch=steps_per_epoch, device="cpu")
    first = epochs(interrupted, 1)
    partial = []
    for step, batch in interrupted.enumerate_epoch():
        partial.append(int(batch[0][0, 0]))
        if step == 1:
            break
    state, rng = interrupted.get_state(), torch.get_rng_state()
    resumed = EpochIterator(x, x, batch_size=2, shuffle=shuffle,
                            steps_per_epoch=steps_per_epoch, device="cpu")
    torch.set_rng_state(rng)  # as BackupAndRestore puts it back
    assert resumed.resume(state, 2) == 2
    rest = list(resumed.enumerate_epoch())
    assert [step for step, _ in rest] == list(range(2, steps_per_epoch or 5))
    assert first + [partial + [int(b[0][0, 0]) for _, b in rest]] + epochs(resumed, 1) == (
        expected)


def test_resume_refuses_a_saved_order_for_other_data():
    x = np.zeros((10, 1), "float32")
    iterator = EpochIterator(x, x, batch_size=2, shuffle=True, device="cpu")
    next(iterator.enumerate_epoch())
    other = EpochIterator(np.zeros((12, 1), "float32"), batch_size=2, shuffle=True,
                          device="cpu")
    with pytest.raises(ValueError, match="does not fit this data"):
        other.resume(iterator.get_state(), 1)
    rebatched = EpochIterator(x, x, batch_size=5, shuffle=True, device="cpu")
    with pytest.raises(ValueError, match="batches of 2.*batches of 5"):
        rebatched.resume(iterator.get_state(), 1)


def test_predict_reads_a_python_list_of_strings_as_one_text_input():
    vectorize = lamina.layers.TextVectorization(vocabulary=["a", "b", "c"])
    model = lamina.Sequential([lamina.Input(shape=(), dtype="string"), vectorize])
    expected = model.predict(np.array(["a b", "c d"]), verbose=0)
    np.testing.assert_array_equal(expected, [[2, 3], [4, 1]])
    np.testing.assert_array_equal(model.predict(["a b", "c d"], verbose=0), expected)
    objects = np.array(["a b", "c d"], dtype=object)  # as the text datasets give them
    np.testing.assert_array_equal(model.predict(objects, verbose=0), expected)
    np.testing.assert_array_equal(model.predict([b"a b", b"c d"], verbose=0), expected)


def test_lists_of_numbers_are_not_taken_for_text():
    assert strings_as_arrays([[1, 2], ["a", "b"]])[0] == [1, 2]
    assert strings_as_arrays(([1.0], ("x",)))[1].dtype.kind == "U"
