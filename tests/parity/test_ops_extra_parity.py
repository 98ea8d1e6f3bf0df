"""Parity of the extended `lamina.ops` (linalg, image, math, nn, numpy extras) against
`keras.ops` (torch backend): values, shapes and result dtypes."""

import numpy as np
import pytest
import torch

from lamina import ops

keras = pytest.importorskip("keras")

RNG = np.random.default_rng(1)
F = RNG.uniform(-2, 2, (3, 4)).astype("float32")
G = RNG.uniform(-2, 2, (3, 4)).astype("float32")
I = RNG.integers(1, 9, (3, 4)).astype("int32")
J = RNG.integers(1, 9, (3, 4)).astype("int32")
V = RNG.uniform(0.1, 2, (5,)).astype("float32")
SPD = (lambda a: a @ a.T + 3 * np.eye(3, dtype="float32"))(RNG.random((3, 3), "float32"))
SQ = RNG.random((3, 3), "float32") + np.eye(3, dtype="float32")
IMG = RNG.random((2, 6, 5, 3), "float32")
SIG = RNG.random((2, 32), "float32")
NANF = F.copy()
NANF[0, 1] = np.nan

# (name, args, kwargs); the same call goes to keras.ops and lamina.ops.
CASES = [
    ("bitwise_and", (I, J), {}), ("bitwise_xor", (I, 3), {}), ("bitwise_invert", (I,), {}),
    ("left_shift", (I, 2), {}), ("right_shift", (I, 1), {}),
    ("cbrt", (F,), {}), ("cbrt", (I,), {}), ("deg2rad", (F,), {}), ("rad2deg", (I,), {}),
    ("exp2", (F,), {}), ("fabs", (I,), {}), ("i0", (F,), {}), ("sinc", (F,), {}),
    ("erfinv", (F / 3,), {}), ("trunc", (F,), {}), ("signbit", (F,), {}),
    ("fmax", (F, G), {}), ("fmin", (I, F), {}), ("fmod", (I, J), {}), ("gcd", (I, J), {}),
    ("lcm", (I, J), {}), ("heaviside", (F, G), {}), ("hypot", (F, G), {}),
    ("hypot", (I, J), {}), ("logaddexp", (F, G), {}), ("logaddexp2", (F, I), {}),
    ("divide_no_nan", (F, np.where(G > 0, G, 0)), {}), ("isclose", (F, F + 1e-7), {}),
    ("allclose", (F, G), {}), ("nan_to_num", (NANF,), {"nan": 5.0}),
    ("inner", (F, G), {}), ("vdot", (V, V), {}),
    ("kron", (F[:2, :2], I[:2, :2]), {}), ("diff", (F,), {"n": 2, "axis": 0}),
    ("trapezoid", (F,), {}), ("correlate", (V, V[:3]), {"mode": "full"}),
    ("correlate", (V, V[:3]), {"mode": "same"}),
    ("median", (F,), {"axis": 1}), ("quantile", (F, [0.1, 0.9]), {"axis": 0}),
    ("percentile", (F, 30), {"method": "nearest"}), ("nanmedian", (NANF,), {}),
    ("nanmax", (NANF,), {"axis": 1}), ("nanmin", (NANF,), {}), ("nansum", (NANF,), {}),
    ("nanmean", (NANF,), {"axis": 0}), ("nanvar", (NANF,), {}), ("nanstd", (NANF,), {}),
    ("nanprod", (NANF,), {"axis": 1}), ("nanargmax", (NANF,), {"axis": 1}),
    ("nancumsum", (NANF,), {"axis": 1}), ("amax", (I,), {"axis": 0}),
    ("ptp", (F,), {"axis": 1}), ("average", (F,), {"axis": 1, "weights": V[:4]}),
    ("bincount", (I[0],), {"minlength": 10}), ("corrcoef", (F,), {}),
    ("hstack", ([F, G],), {}), ("vstack", ([F, I],), {}), ("dstack", ([F, G],), {}),
    ("append", (F, I), {}), ("array_split", (V, 3), {}), ("hsplit", (F, 2), {}),
    ("fliplr", (F,), {}), ("rot90", (F,), {"k": 3}), ("diagflat", (V,), {"k": 1}),
    ("diagonal", (F,), {"offset": 1}), ("trace", (I,), {}),
    ("searchsorted", (np.sort(V), F), {"side": "right"}), ("digitize", (F, np.sort(V)), {}),
    ("isin", (I, J[0]), {}), ("unravel_index", (I, (3, 3)), {}),
    ("tri", (3, 4), {"k": 1}), ("logspace", (0.0, 2.0, 5), {}),
    ("geomspace", (1.0, 100.0, 4), {}), ("vander", (V,), {"N": 3}),
    ("bartlett", (6,), {}), ("blackman", (6,), {}), ("hamming", (6,), {}),
    ("hanning", (6,), {}), ("kaiser", (6, 3.0), {}), ("meshgrid", (V[:2], V), {}),
    # linalg
    ("cholesky", (SPD,), {}), ("det", (SQ,), {}), ("inv", (SQ,), {}),
    ("solve", (SQ, F[:, :2]), {}), ("solve_triangular", (np.tril(SQ), F[:, :2]),
                                    {"lower": True}),
    ("lstsq", (F.T, V[:4]), {}), ("norm", (F,), {}), ("norm", (F,), {"ord": 1, "axis": 0}),
    ("norm", (F,), {"ord": "nuc", "axis": (0, 1)}), ("matrix_rank", (SQ,), {}),
    ("pinv", (F,), {}), ("slogdet", (SQ,), {}), ("logdet", (SPD,), {}),
    ("cholesky_inverse", (np.linalg.cholesky(SPD),), {}),
    # math
    ("segment_sum", (F, np.array([0, 0, 2])), {"num_segments": 3}),
    ("segment_max", (F, np.array([1, 0, 1])), {}),
    ("in_top_k", (np.array([1, 0, 3]), F, 2), {}),
    ("rfft", (SIG,), {}), ("fft", ((F, G),), {}), ("fft2", ((F, G),), {}),
    ("ifft2", ((F, G),), {}), ("irfft", ((F, G),), {"fft_length": 6}),
    ("stft", (SIG, 8, 4, 8), {}), ("extract_sequences", (SIG, 8, 4), {}),
    ("cdist", (F, G), {}), ("erfc", (F,), {}),
    # nn
    ("max_pool", (IMG, 2), {"padding": "same"}),
    ("average_pool", (IMG, (2, 3), (1, 2)), {}),
    ("adaptive_max_pool", (IMG, (2, 2)), {}),
    ("batch_normalization", (IMG, V[:3], V[:3], -1), {"offset": V[1:4]}),
    ("layer_normalization", (IMG,), {}), ("rms_normalization", (IMG,), {}),
    ("psnr", (IMG, IMG * 0.8, 1.0), {}), ("depth_to_space", (IMG[:, :4, :4].repeat(4, -1), 2),
                                        {}),
    ("space_to_depth", (IMG[:, :4, :4], 2), {}),
    ("unfold", (torch.tensor(IMG.transpose(0, 3, 1, 2)), 2), {"stride": 2}),
    # core
    ("saturate_cast", (F * 200, "int8"), {}), ("saturate_cast", (I * 100, "uint8"), {}),
    ("rearrange", (IMG, "b h w c -> b c (h w)"), {}),
    ("rearrange", (SIG, "b (t f) -> t b f"), {"f": 4}),
]

IMAGE_CASES = [
    ("resize", (IMG, (9, 7)), {}),
    ("resize", (IMG, (4, 4)), {"interpolation": "bicubic"}),
    ("resize", (IMG, (3, 3)), {"antialias": True}),
    ("resize", (IMG, (4, 4)), {"crop_to_aspect_ratio": True}),
    ("rgb_to_grayscale", (IMG,), {}), ("rgb_to_hsv", (IMG,), {}),
    ("hsv_to_rgb", (IMG,), {}),
    ("crop_images", (IMG,), {"top_cropping": 1, "left_cropping": 2, "target_height": 3,
                             "target_width": 2}),
    ("pad_images", (IMG,), {"top_padding": 1, "bottom_padding": 2, "left_padding": 0,
                            "target_width": 7}),
    ("map_coordinates", (F, RNG.uniform(-1, 4, (2, 5)).astype("float32"), 1), {}),
    ("map_coordinates", (F, RNG.uniform(-1, 4, (2, 5)).astype("float32"), 0),
     {"fill_mode": "wrap"}),
    ("extract_patches", (IMG, 2), {}), ("extract_patches", (IMG, (3, 2)),
                                        {"strides": 1, "padding": "same"}),
    ("ssim", (IMG, IMG * 0.9), {"filter_size": 3}),
]


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [y for item in x for y in _flat(item)]
    return [x]


def _compare(expected, actual, atol):
    expected, actual = _flat(expected), _flat(actual)
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual):
        e = keras.ops.convert_to_numpy(e)
        a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        assert a.shape == e.shape
        assert str(a.dtype) == str(e.dtype)
        np.testing.assert_allclose(a, e, rtol=1e-4, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name,args,kwargs", CASES, ids=[c[0] for c in CASES])
def test_ops_match_keras(name, args, kwargs):
    _compare(getattr(keras.ops, name)(*args, **kwargs), getattr(ops, name)(*args, **kwargs),
             atol=1e-4)


@pytest.mark.parametrize("name,args,kwargs", IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
def test_image_ops_match_keras(name, args, kwargs):
    _compare(getattr(keras.ops.image, name)(*args, **kwargs),
             getattr(ops.image, name)(*args, **kwargs), atol=1e-4)
