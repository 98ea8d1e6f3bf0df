import pytest
import torch

from lamina import ops
from lamina.layers import CenterCrop


def test_center_crop_cuts_odd_margins_at_the_bottom_and_right():
    x = torch.arange(30.0).reshape(1, 5, 6, 1)
    out = CenterCrop(2, 3)(x)
    torch.testing.assert_close(out, x[:, 1:3, 1:4], rtol=0, atol=0)


def test_center_crop_is_the_same_in_training_and_inference():
    x = torch.rand(3, 7, 8, 2)
    layer = CenterCrop(4, 4)
    assert torch.equal(layer(x, training=True), layer(x, training=False))


@pytest.mark.parametrize("size", [(9, 4), (4, 12), (10, 10)])
def test_center_crop_resizes_an_image_smaller_than_the_target(size):
    x = torch.rand(2, 7, 8, 3)
    expected = ops.image.resize(x, size, crop_to_aspect_ratio=True)
    torch.testing.assert_close(CenterCrop(*size)(x), expected)


@pytest.mark.parametrize("arg,value", [("height", 0), ("width", -2), ("height", 2.5),
                                       ("width", "4"), ("height", True)])
def test_center_crop_rejects_a_size_that_is_not_a_positive_integer(arg, value):
    kwargs = {"height": 3, "width": 3, arg: value}
    with pytest.raises(ValueError, match=f"CenterCrop layer '.*': `{arg}` must be a positive "
                                         f"integer. Received: {arg}="):
        CenterCrop(**kwargs)


def test_center_crop_output_shape_refuses_other_ranks():
    with pytest.raises(ValueError, match="CenterCrop layer 'center_crop.*' expects images of "
                                         "rank 3"):
        CenterCrop(2, 2).compute_output_shape((None, 4, 4, 4, 3))
