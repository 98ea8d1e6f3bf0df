"""`lamina.ops.math`: special functions and reductions beyond numpy's core.

>>> import lamina
>>> round(float(lamina.ops.logsumexp([0.0, 0.0])), 4)
0.6931
"""

import torch

from lamina.backend.symbolic import is_fake, unknown_size
from lamina.ops.operands import axis_error, float_tensor, tensor
from lamina.ops.operation import keras_op


def inexact_tensor(x):
    """`x` as a floating or complex tensor: integer and bool input becomes `floatx()`."""
    x = tensor(x)
    return x if x.is_complex() else float_tensor(x)


def real_tensor(x, name):
    """`x` as a floating tensor; complex input is an error (it would lose its imaginary
    part)."""
    x = tensor(x)
    if x.is_complex():
        raise TypeError(f"`{name}` expects real input; received a {x.dtype} tensor. Pass "
                        "the real part (or use a complex-aware op).")
    return float_tensor(x)


@keras_op("Erf", module="math")
def erf(x):
    """Element-wise Gauss error function."""
    return torch.erf(real_tensor(x, "erf"))


@keras_op("Rsqrt", module="math")
def rsqrt(x):
    """Element-wise `1 / sqrt(x)`."""
    return torch.rsqrt(inexact_tensor(x))


@keras_op("Logsumexp", module="math", init_args=("axis", "keepdims"))
def logsumexp(x, axis=None, keepdims=False):
    """`log(sum(exp(x)))` over `axis`, computed without overflow."""
    x = inexact_tensor(x)
    if axis is None:
        axis = tuple(range(x.ndim))
    try:
        return torch.logsumexp(x, dim=axis, keepdim=keepdims)
    except IndexError:
        raise axis_error(axis, x) from None


@keras_op("TopK", module="math", init_args=("k", "sorted"))
def top_k(x, k, sorted=True):  # noqa: A002 (Keras' name)
    """The `k` largest values along the last axis and their indices."""
    x = tensor(x)
    size = x.shape[-1] if x.ndim else 1
    if not 0 <= k <= size:
        raise ValueError(f"`top_k`: `k`={k} must be between 0 and the size of the last axis "
                         f"({size}); received a tensor of shape {tuple(x.shape)}.")
    if x.dtype == torch.bool:  # torch has no bool topk on CPU
        values, indices = torch.topk(x.to(torch.uint8), k, dim=-1, sorted=sorted)
        return values.bool(), indices
    return torch.topk(x, k, dim=-1, sorted=sorted)


__all__ = ["erf", "logsumexp", "rsqrt", "top_k"]


# --- segments -------------------------------------------------------------------------


def _segment(reduce, data, segment_ids, num_segments, name, empty=0):
    data, ids = tensor(data), tensor(segment_ids)
    if ids.ndim != 1 or ids.shape[0] != data.shape[0]:
        raise ValueError(f"`{name}`: `segment_ids` must be 1-D with one id per row of "
                         f"`data`; received shapes {tuple(ids.shape)} and "
                         f"{tuple(data.shape)}.")
    if num_segments is None:
        if is_fake(ids):  # symbolic: the count depends on the ids
            num_segments = unknown_size()
        else:
            num_segments = int(ids.max()) + 1 if ids.numel() else 0
    ids = ids.long()
    valid = (ids >= 0) & (ids < num_segments)
    ids = torch.where(valid, ids, num_segments)  # out-of-range ids go to a dropped row
    shape = (num_segments + 1, *data.shape[1:])
    out = torch.full(shape, empty, dtype=data.dtype, device=data.device)
    index = ids.reshape(-1, *([1] * (data.ndim - 1))).expand_as(data)
    out = out.scatter_reduce(0, index, data, reduce=reduce, include_self=empty != 0)
    return out[:num_segments]


def _limit(x, sign):
    if x.is_floating_point():
        return sign * float("inf")
    info = torch.iinfo(x.dtype) if x.dtype != torch.bool else None
    return (sign > 0) if info is None else (info.max if sign > 0 else info.min)


@keras_op("SegmentSum", module="math", init_args=("num_segments", "sorted"))
def segment_sum(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Sum of the rows of `data` sharing each segment id (0 for empty segments)."""
    return _segment("sum", data, segment_ids, num_segments, "segment_sum")


@keras_op("SegmentMax", module="math", init_args=("num_segments", "sorted"))
def segment_max(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Maximum of the rows of `data` sharing each segment id (lowest value when empty)."""
    data = tensor(data)
    return _segment("amax", data, segment_ids, num_segments, "segment_max", _limit(data, -1))


@keras_op("SegmentMin", module="math", init_args=("num_segments", "sorted"))
def segment_min(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Minimum of the rows of `data` sharing each segment id (highest value when empty)."""
    data = tensor(data)
    return _segment("amin", data, segment_ids, num_segments, "segment_min", _limit(data, 1))


@keras_op("SegmentProd", module="math", init_args=("num_segments", "sorted"))
def segment_prod(data, segment_ids, num_segments=None, sorted=False):  # noqa: A002
    """Product of the rows of `data` sharing each segment id (1 for empty segments)."""
    return _segment("prod", data, segment_ids, num_segments, "segment_prod", 1)


@keras_op("InTopK", module="math", init_args=("k",))
def in_top_k(targets, predictions, k):
    """True where `targets[i]` is among the `k` largest of `predictions[i]` (ties count)."""
    targets, predictions = tensor(targets), float_tensor(predictions)
    if predictions.ndim != 2 or targets.shape != predictions.shape[:1]:
        raise ValueError(f"`in_top_k` expects `predictions` (batch, classes) and `targets` "
                         f"(batch,); received {tuple(predictions.shape)} and "
                         f"{tuple(targets.shape)}.")
    target_scores = torch.gather(predictions, 1, targets.long()[:, None])
    return torch.sum(predictions > target_scores, dim=1) < k


# --- Fourier transforms (Keras passes complex values as (real, imag) pairs) -------------


def _complex(x, name):
    if not isinstance(x, (tuple, list)) or len(x) != 2:
        raise ValueError(f"`{name}` expects a tuple (real, imag) of tensors; received "
                         f"{type(x).__name__}.")
    real, imag = float_tensor(x[0]), float_tensor(x[1])
    if real.shape != imag.shape:
        raise ValueError(f"`{name}`: real and imaginary parts differ in shape: "
                         f"{tuple(real.shape)} and {tuple(imag.shape)}.")
    return torch.complex(real, imag.to(real.dtype))


def _parts(z):
    return z.real.contiguous(), z.imag.contiguous()


@keras_op("FFT", module="math")
def fft(x):
    """FFT over the last axis of `x = (real, imag)`; returns `(real, imag)`."""
    return _parts(torch.fft.fft(_complex(x, "fft")))


@keras_op("FFT2", module="math")
def fft2(x):
    """2-D FFT over the last two axes of `x = (real, imag)`; returns `(real, imag)`."""
    return _parts(torch.fft.fft2(_complex(x, "fft2")))


@keras_op("IFFT2", module="math")
def ifft2(x):
    """Inverse 2-D FFT over the last two axes of `x = (real, imag)`."""
    return _parts(torch.fft.ifft2(_complex(x, "ifft2")))


@keras_op("RFFT", module="math", init_args=("fft_length",))
def rfft(x, fft_length=None):
    """FFT of a real signal over the last axis; returns `(real, imag)` half spectra."""
    return _parts(torch.fft.rfft(real_tensor(x, "rfft"), n=fft_length))


@keras_op("IRFFT", module="math", init_args=("fft_length",))
def irfft(x, fft_length=None):
    """Inverse of `rfft`: a real signal of `fft_length` from `x = (real, imag)`."""
    return torch.fft.irfft(_complex(x, "irfft"), n=fft_length)


def _window(window, length, dtype, device):
    if window is None:
        return None
    if isinstance(window, str):
        if window not in ("hann", "hamming"):
            raise ValueError(f"`window` must be 'hann', 'hamming', a tensor or None; "
                             f"received {window!r}.")
        fn = torch.hann_window if window == "hann" else torch.hamming_window
        return fn(length, periodic=True, dtype=dtype, device=device)
    window = float_tensor(window).to(dtype)
    if window.shape != (length,):
        raise ValueError(f"`window` must have shape ({length},); received "
                         f"{tuple(window.shape)}.")
    return window


def _check_fft_length(sequence_length, fft_length):
    if fft_length < sequence_length:
        raise ValueError(f"`fft_length` ({fft_length}) must be >= `sequence_length` "
                         f"({sequence_length}).")


@keras_op("STFT", module="math",
          init_args=("sequence_length", "sequence_stride", "fft_length", "window", "center"))
def stft(x, sequence_length, sequence_stride, fft_length, window="hann", center=True):
    """Short-time Fourier transform over the last axis; returns `(real, imag)` of shape
    `(..., frames, fft_length // 2 + 1)`."""
    _check_fft_length(sequence_length, fft_length)
    x = real_tensor(x, "stft")
    batch = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1])
    win = _window(window, sequence_length, x.dtype, x.device)
    if win is None:
        win = torch.ones(sequence_length, dtype=x.dtype, device=x.device)
    if center:
        pad = fft_length // 2
        flat = torch.nn.functional.pad(flat[:, None], (pad, pad), mode="reflect")[:, 0]
    z = torch.stft(flat, n_fft=fft_length, hop_length=sequence_stride,
                   win_length=sequence_length, window=win, center=False,
                   return_complex=True, onesided=True)
    z = z.transpose(-1, -2).reshape(*batch, -1, fft_length // 2 + 1)
    return _parts(z)


@keras_op("ISTFT", module="math",
          init_args=("sequence_length", "sequence_stride", "fft_length", "length", "window",
                     "center"))
def istft(x, sequence_length, sequence_stride, fft_length, length=None, window="hann",
          center=True):
    """Inverse of `stft`: the signal from `x = (real, imag)` frames of shape
    `(..., frames, fft_length // 2 + 1)`.

    Frames are windowed and overlap-added. With `center=True` and
    `sequence_length == fft_length` the sum is divided by the actual overlap of the
    squared windows (as `torch.istft`); otherwise the window is divided by its
    steady-state overlap (as TensorFlow's `inverse_stft_window_fn`), and `window=None`
    adds the raw frames."""
    _check_fft_length(sequence_length, fft_length)
    z = _complex(x, "istft")
    batch = z.shape[:-2]
    frames = torch.fft.irfft(z.reshape(-1, *z.shape[-2:]), n=fft_length)  # (b, frames, fft)
    dtype, device = frames.dtype, frames.device
    win = _window(window, sequence_length, dtype, device)
    exact = center and sequence_length == fft_length and win is not None
    count = frames.shape[-2]
    total = sequence_stride * (count - 1) + fft_length
    if win is not None:
        left = (fft_length - sequence_length) // 2  # stft centres the window in the frame
        win = torch.nn.functional.pad(win, (left, fft_length - sequence_length - left))
        if not exact:
            # NOTE: per phase `j % stride`, the sum of squared windows over all frames
            # overlapping that phase in steady state.
            phases = -(-fft_length // sequence_stride) * sequence_stride
            steady = torch.nn.functional.pad(win**2, (0, phases - fft_length))
            steady = steady.reshape(-1, sequence_stride).sum(0).repeat(phases // sequence_stride)
            win = win / steady[:fft_length]
        frames = frames * win
    fold = torch.nn.functional.fold
    signal = fold(frames.transpose(-1, -2), (1, total), (1, fft_length),
                  stride=(1, sequence_stride))[:, 0, 0]
    if exact:
        norm = fold((win**2)[None, :, None].expand(1, -1, count), (1, total),
                    (1, fft_length), stride=(1, sequence_stride))[0, 0, 0]
        signal = signal / torch.where(norm > 1e-11, norm, torch.ones_like(norm))
    start = fft_length // 2 if center else 0
    if length is not None:
        signal = signal[..., start:start + length]
        signal = torch.nn.functional.pad(signal, (0, length - signal.shape[-1]))
    else:
        signal = signal[..., start:total - start]
    return signal.reshape(*batch, signal.shape[-1])


@keras_op("ExtractSequences", module="math", init_args=("sequence_length", "sequence_stride"))
def extract_sequences(x, sequence_length, sequence_stride):
    """Overlapping frames of the last axis: `(..., frames, sequence_length)`."""
    x = tensor(x)
    if x.shape[-1] < sequence_length:
        raise ValueError(f"`extract_sequences`: the last axis ({x.shape[-1]}) is shorter "
                         f"than `sequence_length` ({sequence_length}).")
    return x.unfold(-1, sequence_length, sequence_stride)


@keras_op("CDist", module="math")
def cdist(x, y):
    """Pairwise Euclidean distances between the rows of `x` `(..., P, M)` and `y`
    `(..., R, M)`: `(..., P, R)`."""
    x, y = float_tensor(x), float_tensor(y)
    if x.ndim < 2 or y.ndim < 2 or x.shape[-1] != y.shape[-1]:
        raise ValueError(f"`cdist` expects (..., P, M) and (..., R, M); received shapes "
                         f"{tuple(x.shape)} and {tuple(y.shape)}.")
    dtype = torch.promote_types(x.dtype, y.dtype)
    return torch.cdist(x.to(dtype), y.to(dtype))


@keras_op("ViewAsComplex", module="math")
def view_as_complex(x):
    """A complex64 tensor from a real one whose last axis holds (real, imag)."""
    x = tensor(x).float()
    if x.shape[-1:] != (2,):
        raise ValueError(f"`view_as_complex` expects a last axis of size 2; received shape "
                         f"{tuple(x.shape)}.")
    return torch.view_as_complex(x.contiguous())


@keras_op("ViewAsReal", module="math")
def view_as_real(x):
    """A real tensor with a trailing (real, imag) axis from a complex one."""
    x = tensor(x)
    if not x.is_complex():
        raise ValueError(f"`view_as_real` expects a complex tensor; received {x.dtype}.")
    return torch.view_as_real(x)


__all__ += [
    "cdist", "extract_sequences", "fft", "fft2", "ifft2", "in_top_k", "irfft", "istft", "rfft",
    "segment_max", "segment_min", "segment_prod", "segment_sum", "stft", "view_as_complex",
    "view_as_real",
]
