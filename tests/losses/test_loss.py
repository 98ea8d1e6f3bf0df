import numpy as np
import pytest
import torch

from lamina import losses
from lamina.losses.loss import reduce_weighted_values, squeeze_or_expand_to_same_rank
from lamina.serialization import registry


class Squared(losses.Loss):
    def call(self, y_true, y_pred):
        return ((y_true - y_pred) ** 2).mean(dim=-1)


Y_TRUE = np.array([[0.0, 1.0], [2.0, 2.0], [1.0, -1.0]], dtype="float32")
Y_PRED = np.array([[1.0, 1.0], [2.0, 0.0], [0.0, 0.0]], dtype="float32")
PER_SAMPLE = ((Y_TRUE - Y_PRED) ** 2).mean(axis=-1)  # [0.5, 2.0, 1.0]
WEIGHTS = np.array([1.0, 0.5, 0.0], dtype="float32")


@pytest.mark.parametrize(
    "reduction, expected",
    [
        ("sum_over_batch_size", PER_SAMPLE.mean()),
        ("mean", PER_SAMPLE.mean()),
        ("sum", PER_SAMPLE.sum()),
        ("mean_with_sample_weight", PER_SAMPLE.mean()),
    ],
)
def test_loss_reductions_without_weights_match_numpy(reduction, expected):
    value = Squared(reduction=reduction)(Y_TRUE, Y_PRED)
    assert value.shape == ()
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize(
    "reduction, expected",
    [
        ("sum_over_batch_size", (PER_SAMPLE * WEIGHTS).sum() / 3),
        ("sum", (PER_SAMPLE * WEIGHTS).sum()),
        ("mean_with_sample_weight", (PER_SAMPLE * WEIGHTS).sum() / WEIGHTS.sum()),
    ],
)
def test_loss_reductions_with_sample_weight_match_numpy(reduction, expected):
    value = Squared(reduction=reduction)(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
    np.testing.assert_allclose(value.numpy(), expected, rtol=1e-6)


@pytest.mark.parametrize("reduction", ["none", None])
def test_loss_without_reduction_returns_weighted_per_sample_values(reduction):
    value = Squared(reduction=reduction)(Y_TRUE, Y_PRED, sample_weight=WEIGHTS)
    np.testing.assert_allclose(value.numpy(), PER_SAMPLE * WEIGHTS, rtol=1e-6)


def test_loss_mean_with_sample_weight_of_all_zero_weights_is_zero():
    value = Squared(reduction="mean_with_sample_weight")(Y_TRUE, Y_PRED, sample_weight=[0.0] * 3)
    assert value.item() == 0.0


def test_loss_column_sample_weight_is_squeezed_to_per_sample_shape():
    value = Squared(reduction="sum")(Y_TRUE, Y_PRED, sample_weight=WEIGHTS[:, None])
    np.testing.assert_allclose(value.numpy(), (PER_SAMPLE * WEIGHTS).sum(), rtol=1e-6)


def test_loss_scalar_sample_weight_scales_the_loss():
    value = Squared()(Y_TRUE, Y_PRED, sample_weight=2.0)
    np.testing.assert_allclose(value.numpy(), 2 * PER_SAMPLE.mean(), rtol=1e-6)


def test_loss_mask_on_y_pred_averages_over_valid_samples_only():
    y_pred = torch.tensor(Y_PRED)
    y_pred._keras_mask = torch.tensor([True, False, True])
    value = Squared()(torch.tensor(Y_TRUE), y_pred)
    np.testing.assert_allclose(value.numpy(), (0.5 + 1.0) / 2, rtol=1e-5)
    summed = Squared(reduction="sum")(torch.tensor(Y_TRUE), y_pred)
    np.testing.assert_allclose(summed.numpy(), 1.5, rtol=1e-6)


def test_loss_mask_and_sample_weight_combine():
    y_pred = torch.tensor(Y_PRED)
    y_pred._keras_mask = torch.tensor([True, True, False])
    value = Squared(reduction="mean_with_sample_weight")(
        torch.tensor(Y_TRUE), y_pred, sample_weight=torch.tensor([2.0, 1.0, 5.0])
    )
    np.testing.assert_allclose(value.numpy(), (2 * 0.5 + 1 * 2.0) / 3, rtol=1e-6)


def test_loss_casts_inputs_to_its_dtype():
    seen = {}

    class Recorder(losses.Loss):
        def call(self, y_true, y_pred):
            seen["dtypes"] = (y_true.dtype, y_pred.dtype)
            return y_pred.sum(dim=-1)

    out = Recorder(dtype="float64")(np.ones((2, 2), "int32"), torch.ones(2, 2))
    assert seen["dtypes"] == (torch.float64, torch.float64)
    assert out.dtype == torch.float64
    assert Recorder().dtype == "float32"


def test_loss_gets_unique_snake_case_default_names():
    assert Squared().name == "squared"
    assert Squared().name == "squared_1"
    assert Squared(name="mine").name == "mine"


def test_loss_rejects_unknown_reduction():
    with pytest.raises(ValueError, match="Invalid value for argument `reduction`.*'auto'"):
        Squared(reduction="auto")


def test_loss_base_call_is_abstract():
    with pytest.raises(NotImplementedError, match="Loss must implement `call"):
        losses.Loss()([1.0], [1.0])


def test_loss_rejects_sample_weight_that_cannot_broadcast():
    with pytest.raises(ValueError, match=r"sample_weight.*losses.shape=\(3,\).*\(4,\)"):
        Squared()(Y_TRUE, Y_PRED, sample_weight=np.ones(4, "float32"))


def test_loss_config_round_trip():
    loss = Squared(name="sq", reduction="sum")
    assert loss.get_config() == {"name": "sq", "reduction": "sum"}
    clone = Squared.from_config(loss.get_config())
    assert (clone.name, clone.reduction) == ("sq", "sum")


def test_loss_function_wrapper_passes_kwargs_and_round_trips():
    def scaled_error(y_true, y_pred, scale=1.0):
        return scale * (y_true - y_pred).abs().mean(dim=-1)

    wrapper = losses.LossFunctionWrapper(scaled_error, name="scaled", scale=3.0)
    np.testing.assert_allclose(wrapper(Y_TRUE, Y_PRED).numpy(),
                               3 * np.abs(Y_TRUE - Y_PRED).mean(), rtol=1e-6)
    config = wrapper.get_config()
    assert config["scale"] == 3.0 and config["name"] == "scaled"
    with registry.custom_object_scope({"scaled_error": scaled_error}):
        clone = losses.deserialize(losses.serialize(wrapper))
    assert clone.fn is scaled_error and clone._fn_kwargs == {"scale": 3.0}


def test_loss_function_wrapper_squeezes_trailing_unit_axis():
    wrapper = losses.LossFunctionWrapper(lambda t, p: (t - p) ** 2, reduction="none")
    out = wrapper(np.array([1.0, 2.0], "float32"), np.array([[0.0], [0.0]], "float32"))
    assert out.shape == (2, 1)
    np.testing.assert_allclose(out.numpy()[:, 0], [1.0, 4.0])


def test_squeeze_or_expand_to_same_rank_rules():
    a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 1), torch.zeros(4))
    assert a.shape == (4, 1) and b.shape == (4, 1)
    a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 3, 1), torch.zeros(4, 3))
    assert a.shape == (4, 3) and b.shape == (4, 3)
    a, b = squeeze_or_expand_to_same_rank(torch.zeros(4, 3), torch.zeros(4, 3, 2))
    assert a.shape == (4, 3) and b.shape == (4, 3, 2)


def test_reduce_weighted_values_of_scalar_returns_it_unreduced():
    out = reduce_weighted_values(torch.tensor(3.0), sample_weight=2.0, reduction="sum")
    assert out.item() == 6.0


def test_losses_get_resolves_names_classes_and_callables():
    assert losses.get("mse") is losses.mean_squared_error
    assert losses.get("KLD") is losses.kl_divergence
    assert isinstance(losses.get("BinaryCrossentropy"), losses.BinaryCrossentropy)
    assert isinstance(losses.get(losses.MeanSquaredError), losses.MeanSquaredError)
    fn = losses.categorical_crossentropy
    assert losses.get(fn) is fn
    assert losses.get(None) is None


def test_losses_get_suggests_close_matches():
    with pytest.raises(ValueError, match="loss identifier: 'binary_crosentropy'.*Did you mean"):
        losses.get("binary_crosentropy")
    with pytest.raises(ValueError, match="Could not interpret loss identifier: 5"):
        losses.get(5)


def test_losses_deserialize_reads_keras_function_configs():
    config = {"module": "builtins", "class_name": "function",
              "config": "mean_absolute_error", "registered_name": "function"}
    assert losses.deserialize(config) is losses.mean_absolute_error
    config = losses.serialize(losses.mean_squared_error)
    assert losses.deserialize(config) is losses.mean_squared_error


@pytest.mark.parametrize(
    "loss",
    [
        losses.MeanSquaredError(reduction="sum"),
        losses.MeanAbsoluteError(name="l1"),
        losses.BinaryCrossentropy(from_logits=True, label_smoothing=0.1),
        losses.CategoricalCrossentropy(label_smoothing=0.2, reduction=None),
        losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
        losses.KLDivergence(reduction="mean_with_sample_weight"),
    ],
)
def test_builtin_losses_serialize_round_trip(loss):
    config = losses.serialize(loss)
    assert config["module"] == "keras.losses"
    assert config["class_name"] == type(loss).__name__
    clone = losses.deserialize(config)
    assert type(clone) is type(loss)
    assert clone.get_config() == loss.get_config()
