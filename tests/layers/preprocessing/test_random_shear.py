import pytest
import torch

from lamina.layers import RandomShear


def test_a_unit_x_shear_moves_each_row_by_its_index_one_way_or_the_other():
    x = torch.rand(8, 5, 5, 1)
    out = RandomShear(x_factor=(1.0, 1.0), fill_mode="constant", fill_value=-1.0,
                      interpolation="nearest", seed=3)(x)

    def sheared(image, sign):  # output (y, x) reads input (y, x + sign * y)
        result = torch.full_like(image, -1.0)
        for y in range(5):
            for col in range(5):
                if 0 <= col + sign * y < 5:
                    result[y, col] = image[y, col + sign * y]
        return result

    signs = []
    for image, result in zip(x, out):
        matches = [s for s in (1, -1) if torch.equal(result, sheared(image, s))]
        assert len(matches) == 1
        signs += matches
    assert set(signs) == {1, -1}


def test_symmetric_shear_configs_load():
    layer = RandomShear(0.3, 0.2)
    assert layer.get_config()["x_factor"] == (-0.3, 0.3)
    assert RandomShear.from_config(layer.get_config()).y_factor == (-0.2, 0.2)


@pytest.mark.parametrize("arg,value,span", [("x_factor", -0.2, r"\[0.0, 1.0\]"),
                                            ("y_factor", 1.2, r"\[0.0, 1.0\]"),
                                            ("x_factor", (-1.5, 0.0), r"\[-1.0, 1.0\]")])
def test_random_shear_rejects_a_factor_out_of_range(arg, value, span):
    with pytest.raises(ValueError, match=rf"RandomShear layer '.*': `{arg}` should be a number "
                                         rf"\(or a list of two numbers\) in the range {span}"):
        RandomShear(**{arg: value})
