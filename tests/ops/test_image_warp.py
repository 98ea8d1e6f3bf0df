"""`affine_transform` / `perspective_transform` against a per-pixel NumPy reference of the
documented sampling rule, for every interpolation x fill mode, both data formats,
batched and single images and shared or per-image transforms."""

import itertools

import numpy as np
import pytest
import torch

from lamina import ops

FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")
MODES = list(itertools.product(("nearest", "bilinear"), FILL_MODES))


def fold(i, n, mode):
    """Where integer index `i` lands in `[0, n)` when the input is extended by `mode`."""
    if mode in ("constant", "nearest"):
        return np.clip(i, 0, n - 1)
    if mode == "wrap":
        return np.mod(i, n)
    if mode == "mirror":
        period = max(2 * n - 2, 1)
        i = np.mod(i, period)
        return np.where(i >= n, period - i, i)
    i = np.mod(i, 2 * n)
    return np.where(i >= n, 2 * n - 1 - i, i)


def reference_sample(image, ys, xs, interpolation, fill_mode, fill_value):
    """One HWC float64 `image` read at positions `ys, xs` (H', W'), channel by channel."""
    h, w, _ = image.shape
    if interpolation == "nearest":
        corners = [(np.round(ys), np.round(xs), 1.0)]
    else:
        y0, x0 = np.floor(ys), np.floor(xs)
        wy, wx = ys - y0, xs - x0
        corners = [(y0, x0, (1 - wy) * (1 - wx)), (y0, x0 + 1, (1 - wy) * wx),
                   (y0 + 1, x0, wy * (1 - wx)), (y0 + 1, x0 + 1, wy * wx)]
    out = 0.0
    for yi, xi, weight in corners:
        yi, xi = yi.astype(int), xi.astype(int)
        value = image[fold(yi, h, fill_mode), fold(xi, w, fill_mode)]
        if fill_mode == "constant":
            inside = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
            value = np.where(inside[..., None], value, fill_value)
        out = out + value * np.asarray(weight)[..., None]
    return out


def reference_affine(images, transforms, interpolation, fill_mode, fill_value):
    h, w = images.shape[1:3]
    gy, gx = np.meshgrid(np.arange(h, dtype=float), np.arange(w, dtype=float), indexing="ij")
    outs = []
    for image, (a0, a1, a2, b0, b1, b2, c0, c1) in zip(images, transforms):
        k = c0 * gx + c1 * gy + 1
        outs.append(reference_sample(image, (b0 * gx + b1 * gy + b2) / k,
                                     (a0 * gx + a1 * gy + a2) / k, interpolation,
                                     fill_mode, fill_value))
    return np.stack(outs)


def random_transforms(rng, n):
    t = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], (n, 1))
    t[:, [0, 1, 3, 4]] += rng.uniform(-0.4, 0.4, (n, 4))
    t[:, [2, 5]] = rng.uniform(-6, 6, (n, 2))
    t[:, 6:] = rng.uniform(-0.02, 0.02, (n, 2))
    return t.astype("float32")


@pytest.mark.parametrize("interpolation,fill_mode", MODES)
def test_affine_transform_matches_the_per_pixel_reference(interpolation, fill_mode):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (3, 9, 13, 2)).astype("float32")
    transforms = random_transforms(rng, 3)
    want = reference_affine(images.astype(float), transforms.astype(float), interpolation,
                            fill_mode, -0.5)
    got = ops.image.affine_transform(images, transforms, interpolation, fill_mode, -0.5)
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
    first = images.transpose(0, 3, 1, 2)
    got_cf = ops.image.affine_transform(first, transforms, interpolation, fill_mode, -0.5,
                                        data_format="channels_first")
    np.testing.assert_allclose(got_cf.numpy().transpose(0, 2, 3, 1), want, atol=1e-5)


@pytest.mark.parametrize("interpolation,fill_mode", MODES)
def test_affine_transform_shared_and_single_match_per_image(interpolation, fill_mode):
    rng = np.random.default_rng(1)
    images = rng.uniform(0, 1, (2, 7, 6, 3)).astype("float32")
    shared = random_transforms(rng, 1)
    batched = ops.image.affine_transform(images, np.repeat(shared, 2, 0), interpolation,
                                         fill_mode)
    assert torch.equal(ops.image.affine_transform(images, shared[0], interpolation, fill_mode),
                       batched)
    single = ops.image.affine_transform(images[1], shared[0], interpolation, fill_mode)
    assert tuple(single.shape) == (7, 6, 3) and torch.equal(single, batched[1])


def reference_perspective(images, start, end, interpolation, fill_value):
    rows, rhs = [], []
    for (xs, ys), (xe, ye) in zip(start, end):
        rows += [[xe, ye, 1, 0, 0, 0, -xs * xe, -xs * ye], [0, 0, 0, xe, ye, 1, -ys * xe, -ys * ye]]
        rhs += [xs, ys]
    coef = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    return reference_affine(images, np.tile(coef, (len(images), 1)), interpolation,
                            "constant", fill_value)


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_perspective_transform_matches_the_per_pixel_reference(interpolation, data_format):
    rng = np.random.default_rng(2)
    images = rng.uniform(0, 1, (2, 10, 12, 3)).astype("float32")
    start = np.array([[0, 0], [11, 0], [0, 9], [11, 9]], "float32")
    end = (start + rng.uniform(-2, 2, (4, 2))).astype("float32")
    want = reference_perspective(images.astype(float), start, end, interpolation, 0.25)
    x = images if data_format == "channels_last" else images.transpose(0, 3, 1, 2)
    got = ops.image.perspective_transform(x, start, end, interpolation, 0.25,
                                          data_format=data_format).numpy()
    got = got if data_format == "channels_last" else got.transpose(0, 2, 3, 1)
    np.testing.assert_allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_perspective_samples_at_float32_positions(dtype):
    # bfloat16 cannot hold pixel positions past 256 exactly; the warp of a half-precision
    # image is the float32 warp of the same values, rounded once at the end.
    images = torch.rand(2, 40, 300, 3).to(dtype)
    start = torch.tensor([[0, 0], [299, 0], [0, 39], [299, 39]], dtype=torch.float32)
    end = start + torch.tensor([[3.0, 1.0], [-4.0, 2.0], [2.5, -1.0], [-1.0, -2.0]])
    got = ops.image.perspective_transform(images, start, end)
    want = ops.image.perspective_transform(images.float(), start, end).to(dtype)
    assert got.dtype == dtype
    assert torch.equal(got, want)


@pytest.mark.parametrize("fill_mode", ["constant", "reflect"])
def test_affine_transform_differentiates_through_the_transform(fill_mode):
    rng = np.random.default_rng(3)
    images = torch.tensor(rng.uniform(0, 1, (2, 5, 6, 2)))
    transforms = torch.tensor(random_transforms(rng, 2), dtype=torch.float64,
                              requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda t: ops.image.affine_transform(images, t, fill_mode=fill_mode), (transforms,))


def test_nan_positions_read_the_fill_value_instead_of_failing():
    images = torch.rand(1, 4, 5, 2)
    out = ops.image.affine_transform(images, torch.full((8,), float("nan")), "nearest",
                                     fill_value=0.5)
    assert torch.equal(out, torch.full_like(images, 0.5))


@pytest.mark.parametrize("interpolation,fill_mode", [("bilinear", "reflect"),
                                                     ("nearest", "constant")])
def test_a_large_batch_warps_each_image_as_alone(interpolation, fill_mode):
    # Large batches are resampled a few images at a time; the split must not show.
    rng = np.random.default_rng(4)
    images = torch.tensor(rng.uniform(0, 1, (5, 3, 160, 170)), dtype=torch.float32)
    transforms = torch.tensor(random_transforms(rng, 5))
    batched = ops.image.affine_transform(images, transforms, interpolation, fill_mode,
                                         data_format="channels_first")
    for image, transform, want in zip(images, transforms, batched):
        got = ops.image.affine_transform(image[None], transform, interpolation, fill_mode,
                                         data_format="channels_first")
        assert torch.equal(got[0], want)


def test_affine_transform_rejects_a_transform_batch_of_another_size():
    with pytest.raises(ValueError, match=r"one transform or one per image \(2\); received 3"):
        ops.image.affine_transform(np.ones((2, 4, 4, 1)), np.zeros((3, 8)))


@pytest.mark.parametrize("shape", [(0, 5, 6, 3), (2, 0, 6, 3)])
def test_empty_batches_and_images_warp_to_empty_outputs(shape):
    out = ops.image.affine_transform(np.ones(shape, "float32"), np.zeros(8, "float32"))
    assert tuple(out.shape) == shape
