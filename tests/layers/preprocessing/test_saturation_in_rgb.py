"""RandomSaturation scales saturation in RGB (no HSV round trip) where that is exact:
checked pixel by pixel against Python's `colorsys` HSV conversion."""

import colorsys

import numpy as np
import pytest
import torch

import lamina


def colorsys_saturation(images, factors, low, high):
    out = np.empty_like(images, dtype=np.float64)
    for i, image in enumerate(images):
        for index in np.ndindex(image.shape[:-1]):
            h, s, v = colorsys.rgb_to_hsv(*image[index].astype(np.float64))
            out[i][index] = colorsys.hsv_to_rgb(h, np.clip(s * factors[i], low, high), v)
    return out


@pytest.mark.parametrize("value_range", [(0, 255), (0, 1), (-1, 1)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_saturation_matches_colorsys(value_range, data_format):
    low, high = value_range
    rng = np.random.default_rng(0)
    images = rng.uniform(max(low, 0), high, (4, 5, 6, 3)).astype("float32")
    images[1] = images[1, :, :, :1]  # gray pixels: no saturation to scale
    images[2, 0, 0] = 0.0  # black
    factors = np.array([0.0, 0.7, 2.5, 1.0], "float32")
    layer = lamina.layers.RandomSaturation(0.5, value_range=value_range,
                                           data_format=data_format)
    x = torch.from_numpy(images)
    if data_format == "channels_first":
        x = x.permute(0, 3, 1, 2).contiguous()
    out = layer.transform_images(x, {"factor": torch.from_numpy(factors)}).numpy()
    if data_format == "channels_first":
        out = out.transpose(0, 2, 3, 1)
    expected = colorsys_saturation(images, factors, low, high)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6 * (high - low))


def test_a_positive_lower_bound_keeps_the_hsv_route():
    # clipping saturation up to 0.3 colours gray pixels: the RGB shortcut cannot say that
    images = np.full((1, 2, 2, 3), 0.5, "float32")
    images[0, 0, 0] = (0.9, 0.2, 0.4)
    layer = lamina.layers.RandomSaturation(0.5, value_range=(0.3, 1.0))
    out = layer.transform_images(torch.from_numpy(images), {"factor": torch.tensor([1.0])})
    expected = colorsys_saturation(images, [1.0], 0.3, 1.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
