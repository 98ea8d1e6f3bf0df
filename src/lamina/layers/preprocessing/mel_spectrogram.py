"""`MelSpectrogram`: the power spectrogram of `ops.stft`, warped to the mel scale and
optionally in decibels."""

import math

import torch

from lamina import ops
from lamina.backend.dtypes import to_torch_dtype
from lamina.backend.symbolic import in_symbolic_run
from lamina.layers.layer import Layer

# NOTE: the HTK mel scale, mel(f) = 1127 * ln(1 + f / 700).
_MEL_BREAK_HERTZ = 700.0
_MEL_HIGH_FREQUENCY_Q = 1127.0
_CPU = torch.device("cpu")


class MelSpectrogram(Layer):
    """Mel spectrogram of a signal `(time,)` or a batch `(batch, time)`, shaped
    `(..., num_mel_bins, frames)` with `frames = 1 + time // sequence_stride`.

    The signal is framed with a centred (reflect-padded) STFT, its magnitudes raised to
    `mag_exp`, mapped to `num_mel_bins` triangular mel bands, and with `power_to_db` turned
    into decibels relative to `ref_power`, clipped at `top_db` below the batch's peak.

    Args:
        fft_length: FFT size.
        sequence_stride: samples between frames.
        sequence_length: the window length; defaults to `fft_length`.
        window: "hann", "hamming" or None.
        sampling_rate: samples per second of the signal.
        num_mel_bins: the number of mel bands.
        min_freq, max_freq: the lowest and highest frequency (Hz) of the bands;
            `max_freq` defaults to `sampling_rate / 2`.
        power_to_db: output decibels instead of power.
        top_db: the dynamic range kept in decibels.
        mag_exp: the exponent of the magnitudes (2 for power).
        min_power: the floor of the power before the logarithm.
        ref_power: the power that maps to 0 dB.

    >>> import torch
    >>> MelSpectrogram(fft_length=256, sequence_stride=128, num_mel_bins=40)(
    ...     torch.zeros(2, 1024)).shape
    torch.Size([2, 40, 9])
    """

    _casts_integer_inputs = True

    def __init__(self, fft_length=2048, sequence_stride=512, sequence_length=None,
                 window="hann", sampling_rate=16000, num_mel_bins=128, min_freq=20.0,
                 max_freq=None, power_to_db=True, top_db=80.0, mag_exp=2.0, min_power=1e-10,
                 ref_power=1.0, **kwargs):
        super().__init__(**kwargs)
        sequence_length = sequence_length or fft_length
        if fft_length < sequence_length:
            raise ValueError(f"MelSpectrogram layer '{self.name}': `fft_length` must be at "
                             f"least `sequence_length`. Received: fft_length={fft_length}, "
                             f"sequence_length={sequence_length}")
        if isinstance(window, str) and window not in ("hann", "hamming"):
            raise ValueError(f"MelSpectrogram layer '{self.name}': `window` must be 'hann', "
                             f"'hamming', an array or None. Received: window={window!r}")
        self.fft_length = fft_length
        self.sequence_stride = sequence_stride
        self.sequence_length = sequence_length
        self.window = window
        self.sampling_rate = sampling_rate
        self.num_mel_bins = num_mel_bins
        self.min_freq = min_freq
        self.max_freq = max_freq or int(sampling_rate / 2)
        self.power_to_db = power_to_db
        self.top_db = top_db
        self.mag_exp = mag_exp
        self.min_power = min_power
        self.ref_power = ref_power
        # NOTE: the dB offset of `ref_power` is a constant of the config.
        self._ref_db = 10.0 * math.log10(max(abs(ref_power), min_power))
        # device -> the mel matrix (filled on the first call on each device)
        self.__dict__["_matrices"] = {}

    def build(self, input_shape):
        if len(input_shape) not in (1, 2):
            raise ValueError(f"MelSpectrogram layer '{self.name}' expects a signal `(time,)` "
                             f"or a batch `(batch, time)`. Received input shape "
                             f"{tuple(input_shape)}.")
        self._matrices[_CPU] = self.linear_to_mel_weight_matrix(
            num_mel_bins=self.num_mel_bins, num_spectrogram_bins=self.fft_length // 2 + 1,
            sampling_rate=self.sampling_rate, lower_edge_hertz=self.min_freq,
            upper_edge_hertz=self.max_freq)
        self.built = True

    def call(self, inputs):
        compute_dtype = to_torch_dtype(self.compute_dtype)
        # NOTE: as Keras, the STFT runs in float32 unless the policy computes in float64.
        dtype = compute_dtype if compute_dtype == torch.float64 else torch.float32
        real, imag = ops.stft(inputs.to(dtype), sequence_length=self.sequence_length,
                              sequence_stride=self.sequence_stride, fft_length=self.fft_length,
                              window=self.window, center=True)
        spectrum = (real.square() + imag.square()).sqrt().pow(self.mag_exp)
        outputs = spectrum @ self._matrix(inputs.device).to(dtype)
        if self.power_to_db:
            outputs = 10.0 * outputs.clamp_min(self.min_power).log10() - self._ref_db
            # NOTE: Keras clips against the peak of the whole batch, not of each signal.
            outputs = torch.maximum(outputs, outputs.max() - self.top_db)
        return outputs.transpose(-1, -2).to(compute_dtype)

    def _matrix(self, device):
        matrix = self._matrices.get(device)
        if matrix is None:
            matrix = self._matrices[_CPU].to(device)
            if not in_symbolic_run():
                self._matrices[device] = matrix
        return matrix

    def linear_to_mel_weight_matrix(self, num_mel_bins=20, num_spectrogram_bins=129,
                                    sampling_rate=8000, lower_edge_hertz=125.0,
                                    upper_edge_hertz=3800.0, dtype="float32"):
        """The `(num_spectrogram_bins, num_mel_bins)` matrix that maps a linear spectrum
        on `[0, sampling_rate / 2]` to triangular HTK mel bands on
        `[lower_edge_hertz, upper_edge_hertz]`, each peaking at 1; the DC bin maps to 0."""
        dtype = to_torch_dtype(dtype)
        hertz = torch.linspace(0.0, sampling_rate / 2.0, num_spectrogram_bins,
                               dtype=dtype)[1:]
        bins_mel = _hertz_to_mel(hertz)[:, None]
        edges = torch.linspace(_hertz_to_mel(torch.tensor(lower_edge_hertz, dtype=dtype)),
                               _hertz_to_mel(torch.tensor(upper_edge_hertz, dtype=dtype)),
                               num_mel_bins + 2, dtype=dtype)
        lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
        rising = (bins_mel - lower) / (center - lower)
        falling = (upper - bins_mel) / (upper - center)
        weights = torch.minimum(rising, falling).clamp_min(0.0)
        return torch.nn.functional.pad(weights, (0, 0, 1, 0))

    def compute_output_shape(self, input_shape):
        *batch, time = input_shape
        frames = None if time is None else 1 + time // self.sequence_stride
        return (*batch, self.num_mel_bins, frames)

    def get_config(self):
        config = super().get_config()
        config.update(fft_length=self.fft_length, sequence_stride=self.sequence_stride,
                      sequence_length=self.sequence_length, window=self.window,
                      sampling_rate=self.sampling_rate, num_mel_bins=self.num_mel_bins,
                      min_freq=self.min_freq, max_freq=self.max_freq,
                      power_to_db=self.power_to_db, top_db=self.top_db,
                      mag_exp=self.mag_exp, min_power=self.min_power,
                      ref_power=self.ref_power)
        return config


def _hertz_to_mel(hertz):
    return _MEL_HIGH_FREQUENCY_Q * torch.log1p(hertz / _MEL_BREAK_HERTZ)
