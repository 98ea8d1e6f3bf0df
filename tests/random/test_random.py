import numpy as np
import pytest
import torch

import lamina
from lamina import random as lr


def test_int_seed_repeats_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_global = torch.rand(3)
    torch.manual_seed(123)
    a = lr.normal((4, 5), seed=3)
    b = lr.normal((4, 5), seed=3)
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected_global)


def test_normal_uses_generator_seeded_with_int_seed():
    expected = torch.randn((3, 2), generator=torch.Generator().manual_seed(9)) * 2.0 + 1.0
    torch.testing.assert_close(lr.normal((3, 2), mean=1.0, stddev=2.0, seed=9), expected)


def test_seed_generator_advances_and_is_reproducible():
    gen = lr.SeedGenerator(5)
    first, second = lr.uniform((8,), seed=gen), lr.uniform((8,), seed=gen)
    assert not torch.equal(first, second)
    assert gen.counter == 2
    replay = lr.SeedGenerator(5)
    assert torch.equal(lr.uniform((8,), seed=replay), first)
    # Draw k of seed s uses torch seed s + k (Keras' scheme).
    assert torch.equal(second, lr.uniform((8,), seed=6))


def test_seed_generator_state_next_and_config():
    gen = lr.SeedGenerator(3, name="gen")
    assert gen.next().tolist() == [3, 0]
    assert gen.state.tolist() == [3, 1]
    assert gen.get_config() == {"seed": 3, "name": "gen"}
    assert lr.SeedGenerator.from_config(gen.get_config()).seed == 3
    unseeded = lr.SeedGenerator()
    assert unseeded.get_config()["seed"] is None and isinstance(unseeded.seed, int)


def test_seed_generator_rejects_non_int_seed():
    with pytest.raises(ValueError, match="`seed` must be an integer. Received: seed='a'"):
        lr.SeedGenerator("a")
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        lr.SeedGenerator(1, foo=2)


@pytest.mark.parametrize("seed", ["a", 1.5])
def test_samplers_reject_bad_seed(seed):
    with pytest.raises(ValueError, match="integer or an instance of `SeedGenerator`"):
        lr.normal((2,), seed=seed)


def test_moments_of_large_draws():
    n = (400, 500)
    x = lr.normal(n, mean=2.0, stddev=3.0, seed=1)
    assert abs(x.mean().item() - 2.0) < 0.03 and abs(x.std().item() - 3.0) < 0.03
    u = lr.uniform(n, minval=-1.0, maxval=3.0, seed=1)
    assert u.min().item() >= -1.0 and u.max().item() < 3.0
    assert abs(u.mean().item() - 1.0) < 0.02
    t = lr.truncated_normal(n, stddev=1.0, seed=1)
    # A unit normal cut at +-2 has std 0.8796; Keras' scheme lets ~5e-6 escape the cut.
    assert abs(t.std().item() - 0.87962566) < 0.005
    assert (t.abs() > 2).float().mean().item() < 1e-4


def test_dtypes_and_device():
    assert lr.normal((2,), seed=1).dtype == torch.float32
    assert lr.normal((2,), dtype="float64", seed=1).dtype == torch.float64
    assert lr.randint((2,), 0, 5, seed=1).dtype == torch.int32
    assert lr.normal((2,)).device.type == lamina.backend.get_device().type
    with pytest.raises(ValueError, match="floating point `dtype`"):
        lr.uniform((2,), dtype="int32")


def test_randint_range():
    r = lr.randint((1000,), -3, 4, seed=2)
    assert r.min().item() == -3 and r.max().item() == 3


def test_dropout_scales_kept_entries_and_respects_noise_shape():
    x = torch.ones(64, 32)
    y = lr.dropout(x, 0.25, seed=1)
    kept = y != 0
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / 0.75))
    assert abs(kept.float().mean().item() - 0.75) < 0.03
    y = lr.dropout(x, 0.5, noise_shape=(1, None), seed=1)
    assert torch.equal(y[0], y[1])
    assert torch.equal(lr.dropout(x, 1.0, seed=1), torch.zeros_like(x))
    assert torch.equal(lr.dropout(x, 0.0, seed=1), x)
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        lr.dropout(x, 1.5)


def test_shuffle_permutes_slices():
    x = torch.arange(20.0).reshape(5, 4)
    y = lr.shuffle(x, seed=3)
    assert sorted(y[:, 0].tolist()) == x[:, 0].tolist()
    assert torch.equal(y[:, 1] - y[:, 0], torch.ones(5))  # rows stay whole
    z = lr.shuffle(x, axis=-1, seed=3)
    assert torch.equal(z.sort(dim=1).values, x)
    assert torch.equal(z[:, 0] % 4, torch.full((5,), z[0, 0].item() % 4))


def test_categorical_follows_logits_and_checks_rank():
    logits = torch.log(torch.tensor([[0.1, 0.9], [0.8, 0.2]]))
    s = lr.categorical(logits, 4000, seed=1)
    assert s.shape == (2, 4000) and s.dtype == torch.int32
    assert abs(s[0].float().mean().item() - 0.9) < 0.03
    assert abs(s[1].float().mean().item() - 0.2) < 0.03
    with pytest.raises(ValueError, match="should be a 2-D tensor"):
        lr.categorical(torch.zeros(3), 2)


def test_gamma_beta_binomial_moments_and_reproducibility():
    g = lr.gamma((200000,), 3.0, seed=4)
    assert abs(g.mean().item() - 3.0) < 0.03
    assert torch.equal(g, lr.gamma((200000,), 3.0, seed=4))
    b = lr.beta((200000,), 2.0, 6.0, seed=4)
    assert abs(b.mean().item() - 0.25) < 0.005
    n = lr.binomial((200000,), 10, 0.3, seed=4)
    assert abs(n.mean().item() - 3.0) < 0.03
    torch.manual_seed(0)
    expected = torch.rand(2)
    torch.manual_seed(0)
    lr.gamma((5,), 2.0, seed=1)
    assert torch.equal(torch.rand(2), expected)


def test_unseeded_draws_follow_global_torch_seed():
    torch.manual_seed(11)
    a = lr.normal((4,))
    torch.manual_seed(11)
    assert torch.equal(lr.normal((4,)), a)
    assert not np.array_equal(lr.normal((4,)).numpy(), a.numpy())
