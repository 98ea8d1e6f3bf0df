"""AugMix: its mixing weights, the training flag, seeds, clipping and bad arguments."""

import pytest
import torch

from lamina.layers import AugMix
from lamina.testing import run_layer_test


def images(shape=(4, 9, 11, 3), high=255.0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(0)) * high


def test_aug_mix_is_the_identity_in_inference():
    x = images()
    run_layer_test(AugMix, {"seed": 1}, input_data=x, call_kwargs={"training": False},
                   expected_output=x.numpy(), expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, supports_masking=False)


def test_aug_mix_weights_are_a_distribution_and_chains_are_bounded():
    layer = AugMix(num_chains=4, chain_depth=2, all_ops=False, seed=2)
    weights, blends = [], []
    for _ in range(300):
        t = layer.get_random_transformation(images((1, 4, 4, 3)))
        assert len(t["chain_transforms"]) == 4
        assert all(len(chain) <= 2 for chain in t["chain_transforms"])
        assert all(step["layer_name"] in layer._op_names
                   for chain in t["chain_transforms"] for step in chain)
        weights.append(t["chain_mixing_weights"])
        blends.append(t["weight_sample"])
    weights, blends = torch.stack(weights), torch.stack(blends)
    torch.testing.assert_close(weights.sum(-1), torch.ones(300))
    assert abs(weights.mean().item() - 0.25) < 0.02  # Dirichlet(1, 1, 1, 1)
    assert abs(blends.mean().item() - 0.5) < 0.05 and 0 <= blends.min() <= blends.max() <= 1


def test_aug_mix_with_no_steps_returns_its_input():
    x = images()
    layer = AugMix(seed=0)
    transformation = {"chain_mixing_weights": torch.tensor([0.2, 0.3, 0.5]),
                      "weight_sample": torch.tensor(0.4), "chain_transforms": [[], [], []]}
    torch.testing.assert_close(layer.transform_images(x, transformation), x)


def test_same_seed_same_output_clipped_to_the_value_range():
    x = images(high=1.0)
    a = AugMix(value_range=(0, 1), factor=0.9, seed=4)(x)
    torch.testing.assert_close(a, AugMix(value_range=(0, 1), factor=0.9, seed=4)(x))
    assert a.min() >= 0 and a.max() <= 1
    assert AugMix(seed=4)(x[0]).shape == x[0].shape


def test_all_ops_false_leaves_out_the_colour_parts():
    assert "random_brightness" not in AugMix(all_ops=False)._op_names
    assert "random_brightness" in AugMix()._op_names


@pytest.mark.parametrize("kwargs,match", [
    ({"num_chains": 0}, r"AugMix layer .*`num_chains`"),
    ({"chain_depth": -1}, r"AugMix layer .*`chain_depth`"),
    ({"alpha": 0}, r"AugMix layer .*`alpha`"),
    ({"factor": 3.0}, r"`factor` argument of AugMix"),
    ({"interpolation": "cubic"}, r"AugMix layer .*`interpolation`"),
    ({"value_range": (1, 1)}, r"AugMix layer .*`value_range`"),
])
def test_bad_arguments_name_the_layer_and_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AugMix(**kwargs)
