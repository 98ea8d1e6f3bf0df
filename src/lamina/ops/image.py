"""`lamina.ops.image`: resizing, colour conversion, cropping/padding, geometric
transforms and patch extraction for batched or single images.

Images are channels-last unless `data_format="channels_first"` (default:
`image_data_format()`); rank 3 means one image, rank 4 a batch.

>>> import lamina
>>> tuple(lamina.ops.image.resize(lamina.ops.ones((2, 4, 4, 3)), (8, 6)).shape)
(2, 8, 6, 3)
"""

import itertools
import math

import torch
import torch.nn.functional as F

from lamina.backend import config
from lamina.ops.nn.conv import _same_pad
from lamina.ops.operands import float_tensor, tensor
from lamina.ops.operation import keras_op

_RESIZE_MODES = ("bilinear", "nearest", "bicubic", "lanczos3", "lanczos5", "area")
_TORCH_MODES = {"nearest": "nearest-exact", "bilinear": "bilinear", "bicubic": "bicubic"}
_FILL_MODES = ("constant", "nearest", "wrap", "mirror", "reflect")


def _format(data_format):
    data_format = data_format or config.image_data_format()
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"`data_format` must be 'channels_last' or 'channels_first'; "
                         f"received data_format={data_format!r}.")
    return data_format


def _choice(name, value, valid):
    if value not in valid:
        raise ValueError(f"`{name}` must be one of {', '.join(map(repr, valid))}; "
                         f"received {name}={value!r}.")


def _to_nchw(images, data_format, name):
    """`(NCHW tensor, undo)` for rank-3 or rank-4 images."""
    images = tensor(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"`{name}` expects `images` of rank 3 (one image) or 4 (a batch); "
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


def _compute_dtype(dtype):
    return dtype if dtype.is_floating_point else torch.float32


def _cast_back(out, dtype, wrap=False):
    """Float results back to the input `dtype`: integers are rounded and saturated
    (or, with `wrap`, wrap around like integer arithmetic); bool means non-zero."""
    if out.dtype == dtype:
        return out
    if dtype.is_floating_point:
        return out.to(dtype)
    if dtype == torch.bool:
        return out != 0
    out = torch.round(out)
    if wrap:
        return out.to(torch.int64).to(dtype)
    info = torch.iinfo(dtype)
    return out.clamp(info.min, info.max).to(dtype)


# --- separable resampling kernels (distance in input pixels, already divided by the
# kernel scale) -------------------------------------------------------------------------

def _linear_kernel(d):
    return torch.clamp(1 - d, min=0)


def _cubic_kernel(d):
    # Keys cubic convolution with a = -0.5.
    near = ((1.5 * d - 2.5) * d) * d + 1
    far = ((-0.5 * d + 2.5) * d - 4) * d + 2
    return torch.where(d < 1, near, torch.where(d < 2, far, torch.zeros_like(d)))


def _lanczos_kernel(radius):
    def kernel(d):
        y = radius * torch.sin(math.pi * d) * torch.sin(math.pi * d / radius)
        safe = torch.where(d > 1e-3, d, torch.ones_like(d))
        out = torch.where(d > 1e-3, y / (math.pi**2 * safe**2), torch.ones_like(d))
        return torch.where(d > radius, torch.zeros_like(d), out)

    return kernel


_KERNELS = {"linear": _linear_kernel, "bilinear": _linear_kernel, "trilinear": _linear_kernel,
            "cubic": _cubic_kernel, "bicubic": _cubic_kernel, "tricubic": _cubic_kernel,
            "lanczos3": _lanczos_kernel(3), "lanczos5": _lanczos_kernel(5)}


def _resample_weights(n_in, n_out, scale, translation, kernel, antialias, dtype, device):
    """`(n_in, n_out)` weights: output `o` reads input position
    `(o + 0.5 - translation) / scale - 0.5`, filtered by `kernel` (widened by `1 / scale`
    when downscaling with `antialias`), normalised, and zero outside the input."""
    scale = torch.as_tensor(scale, dtype=dtype, device=device)
    translation = torch.as_tensor(translation, dtype=dtype, device=device)
    inv = 1 / scale
    sample = (torch.arange(n_out, dtype=dtype, device=device) + 0.5 - translation) * inv - 0.5
    width = torch.clamp(inv, min=1) if antialias else torch.ones_like(inv)
    dist = (sample[None, :] - torch.arange(n_in, dtype=dtype, device=device)[:, None]).abs()
    weights = kernel(dist / width)
    total = weights.sum(0, keepdim=True)
    ok = total.abs() > 1000 * torch.finfo(dtype).eps
    weights = torch.where(ok, weights / torch.where(ok, total, torch.ones_like(total)), 0)
    inside = (sample >= -0.5) & (sample <= n_in - 0.5)
    return torch.where(inside[None, :], weights, 0)


def _area_weights(n_in, n_out, dtype, device):
    """`(n_in, n_out)` box weights: output `o` averages input `[o s, (o + 1) s)`,
    `s = n_in / n_out`, each input pixel weighted by its overlap."""
    s = n_in / n_out
    start = torch.arange(n_out, dtype=dtype, device=device) * s
    pix = torch.arange(n_in, dtype=dtype, device=device)[:, None]
    overlap = torch.minimum(pix + 1, start + s) - torch.maximum(pix, start)
    return torch.clamp(overlap, min=0) / s


def _apply_along(x, dim, weights):
    """Contract axis `dim` of `x` with `(n_in, n_out)` weights."""
    out = torch.tensordot(torch.movedim(x, dim, -1), weights.to(x.dtype), ([-1], [0]))
    return torch.movedim(out, -1, dim)


def _resize_arg(size):
    try:
        ok = len(size) == 2 and all(int(s) == s and s > 0 for s in size)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"`size` must be a tuple of 2 positive integers (height, width); "
                         f"received size={size!r}.")
    return int(size[0]), int(size[1])


@keras_op("Resize", module="image",
          init_args=("size", "interpolation", "antialias", "crop_to_aspect_ratio",
                     "pad_to_aspect_ratio", "fill_mode", "fill_value", "data_format"))
def resize(images, size, interpolation="bilinear", antialias=False,
           crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, fill_mode="constant",
           fill_value=0.0, data_format=None):
    """Resize images to `size = (height, width)`.

    `interpolation`: "nearest", "bilinear", "bicubic" (torch's half-pixel resamplers,
    `antialias` widens the filter when downscaling), "lanczos3"/"lanczos5" (the
    `scale_and_translate` filters) or "area" (overlap-weighted box average).
    `crop_to_aspect_ratio` centre-crops and `pad_to_aspect_ratio` pads with `fill_value`
    to the target aspect ratio first. Integer images are resized in float32, rounded and
    saturated back to their dtype.

    >>> import torch
    >>> resize(torch.arange(4.0).reshape(1, 2, 2, 1), (1, 1), interpolation="area")
    tensor([[[[1.5000]]]])
    """
    th, tw = _resize_arg(size)
    _choice("interpolation", interpolation, _RESIZE_MODES)
    if crop_to_aspect_ratio and pad_to_aspect_ratio:
        raise ValueError("Only one of `pad_to_aspect_ratio` and `crop_to_aspect_ratio` can be "
                         "True; received both.")
    if fill_mode != "constant":
        raise ValueError(f"`fill_mode` must be 'constant' (the only mode `resize` supports); "
                         f"received fill_mode={fill_mode!r}.")
    x, undo = _to_nchw(images, data_format, "resize")
    dtype = x.dtype
    x = x.to(_compute_dtype(dtype))
    h, w = x.shape[-2:]
    if crop_to_aspect_ratio:
        ch, cw = min(h, (w * th) // tw), min(w, (h * tw) // th)
        top, left = (h - ch) // 2, (w - cw) // 2
        x = x[..., top:top + ch, left:left + cw]
    elif pad_to_aspect_ratio:
        ph, pw = max(0, (w * th) // tw - h) // 2, max(0, (h * tw) // th - w) // 2
        if ph or pw:
            x = F.pad(x, (pw, pw, ph, ph), value=float(fill_value))
    if interpolation in _TORCH_MODES:
        mode = _TORCH_MODES[interpolation]
        kwargs = {} if mode == "nearest-exact" else {"align_corners": False,
                                                      "antialias": bool(antialias)}
        out = F.interpolate(x, size=(th, tw), mode=mode, **kwargs)
    else:
        out = x
        work = torch.float64 if x.dtype == torch.float64 else torch.float32
        for dim, n_out in ((2, th), (3, tw)):
            n_in = out.shape[dim]
            if interpolation == "area":
                weights = _area_weights(n_in, n_out, work, x.device)
            else:
                weights = _resample_weights(n_in, n_out, n_out / n_in, 0.0,
                                            _KERNELS[interpolation], antialias, work, x.device)
            out = _apply_along(out, dim, weights)
    return undo(_cast_back(out, dtype))


@keras_op("RGBToGrayscale", module="image", init_args=("data_format",))
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


@keras_op("RGBToHSV", module="image", init_args=("data_format",))
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


@keras_op("HSVToRGB", module="image", init_args=("data_format",))
def hsv_to_rgb(images, data_format=None):
    """HSV (hue in [0, 1)) to RGB in [0, 1]."""
    x, undo = _float_images(images, data_format, "hsv_to_rgb")
    dtype = x.dtype
    x = x.float() if dtype in (torch.float16, torch.bfloat16) else x
    h, s, v = x.unbind(1)
    k = torch.stack([torch.remainder(n + h * 6.0, 6.0) for n in (5.0, 3.0, 1.0)], 1)
    rgb = v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4.0 - k), 0, 1)
    return undo(rgb.to(dtype))


@keras_op("CropImages", module="image",
          init_args=("top_cropping", "left_cropping", "bottom_cropping", "right_cropping",
                     "target_height", "target_width", "data_format"))
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


@keras_op("PadImages", module="image",
          init_args=("top_padding", "left_padding", "bottom_padding", "right_padding",
                     "target_height", "target_width", "data_format"))
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


# NOTE: about 1 MB of float32 per chunk: every temporary stays cache-sized and is
# recycled by the allocator, where batch-sized ones cost a page fault per 4 KB.
_CHUNK_ELEMENTS = 2**18


def _warp(x, positions, interpolation, fill_mode, fill_value):
    """Resample NCHW `x` where `positions(lo, hi)` says, a few images at a time:
    `(ys, xs)` pixel coordinates for images `lo:hi`, each of shape (hi - lo or 1,
    H', W') and shared by all channels."""
    order = 0 if interpolation == "nearest" else 1
    n = x.shape[0]
    step = max(1, _CHUNK_ELEMENTS // max(math.prod(x.shape[1:]), 1))
    if step >= n:
        return _sample(x, *positions(0, n), order, fill_mode, fill_value)
    out = None
    for lo in range(0, n, step):
        part = _sample(x[lo:lo + step], *positions(lo, lo + step), order, fill_mode,
                       fill_value)
        if out is None:
            out = part.new_empty((n, *part.shape[1:]))
        out[lo:lo + step] = part
    return out


def _projective_positions(coef, n, h, w, device):
    """`positions` for `_warp`: output pixel `(y, x)` reads `((b0 x + b1 y + b2) / k,
    (a0 x + a1 y + a2) / k)`, `k = c0 x + c1 y + 1`, with `coef` rows `[a0, a1, a2, b0,
    b1, b2, c0, c1]` (one per image or one shared)."""
    if coef.shape[0] not in (1, n):
        raise ValueError(f"Expected one transform or one per image ({n}); received "
                         f"{coef.shape[0]}.")
    gy = torch.arange(h, dtype=coef.dtype, device=device)[:, None]
    gx = torch.arange(w, dtype=coef.dtype, device=device)

    def positions(lo, hi):
        rows = coef if coef.shape[0] == 1 else coef[lo:hi]
        a0, a1, a2, b0, b1, b2, c0, c1 = (v[:, None, None] for v in rows.unbind(-1))
        # (x b0 + y b1) + b2: the order in which Keras' einsum adds up, so
        # nearest-neighbour ties round the same way.
        k = c0 * gx + c1 * gy + 1  # exactly 1 if affine
        return (b0 * gx + b1 * gy + b2) / k, (a0 * gx + a1 * gy + a2) / k

    return positions


def _sample(x, ys, xs, order, fill_mode, fill_value):
    """Sample NCHW `x` at pixel coordinates `ys, xs` (shape (N or 1, H', W'), shared by
    all channels)."""
    n, c, h, w = x.shape
    if fill_mode == "constant":
        # A one-pixel border of `fill_value` stands for everything outside the input:
        # clamping an index onto it replaces a validity mask per corner and channel.
        padded = x.new_full((n, c, h + 2, w + 2), float(fill_value))
        padded[..., 1:-1, 1:-1] = x  # NCHW-contiguous even for a channels-last view
        x = padded

        def row(i):
            return i.clamp(-1, h).add_(1).mul_(w + 2)

        def col(i):
            return i.clamp(-1, w).add_(1)
    else:
        def row(i):
            return _wrap(i, h, fill_mode).mul_(w)

        def col(i):
            return _wrap(i, w, fill_mode)
    flat = x.reshape(n, c, x.shape[-2] * x.shape[-1])
    out_shape = (n, c, *ys.shape[1:])
    positions = math.prod(ys.shape[1:])
    # NOTE: index arithmetic runs in place on whole-number floats (exact below 2**24):
    # on CPU int64 remainder is ~20x and int64 adds ~5x slower than float32. NaN
    # positions go off the grid.
    index_dtype = torch.float32 if flat.shape[-1] <= 2**24 else torch.float64
    sums = torch.empty(ys.shape, dtype=index_dtype, device=x.device)
    index = torch.empty(ys.shape, dtype=torch.long, device=x.device)
    # gather's backward keeps its index: a fresh one per call when the images need grad.
    fresh_index = torch.is_grad_enabled() and x.requires_grad

    def whole(v):
        return v.detach().to(index_dtype).nan_to_num_(nan=-1.0)

    # NOTE: indices and weights are computed once per output position; one expanded
    # index then gathers every channel.
    def gather(rows, cols):
        torch.add(rows, cols, out=sums)
        idx = sums.long() if fresh_index else index.copy_(sums)
        idx = idx.view(ys.shape[0], 1, positions).expand(n, c, positions)
        return torch.gather(flat, 2, idx).view(out_shape)

    if order == 0:
        return gather(row(whole(torch.round(ys))), col(whole(torch.round(xs))))
    y0, x0 = torch.floor(ys), torch.floor(xs)
    wy, wx = (ys - y0)[:, None], (xs - x0)[:, None]
    y0, x0 = whole(y0), whole(x0)
    r0, c0 = row(y0), col(x0)
    r1, c1 = row(y0.add_(1)), col(x0.add_(1))
    top = _blend(gather(r0, c0), 1 - wx, gather(r0, c1), wx)
    bottom = _blend(gather(r1, c0), 1 - wx, gather(r1, c1), wx)
    return _blend(top, 1 - wy, bottom, wy)


def _blend(a, wa, b, wb):
    """`a * wa + b * wb`, in place in the fresh `a` and `b` unless that would round to
    their (half) precision or gradients reach the weights (autograd then needs `a`
    and `b` unchanged)."""
    # NOTE: each fresh chunk-sized result costs an allocation and a cold cache.
    if a.dtype != wa.dtype or (torch.is_grad_enabled() and wa.requires_grad):
        return a * wa + b * wb
    return a.mul_(wa).add_(b.mul_(wb))


def _wrap(i, n, mode):
    """Fold integer (or whole-number float) indices `i` into `[0, n)` the way `mode`
    extends the input."""
    if mode in ("constant", "nearest"):
        return i.clamp(0, n - 1)
    if mode == "wrap":
        return torch.remainder(i, n)
    if mode == "mirror":  # d c b | a b c d | c b a: the edge sample is not repeated
        period = max(2 * n - 2, 1)
        i = torch.remainder(i, period)
        return torch.minimum(i, period - i)
    period = 2 * n  # reflect: d c b a | a b c d | d c b a
    i = torch.remainder(i, period)
    return torch.minimum(i, period - 1 - i)


@keras_op("AffineTransform", module="image",
          init_args=("interpolation", "fill_mode", "fill_value", "data_format"))
def affine_transform(images, transform, interpolation="bilinear", fill_mode="constant",
                     fill_value=0, data_format=None):
    """Warp images with `transform = [a0, a1, a2, b0, b1, b2, c0, c1]` (shape (8,) shared
    by all images, or (batch, 8)).

    Output pixel `(y, x)` reads input position `((b0 x + b1 y + b2) / k,
    (a0 x + a1 y + a2) / k)` with `k = c0 x + c1 y + 1`, as Keras documents (its TF and
    JAX backends agree; its torch backend instead adds `c0, c1` times the channel index,
    a bug lamina does not copy). Positions outside the input follow `fill_mode`:
    "constant" (`fill_value`), "nearest", "wrap", "mirror" or "reflect"; "nearest"
    interpolation rounds ties to even.
    """
    _choice("interpolation", interpolation, ("nearest", "bilinear"))
    _choice("fill_mode", fill_mode, _FILL_MODES)
    x, undo = _to_nchw(images, data_format, "affine_transform")
    dtype = x.dtype
    x = x.to(_compute_dtype(dtype))
    t = tensor(transform)
    if t.ndim not in (1, 2) or t.shape[-1] != 8:
        raise ValueError(f"`transform` must have shape (8,) or (batch, 8); received shape "
                         f"{tuple(t.shape)}.")
    # Half-precision images still get float32 coordinates (bf16 cannot even hold 257).
    t = t.to(torch.float64 if x.dtype == torch.float64 else torch.float32)
    t = t[None] if t.ndim == 1 else t
    positions = _projective_positions(t, *x.shape[:1], *x.shape[2:], x.device)
    out = _warp(x, positions, interpolation, fill_mode, fill_value)
    return undo(_cast_back(out.to(x.dtype), dtype))


@keras_op("MapCoordinates", module="image", init_args=("order", "fill_mode", "fill_value"))
def map_coordinates(inputs, coordinates, order, fill_mode="constant", fill_value=0):
    """Sample an N-D `inputs` at `coordinates` (one array per input axis, each of the
    output shape) with nearest (`order=0`, ties to even) or linear (`order=1`)
    interpolation; `fill_mode` as in `affine_transform`, applied per corner sample.
    Integer inputs give rounded integer outputs."""
    x = tensor(inputs)
    dtype = x.dtype
    x = x.to(_compute_dtype(dtype))
    coords = [tensor(c).to(x.dtype) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"`coordinates` must hold one array per axis of `inputs` "
                         f"({x.ndim}); received {len(coords)}.")
    _choice("order", order, (0, 1))
    _choice("fill_mode", fill_mode, _FILL_MODES)
    if order == 0:
        corners = [[(torch.round(c), None)] for c in coords]
    else:
        corners = []
        for c in coords:
            lo = torch.floor(c)
            corners.append([(lo, 1 - (c - lo)), (lo + 1, c - lo)])
    out = 0
    for combo in itertools.product(*corners):
        idx, weight, valid = [], None, None
        for (i, wgt), n in zip(combo, x.shape):
            i = i.long()
            inside = (i >= 0) & (i < n)
            valid = inside if valid is None else valid & inside
            idx.append(_wrap(i, n, fill_mode))
            if wgt is not None:
                weight = wgt if weight is None else weight * wgt
        vals = x[tuple(idx)]
        if fill_mode == "constant":
            vals = torch.where(valid, vals, torch.full_like(vals, fill_value))
        out = out + (vals if weight is None else vals * weight)
    return _cast_back(out, dtype)


@keras_op("ExtractPatches", module="image",
          init_args=("size", "strides", "dilation_rate", "padding", "data_format"))
def extract_patches(images, size, strides=None, dilation_rate=1, padding="valid",
                    data_format=None):
    """Patches of `size` as channels: `(..., rows, cols, ph * pw * channels)`."""
    size = (size, size) if isinstance(size, int) else tuple(size)
    strides = size if strides is None else (
        (strides, strides) if isinstance(strides, int) else tuple(strides))
    x, undo = _to_nchw(images, data_format, "extract_patches")
    n, c = x.shape[:2]
    if padding.lower() == "same":
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


@keras_op("ExtractPatches3D", module="image")
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


@keras_op("GaussianBlur", module="image", init_args=("kernel_size", "sigma", "data_format"))
def gaussian_blur(images, kernel_size=(3, 3), sigma=(1.0, 1.0), data_format=None):
    """Gaussian blur with a `kernel_size = (height, width)` window and standard deviations
    `sigma = (along width, along height)` (the order Keras' op applies them in); zero
    padding keeps the input size (an even window reaches one pixel further down/right).
    Integer images give floatx results."""
    x, undo = _to_nchw(images, data_format, "gaussian_blur")
    x = float_tensor(x)
    c = x.shape[1]
    kh, kw = _pair(kernel_size)
    sw, sh = (sigma, sigma) if isinstance(sigma, (int, float)) else tuple(sigma)
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    gy = _gaussian_kernel(kh, sh, work, x.device)
    gx = _gaussian_kernel(kw, sw, work, x.device)
    weight = (gy[:, None] * gx[None, :]).to(x.dtype).expand(c, 1, kh, kw)
    x = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    return undo(F.conv2d(x, weight, groups=c))


@keras_op("SobelEdges", module="image", init_args=("data_format",))
def sobel_edges(images, data_format=None):
    """Sobel gradients `(d/dy, d/dx)` (3x3 cross-correlation, zero padding) stacked on a
    new last axis. Integer images keep their dtype with wrap-around, like integer
    convolution."""
    x, undo = _to_nchw(images, data_format, "sobel_edges")
    dtype = x.dtype
    x = x.to(torch.float64 if not dtype.is_floating_point else dtype)
    c = x.shape[1]
    ky = torch.tensor([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=x.dtype, device=x.device)
    weight = torch.stack([ky, ky.T])[:, None].repeat(c, 1, 1, 1)
    out = F.conv2d(F.pad(x, (1, 1, 1, 1)), weight, groups=c)  # (n, c * 2, h, w)
    out = out.reshape(x.shape[0], c, 2, *x.shape[2:])
    out = torch.stack([undo(out[:, :, 0]), undo(out[:, :, 1])], -1)
    return _cast_back(out, dtype, wrap=True)


@keras_op("SSIM", module="image",
          init_args=("max_val", "filter_size", "filter_sigma", "k1", "k2", "data_format"))
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


def _homography(start, end):
    """(N, 8) coefficients of the homography taking each `end` point to its `start`
    point."""
    xs, ys = start.unbind(-1)  # (N, 4)
    xe, ye = end.unbind(-1)
    zero, one = torch.zeros_like(xe), torch.ones_like(xe)
    rows_x = torch.stack([xe, ye, one, zero, zero, zero, -xs * xe, -xs * ye], -1)
    rows_y = torch.stack([zero, zero, zero, xe, ye, one, -ys * xe, -ys * ye], -1)
    matrix = torch.stack([rows_x, rows_y], -2).reshape(start.shape[0], 8, 8)
    rhs = torch.stack([xs, ys], -1).reshape(start.shape[0], 8, 1)
    return torch.linalg.solve(matrix, rhs)[..., 0]


@keras_op("PerspectiveTransform", module="image",
          init_args=("interpolation", "fill_value", "data_format"))
def perspective_transform(images, start_points, end_points, interpolation="bilinear",
                          fill_value=0, data_format=None):
    """Warp images so the 4 `start_points` `(x, y)` (shape (4, 2) or (batch, 4, 2)) move
    to `end_points`: each output pixel reads the input at the homography image of its
    position that takes `end_points` back to `start_points`. Outside pixels read
    `fill_value`."""
    _choice("interpolation", interpolation, ("nearest", "bilinear"))
    x, undo = _to_nchw(images, data_format, "perspective_transform")
    dtype = x.dtype
    x = x.to(_compute_dtype(dtype))
    # Solved and mapped in float32 (float64 for float64 images), as Keras' JAX and TF
    # backends do: nearest-neighbour ties depend on the last bits of the coefficients,
    # and half precision cannot hold positions past 256 (Keras' torch backend uses them).
    solve_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    start = tensor(start_points).to(solve_dtype)
    end = tensor(end_points).to(solve_dtype)
    for name, pts in (("start_points", start), ("end_points", end)):
        if pts.ndim not in (2, 3) or tuple(pts.shape[-2:]) != (4, 2):
            raise ValueError(f"`{name}` must have shape (4, 2) or (batch, 4, 2); received "
                             f"shape {tuple(pts.shape)}.")
    start = start[None] if start.ndim == 2 else start
    end = end[None] if end.ndim == 2 else end
    positions = _projective_positions(_homography(start, end), *x.shape[:1], *x.shape[2:],
                                      x.device)
    out = _warp(x, positions, interpolation, "constant", fill_value)
    return undo(_cast_back(out.to(x.dtype), dtype))


def _generator(seed, device):
    """A `torch.Generator` for `seed`: an int, an object with `torch_generator(device)`
    (a `lamina.random.SeedGenerator`), or None for torch's global RNG."""
    if seed is None:
        return None
    if hasattr(seed, "torch_generator"):
        return seed.torch_generator(device)
    if isinstance(seed, int) and not isinstance(seed, bool):
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return generator
    raise ValueError(f"`seed` must be an int, a SeedGenerator or None; received "
                     f"seed={seed!r}.")


@keras_op("ElasticTransform", module="image",
          init_args=("alpha", "sigma", "interpolation", "fill_mode", "fill_value", "seed",
                     "data_format"))
def elastic_transform(images, alpha=20.0, sigma=5.0, interpolation="bilinear",
                      fill_mode="reflect", fill_value=0.0, seed=None, data_format=None):
    """Random elastic deformation, Keras' formula: per image, standard-normal noise
    `dx` then `dy` (drawn in that order, in the image's float dtype) times `sigma`,
    smoothed by a Gaussian of std `sigma` (window `int(6 sigma) | 1`) and scaled by
    `alpha`, displaces every pixel; the input is resampled there (`fill_mode` as in
    `affine_transform`). Positions are float32 for half-precision images. The same int
    `seed` gives the same warp; `alpha=0` is the identity."""
    _choice("interpolation", interpolation, ("nearest", "bilinear"))
    _choice("fill_mode", fill_mode, _FILL_MODES)
    x, undo = _to_nchw(images, data_format, "elastic_transform")
    dtype = x.dtype
    x = x.to(_compute_dtype(dtype))
    n, _, h, w = x.shape
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    generator = _generator(seed, x.device)
    # Keras draws dx, then dy, in the image dtype; drawing the same way keeps one noise
    # stream for both libraries.
    noise = torch.stack([torch.randn((n, h, w), generator=generator, dtype=x.dtype,
                                     device=x.device) for _ in range(2)], 1).to(work)
    sigma = torch.as_tensor(sigma, dtype=work, device=x.device)
    alpha = torch.as_tensor(alpha, dtype=work, device=x.device)
    # NOTE: one host read of sigma sizes the window, as Keras does.
    k = int(6 * float(sigma)) | 1
    shift = gaussian_blur(noise * sigma, (k, k), (sigma, sigma), "channels_first") * alpha
    gy, gx = torch.meshgrid(torch.arange(h, dtype=work, device=x.device),
                            torch.arange(w, dtype=work, device=x.device), indexing="ij")
    ys, xs = gy + shift[:, 1], gx + shift[:, 0]
    out = _warp(x, lambda lo, hi: (ys[lo:hi], xs[lo:hi]), interpolation, fill_mode,
                fill_value)
    return undo(_cast_back(out, dtype))


@keras_op("ScaleAndTranslate", module="image", init_args=("spatial_dims", "method", "antialias"))
def scale_and_translate(images, output_shape, scale, translation, spatial_dims, method,
                        antialias=True):
    """Resample the `spatial_dims` of `images` to `output_shape`: output index `o` reads
    input position `(o + 0.5 - translation) / scale - 0.5` through the `method` filter
    ("linear"/"bilinear"/"trilinear", "cubic"/"bicubic"/"tricubic" (Keys, a=-0.5),
    "lanczos3", "lanczos5"); `antialias` widens the filter by `1 / scale` when
    downscaling. Samples outside the input give 0.

    >>> import torch
    >>> scale_and_translate(torch.tensor([0.0, 2.0]), (4,), [2.0], [0.0], (0,), "linear")
    tensor([0.0000, 0.5000, 1.5000, 2.0000])
    """
    _choice("method", method, tuple(_KERNELS))
    x = float_tensor(images)
    spatial_dims = tuple(int(d) for d in spatial_dims)
    if len(output_shape) != x.ndim:
        raise ValueError(f"`output_shape` must have one entry per axis of `images` "
                         f"({x.ndim}); received output_shape={tuple(output_shape)!r}.")
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    scale = tensor(scale).to(work)
    translation = tensor(translation).to(work)
    out = x.to(work)
    for i, d in enumerate(spatial_dims):
        weights = _resample_weights(x.shape[d], int(output_shape[d]), scale[i],
                                    translation[i], _KERNELS[method], antialias, work,
                                    x.device)
        out = _apply_along(out, d, weights)
    return out.to(x.dtype)


__all__ = [
    "affine_transform", "crop_images", "elastic_transform", "extract_patches",
    "extract_patches_3d", "gaussian_blur", "hsv_to_rgb", "map_coordinates", "pad_images",
    "perspective_transform", "resize", "rgb_to_grayscale", "rgb_to_hsv",
    "scale_and_translate", "sobel_edges", "ssim",
]
