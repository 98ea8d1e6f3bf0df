"""`lamina.ops.image`: gradients (float64 gradcheck on tiny images) and bad input."""

import numpy as np
import pytest
import torch

from lamina import ops

RNG = np.random.default_rng(3)


def _f64(*shape, low=0.0, high=1.0):
    return torch.tensor(RNG.uniform(low, high, shape), dtype=torch.float64, requires_grad=True)


_T = torch.tensor([[0.9, 0.2, 0.4, -0.1, 1.1, 0.3, 0.0, 0.0]], dtype=torch.float64)
# Non-integer sample positions, away from the kinks of linear interpolation.
_COORDS = torch.tensor([[0.3, 1.6, 2.2, -0.4], [0.7, 2.4, 1.1, 3.3]], dtype=torch.float64)

_OTHER = torch.tensor(RNG.uniform(0, 1, (1, 4, 4, 1)))
GRAD_CASES = [
    ("resize_bilinear", lambda x: ops.image.resize(x, (5, 3)), (1, 3, 4, 2)),
    ("resize_bilinear_aa", lambda x: ops.image.resize(x, (2, 3), antialias=True), (1, 5, 4, 1)),
    ("resize_bicubic", lambda x: ops.image.resize(x, (5, 6), interpolation="bicubic"),
     (1, 3, 4, 1)),
    ("resize_lanczos3", lambda x: ops.image.resize(x, (2, 5), interpolation="lanczos3"),
     (1, 3, 4, 1)),
    ("affine_bilinear", lambda x: ops.image.affine_transform(x, _T, fill_mode="reflect"),
     (1, 4, 4, 2)),
    ("map_coordinates_1", lambda x: ops.image.map_coordinates(x, _COORDS, 1), (3, 4)),
    ("gaussian_blur", lambda x: ops.image.gaussian_blur(x, (3, 5), (1.0, 0.7)), (1, 4, 5, 2)),
    ("sobel_edges", lambda x: ops.image.sobel_edges(x), (1, 3, 4, 1)),
    ("rgb_to_hsv", lambda x: ops.image.rgb_to_hsv(x), None),
    ("hsv_to_rgb", lambda x: ops.image.hsv_to_rgb(x), None),
    ("ssim", lambda x: ops.image.ssim(x, _OTHER, filter_size=3), (1, 4, 4, 1)),
    ("scale_and_translate", lambda x: ops.image.scale_and_translate(
        x, (4, 7), [1.3, 1.9], [0.2, -0.1], (0, 1), "cubic"), (3, 4)),
]


@pytest.mark.parametrize("name,fn,shape", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(name, fn, shape):
    if shape is None:  # colour conversion: distinct channels, away from hue wrap points
        x = torch.tensor([[[[0.8, 0.3, 0.1], [0.2, 0.7, 0.4]], [[0.1, 0.35, 0.9],
                                                                 [0.6, 0.5, 0.2]]]],
                         dtype=torch.float64, requires_grad=True)
    else:
        x = _f64(*shape)
    assert torch.autograd.gradcheck(fn, (x,))


def test_hsv_round_trip_and_integer_inputs():
    x = torch.tensor(RNG.uniform(0, 1, (2, 3, 4, 3)))
    torch.testing.assert_close(ops.image.hsv_to_rgb(ops.image.rgb_to_hsv(x)), x)
    u8 = torch.tensor(RNG.integers(0, 256, (1, 4, 5, 3)), dtype=torch.uint8)
    out = ops.image.resize(u8, (8, 10), interpolation="lanczos3")
    assert out.dtype == torch.uint8  # rounded and saturated back (lanczos overshoots)
    assert ops.image.gaussian_blur(u8).dtype == torch.float32
    coords = torch.tensor([[0.3, 1.4, 0.6], [0.2, 0.6, 0.5]])
    nearest = ops.image.map_coordinates(torch.tensor([[1, 2], [3, 4]]), coords, 0)
    assert nearest.dtype == torch.int64 and nearest.tolist() == [1, 4, 3]
    linear = ops.image.map_coordinates(torch.tensor([[10, 20], [30, 40]]), coords, 1)
    # 18.0; 0.6 * (0.4 * 30 + 0.6 * 40) = 21.6 (row 2 is outside: 0); 0.4 * 15 + 0.6 * 35
    assert linear.tolist() == [18, 22, 27]


@pytest.mark.parametrize("call,match", [
    (lambda: ops.image.resize(np.ones((4, 4)), (2, 2)), r"`images` of rank 3.*\(4, 4\)"),
    (lambda: ops.image.affine_transform(np.ones((2, 1, 4, 4, 1)), np.zeros(8)),
     r"`affine_transform` expects `images` of rank 3.*\(2, 1, 4, 4, 1\)"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2), interpolation="linear"),
     r"`interpolation` must be one of 'bilinear', 'nearest', 'bicubic', 'lanczos3', "
     r"'lanczos5', 'area'; received interpolation='linear'"),
    (lambda: ops.image.affine_transform(np.ones((4, 4, 1)), np.zeros(8), "bicubic"),
     r"`interpolation` must be one of 'nearest', 'bilinear'; received.*'bicubic'"),
    (lambda: ops.image.scale_and_translate(np.ones((4, 4)), (2, 2), [1, 1], [0, 0], (0, 1),
                                           "nearest"), r"`method` must be one of.*'linear'"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2), data_format="nhwc"),
     r"`data_format` must be 'channels_last' or 'channels_first'; received.*'nhwc'"),
    (lambda: ops.image.gaussian_blur(np.ones((4, 4, 1)), data_format="NCHW"), "data_format"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2, 1)),
     r"`size` must be a tuple of 2 positive integers.*received size=\(2, 2, 1\)"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 0)), r"`size`.*\(2, 0\)"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2), crop_to_aspect_ratio=True,
                              pad_to_aspect_ratio=True), "Only one of `pad_to_aspect_ratio`"),
    (lambda: ops.image.resize(np.ones((4, 4, 1)), (2, 2), fill_mode="reflect"),
     r"`fill_mode` must be 'constant'.*'reflect'"),
    (lambda: ops.image.affine_transform(np.ones((4, 4, 1)), np.zeros(6)),
     r"`transform` must have shape \(8,\) or \(batch, 8\); received shape \(6,\)"),
    (lambda: ops.image.affine_transform(np.ones((4, 4, 1)), np.zeros(8), fill_mode="edge"),
     r"`fill_mode` must be one of 'constant', 'nearest', 'wrap', 'mirror', 'reflect'"),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((2, 4)), 3),
     r"`order` must be one of 0, 1; received order=3"),
    (lambda: ops.image.map_coordinates(np.ones((3, 3)), np.zeros((3, 4)), 1),
     r"one array per axis of `inputs` \(2\); received 3"),
    (lambda: ops.image.perspective_transform(np.ones((4, 4, 1)), np.zeros((3, 2)),
                                             np.zeros((4, 2))),
     r"`start_points` must have shape \(4, 2\).*\(3, 2\)"),
    (lambda: ops.image.elastic_transform(np.ones((4, 4, 1)), seed="x"), "`seed` must be"),
    (lambda: ops.image.scale_and_translate(np.ones((4, 4)), (2,), [1], [0], (0,), "linear"),
     r"`output_shape` must have one entry per axis.*\(2,\)"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_affine_transform_projective_terms_divide_as_documented():
    # Keras documents (x', y') = ((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k) with
    # k = c0 x + c1 y + 1; its torch backend misreads c0, c1, so this checks against numpy.
    rng = np.random.default_rng(3)
    image = rng.uniform(size=(1, 7, 9, 2)).astype("float32")
    t = np.array([0.9, 0.1, 0.4, -0.05, 1.1, 0.3, 0.03, -0.02], "float32")
    ours = ops.image.affine_transform(image, t, interpolation="nearest",
                                      fill_value=-1.0).numpy()
    a0, a1, a2, b0, b1, b2, c0, c1 = t.astype("float64")
    expected = np.full_like(image, -1.0)
    for y in range(7):
        for x in range(9):
            k = c0 * x + c1 * y + 1
            sx, sy = np.round((a0 * x + a1 * y + a2) / k), np.round((b0 * x + b1 * y + b2) / k)
            if 0 <= sy < 7 and 0 <= sx < 9:
                expected[0, y, x] = image[0, int(sy), int(sx)]
    np.testing.assert_array_equal(ours, expected)
