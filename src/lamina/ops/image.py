"""`lamina.ops.image`: resizing, colour conversion, cropping/padding, geometric
transforms and patch extraction for batched or single images.

Images are channels-last unless `data_format="channels_first"` (default:
`image_data_format()`); rank 3 means one image, rank 4 a batch.

>>> import lamina
>>> tuple(lamina.ops.image.resize(lamina.ops.ones((2, 4, 4, 3)), (8, 6)).shape)
(2, 8, 6, 3)
"""

import itertools

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops._helpers import float_tensor, tensor
from lamina.ops.operation import keras_op

_MODES = {"nearest": "nearest", "bilinear": "bilinear", "bicubic": "bicubic",
          "area": "area", "lanczos3": None, "lanczos5": None}


def _format(data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'; "
                         f"received {data_format!r}.")
    return data_format


def _to_nchw(images, data_format, name):
    """`(NCHW tensor, undo)` for rank-3 or rank-4 images."""
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"`{name}` expects images of rank 3 (one image) or 4 (a batch); "
                         f"received shape {tuple(images.shape)}.")
    single = images.ndim == 3
    x = images[None] if single else images
    last = _format(data_format) == "channels_last"
    if last:
        x = x.permute(0, 3, 1, 2)

    def undo(y):
        if last:
            y = y.permute(0, 2, 3, 1)
        return y[0] if single else y

    return x, undo


@keras_op("Resize")
def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
           fill_value=0.0, data_format=None):
    """Resize to `size = (height, width)`; optionally centre-crop or pad to the target
    aspect ratio first. Modes: nearest, bilinear, bicubic, area."""
    if interpolation not in _MODES:
        raise ValueError(f"`interpolation` must be one of {sorted(_MODES)}; received "
                         f"{interpolation!r}.")
    if _MODES[interpolation] is None:
        raise NotImplementedError(f"`resize`: {interpolation!r} is not supported on torch.")
    if len(size) != 2:
        raise ValueError(f"`size` must be (height, width); received {size!r}.")
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("`crop_to_aspect_ratio` and `pad_to_aspect_ratio` are exclusive.")
    if fill_mode != "constant":
        raise ValueError(f"`fill_mode` must be 'constant'; received {fill_mode!r}.")
    x, undo = _to_nchw(images, data_format, "resize")
    dtype = x.dtype
    x = x if x.is_floating_point() else x.float()
    h, w = x.shape[-2:]
    th, tw = int(size[0]), int(size[1])
    if crop_to_aspect_ratio:
        ch, cw = min(h, round(w * th / tw)), min(w, round(h * tw / th))
        top, left = (h - ch) // 2, (w - cw) // 2
        x = x[..., top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        ph, pw = max(h, round(w * th / tw)), max(w, round(h * tw / th))
        top, left = (ph - h) // 2, (pw - w) // 2
        x = F.pad(x, (left, pw - w - left, top, ph - h - top), value=fill_value)
    mode = _MODES[interpolation]
    kwargs = {} if mode in ("nearest", "area") else {"align_corners": False}
    if mode in ("bilinear", "bicubic"):
        kwargs["antialias"] = antialias
    out = F.interpolate(x, size=(th, tw), mode=mode, **kwargs)
    if not dtype.is_floating_point:
        out = torch.round(out).clamp(*_int_range(dtype)).to(dtype)
    return undo(out)


def _int_range(dtype):
    info = torch.iinfo(dtype)
    return info.min, info.max


@keras_op("RGBToGrayscale")
def rgb_to_grayscale(images, data_format=None):
    """Luma `0.2989 R + 0.587 G + 0.114 B`, keeping a channel axis of size 1."""
    x, undo = _to_nchw(images, data_format, "rgb_to_grayscale")
    if x.shape[1] != 3:
        raise ValueError(f"`rgb_to_grayscale` expects 3 channels; received {x.shape[1]}.")
    dtype = x.dtype
    weights = torch.tensor([0.2989, 0.587, 0.114], dtype=torch.float32, device=x.device)
    gray = torch.einsum("nchw,c->nhw", x.float(), weights)[:, None]
    return undo(gray.to(dtype) if dtype.is_floating_point else gray.to(dtype))


def _float_images(images, data_format, name):
    x, undo = _to_nchw(images, data_format, name)
    if not x.is_floating_point():
        raise ValueError(f"`{name}` expects float images; received {x.dtype}.")
    if x.shape[1] != 3:
        raise ValueError(f"`{name}` expects 3 channels; received {x.shape[1]}.")
    return x, undo


@keras_op("RGBToHSV")
def rgb_to_hsv(images, data_format=None):
    """RGB in [0, 1] to HSV with hue in [0, 1)."""
    x, undo = _float_images(images, data_format, "rgb_to_hsv")
    r, g, b = x.unbind(1)
    value = x.amax(1)
    minimum = x.amin(1)
    delta = value - minimum
    safe = torch.where(delta > 0, delta, torch.ones_like(delta))
    saturation = torch.where(value > 0, delta / torch.where(value > 0, value, 1.0), 0.0)
    hue = torch.where(value == r, (g - b) / safe,
                      torch.where(value == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    hue = torch.where(delta > 0, torch.remainder(hue / 6.0, 1.0), torch.zeros_like(hue))
    return undo(torch.stack([hue, saturation, value], 1))


@keras_op("HSVToRGB")
def hsv_to_rgb(images, data_format=None):
    """HSV (hue in [0, 1)) to RGB in [0, 1]."""
    x, undo = _float_images(images, data_format, "hsv_to_rgb")
    h, s, v = x.unbind(1)
    k = torch.stack([torch.remainder(n + h * 6.0, 6.0) for n in (5.0, 3.0, 1.0)], 1)
    rgb = v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4.0 - k), 0, 1)
    return undo(rgb)


@keras_op("CropImages")
def crop_images(images, top_cropping=None, left_cropping=None, bottom_cropping=None,
                right_cropping=None, target_height=None, target_width=None, data_format=None):
    """Crop images; each axis takes two of (top/left, bottom/right, target size)."""
    x, undo = _to_nchw(images, data_format, "crop_images")
    h, w = x.shape[-2:]
    top, height = _span("crop_images", "height", h, top_cropping, bottom_cropping,
                        target_height, crop=True)
    left, width = _span("crop_images", "width", w, left_cropping, right_cropping,
                        target_width, crop=True)
    return undo(x[..., top:top + height, left:left + width])


@keras_op("PadImages")
def pad_images(images, top_padding=None, left_padding=None, bottom_padding=None,
               right_padding=None, target_height=None, target_width=None, data_format=None):
    """Zero-pad images; each axis takes two of (top/left, bottom/right, target size)."""
    x, undo = _to_nchw(images, data_format, "pad_images")
    h, w = x.shape[-2:]
    top, height = _span("pad_images", "height", h, top_padding, bottom_padding,
                        target_height, crop=False)
    left, width = _span("pad_images", "width", w, left_padding, right_padding,
                        target_width, crop=False)
    return undo(F.pad(x, (left, width - w - left, top, height - h - top)))


def _span(name, axis, size, before, after, target, crop):
    given = sum(v is not None for v in (before, after, target))
    if given != 2:
        raise ValueError(f"`{name}`: for the {axis}, give exactly two of the leading "
                         f"amount, the trailing amount and `target_{axis}`; received "
                         f"{before!r}, {after!r}, {target!r}.")
    sign = -1 if crop else 1
    if target is None:
        target = size + sign * (before + after)
    elif before is None:
        before = sign * (target - size) - after
    if target <= 0 or before < 0 or (crop and before + target > size) or (
            not crop and target < size + before):
        raise ValueError(f"`{name}`: the {axis} amounts do not fit an image of {axis} {size}: "
                         f"leading={before}, target={target}.")
    return before, target


def _sample(x, ys, xs, order, fill_mode, fill_value):
    """Sample NCHW `x` at pixel coordinates `ys, xs` of shape (N, H', W')."""
    h, w = x.shape[-2:]
    if fill_mode not in ("constant", "nearest", "reflect", "wrap", "mirror"):
        raise ValueError(f"`fill_mode` must be constant, nearest, reflect, wrap or mirror; "
                         f"received {fill_mode!r}.")

    def gather(yi, xi):
        valid = (yi >= 0) & (yi < h) & (xi >= 0) & (xi < w)
        yi, xi = _wrap(yi, h, fill_mode), _wrap(xi, w, fill_mode)
        flat = x.reshape(x.shape[0], x.shape[1], -1)
        idx = (yi * w + xi).reshape(x.shape[0], 1, -1).expand(-1, x.shape[1], -1)
        out = torch.gather(flat, 2, idx).reshape(x.shape[0], x.shape[1], *yi.shape[1:])
        if fill_mode == "constant":
            out = torch.where(valid[:, None], out, torch.full_like(out, fill_value))
        return out

    if order == 0:
        return gather(torch.round(ys).long(), torch.round(xs).long())
    y0, x0 = torch.floor(ys), torch.floor(xs)
    wy, wx = (ys - y0)[:, None], (xs - x0)[:, None]
    y0, x0 = y0.long(), x0.long()
    top = gather(y0, x0) * (1 - wx) + gather(y0, x0 + 1) * wx
    bottom = gather(y0 + 1, x0) * (1 - wx) + gather(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def _wrap(i, n, mode):
    if mode in ("constant", "nearest"):
        return i.clamp(0, n - 1)
    if mode == "wrap":
        return torch.remainder(i, n)
    if mode == "mirror":
        period = max(2 * n - 2, 1)
        i = torch.remainder(i, period)
        return torch.where(i >= n, period - i, i)
    period = 2 * n  # reflect: edge pixel repeated
    i = torch.remainder(i, period)
    return torch.where(i >= n, period - 1 - i, i)


@keras_op("AffineTransform")
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Apply projective transforms `[a0, a1, a2, b0, b1, b2, c0, c1]` mapping output
    pixel `(x, y)` to input `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)` with
    `k = c0 x + c1 y + 1`."""
    if interpolation not in ("nearest", "bilinear"):
        raise ValueError(f"`interpolation` must be 'nearest' or 'bilinear'; received "
                         f"{interpolation!r}.")
    x, undo = _to_nchw(images, data_format, "affine_transform")
    dtype = x.dtype
    x = float_tensor(x) if not x.is_floating_point() else x
    t = float_tensor(transform).to(x.dtype)
    t = t[None] if t.ndim == 1 else t
    if t.shape[-1] != 8:
        raise ValueError(f"`transform` must have 8 entries per image; received shape "
                         f"{tuple(t.shape)}.")
    h, w = x.shape[-2:]
    gy, gx = torch.meshgrid(torch.arange(h, dtype=x.dtype, device=x.device),
                            torch.arange(w, dtype=x.dtype, device=x.device), indexing="ij")
    a0, a1, a2, b0, b1, b2, c0, c1 = (t[:, i, None, None] for i in range(8))
    k = c0 * gx + c1 * gy + 1
    xs = (a0 * gx + a1 * gy + a2) / k
    ys = (b0 * gx + b1 * gy + b2) / k
    out = _sample(x, ys, xs, 0 if interpolation == "nearest" else 1, fill_mode, fill_value)
    return undo(out.to(dtype))


@keras_op("MapCoordinates")
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample an N-D `inputs` at `coordinates` (shape `(N, *out)`) with `order` 0 or 1."""
    x = float_tensor(inputs)
    coords = [float_tensor(c).to(x.dtype) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"`map_coordinates`: need one coordinate array per input axis "
                         f"({x.ndim}); received {len(coords)}.")
    if order not in (0, 1):
        raise ValueError(f"`order` must be 0 or 1; received {order!r}.")
    corners = [[(torch.round(c) if order == 0 else torch.floor(c), 1.0)] for c in coords]
    if order == 1:
        corners = []
        for c in coords:
            lo = torch.floor(c)
            corners.append([(lo, 1 - (c - lo)), (lo + 1, c - lo)])
    out = 0
    for combo in itertools.product(*corners):
        idx, weight, valid = [], 1.0, True
        for (i, wgt), n in zip(combo, x.shape):
            i = i.long()
            valid = valid & (i >= 0) & (i < n)
            idx.append(_wrap(i, n, fill_mode))
            weight = weight * wgt
        vals = x[tuple(idx)]
        if fill_mode == "constant":
            vals = torch.where(valid, vals, torch.full_like(vals, fill_value))
        out = out + vals * weight
    return out


@keras_op("ExtractPatches")
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of `size` as channels: `(..., rows, cols, ph * pw * channels)`."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    strides = size if strides is None else (
        (strides, strides) if isinstance(strides, int) else tuple(strides))
    x, undo = _to_nchw(images, data_format, "extract_patches")
    n, c = x.shape[:2]
    if padding.lower() == "same":
        from lamina.ops.conv import _same_pad

        d = (dilation_rate,) * 2 if isinstance(dilation_rate, int) else tuple(dilation_rate)
        x = _same_pad(x, size, strides, d)
    elif padding.lower() != "valid":
        raise ValueError(f"`padding` must be 'valid' or 'same'; received {padding!r}.")
    cols = F.unfold(x.float() if not x.is_floating_point() else x, size,
                    dilation=dilation_rate, stride=strides)
    rows = (x.shape[2] - (size[0] - 1) * _pair(dilation_rate)[0] - 1) // strides[0] + 1
    ncols = cols.shape[-1] // rows
    # unfold orders features (channel, ph, pw); Keras wants (ph, pw, channel).
    cols = cols.reshape(n, c, size[0] * size[1], rows, ncols).permute(0, 2, 1, 3, 4)
    out = cols.reshape(n, size[0] * size[1] * c, rows, ncols).to(x.dtype)
    return undo(out)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@keras_op("ExtractPatches3D")
def extract_patches_3d(volumes, size, strides=None, dilation_rate=1, padding="valid",
                       data_format=None):
    """3-D patches of `size` as channels: `(..., d, h, w, pd * ph * pw * channels)`."""
    size = (size,) * 3 if isinstance(size, int) else tuple(size)
    strides = size if strides is None else (
        (strides,) * 3 if isinstance(strides, int) else tuple(strides))
    v = tensor(volumes)
    single = v.ndim == 4
    v = v[None] if single else v
    last = _format(data_format) == "channels_last"
    x = v.permute(0, 4, 1, 2, 3) if last else v
    d = (dilation_rate,) * 3 if isinstance(dilation_rate, int) else tuple(dilation_rate)
    if padding.lower() == "same":
        from lamina.ops.conv import _same_pad

        x = _same_pad(x, size, strides, d)
    for axis, (k, s, dl) in enumerate(zip(size, strides, d)):
        x = x.unfold(2 + axis, (k - 1) * dl + 1, s)[..., ::dl]
    # x: (n, c, D, H, W, kd, kh, kw) -> (n, D, H, W, kd, kh, kw, c)
    x = x.permute(0, 2, 3, 4, 5, 6, 7, 1)
    x = x.reshape(*x.shape[:4], -1)
    out = x if last else x.permute(0, 4, 1, 2, 3)
    return out[0] if single else out


def _gaussian_kernel(k, sigma, dtype, device):
    r = torch.arange(k, dtype=dtype, device=device) - (k - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return g / g.sum()


@keras_op("GaussianBlur")
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Separable Gaussian blur with reflect padding (output keeps the input size)."""
    x, undo = _to_nchw(images, data_format, "gaussian_blur")
    x = float_tensor(x)
    c = x.shape[1]
    kh, kw = _pair(kernel_size)
    sh, sw = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    gy = _gaussian_kernel(kh, sh, x.dtype, x.device)
    gx = _gaussian_kernel(kw, sw, x.dtype, x.device)
    weight = (gy[:, None] * gx[None, :]).expand(c, 1, kh, kw)
    x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2), mode="reflect")
    return undo(F.conv2d(x, weight, groups=c))


@keras_op("SobelEdges")
def sobel_edges(images, data_format=None):
    """Sobel gradients `(dy, dx)` stacked on a new last axis, edge-replicated borders."""
    x, undo = _to_nchw(images, data_format, "sobel_edges")
    x = float_tensor(x)
    c = x.shape[1]
    ky = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=x.dtype, device=x.device)
    weight = torch.stack([ky, ky.T])[:, None].repeat(c, 1, 1, 1)
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")
    out = F.conv2d(padded, weight, groups=c)  # (n, c * 2, h, w)
    out = out.reshape(x.shape[0], c, 2, *x.shape[2:])
    dy, dx = out[:, :, 0], out[:, :, 1]
    return torch.stack([undo(dy), undo(dx)], -1)


@keras_op("SSIM")
def ssim(image1, image2, max_val=1.0, filter_size=11, filter_sigma=1.5, k1=0.01, k2=0.03,
         data_format=None):
    """Mean structural similarity between two images (Gaussian window, 'valid' borders)."""
    a, _ = _to_nchw(image1, data_format, "ssim")
    b, _ = _to_nchw(image2, data_format, "ssim")
    a, b = float_tensor(a), float_tensor(b).to(float_tensor(a).dtype)
    if a.shape != b.shape:
        raise ValueError(f"`ssim`: images must have the same shape; received "
                         f"{tuple(a.shape)} and {tuple(b.shape)}.")
    c = a.shape[1]
    g = _gaussian_kernel(filter_size, filter_sigma, a.dtype, a.device)
    weight = (g[:, None] * g[None, :]).expand(c, 1, filter_size, filter_size)

    def blur(t):
        return F.conv2d(t, weight, groups=c)

    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1)
                                                    * (var_a + var_b + c2))
    return s.mean(dim=(1, 2, 3)) if tensor(image1).ndim == 4 else s.mean()


@keras_op("PerspectiveTransform")
def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warp so that the 4 `start_points` (x, y) land on `end_points`."""
    start = float_tensor(start_points).double()
    end = float_tensor(end_points).double()
    start = start[None] if start.ndim == 2 else start
    end = end[None] if end.ndim == 2 else end
    if start.shape[-2:] != (4, 2) or end.shape[-2:] != (4, 2):
        raise ValueError(f"`perspective_transform`: points must be (4, 2) per image; "
                         f"received {tuple(start.shape)} and {tuple(end.shape)}.")
    rows = []
    for i in range(4):
        (xs, ys), (xe, ye) = start[:, i].unbind(-1), end[:, i].unbind(-1)
        zero, one = torch.zeros_like(xs), torch.ones_like(xs)
        rows.append(torch.stack([xe, ye, one, zero, zero, zero, -xs * xe, -xs * ye], -1))
        rows.append(torch.stack([zero, zero, zero, xe, ye, one, -ys * xe, -ys * ye], -1))
    matrix = torch.stack(rows, -2)
    rhs = torch.stack([start[:, i, j] for i in range(4) for j in range(2)], -1)
    transform = torch.linalg.solve(matrix, rhs[..., None])[..., 0]
    return affine_transform(images, transform.float(), interpolation, "constant", fill_value,
                            data_format)


@keras_op("ElasticTransform")
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Random elastic deformation: Gaussian-smoothed random displacement fields scaled by
    `alpha` (`seed`: an int or a lamina SeedGenerator-like int seed)."""
    x, undo = _to_nchw(images, data_format, "elastic_transform")
    dtype = x.dtype
    x = float_tensor(x)
    n, _, h, w = x.shape
    gen = torch.Generator(device="cpu")
    gen.manual_seed(seed if isinstance(seed, int) else torch.seed() % 2**31)
    field = torch.rand((n, 2, h, w), generator=gen).to(x.device, x.dtype) * 2 - 1
    k = int(2 * round(3 * sigma) + 1)
    k = min(k, 2 * min(h, w) - 1) if min(h, w) > 1 else 1
    smooth = gaussian_blur(field, (k, k), (sigma, sigma), "channels_first") * alpha
    gy, gx = torch.meshgrid(torch.arange(h, dtype=x.dtype, device=x.device),
                            torch.arange(w, dtype=x.dtype, device=x.device), indexing="ij")
    out = _sample(x, gy + smooth[:, 0], gx + smooth[:, 1],
                  0 if interpolation == "nearest" else 1, fill_mode, fill_value)
    return undo(out.to(dtype) if dtype.is_floating_point else out)


@keras_op("ScaleAndTranslate")
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resample `spatial_dims` so output `o` reads input `(o + 0.5 - translation) / scale
    - 0.5` (linear, or nearest for `method="nearest"`)."""
    x = float_tensor(images)
    out_shape = list(x.shape)
    for d, size in zip(spatial_dims, [output_shape[d] for d in spatial_dims]):
        out_shape[d] = size
    scale, translation = float_tensor(scale), float_tensor(translation)
    for i, d in enumerate(spatial_dims):
        n_in, n_out = x.shape[d], out_shape[d]
        pos = (torch.arange(n_out, dtype=x.dtype, device=x.device) + 0.5 - translation[i]
               ) / scale[i] - 0.5
        if method == "nearest":
            idx = torch.floor(pos + 0.5).long()
            weights = (idx[:, None] == torch.arange(n_in, device=x.device)).to(x.dtype)
        else:
            support = max(1.0, 1.0 / float(scale[i])) if antialias else 1.0
            dist = (pos[:, None] - torch.arange(n_in, dtype=x.dtype, device=x.device)) / support
            weights = torch.clamp(1 - dist.abs(), min=0)
            total = weights.sum(1, keepdim=True)
            weights = torch.where(total > 0, weights / torch.where(total > 0, total, 1), 0)
            inside = (pos >= -0.5) & (pos <= n_in - 0.5)
            weights = weights * inside[:, None]
        x = torch.movedim(torch.tensordot(torch.movedim(x, d, -1), weights, ([-1], [1])), -1, d)
    return x


__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches",
    "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
    "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
    "scale_and_translate", "sobel_edges", "ssim",
]
