import numpy as np

from lamina import metrics

RNG = np.random.default_rng(4)
Y_TRUE = RNG.normal(size=(8, 3)).astype("float32")
Y_PRED = RNG.normal(size=(8, 3)).astype("float32")
WEIGHTS = RNG.uniform(size=8).astype("float32")


def test_mean_squared_error_metric_is_weighted_mean_of_per_sample_mse():
    m = metrics.MeanSquaredError()
    m.update_state(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
    per_sample = ((Y_TRUE - Y_PRED) ** 2).mean(-1)
    np.testing.assert_allclose(m.result().numpy(), (per_sample * WEIGHTS).sum() / WEIGHTS.sum(),
                               rtol=1e-6)


def test_mean_absolute_error_metric_accumulates_over_batches():
    m = metrics.MeanAbsoluteError()
    m.update_state(Y_TRUE[:4], Y_PRED[:4])
    m.update_state(Y_TRUE[4:], Y_PRED[4:])
    np.testing.assert_allclose(m.result().numpy(), np.abs(Y_TRUE - Y_PRED).mean(), rtol=1e-6)


def test_root_mean_squared_error_is_sqrt_of_weighted_mean():
    m = metrics.RootMeanSquaredError()
    m.update_state(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
    per_sample = ((Y_TRUE - Y_PRED) ** 2).mean(-1)
    expected = np.sqrt((per_sample * WEIGHTS).sum() / WEIGHTS.sum())
    np.testing.assert_allclose(m.result().numpy(), expected, rtol=1e-6)
    assert [v.path for v in m.variables] == ["root_mean_squared_error/total",
                                             "root_mean_squared_error/count"]


def test_regression_metrics_config_round_trip():
    for cls in (metrics.MeanSquaredError, metrics.MeanAbsoluteError,
                metrics.RootMeanSquaredError):
        m = cls(name="r", dtype="float64")
        assert m.get_config() == {"name": "r", "dtype": "float64"}
        clone = metrics.deserialize(metrics.serialize(m))
        assert type(clone) is cls and clone.dtype == "float64"
        assert clone._direction == "down"
