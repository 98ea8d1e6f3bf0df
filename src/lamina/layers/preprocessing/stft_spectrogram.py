"""`STFTSpectrogram`: a short-time Fourier transform as one strided convolution whose
cosine/sine kernels are weights (trainable by default, as in Keras)."""

import math
import warnings

import torch

from lamina import ops
from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.initializers.stft import stft_kernel, window_values
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer

_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_FLOATS = (torch.float16, torch.float32, torch.float64)
_OTHER_SIDE = {"real": "imag", "imag": "real"}


class STFTSpectrogram(Layer):
    """Spectrogram of each channel of a signal, from an STFT computed by convolution.

    The STFT's real and imaginary parts are convolutions with windowed cosine and sine
    kernels, stored as the weights `real_kernel` and `imag_kernel` of shape
    `(frame_length, 1, fft_length // 2 + 1)` (Keras' layout), so they can be fine-tuned.

    Args:
        mode: "log" (default), "magnitude", "psd", "real", "imag", "angle" or "stft" (the
            real and imaginary parts concatenated on the frequency axis).
        frame_length: samples per frame (the window length).
        frame_step: samples between frames; defaults to `frame_length // 2`.
        fft_length: FFT size, at least `frame_length`; defaults to the next power of two.
        window: a window name ("hann", "hamming", ...; any `scipy.signal.get_window`
            name when SciPy is installed), an array of `frame_length` values, or None.
        periodic: use the periodic (not symmetric) form of a named window.
        scaling: divide the kernels by the window's norm ("density"), its sum
            ("spectrum"), or not at all (None).
        padding: "valid" or "same", as in `Conv1D`.
        expand_dims: give frequency its own axis (an image-like output).
        data_format: "channels_last" `(batch, time, channels)` or "channels_first".

    >>> import torch
    >>> layer = STFTSpectrogram(frame_length=64, frame_step=32, padding="same")
    >>> layer(torch.zeros(2, 256, 1)).shape
    torch.Size([2, 8, 33])
    """

    def __init__(self, mode="log", frame_length=256, frame_step=None, fft_length=None,
                 window="hann", periodic=False, scaling="density", padding="valid",
                 expand_dims=False, data_format=None, **kwargs):
        super().__init__(**kwargs)
        problem = _argument_problem(mode, frame_length, frame_step, fft_length, scaling,
                                    padding)
        if problem:
            raise ValueError(f"STFTSpectrogram layer '{self.name}': {problem}")
        if fft_length is not None and fft_length & (fft_length - 1):
            warnings.warn(f"STFTSpectrogram layer '{self.name}': `fft_length` is best a "
                          f"power of two. Received: fft_length={fft_length}", stacklevel=2)
        self.mode = mode
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.window = window
        self.periodic = periodic
        self.scaling = scaling
        self.padding = padding
        self.expand_dims = expand_dims
        self.data_format = backend_config.standardize_data_format(data_format)
        self._frame_step = frame_step or frame_length // 2
        self._fft_length = fft_length or 2 ** math.ceil(math.log2(frame_length))
        if isinstance(window, str):
            window_values(window, 1, periodic, layer=self)  # fail early on a bad name
        self.input_spec = InputSpec(ndim=3)

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft_length // 2 + 1)
        # NOTE: Keras' weights: "real" mode has no imaginary kernel, "imag" no real one.
        for side in ("real", "imag"):
            if self.mode != _OTHER_SIDE[side]:
                setattr(self, f"{side}_kernel", self.add_weight(
                    shape=shape, initializer=self._kernel_initializer(side),
                    name=f"{side}_kernel"))
        self.built = True

    def _kernel_initializer(self, side):
        def initializer(shape, dtype=None):
            frame_length, _, bins = shape
            return torch.as_tensor(stft_kernel(side, self.window, frame_length, bins,
                                               self.scaling, self.periodic, layer=self),
                                   dtype=to_torch_dtype(dtype or "float32"))
        return initializer

    def call(self, inputs):
        if inputs.dtype not in _FLOATS:
            raise TypeError(f"STFTSpectrogram layer '{self.name}' expects float16, float32 "
                            f"or float64 inputs. Received: dtype={inputs.dtype}. Cast the "
                            "signal to a float first.")
        if self.data_format == "channels_last":
            inputs = inputs.transpose(1, 2)
        batch, channels, time = inputs.shape
        signal = inputs.reshape(batch * channels, 1, time)
        if self.mode == "real":
            kernel = self.real_kernel
        elif self.mode == "imag":
            kernel = self.imag_kernel
        else:
            kernel = torch.cat([self.real_kernel, self.imag_kernel], dim=-1)
        # (batch * channels, bins [+ bins], frames): both kernels in one convolution
        out = ops.conv(signal, kernel.to(inputs.dtype), strides=self._frame_step,
                       padding=self.padding, data_format="channels_first")
        out = self._spectrum(out)
        out = out.reshape(batch, channels, *out.shape[1:])  # (batch, channels, freq, frames)
        if self.expand_dims:
            return out.permute(0, 3, 2, 1) if self.data_format == "channels_last" \
                else out.transpose(2, 3)
        out = out.reshape(batch, -1, out.shape[-1])
        return out.transpose(1, 2) if self.data_format == "channels_last" else out

    def _spectrum(self, out):
        if self.mode in ("real", "imag", "stft"):
            return out
        real, imag = out.chunk(2, dim=1)
        if self.mode == "angle":
            return torch.atan2(imag, real)
        power = real.square() + imag.square()
        if self.mode == "psd":
            # NOTE: a one-sided PSD counts every bin but DC and Nyquist twice.
            return power + torch.nn.functional.pad(power[:, 1:-1], (0, 0, 1, 1))
        epsilon = backend_config.epsilon()
        magnitude = power.clamp_min(epsilon).sqrt()
        return magnitude if self.mode == "magnitude" else magnitude.clamp_min(epsilon).log()

    def compute_output_shape(self, input_shape):
        channels_last = self.data_format == "channels_last"
        batch, time, channels = (input_shape if channels_last
                                 else (input_shape[0], input_shape[2], input_shape[1]))
        bins = (self._fft_length // 2 + 1) * (2 if self.mode == "stft" else 1)
        if time is None:
            frames = None
        elif self.padding == "same":
            frames = -(-time // self._frame_step)
        else:
            frames = (time - self.frame_length) // self._frame_step + 1
        if self.expand_dims:
            return (batch, frames, bins, channels) if channels_last \
                else (batch, channels, frames, bins)
        features = None if channels is None else bins * channels
        return (batch, frames, features) if channels_last else (batch, features, frames)

    def get_config(self):
        config = super().get_config()
        config.update(mode=self.mode, frame_length=self.frame_length,
                      frame_step=self.frame_step, fft_length=self.fft_length,
                      window=self.window, periodic=self.periodic, scaling=self.scaling,
                      padding=self.padding, data_format=self.data_format,
                      expand_dims=self.expand_dims)
        return config


def _argument_problem(mode, frame_length, frame_step, fft_length, scaling, padding):
    if mode not in _MODES:
        return f"`mode` must be one of {', '.join(_MODES)}. Received: mode={mode!r}"
    if frame_step is not None and not 1 <= frame_step <= frame_length:
        return ("`frame_step` must be a positive integer no greater than `frame_length`. "
                f"Received: frame_step={frame_step}, frame_length={frame_length}")
    if fft_length is not None and fft_length < frame_length:
        return ("`fft_length` must be at least `frame_length`. Received: "
                f"fft_length={fft_length}, frame_length={frame_length}")
    if scaling not in (None, "density", "spectrum"):
        return f"`scaling` must be None, 'density' or 'spectrum'. Received: scaling={scaling!r}"
    if padding not in ("valid", "same"):
        return f"`padding` must be 'valid' or 'same'. Received: padding={padding!r}"
    return None
