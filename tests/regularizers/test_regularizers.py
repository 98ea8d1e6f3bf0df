import numpy as np
import pytest
import torch

from lamina import regularizers as R

W = torch.tensor([[1.0, -2.0], [3.0, 4.0], [5.0, 6.0]])


def test_l1_l2_l1l2_formulas():
    assert R.L1(0.5)(W).item() == pytest.approx(0.5 * 21)
    assert R.L2(0.5)(W).item() == pytest.approx(0.5 * 91)
    assert R.L1L2(0.1, 0.2)(W).item() == pytest.approx(0.1 * 21 + 0.2 * 91)
    out = R.L1L2()(W)
    assert out.item() == 0.0 and out.shape == () and isinstance(out, torch.Tensor)


def test_penalty_is_a_scalar_tensor_in_the_weight_dtype():
    out = R.L2()(W.double())
    assert isinstance(out, torch.Tensor) and out.shape == () and out.dtype == torch.float64


def test_defaults_and_none():
    assert R.L2().l2 == 0.01 and R.L2(l2=None).l2 == 0.01
    assert R.L1().get_config() == {"l1": float(np.float32(0.01))}
    assert R.L1L2(None, None).get_config() == {"l1": 0.0, "l2": 0.0}


def _orthogonal_reference(w, factor):
    w = w.double().numpy()
    w = w / np.linalg.norm(w, axis=1, keepdims=True)
    g = w @ w.T
    n = g.shape[0]
    return factor * 0.5 * np.abs(g - np.diag(np.diag(g))).sum() / (n * (n - 1) / 2)


def test_orthogonal_regularizer_rows_and_columns():
    w = torch.randn(6, 4)
    rows = R.OrthogonalRegularizer(factor=0.5)(w).item()
    cols = R.OrthogonalRegularizer(factor=0.5, mode="columns")(w).item()
    assert rows == pytest.approx(_orthogonal_reference(w, 0.5), rel=1e-5)
    assert cols == pytest.approx(_orthogonal_reference(w.T, 0.5), rel=1e-5)
    assert R.OrthogonalRegularizer(1.0)(torch.eye(3)).item() == 0.0
    with pytest.raises(ValueError, match="must have rank 2. Received: inputs.shape=\\(4,\\)"):
        R.OrthogonalRegularizer()(torch.ones(4))


@pytest.mark.parametrize("bad", [-1, float("nan"), "a", True])
def test_factors_must_be_non_negative_floats(bad):
    with pytest.raises(ValueError, match="argument l2: expected a non-negative float"):
        R.L2(bad)
    with pytest.raises(ValueError, match="argument factor: expected a non-negative float"):
        R.OrthogonalRegularizer(factor=bad)


def test_orthogonal_mode_is_checked():
    with pytest.raises(ValueError, match='Expected one of \\{"rows", "columns"\\}'):
        R.OrthogonalRegularizer(mode="diagonal")


def test_get_and_aliases():
    assert type(R.get("l2")) is R.L2 and type(R.get("L1L2")) is R.L1L2
    assert type(R.get("l1_l2")) is R.L1L2 and R.l1_l2 is R.L1L2
    assert R.get(None) is None
    reg = R.L1(0.3)
    assert R.get(reg) is reg
    with pytest.raises(ValueError, match="Unknown regularizer: 'l22'.*'l2'"):
        R.get("l22")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        R.get(3)


@pytest.mark.parametrize(
    "reg", [R.L1(0.2), R.L2(0.3), R.L1L2(0.1, 0.4), R.OrthogonalRegularizer(0.2, "columns")]
)
def test_serialize_round_trip(reg):
    config = R.serialize(reg)
    assert config["module"] == "keras.regularizers"
    clone = R.deserialize(config)
    assert type(clone) is type(reg) and clone.get_config() == reg.get_config()
    torch.testing.assert_close(clone(W), reg(W))


def test_base_class():
    assert R.Regularizer()(W) == 0.0
    with pytest.raises(NotImplementedError, match="does not implement get_config"):
        R.Regularizer().get_config()
