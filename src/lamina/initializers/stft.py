"""The `STFT` initializer: windowed Fourier kernels (also `STFTSpectrogram`'s weights)."""

import numpy as np
import torch

from lamina.backend import config
from lamina.backend.dtypes import to_torch_dtype
from lamina.initializers.initializer import Initializer


def _owner(layer):
    """How an error names what it is about: the layer, or the initializer itself."""
    return "STFT initializer" if layer is None else f"{type(layer).__name__} layer '{layer.name}'"


# NOTE: without SciPy, the named windows whose formulas are short; each equals
# `scipy.signal.get_window(name, length, fftbins=periodic)`.
_COSINE_SUMS = {"hann": (0.5, 0.5), "hamming": (0.54, 0.46), "blackman": (0.42, 0.5, 0.08)}


def window_values(window, length, periodic, layer):
    """`window` (a name or values) as a float64 numpy array of `length` values."""
    if not isinstance(window, str):
        values = np.asarray(window.detach().cpu() if isinstance(window, torch.Tensor)
                            else window, dtype="float64")
        if values.shape != (length,):
            raise ValueError(f"{_owner(layer)}: `window` must "
                             f"hold {length} values (one per sample of a frame). Received "
                             f"shape {values.shape}.")
        return values
    try:
        from scipy import signal  # optional: SciPy knows every window name Keras accepts
    except ImportError:
        signal = None
    if signal is not None:
        try:
            return signal.get_window(window, length, fftbins=periodic).astype("float64")
        except ValueError as error:
            raise ValueError(f"{_owner(layer)}: unknown "
                             f"`window` {window!r} ({error}).") from error
    if window == "boxcar":
        return np.ones(length)
    if window not in _COSINE_SUMS:
        raise ValueError(f"{_owner(layer)}: `window` must be one "
                         f"of {', '.join(['boxcar', *_COSINE_SUMS])}, an array or None "
                         f"(install SciPy for every `scipy.signal.get_window` name). "
                         f"Received: window={window!r}")
    if length == 1:
        return np.ones(1)
    period = length if periodic else length - 1
    phase = 2 * np.pi * np.arange(length) / period
    return sum((-1) ** i * a * np.cos(i * phase) for i, a in enumerate(_COSINE_SUMS[window]))


def stft_kernel(side, window, frame_length, bins, scaling, periodic, layer):
    """The `(frame_length, 1, bins)` cosine ("real") or negative sine ("imag") kernel of
    an STFT with `2 * (bins - 1)` frequencies, windowed and scaled."""
    size = 2 * (bins - 1)
    # NOTE: the phase index `t * k mod size` is exact in integers, so long frames keep
    # float64 accuracy (t * k * 2pi / size loses digits as it grows).
    index = np.outer(np.arange(frame_length), np.arange(bins)) % size
    angle = -2 * np.pi * index / size
    kernel = np.cos(angle) if side == "real" else np.sin(angle)
    if window is not None:
        values = window_values(window, frame_length, periodic, layer)
        kernel = kernel * values[:, None]
        if scaling == "density":
            kernel = kernel / np.sqrt(np.sum(values**2))
        elif scaling == "spectrum":
            kernel = kernel / np.sum(np.abs(values))
    return kernel[:, None, :]


class STFT(Initializer):
    """Cosine (`side="real"`) or sine (`side="imag"`) kernels of a short-time Fourier transform.

    The shape is `(frame_length, 1, fft_length // 2 + 1)`: convolving a signal with
    the two kernels gives the real and imaginary STFT parts.

    Args:
        side: `"real"` or `"imag"`.
        window: a window name (`"hann"`, `"hamming"`, ...), `frame_length` values, or None.
        scaling: divide by the window's norm (`"density"`), its sum (`"spectrum"`), or None.
        periodic: use the periodic (not symmetric) form of a named window.

    >>> tuple(STFT()((8, 1, 5)).shape)
    (8, 1, 5)
    """

    def __init__(self, side="real", window="hann", scaling="density", periodic=False):
        if side not in ("real", "imag"):
            raise ValueError(f"side should be 'real' or 'imag', not {side}")
        if isinstance(window, str):
            window_values(window, 1, periodic, None)  # fail early on a bad name
        if scaling not in (None, "density", "spectrum"):
            raise ValueError("Scaling is invalid, it must be `None`, 'density' or 'spectrum'. "
                             f"Received scaling={scaling}")
        self.side = side
        self.window = window
        self.scaling = scaling
        self.periodic = periodic

    def __call__(self, shape, dtype=None):
        if len(shape) != 3:
            raise ValueError("STFT initializer: the shape must be (frame_length, 1, "
                             f"fft_length // 2 + 1). Received: shape={tuple(shape)}")
        frame_length, _, bins = (int(d) for d in shape)
        kernel = stft_kernel(self.side, self.window, frame_length, bins, self.scaling,
                             self.periodic, None)
        kernel = np.broadcast_to(kernel, (frame_length, int(shape[1]), bins))
        return torch.as_tensor(kernel.copy(), dtype=to_torch_dtype(dtype),
                               device=config.get_device())

    def get_config(self):
        return {"side": self.side, "window": self.window, "periodic": self.periodic,
                "scaling": self.scaling}
