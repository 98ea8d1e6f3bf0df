import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import Resizing
from lamina.ops.image import resize
from lamina.testing import run_layer_test


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest", "bicubic", "lanczos3",
                                           "lanczos5", "area"])
@pytest.mark.parametrize("data_format,shape,want", [
    ("channels_last", (2, 6, 9, 3), (2, 4, 5, 3)),
    ("channels_first", (2, 3, 6, 9), (2, 3, 4, 5)),
    ("channels_last", (6, 9, 3), (4, 5, 3)),
    ("channels_first", (3, 6, 9), (3, 4, 5)),
])
def test_resizing_gives_the_target_size_and_matches_ops_resize(interpolation, data_format,
                                                               shape, want):
    x = torch.rand(shape)
    expected = resize(x, (4, 5), interpolation=interpolation, data_format=data_format)
    run_layer_test(Resizing, {"height": 4, "width": 5, "interpolation": interpolation,
                              "data_format": data_format},
                   input_data=x, expected_output_shape=want, expected_output=expected.numpy(),
                   expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                   supports_masking=False, run_symbolic_check=len(shape) == 4)


def test_resizing_keeps_integer_images_integer():
    x = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype="uint8")
    out = Resizing(4, 4, interpolation="bicubic")(x)
    assert out.dtype == torch.uint8 and tuple(out.shape) == (4, 4, 3)
    assert Resizing(4, 4)(x.astype("float64")).dtype == torch.float32


def test_resizing_crop_to_aspect_ratio_centre_crops_first():
    x = torch.arange(6 * 10, dtype=torch.float32).reshape(1, 6, 10, 1)
    out = Resizing(3, 3, interpolation="nearest", crop_to_aspect_ratio=True)(x)
    # The centre 6x6 window (columns 2..7), then the pixel nearest each output centre.
    np.testing.assert_array_equal(out.numpy(), x[:, 1:6:2, 3:8:2].numpy())


def test_resizing_pad_to_aspect_ratio_pads_the_short_side_with_fill_value():
    x = torch.ones(1, 2, 4, 1)
    out = Resizing(4, 4, interpolation="nearest", pad_to_aspect_ratio=True,
                   fill_value=-1.0)(x)[0, :, :, 0]
    np.testing.assert_array_equal(out.numpy(), [[-1] * 4, [1] * 4, [1] * 4, [-1] * 4])


def test_resizing_in_a_functional_model_and_compute_output_shape():
    inputs = lamina.Input((None, None, 3))
    outputs = Resizing(8, 6)(inputs)
    assert tuple(outputs.shape) == (None, 8, 6, 3)
    model = lamina.Model(inputs, outputs)
    assert tuple(model.predict(np.ones((2, 11, 7, 3), "float32"), verbose=0).shape) == (
        2, 8, 6, 3)
    assert Resizing(8, 6, data_format="channels_first").compute_output_shape(
        (None, 3, 20, 20)) == (None, 3, 8, 6)
    assert Resizing(8, 6).compute_output_shape((20, 20, 3)) == (8, 6, 3)


def test_resizing_resizes_segmentation_masks_with_nearest():
    data = {"images": torch.rand(2, 4, 4, 3), "labels": torch.tensor([0, 1]),
            "segmentation_masks": torch.randint(0, 3, (2, 4, 4, 1)).float()}
    out = Resizing(8, 8, interpolation="bicubic")(data)
    assert tuple(out["images"].shape) == (2, 8, 8, 3)
    assert torch.equal(out["labels"], data["labels"])
    masks = out["segmentation_masks"]
    assert tuple(masks.shape) == (2, 8, 8, 1)
    assert set(masks.unique().tolist()) <= {0.0, 1.0, 2.0}


def test_resizing_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`interpolation` must be one of 'bilinear', "
                                         "'nearest', 'bicubic', 'lanczos3', 'lanczos5', 'area'. "
                                         "Received: interpolation='cubic'"):
        Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match="only one of `crop_to_aspect_ratio` and "
                                         "`pad_to_aspect_ratio`"):
        Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match="`fill_mode` must be 'constant'"):
        Resizing(2, 2, fill_mode="reflect")
    with pytest.raises(ValueError, match="`width` must be a positive integer"):
        Resizing(2, 0)
    with pytest.raises(ValueError, match="Resizing layer 'resizing_4'"):
        Resizing(2, 2.5)


def test_resizing_rejects_inputs_that_are_not_images():
    with pytest.raises(ValueError, match=r"expects images of rank 3 \(one image\) or 4 .*"
                                         r"Received shape \(3, 3\)"):
        Resizing(2, 2)(np.ones((3, 3), "float32"))
    with pytest.raises(ValueError, match="rank 3 .* or 4"):
        Resizing(2, 2).compute_output_shape((None, 3))
    with pytest.raises(ValueError, match="no `bounding_box_format`"):
        Resizing(2, 2)({"images": torch.ones(1, 3, 3, 1), "bounding_boxes": {}})
