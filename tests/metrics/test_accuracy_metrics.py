import numpy as np
import pytest

from lamina import metrics

RNG = np.random.default_rng(3)
PROBS = RNG.dirichlet(np.ones(5), size=12).astype("float32")
LABELS = RNG.integers(0, 5, size=(12,))
ONE_HOT = np.eye(5, dtype="float32")[LABELS]


def _ranks(scores):
    # 0 for the highest score; ties get the best rank (as "in top k" counts them).
    return (scores[:, None, :] > scores[:, :, None]).sum(-1)


def test_accuracy_counts_exact_matches():
    m = metrics.Accuracy()
    m.update_state([[1], [2], [3], [4]], [[0], [2], [3], [4]])
    assert m.result().item() == 0.75


def test_binary_accuracy_function_is_elementwise_with_threshold():
    y = np.array([[1.0, 0.0], [1.0, 1.0]], "float32")
    p = np.array([[0.7, 0.2], [0.1, 0.9]], "float32")
    np.testing.assert_array_equal(metrics.binary_accuracy(y, p).numpy(), [[1, 1], [0, 1]])
    np.testing.assert_array_equal(metrics.binary_accuracy(y, p, threshold=0.8).numpy(),
                                  [[0, 1], [0, 1]])
    out = metrics.binary_accuracy(np.array([1.0, 0.0]), np.array([[0.7], [0.2]]))
    assert tuple(out.shape) == (2, 1)


def test_binary_accuracy_metric_weighted_mean():
    m = metrics.BinaryAccuracy(threshold=0.0)
    m.update_state([[1.0], [0.0], [1.0]], [[2.0], [-1.0], [-3.0]], sample_weight=[1.0, 1.0, 2.0])
    np.testing.assert_allclose(m.result().numpy(), 2 / 4)


def test_categorical_accuracy_matches_argmax_reference():
    m = metrics.CategoricalAccuracy()
    m.update_state(ONE_HOT, PROBS)
    np.testing.assert_allclose(m.result().numpy(), (PROBS.argmax(-1) == LABELS).mean())


@pytest.mark.parametrize("labels", [LABELS, LABELS[:, None]])
def test_sparse_categorical_accuracy_accepts_flat_and_column_labels(labels):
    out = metrics.sparse_categorical_accuracy(labels, PROBS)
    assert tuple(out.shape) == (12,)
    np.testing.assert_array_equal(out.numpy(), PROBS.argmax(-1) == LABELS)
    m = metrics.SparseCategoricalAccuracy()
    weights = RNG.uniform(size=12).astype("float32")
    m.update_state(labels, PROBS, sample_weight=weights)
    expected = ((PROBS.argmax(-1) == LABELS) * weights).sum() / weights.sum()
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_top_k_accuracies_match_rank_reference(k):
    expected = _ranks(PROBS)[np.arange(12), LABELS] < k
    np.testing.assert_array_equal(metrics.top_k_categorical_accuracy(ONE_HOT, PROBS, k=k).numpy(),
                                  expected)
    np.testing.assert_array_equal(
        metrics.sparse_top_k_categorical_accuracy(LABELS, PROBS, k=k).numpy(), expected)
    m = metrics.SparseTopKCategoricalAccuracy(k=k)
    m.update_state(LABELS, PROBS)
    np.testing.assert_allclose(m.result().numpy(), expected.mean())


def test_top_k_counts_ties_with_the_kth_score_as_hits():
    out = metrics.sparse_top_k_categorical_accuracy([0, 1, 2], [[0.2, 0.3, 0.3]] * 3, k=1)
    np.testing.assert_array_equal(out.numpy(), [0, 1, 1])


def test_top_k_larger_than_class_count_is_always_a_hit():
    out = metrics.top_k_categorical_accuracy(ONE_HOT, PROBS, k=10)
    assert out.numpy().all()


def test_sparse_top_k_from_sorted_ids_reads_first_k_columns():
    out = metrics.sparse_top_k_categorical_accuracy([0, 1, 2], [[2, 0, 1]] * 3, k=2,
                                                    from_sorted_ids=True)
    np.testing.assert_array_equal(out.numpy(), [1, 0, 1])


def test_top_k_keeps_the_label_shape_for_sequences():
    labels = LABELS.reshape(3, 4)
    out = metrics.sparse_top_k_categorical_accuracy(labels, PROBS.reshape(3, 4, 5), k=2)
    assert tuple(out.shape) == (3, 4)


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_top_k_metrics_reject_non_positive_k(k):
    with pytest.raises(ValueError, match="`k` must be a positive integer"):
        metrics.TopKCategoricalAccuracy(k=k)
    with pytest.raises(ValueError, match="SparseTopKCategoricalAccuracy: `k`"):
        metrics.SparseTopKCategoricalAccuracy(k=k)


def test_accuracy_metric_configs_match_keras_schema():
    assert metrics.BinaryAccuracy().get_config() == {
        "name": "binary_accuracy", "dtype": "float32", "threshold": 0.5}
    assert metrics.SparseTopKCategoricalAccuracy().get_config() == {
        "name": "sparse_top_k_categorical_accuracy", "dtype": "float32", "k": 5}
    assert metrics.SparseTopKCategoricalAccuracy(from_sorted_ids=True).get_config()[
        "from_sorted_ids"] is True
    assert metrics.CategoricalAccuracy().get_config() == {
        "name": "categorical_accuracy", "dtype": "float32"}
    for cls in (metrics.Accuracy, metrics.BinaryAccuracy, metrics.TopKCategoricalAccuracy):
        clone = metrics.deserialize(metrics.serialize(cls(name="x")))
        assert type(clone) is cls and clone.name == "x"
        assert clone._direction == "up"


@pytest.mark.parametrize("dtype", ["bool", "int64", "uint8"])
def test_one_hot_accuracies_accept_bool_and_integer_targets(dtype):
    one_hot = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]]).astype(dtype)
    scores = np.array([[0.9, 0.05, 0.05], [0.8, 0.1, 0.1], [0.1, 0.2, 0.7]], "float32")
    assert metrics.categorical_accuracy(one_hot, scores).tolist() == [1.0, 0.0, 1.0]
    assert metrics.top_k_categorical_accuracy(one_hot, scores, k=2).tolist() == [
        1.0, 1.0, 1.0]
    metric = metrics.CategoricalAccuracy()
    metric.update_state(one_hot, scores)
    assert float(metric.result()) == pytest.approx(2 / 3)
