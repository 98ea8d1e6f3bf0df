"""lamina.losses against keras.losses (torch backend) on the same inputs."""

import json

import numpy as np
import pytest
import torch

from lamina import losses

REDUCTIONS = ["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"]
RNG = np.random.default_rng(10)
N, C = 16, 5
LABELS = RNG.integers(0, C, size=(N,))
ONE_HOT = np.eye(C, dtype="float32")[LABELS]
BINARY = (RNG.uniform(size=(N, C)) > 0.5).astype("float32")
PROBS = RNG.dirichlet(np.ones(C), size=N).astype("float32")
UNIFORM = RNG.uniform(size=(N, C)).astype("float32")
LOGITS = RNG.normal(scale=10.0, size=(N, C)).astype("float32")
LOGITS[0], LOGITS[1] = 50.0, -50.0
LOGITS[2, ::2] = 50.0
LOGITS[3, 1::2] = -50.0
ZEROS = np.zeros((N, C), "float32")
REGRESS_TRUE = RNG.normal(size=(N, C)).astype("float32")
WEIGHTS = {
    "none": None,
    "per_sample": RNG.uniform(0, 2, size=(N,)).astype("float32"),
    "column": RNG.uniform(0, 2, size=(N, 1)).astype("float32"),
    "scalar": 0.7,
    "with_zeros": np.where(RNG.uniform(size=N) > 0.5, 1.0, 0.0).astype("float32"),
}

CASES = [
    ("MeanSquaredError", {}, REGRESS_TRUE, UNIFORM),
    ("MeanAbsoluteError", {}, REGRESS_TRUE, UNIFORM),
    ("BinaryCrossentropy", {}, BINARY, UNIFORM),
    ("BinaryCrossentropy", {}, ZEROS, UNIFORM),
    ("BinaryCrossentropy", {"label_smoothing": 0.2}, BINARY, UNIFORM),
    ("BinaryCrossentropy", {"from_logits": True}, BINARY, LOGITS),
    ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ZEROS, LOGITS),
    ("CategoricalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {}, ZEROS, PROBS),
    ("CategoricalCrossentropy", {}, ONE_HOT, UNIFORM),
    ("CategoricalCrossentropy", {"label_smoothing": 0.3}, ONE_HOT, PROBS),
    ("CategoricalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("CategoricalCrossentropy", {"from_logits": True, "label_smoothing": 0.1}, ONE_HOT, LOGITS),
    ("SparseCategoricalCrossentropy", {}, LABELS, PROBS),
    ("SparseCategoricalCrossentropy", {}, LABELS[:, None], UNIFORM),
    ("SparseCategoricalCrossentropy", {"from_logits": True}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"from_logits": True, "ignore_class": 2}, LABELS, LOGITS),
    ("SparseCategoricalCrossentropy", {"ignore_class": 0}, LABELS[:, None], PROBS),
    ("KLDivergence", {}, PROBS[::-1].copy(), PROBS),
    ("KLDivergence", {}, ZEROS, PROBS),
]


def _case_id(case):
    name, kwargs, y_true, _ = case
    extra = ",".join(f"{k}={v}" for k, v in kwargs.items())
    return f"{name}({extra})-{'zeros' if not y_true.any() else 'labels'}"


def _assert_close(ours, theirs, rtol=2e-6, atol=2e-6):
    theirs = theirs.detach().cpu().numpy() if isinstance(theirs, torch.Tensor) else theirs
    ours = ours.detach().cpu().numpy()
    assert ours.shape == np.shape(theirs)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol)


@pytest.mark.parametrize("weights", list(WEIGHTS))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_classes_match_keras(K, case, reduction, weights):
    name, kwargs, y_true, y_pred = case
    sample_weight = WEIGHTS[weights]
    if "ignore_class" in kwargs and weights == "scalar":
        pytest.skip("Keras' in-place masking fails for a scalar sample_weight")
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(K.losses, name)(reduction=reduction, **kwargs)
    _assert_close(ours(y_true, y_pred, sample_weight=sample_weight),
                  theirs(y_true, y_pred, sample_weight=sample_weight))


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_loss_functions_match_keras(K, case):
    name, kwargs, y_true, y_pred = case
    fn_name = {"MeanSquaredError": "mean_squared_error", "MeanAbsoluteError":
               "mean_absolute_error", "BinaryCrossentropy": "binary_crossentropy",
               "CategoricalCrossentropy": "categorical_crossentropy",
               "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
               "KLDivergence": "kl_divergence"}[name]
    _assert_close(getattr(losses, fn_name)(y_true, y_pred, **kwargs),
                  getattr(K.losses, fn_name)(y_true, y_pred, **kwargs))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_masked_losses_match_keras(K, reduction):
    from keras.src.backend import set_keras_mask

    mask = torch.tensor(RNG.uniform(size=N) > 0.3)
    ours_pred, theirs_pred = torch.tensor(UNIFORM), torch.tensor(UNIFORM)
    ours_pred._keras_mask = mask
    set_keras_mask(theirs_pred, mask)
    for weights in (None, WEIGHTS["per_sample"]):
        ours = losses.MeanSquaredError(reduction=reduction)(REGRESS_TRUE, ours_pred, weights)
        theirs = K.losses.MeanSquaredError(reduction=reduction)(REGRESS_TRUE, theirs_pred,
                                                               weights)
        _assert_close(ours, theirs, rtol=1e-5)


def test_sequence_sparse_crossentropy_matches_keras(K):
    labels = RNG.integers(0, C, size=(4, 6))
    logits = RNG.normal(scale=5.0, size=(4, 6, C)).astype("float32")
    weights = RNG.uniform(size=(4, 6)).astype("float32")
    for kwargs in ({"from_logits": True}, {"from_logits": True, "ignore_class": 1}):
        ours = losses.SparseCategoricalCrossentropy(**kwargs)(labels, logits, weights)
        theirs = K.losses.SparseCategoricalCrossentropy(**kwargs)(labels, logits, weights)
        _assert_close(ours, theirs, rtol=1e-5)


def test_loss_gradients_match_keras(K):
    for name, kwargs, y_true, y_pred in CASES:
        if name == "SparseCategoricalCrossentropy" and "ignore_class" in kwargs:
            continue  # Keras multiplies y_pred by the mask, changing the gradient of 0 * nan
        ours_pred = torch.tensor(y_pred, requires_grad=True)
        theirs_pred = torch.tensor(y_pred, requires_grad=True)
        getattr(losses, name)(**kwargs)(y_true, ours_pred, WEIGHTS["per_sample"]).backward()
        getattr(K.losses, name)(**kwargs)(y_true, theirs_pred, WEIGHTS["per_sample"]).backward()
        np.testing.assert_allclose(ours_pred.grad.numpy(), theirs_pred.grad.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=f"{name}{kwargs}")


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("MeanSquaredError", {"reduction": "sum"}),
        ("MeanAbsoluteError", {"name": "l1", "reduction": None}),
        ("BinaryCrossentropy", {"from_logits": True, "label_smoothing": 0.1, "axis": 0}),
        ("CategoricalCrossentropy", {"label_smoothing": 0.2}),
        ("SparseCategoricalCrossentropy", {"ignore_class": 4}),
        ("KLDivergence", {}),
    ],
)
def test_loss_configs_match_keras_and_load_in_keras(K, name, kwargs):
    ours = getattr(losses, name)(**kwargs)
    theirs = getattr(K.losses, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    ours_serialized = losses.serialize(ours)
    assert ours_serialized == K.losses.serialize(theirs)
    assert K.losses.deserialize(ours_serialized).get_config() == ours.get_config()
    assert losses.deserialize(K.losses.serialize(theirs)).get_config() == ours.get_config()


def test_loss_string_identifiers_resolve_like_keras(K):
    for name in ("mse", "MSE", "mae", "kld", "KLD", "bce", "binary_crossentropy",
                 "categorical_crossentropy", "sparse_categorical_crossentropy",
                 "mean_squared_error", "kl_divergence"):
        assert losses.get(name).__name__ == K.losses.get(name).__name__
    for name in ("BinaryCrossentropy", "KLDivergence"):
        assert type(losses.get(name)).__name__ == type(K.losses.get(name)).__name__


# --- the rest of the catalogue ----------------------------------------------------------

POSITIVE = RNG.uniform(0.1, 3.0, size=(N, C)).astype("float32")
COUNTS = RNG.poisson(2.0, size=(N, C)).astype("float32")
SIGNED = np.where(BINARY > 0, 1.0, -1.0).astype("float32")
SCORES = RNG.normal(size=(N, C)).astype("float32")
REGRESS_TRUE[0, 0] = 0.0  # a zero target for the percentage error
EMBEDDINGS = RNG.normal(size=(N, 4)).astype("float32")
UNIT_EMBEDDINGS = EMBEDDINGS / np.linalg.norm(EMBEDDINGS, axis=1, keepdims=True)
GROUPS = RNG.integers(0, 3, size=(N,))
CTC_LABELS = np.array([[1, 2, 2, 0], [3, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0]] * 4)
CTC_LOGITS = RNG.normal(size=(N, 9, C)).astype("float32")

MORE_CASES = [
    ("MeanAbsolutePercentageError", {}, REGRESS_TRUE, UNIFORM),
    ("MeanSquaredLogarithmicError", {}, POSITIVE, UNIFORM),
    ("MeanSquaredLogarithmicError", {}, REGRESS_TRUE, SCORES),
    ("Huber", {}, REGRESS_TRUE * 3, UNIFORM),
    ("Huber", {"delta": 0.3}, REGRESS_TRUE, UNIFORM),
    ("LogCosh", {}, REGRESS_TRUE * 50, UNIFORM),
    ("CosineSimilarity", {}, REGRESS_TRUE, SCORES),
    ("CosineSimilarity", {"axis": 0}, ZEROS, SCORES),
    ("Poisson", {}, COUNTS, POSITIVE),
    ("Poisson", {}, ZEROS, UNIFORM),
    ("Hinge", {}, BINARY, SCORES),
    ("Hinge", {}, SIGNED, SCORES),
    ("SquaredHinge", {}, BINARY, SCORES),
    ("SquaredHinge", {}, ZEROS, SCORES),
    ("CategoricalHinge", {}, ONE_HOT, SCORES),
    ("BinaryFocalCrossentropy", {}, BINARY, UNIFORM),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.4, "gamma": 1.0,
                                 "label_smoothing": 0.1}, BINARY, UNIFORM),
    ("BinaryFocalCrossentropy", {"from_logits": True}, BINARY, LOGITS),
    ("BinaryFocalCrossentropy", {"from_logits": True, "axis": 0}, ZEROS, LOGITS),
    ("CategoricalFocalCrossentropy", {}, ONE_HOT, PROBS),
    ("CategoricalFocalCrossentropy", {"alpha": 0.5, "gamma": 0.5, "label_smoothing": 0.2},
     ONE_HOT, UNIFORM),
    ("CategoricalFocalCrossentropy", {"from_logits": True}, ONE_HOT, LOGITS),
    ("CategoricalFocalCrossentropy", {"from_logits": True, "axis": 0}, ZEROS, LOGITS),
    ("CategoricalGeneralizedCrossEntropy", {}, LABELS, PROBS),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.1}, LABELS, PROBS),
    ("Dice", {}, BINARY, UNIFORM),
    ("Dice", {"axis": 1}, BINARY, UNIFORM),
    ("Dice", {"axis": 1}, ZEROS, ZEROS),
    ("Tversky", {"alpha": 0.3, "beta": 0.7}, BINARY, UNIFORM),
    ("Tversky", {"alpha": 0.8, "beta": 0.2, "axis": 1}, BINARY, UNIFORM),
    ("CTC", {}, CTC_LABELS, CTC_LOGITS),
    ("Circle", {}, GROUPS, UNIT_EMBEDDINGS),
    ("Circle", {"gamma": 10.0, "margin": 0.25, "remove_diagonal": False}, GROUPS, EMBEDDINGS),
]
MORE_WEIGHTS = ["none", "per_sample", "scalar", "with_zeros"]
TORCH_INPUT = {"CategoricalGeneralizedCrossEntropy", "Circle"}  # Keras needs tensors there


def _keras_inputs(name, y_true, y_pred):
    if name in TORCH_INPUT:
        return torch.tensor(y_true), torch.tensor(y_pred)
    return y_true, y_pred


@pytest.mark.parametrize("weights", MORE_WEIGHTS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", MORE_CASES, ids=_case_id)
def test_more_loss_classes_match_keras(K, case, reduction, weights):
    name, kwargs, y_true, y_pred = case
    sample_weight = WEIGHTS[weights]
    if name in ("Dice", "Tversky") and "axis" not in kwargs and weights not in ("none",
                                                                               "scalar"):
        pytest.skip("one value per batch: per-sample weights do not apply")
    if name == "Circle" and weights == "scalar":
        pytest.skip("Keras' in-place masking fails for a scalar sample_weight")
    if kwargs.get("axis") == 0 and weights in ("per_sample", "with_zeros"):
        pytest.skip("one value per class: per-sample weights do not apply")
    ours = getattr(losses, name)(reduction=reduction, **kwargs)
    theirs = getattr(K.losses, name)(reduction=reduction, **kwargs)
    _assert_close(ours(y_true, y_pred, sample_weight=sample_weight),
                  theirs(*_keras_inputs(name, y_true, y_pred), sample_weight=sample_weight),
                  rtol=1e-5, atol=1e-5)


MORE_FUNCTIONS = {
    "MeanAbsolutePercentageError": "mean_absolute_percentage_error",
    "MeanSquaredLogarithmicError": "mean_squared_logarithmic_error", "Huber": "huber",
    "LogCosh": "log_cosh", "CosineSimilarity": "cosine_similarity", "Poisson": "poisson",
    "Hinge": "hinge", "SquaredHinge": "squared_hinge", "CategoricalHinge": "categorical_hinge",
    "BinaryFocalCrossentropy": "binary_focal_crossentropy",
    "CategoricalFocalCrossentropy": "categorical_focal_crossentropy",
    "CategoricalGeneralizedCrossEntropy": "categorical_generalized_cross_entropy",
    "Dice": "dice", "Tversky": "tversky", "CTC": "ctc", "Circle": "circle",
}


@pytest.mark.parametrize("case", MORE_CASES, ids=_case_id)
def test_more_loss_functions_match_keras(K, case):
    name, kwargs, y_true, y_pred = case
    fn_name = MORE_FUNCTIONS[name]
    if name == "CategoricalGeneralizedCrossEntropy":
        kwargs = {"q": 0.5, **kwargs}
    _assert_close(getattr(losses, fn_name)(y_true, y_pred, **kwargs),
                  getattr(K.losses, fn_name)(*_keras_inputs(name, y_true, y_pred), **kwargs),
                  rtol=1e-5, atol=1e-5)


def test_more_loss_gradients_match_keras(K):
    for name, kwargs, y_true, y_pred in MORE_CASES:
        ours_pred = torch.tensor(y_pred, requires_grad=True)
        theirs_pred = torch.tensor(y_pred, requires_grad=True)
        per_batch = name in ("Dice", "Tversky") or kwargs.get("axis") == 0
        weights = None if per_batch else WEIGHTS["per_sample"]
        getattr(losses, name)(**kwargs)(y_true, ours_pred, weights).backward()
        theirs_true = torch.tensor(y_true) if name in TORCH_INPUT else y_true
        getattr(K.losses, name)(**kwargs)(theirs_true, theirs_pred, weights).backward()
        np.testing.assert_allclose(ours_pred.grad.numpy(), theirs_pred.grad.numpy(),
                                   rtol=1e-4, atol=1e-6, err_msg=f"{name}{kwargs}")


def _json(config):
    return json.loads(json.dumps(config))


MORE_CONFIGS = [
    ("MeanAbsolutePercentageError", {"reduction": "sum"}),
    ("MeanSquaredLogarithmicError", {"name": "msle_loss"}),
    ("Huber", {"delta": 2.0}),
    ("LogCosh", {}),
    ("CosineSimilarity", {"axis": 0}),
    ("Poisson", {"reduction": "none"}),
    ("Hinge", {}),
    ("SquaredHinge", {}),
    ("CategoricalHinge", {}),
    ("BinaryFocalCrossentropy", {"apply_class_balancing": True, "alpha": 0.3, "gamma": 1.5,
                                 "from_logits": True, "label_smoothing": 0.1, "axis": 0}),
    ("CategoricalFocalCrossentropy", {"alpha": 0.1, "gamma": 3.0, "label_smoothing": 0.2}),
    ("CategoricalGeneralizedCrossEntropy", {"q": 0.3}),
    ("Dice", {"axis": (1, 2)}),
    ("Tversky", {"alpha": 0.2, "beta": 0.8, "axis": 1}),
    ("CTC", {"reduction": "sum"}),
    ("Circle", {"gamma": 64.0, "margin": 0.2, "remove_diagonal": False}),
]


@pytest.mark.parametrize("name, kwargs", MORE_CONFIGS)
def test_more_loss_configs_match_keras_and_load_both_ways(K, name, kwargs):
    ours = getattr(losses, name)(**kwargs)
    theirs = getattr(K.losses, name)(**kwargs)
    assert ours.get_config() == theirs.get_config()
    ours_serialized = losses.serialize(ours)
    # Keras leaves a tuple `axis` as a tuple before JSON; compare what reaches the file.
    assert _json(ours_serialized) == _json(K.losses.serialize(theirs))
    if name != "CategoricalGeneralizedCrossEntropy":  # missing from Keras' own catalogue
        assert _json(K.losses.deserialize(ours_serialized).get_config()) == _json(
            ours.get_config())
    assert _json(losses.deserialize(K.losses.serialize(theirs)).get_config()) == _json(
        ours.get_config())
    assert type(losses.get(name)).__name__ == name


def test_every_keras_loss_name_resolves_like_keras(K):
    from keras.src.losses import ALL_OBJECTS_DICT

    public = {n for n in dir(K.losses) if not n.startswith("_")}
    assert public - {"deserialize", "get", "serialize"} <= set(dir(losses))
    for name in ALL_OBJECTS_DICT:
        if name in ("Loss", "LossFunctionWrapper"):
            continue
        ours, theirs = losses.get(name), K.losses.get(name)
        assert getattr(ours, "__name__", type(ours).__name__) == getattr(
            theirs, "__name__", type(theirs).__name__), name
