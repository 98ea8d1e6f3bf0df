import numpy as np
import pytest
import torch

from lamina import constraints as C

EPS = 1e-7


def _norms(w, axis):
    return np.sqrt((w.double().numpy() ** 2).sum(axis=axis, keepdims=True))


def test_max_norm_clips_column_norms():
    w = torch.randn(5, 4) * 3
    out = C.MaxNorm(max_value=1.5)(w)
    n = _norms(w, 0)
    expected = w.double().numpy() * np.clip(n, 0, 1.5) / (EPS + n)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-7)
    assert (np.linalg.norm(out.numpy(), axis=0) <= 1.5 + 1e-5).all()


def test_max_norm_over_several_axes():
    w = torch.randn(3, 3, 2, 4)
    out = C.MaxNorm(max_value=0.5, axis=[0, 1, 2])(w)
    assert np.allclose(_norms(out, (0, 1, 2)), 0.5, atol=1e-5)


def test_min_max_norm_with_rate():
    w = torch.randn(6, 3)
    out = C.MinMaxNorm(min_value=0.5, max_value=1.0, rate=0.5, axis=0)(w)
    n = _norms(w, 0)
    desired = 0.5 * np.clip(n, 0.5, 1.0) + 0.5 * n
    np.testing.assert_allclose(out.numpy(), w.double().numpy() * desired / (EPS + n),
                               rtol=1e-6, atol=1e-7)


def test_unit_norm_and_non_neg():
    w = torch.randn(4, 3)
    np.testing.assert_allclose(_norms(C.UnitNorm(axis=1)(w), 1), 1.0, rtol=1e-5)
    assert C.NonNeg()(torch.tensor([-1.0, 0.0, 2.0])).tolist() == [0.0, 0.0, 2.0]


def test_zero_weights_stay_finite():
    for constraint in [C.MaxNorm(), C.UnitNorm(), C.MinMaxNorm()]:
        assert torch.equal(constraint(torch.zeros(2, 2)), torch.zeros(2, 2))


def test_get_aliases_and_errors():
    assert type(C.get("max_norm")) is C.MaxNorm and type(C.get("NonNeg")) is C.NonNeg
    assert C.unit_norm is C.UnitNorm and C.get(None) is None
    with pytest.raises(ValueError, match="Unknown constraint: 'maxnorm'.*'max_norm'"):
        C.get("maxnorm")
    with pytest.raises(ValueError, match="Could not interpret constraint identifier"):
        C.get(2.0)


@pytest.mark.parametrize(
    "constraint",
    [C.MaxNorm(3, axis=1), C.MinMaxNorm(0.1, 2.0, 0.5, axis=[0, 1]), C.NonNeg(), C.UnitNorm(1)],
)
def test_serialize_round_trip(constraint):
    config = C.serialize(constraint)
    assert config["module"] == "keras.constraints"
    clone = C.deserialize(config)
    assert type(clone) is type(constraint) and clone.get_config() == constraint.get_config()


def test_defaults_match_keras():
    assert C.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0,
                                           "axis": 0}
    assert C.Constraint()(torch.ones(2)).tolist() == [1.0, 1.0]
