import pytest
import torch

from lamina.layers import RandomZoom


def test_zooming_in_by_half_doubles_the_central_pixels():
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    out = RandomZoom((-0.5, -0.5), interpolation="nearest")(x)
    expected = x[:, 1:3, 1:3].repeat_interleave(2, 1).repeat_interleave(2, 2)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)


def test_zooming_out_fills_the_border_with_fill_value():
    x = torch.ones(2, 9, 9, 1)
    out = RandomZoom((1.0, 1.0), fill_mode="constant", fill_value=-1.0,
                     interpolation="nearest")(x)[:, :, :, 0]
    assert (out[:, 0] == -1).all() and (out[:, :, -1] == -1).all()
    assert (out[:, 4, 4] == 1).all()


def test_a_width_factor_zooms_the_axes_independently():
    layer = RandomZoom((0.1, 0.2), (-0.4, -0.3), seed=1)
    transformation = layer.get_random_transformation(torch.zeros(64, 4, 4, 1))
    height, width = transformation["height_zoom"], transformation["width_zoom"]
    assert ((1.1 <= height) & (height <= 1.2)).all()
    assert ((0.6 <= width) & (width <= 0.7)).all()


@pytest.mark.parametrize("arg,value", [("height_factor", -1.0), ("height_factor", 1.5),
                                       ("width_factor", (0.1, 0.2, 0.3)),
                                       ("width_factor", (-1.0, 0.5)), ("height_factor", "a")])
def test_random_zoom_rejects_a_factor_outside_minus_one_to_one(arg, value):
    kwargs = {"height_factor": 0.1, arg: value}
    with pytest.raises(ValueError, match=rf"RandomZoom layer '.*': `{arg}` should be a number "
                                         r"\(or a list of two numbers\) in the range "
                                         rf"\(-1.0, 1.0\]. Received: {arg}="):
        RandomZoom(**kwargs)
    RandomZoom(1.0, (-0.99, 1.0))  # the bounds Keras accepts


def test_random_zoom_rejects_unknown_modes_naming_the_choices():
    with pytest.raises(ValueError, match="RandomZoom layer '.*': `fill_mode` must be one of "
                                         "'reflect', 'wrap', 'constant', 'nearest'. "
                                         "Received: fill_mode='mirror'"):
        RandomZoom(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="`interpolation` must be one of 'nearest', "
                                         "'bilinear'. Received: interpolation='bicubic'"):
        RandomZoom(0.1, interpolation="bicubic")
