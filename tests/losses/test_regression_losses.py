import numpy as np
import pytest

from lamina import losses

RNG = np.random.default_rng(1)
Y_TRUE = RNG.normal(size=(6, 4)).astype("float32")
Y_PRED = RNG.normal(size=(6, 4)).astype("float32")


def test_mean_squared_error_function_matches_numpy():
    out = losses.mean_squared_error(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(out.numpy(), ((Y_TRUE - Y_PRED) ** 2).mean(-1), rtol=1e-6)


def test_mean_absolute_error_function_matches_numpy():
    out = losses.mean_absolute_error(Y_TRUE, Y_PRED)
    np.testing.assert_allclose(out.numpy(), np.abs(Y_TRUE - Y_PRED).mean(-1), rtol=1e-6)


def test_regression_loss_classes_reduce_over_the_batch():
    np.testing.assert_allclose(losses.MeanSquaredError()(Y_TRUE, Y_PRED).numpy(),
                               ((Y_TRUE - Y_PRED) ** 2).mean(), rtol=1e-6)
    np.testing.assert_allclose(losses.MeanAbsoluteError(reduction="sum")(Y_TRUE, Y_PRED).numpy(),
                               np.abs(Y_TRUE - Y_PRED).mean(-1).sum(), rtol=1e-6)


def test_mean_squared_error_keeps_float64_inputs_in_float64():
    out = losses.mean_squared_error(Y_TRUE.astype("float64"), Y_PRED.astype("float64"))
    assert str(out.dtype) == "torch.float64"


def test_mean_squared_error_broadcasts_a_unit_axis():
    out = losses.mean_squared_error(Y_TRUE[:, :1], Y_PRED)
    np.testing.assert_allclose(out.numpy(), ((Y_TRUE[:, :1] - Y_PRED) ** 2).mean(-1), rtol=1e-6)


@pytest.mark.parametrize("fn", [losses.mean_squared_error, losses.mean_absolute_error])
def test_regression_losses_reject_incompatible_shapes(fn):
    with pytest.raises(ValueError, match=r"y_true.shape=\(6, 4\), y_pred.shape=\(6, 3\)"):
        fn(Y_TRUE, Y_PRED[:, :3])


def test_regression_loss_class_rejects_incompatible_shapes_with_both_shapes():
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(2, 3\).*\(2, 4\)"):
        losses.MeanSquaredError()(np.ones((2, 3)), np.ones((2, 4)))


def test_regression_loss_configs_match_keras_schema():
    assert losses.MeanSquaredError().get_config() == {
        "name": "mean_squared_error", "reduction": "sum_over_batch_size"}
    assert losses.MeanAbsoluteError(reduction=None).get_config() == {
        "name": "mean_absolute_error", "reduction": None}
