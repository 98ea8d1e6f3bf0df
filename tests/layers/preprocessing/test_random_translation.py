import pytest
import torch

from lamina.layers import RandomTranslation


@pytest.mark.parametrize("height,width,dims", [((0.25, 0.25), 0.0, (1, 1)),
                                               (0.0, (-0.5, -0.5), (-2, 2))])
def test_a_fixed_translation_shifts_by_that_fraction_of_the_size(height, width, dims):
    x = torch.rand(2, 4, 4, 3)
    out = RandomTranslation(height, width, fill_mode="wrap", interpolation="nearest")(x)
    shift, axis = dims
    torch.testing.assert_close(out, torch.roll(x, shift, axis), rtol=0, atol=0)


def test_translation_shifts_stay_within_the_factors_in_pixels():
    layer = RandomTranslation((-0.1, 0.3), 0.5, seed=2)
    shifts = layer.get_random_transformation(torch.zeros(256, 10, 20, 1))["translations"]
    assert shifts.shape == (256, 2)
    assert (shifts[:, 0].abs() <= 10).all()
    assert ((-1 <= shifts[:, 1]) & (shifts[:, 1] <= 3)).all()


@pytest.mark.parametrize("arg,value", [("height_factor", 1.5), ("width_factor", (-2, 0.1)),
                                       ("width_factor", None)])
def test_random_translation_rejects_a_factor_outside_minus_one_to_one(arg, value):
    kwargs = {"height_factor": 0.1, "width_factor": 0.1, arg: value}
    with pytest.raises(ValueError, match=rf"RandomTranslation layer '.*': `{arg}` should be a "
                                         r"number \(or a list of two numbers\) in the range "
                                         r"\[-1.0, 1.0\]"):
        RandomTranslation(**kwargs)
