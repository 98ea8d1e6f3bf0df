import math

import numpy as np
import pytest
import torch

import lamina
from lamina import initializers as I
from lamina.initializers.random_initializers import compute_fans
from lamina.random import SeedGenerator


@pytest.mark.parametrize(
    "shape, fans",
    [((), (1, 1)), ((7,), (7, 7)), ((30, 40), (30, 40)), ((3, 3, 16, 32), (144, 288)),
     ((2, 3, 4, 5, 6), (120, 144))],
)
def test_compute_fans(shape, fans):
    assert compute_fans(shape) == fans


def test_compute_fans_with_explicit_axes():
    assert compute_fans((4, 5, 6, 70), input_axes=[1], output_axes=[2, -1]) == (5, 420)
    # One of the two alone is ignored, as in Keras.
    assert compute_fans((4, 5), input_axes=[1]) == (4, 5)


@pytest.mark.parametrize(
    "cls, shape, std",
    [
        (I.GlorotUniform, (300, 500), math.sqrt(2 / 800)),
        (I.GlorotNormal, (300, 500), math.sqrt(2 / 800)),
        (I.HeUniform, (3, 3, 64, 128), math.sqrt(2 / 576)),
        (I.HeNormal, (3, 3, 64, 128), math.sqrt(2 / 576)),
        (I.LecunUniform, (400, 300), math.sqrt(1 / 400)),
        (I.LecunNormal, (400, 300), math.sqrt(1 / 400)),
    ],
)
def test_variance_scaling_family_statistics(cls, shape, std):
    values = cls(seed=0)(shape)
    assert values.shape == shape and values.dtype == torch.float32
    assert abs(values.mean().item()) < 0.02 * std * 10
    assert values.std().item() == pytest.approx(std, rel=0.02)
    if "Uniform" in cls.__name__:
        assert values.abs().max().item() <= math.sqrt(3) * std + 1e-6


def test_variance_scaling_modes_and_distributions():
    shape = (200, 800)
    for mode, n in [("fan_in", 200), ("fan_out", 800), ("fan_avg", 500)]:
        for dist in ["truncated_normal", "untruncated_normal", "uniform"]:
            init = I.VarianceScaling(scale=3.0, mode=mode, distribution=dist, seed=1)
            assert init(shape).std().item() == pytest.approx(math.sqrt(3.0 / n), rel=0.02)
    trunc = I.VarianceScaling(distribution="truncated_normal", seed=1)((400, 400))
    assert (trunc.abs() > 2.0 * math.sqrt(1 / 400) / 0.87962566103423978).float().mean() < 1e-4


def test_variance_scaling_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`scale` must be positive float. Received: scale=0"):
        I.VarianceScaling(scale=0)
    with pytest.raises(ValueError, match="Invalid `mode` argument: fan_x"):
        I.VarianceScaling(mode="fan_x")
    with pytest.raises(ValueError, match="Invalid `distribution` argument: cauchy"):
        I.VarianceScaling(distribution="cauchy")


def test_random_normal_uniform_truncated_statistics():
    n = (500, 500)
    x = I.RandomNormal(mean=1.0, stddev=2.0, seed=3)(n)
    assert x.mean().item() == pytest.approx(1.0, abs=0.02)
    assert x.std().item() == pytest.approx(2.0, rel=0.01)
    u = I.RandomUniform(minval=2.0, maxval=4.0, seed=3)(n)
    assert u.min().item() >= 2.0 and u.max().item() < 4.0
    t = I.TruncatedNormal(mean=0.0, stddev=1.0, seed=3)(n)
    assert t.std().item() == pytest.approx(0.8796, rel=0.01)


def test_seed_semantics():
    seeded = I.GlorotUniform(seed=5)
    assert torch.equal(seeded((4, 4)), seeded((4, 4)))
    assert torch.equal(seeded((4, 4)), I.GlorotUniform(seed=5)((4, 4)))
    unseeded = I.GlorotUniform()
    assert torch.equal(unseeded((4, 4)), unseeded((4, 4)))  # fixed at construction (Keras)
    assert not torch.equal(I.GlorotUniform()((4, 4)), I.GlorotUniform()((4, 4)))
    with_generator = I.GlorotUniform(seed=SeedGenerator(5))
    assert not torch.equal(with_generator((4, 4)), with_generator((4, 4)))


def test_bad_seed_and_dtype():
    with pytest.raises(ValueError, match="`seed` argument should be an instance of"):
        I.RandomNormal(seed="a")
    with pytest.raises(ValueError, match="only makes floating point values.*'int32'"):
        I.GlorotUniform()((2, 2), dtype="int32")


def test_dtype_and_device():
    assert I.HeNormal(seed=1)((3, 3), dtype="float64").dtype == torch.float64
    assert I.Zeros()((2,), dtype="int32").dtype == torch.int32
    assert I.Ones()((2,)).device.type == lamina.backend.get_device().type


def test_constant_zeros_ones():
    assert I.Zeros()((2, 3)).tolist() == [[0.0] * 3] * 2
    assert I.Ones()((2,)).tolist() == [1.0, 1.0]
    assert I.Constant(2.5)((2, 2)).tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert I.Constant([1.0, 2.0])((2, 2)).tolist() == [[1.0, 2.0], [1.0, 2.0]]
    assert I.Constant(np.array([1.0, 2.0]))((3, 2))[2].tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match="cannot be broadcast to the requested shape \\(2, 2\\)"):
        I.Constant([1.0, 2.0, 3.0])((2, 2))


def test_constant_array_config_round_trip():
    init = I.Constant(np.array([1.0, 2.0]))
    config = init.get_config()
    assert config["value"]["class_name"] == "__numpy__"
    clone = I.Constant.from_config(config)
    assert clone((2,)).tolist() == [1.0, 2.0]


def test_identity():
    assert I.Identity(gain=2.0)((2, 3)).tolist() == [[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]]
    assert I.Identity().get_config() == {}
    assert I.Identity.from_config(I.Identity(gain=3.0).get_config()).gain == 3.0
    with pytest.raises(ValueError, match="only be used for 2D matrices.*rank 3"):
        I.Identity()((3, 3, 2))


@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 3, 2, 4), (5, 5)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    q = I.Orthogonal(gain=1.5, seed=0)(shape)
    assert q.shape == shape
    flat = q.reshape(-1, shape[-1]).double() / 1.5
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    torch.testing.assert_close(gram, torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-5,
                               rtol=0)
    with pytest.raises(ValueError, match="at least two-dimensional.*rank 1"):
        I.Orthogonal()((5,))


def test_orthogonal_half_precision():
    assert I.Orthogonal(seed=0)((4, 4), dtype="bfloat16").dtype == torch.bfloat16


def test_get_names_aliases_classes_and_none():
    assert type(I.get("glorot_uniform")) is I.GlorotUniform
    assert type(I.get("GlorotUniform")) is I.GlorotUniform
    assert type(I.get("uniform")) is I.RandomUniform
    assert type(I.get("IdentityInitializer")) is I.Identity
    assert type(I.get(I.HeNormal)) is I.HeNormal
    assert I.get(None) is None
    init = I.Ones()
    assert I.get(init) is init
    assert I.glorot_uniform is I.GlorotUniform and I.zeros is I.Zeros


def test_get_unknown_name_lists_close_matches():
    with pytest.raises(ValueError, match="Unknown initializer: 'glorot_unifrm'.*'glorot_uniform'"):
        I.get("glorot_unifrm")
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        I.get(3)


@pytest.mark.parametrize("name", sorted(I.ALL_OBJECTS_DICT))
def test_serialize_round_trip(name):
    init = I.get(name)
    config = I.serialize(init)
    assert config["module"] == "keras.initializers"
    assert config["class_name"] == type(init).__name__
    clone = I.deserialize(config)
    assert type(clone) is type(init) and clone.get_config() == init.get_config()


def test_seed_generator_seed_serializes():
    init = I.RandomNormal(seed=SeedGenerator(4, name="sg"))
    config = I.serialize(init)
    assert config["config"]["seed"]["class_name"] == "SeedGenerator"
    clone = I.deserialize(config)
    assert isinstance(clone.seed, SeedGenerator) and clone.seed.seed == 4


def test_user_subclass_serializes_with_its_config():
    class Fill(I.Initializer):
        def __init__(self, value=1.0):
            self.value = value

        def __call__(self, shape, dtype=None):
            return torch.full(shape, self.value)

        def get_config(self):
            return {"value": self.value}

    clone = I.deserialize(I.serialize(Fill(3.0)), custom_objects={"Fill": Fill})
    assert clone((2,)).tolist() == [3.0, 3.0]
    with pytest.raises(NotImplementedError, match="must implement the `__call__\\(\\)` method"):
        I.Initializer()((2,))
