"""STFTSpectrogram and MelSpectrogram against Keras 3 (torch backend): configs, weights,
outputs and shapes, and `.keras` files both ways."""

import json
import types

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")
from keras.src.initializers import constant_initializers as keras_initializers  # noqa: E402
from keras.src.layers.preprocessing import stft_spectrogram as keras_stft  # noqa: E402

RNG = np.random.default_rng(31)


def _get_window(name, length, fftbins=True):
    # numpy's symmetric windows; the periodic one is the symmetric one of length + 1, cut.
    numpy_window = {"hann": np.hanning, "hamming": np.hamming}.get(name)
    if numpy_window is None:
        raise ValueError(f"Unknown window type: {name}")
    return numpy_window(length + 1)[:-1] if fftbins else numpy_window(length)


@pytest.fixture
def K(K, monkeypatch):
    # Keras reads named windows from SciPy, which this environment may lack; a stand-in
    # with numpy's Hann and Hamming windows lets the oracle run its own code on them.
    try:
        import scipy.signal  # noqa: F401
    except ImportError:
        shim = types.SimpleNamespace(signal=types.SimpleNamespace(get_window=_get_window))
        monkeypatch.setattr(keras_stft, "scipy", shim)
        monkeypatch.setattr(keras_initializers, "scipy", shim)
    return K


def as_numpy(x):
    return np.asarray(x.detach().cpu()) if isinstance(x, torch.Tensor) else np.asarray(x)


def normalize(config):
    return json.loads(json.dumps(config, default=lambda v: list(v) if isinstance(v, tuple)
                                 else str(v)))


def both(K, name, **kwargs):
    return getattr(lamina.layers, name)(name="layer", **kwargs), getattr(K.layers, name)(
        name="layer", **kwargs)


def assert_same_config(ours, theirs):
    assert normalize(ours.get_config()) == normalize(theirs.get_config())
    assert normalize(type(ours).from_config(normalize(theirs.get_config())).get_config()) == \
        normalize(theirs.get_config())
    assert normalize(type(theirs).from_config(normalize(ours.get_config())).get_config()) == \
        normalize(theirs.get_config())


def assert_close_spectra(ours, theirs, rtol=1e-4):
    # float32 spectra: a tolerance relative to the largest value.
    ours, theirs = as_numpy(ours), as_numpy(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=rtol,
                               atol=rtol * max(1.0, float(np.abs(theirs).max())))


STFT_CONFIGS = [
    {},
    {"mode": "magnitude", "frame_length": 64, "frame_step": 16, "padding": "same"},
    {"mode": "psd", "frame_length": 50, "fft_length": 64, "window": "hamming",
     "periodic": True, "scaling": "spectrum"},
    {"mode": "real", "frame_length": 32, "window": None, "scaling": None},
    {"mode": "imag", "frame_length": 32, "frame_step": 32, "data_format": "channels_first"},
    {"mode": "stft", "frame_length": 48, "frame_step": 24, "expand_dims": True},
    {"mode": "angle", "frame_length": 32, "frame_step": 8, "expand_dims": True,
     "data_format": "channels_first"},
    {"mode": "log", "frame_length": 16, "window": list(np.linspace(0.1, 1.0, 16)),
     "padding": "same", "data_format": "channels_first"},
]


@pytest.mark.parametrize("kwargs", STFT_CONFIGS, ids=lambda k: "-".join(map(str, k.values())))
@pytest.mark.parametrize("batch", [1, 3])
def test_stft_spectrogram_equals_keras(K, kwargs, batch):
    ours, theirs = both(K, "STFTSpectrogram", **kwargs)
    channels_first = kwargs.get("data_format") == "channels_first"
    x = RNG.normal(size=(batch, 2, 600) if channels_first else (batch, 600, 2))
    x = x.astype("float32")
    theirs_out = theirs(x)
    ours.build(x.shape)
    assert [w.path for w in ours.weights] == [w.path for w in theirs.weights]
    for mine, other in zip(ours.get_weights(), theirs.get_weights()):
        assert mine.shape == other.shape and mine.dtype == other.dtype
        np.testing.assert_allclose(mine, other, atol=1e-4)  # Keras' float32 phases drift
    assert ours.trainable_weights and len(ours.trainable_weights) == len(theirs.trainable_weights)
    ours.set_weights(theirs.get_weights())
    ours_out = ours(x)
    assert ours.compute_output_shape(x.shape) == theirs.compute_output_shape(x.shape) == \
        tuple(theirs_out.shape)
    if kwargs.get("mode") == "angle":
        # The phase is compared where it is defined (a non-negligible bin), modulo 2 pi.
        magnitude = lamina.layers.STFTSpectrogram(**{**kwargs, "mode": "magnitude"})
        magnitude.build(x.shape)
        magnitude.set_weights(theirs.get_weights())
        defined = as_numpy(magnitude(x)) > 1e-3
        turn = np.angle(np.exp(1j * (as_numpy(ours_out) - as_numpy(theirs_out))))
        assert defined.mean() > 0.9
        np.testing.assert_allclose(turn[defined], 0.0, atol=1e-3)
    else:
        assert_close_spectra(ours_out, theirs_out)
    assert_same_config(ours, theirs)


def test_stft_spectrogram_float64_signal_keeps_float64_like_keras(K):
    ours, theirs = both(K, "STFTSpectrogram", mode="magnitude", frame_length=32, window=None)
    x = RNG.normal(size=(2, 256, 1))
    theirs_out = theirs(x)
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    assert_close_spectra(ours(x), theirs_out, rtol=1e-6)


@pytest.mark.parametrize("mode", ["log", "psd"])
def test_stft_spectrogram_float64_policy_outputs_float64(K, mode):
    # Keras' `ops.maximum(float64, 1e-7)` returns float32, so its log, magnitude and angle
    # modes drop to float32 under a float64 policy; lamina keeps the policy's dtype.
    ours, theirs = both(K, "STFTSpectrogram", mode=mode, frame_length=32, dtype="float64")
    x = RNG.normal(size=(2, 256, 1)).astype("float32")
    theirs_out = as_numpy(theirs(x))
    ours.build(x.shape)
    ours.set_weights(theirs.get_weights())
    ours_out = ours(x)
    assert ours_out.dtype == torch.float64
    assert_close_spectra(as_numpy(ours_out).astype(theirs_out.dtype), theirs_out, rtol=1e-6)


MEL_CONFIGS = [
    {},
    {"fft_length": 256, "sequence_stride": 100, "num_mel_bins": 40, "sampling_rate": 8000},
    {"fft_length": 512, "sequence_length": 300, "sequence_stride": 128, "window": "hamming",
     "power_to_db": False, "mag_exp": 1.0, "min_freq": 100.0, "max_freq": 3000},
    {"fft_length": 256, "sequence_stride": 64, "window": None, "top_db": 20.0,
     "ref_power": 2.0, "min_power": 1e-6},
]


@pytest.mark.parametrize("kwargs", MEL_CONFIGS, ids=lambda k: "-".join(map(str, k.values())))
@pytest.mark.parametrize("shape", [(3, 3000), (2500,)], ids=["batched", "unbatched"])
def test_mel_spectrogram_equals_keras(K, kwargs, shape):
    ours, theirs = both(K, "MelSpectrogram", **kwargs)
    x = RNG.normal(size=shape).astype("float32")
    theirs_out = theirs(x)
    assert_close_spectra(ours(x), theirs_out)
    assert tuple(ours.compute_output_shape(shape)) == tuple(theirs_out.shape) == \
        tuple(theirs.compute_output_shape(shape))
    assert ours.weights == [] and theirs.weights == []
    assert_same_config(ours, theirs)


def test_mel_spectrogram_float64_policy_computes_in_float64_like_keras(K):
    ours, theirs = both(K, "MelSpectrogram", fft_length=128, sequence_stride=64,
                        num_mel_bins=16, dtype="float64")
    x = RNG.normal(size=(2, 1000))
    assert_close_spectra(ours(x), theirs(x), rtol=1e-5)


def test_mel_weight_matrix_equals_keras(K):
    ours, theirs = both(K, "MelSpectrogram")
    for args in [{}, {"num_mel_bins": 64, "num_spectrogram_bins": 513, "sampling_rate": 22050,
                      "lower_edge_hertz": 0.0, "upper_edge_hertz": 11025.0}]:
        np.testing.assert_allclose(as_numpy(ours.linear_to_mel_weight_matrix(**args)),
                                   as_numpy(theirs.linear_to_mel_weight_matrix(**args)),
                                   atol=1e-5)


# -- .keras files -----------------------------------------------------------------------

def build(ns):
    # ns.layers.* for both libraries: a two-input audio model.
    waves = ns.Input((400, 1), name="waves")
    clips = ns.Input((800,), name="clips")
    stft = ns.layers.STFTSpectrogram(mode="log", frame_length=64, frame_step=32,
                                     window="hamming", padding="same", name="stft")(waves)
    mel = ns.layers.MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=16,
                                   sampling_rate=8000, top_db=60.0, name="mel")(clips)
    merged = ns.layers.Concatenate()([ns.layers.GlobalAveragePooling1D()(stft),
                                      ns.layers.Flatten()(mel)])
    return ns.Model([waves, clips], ns.layers.Dense(2, name="head")(merged))


@pytest.mark.parametrize("writer", ["lamina", "keras"])
def test_an_audio_model_moves_between_lamina_and_keras(K, tmp_path, writer):
    x = [RNG.normal(size=(4, 400, 1)).astype("float32"),
         RNG.normal(size=(4, 800)).astype("float32")]
    y = RNG.normal(size=(4, 2)).astype("float32")
    path = str(tmp_path / "audio.keras")
    writer_ns, reader = (lamina, K.saving) if writer == "lamina" else (K, lamina.saving)
    original = build(writer_ns)
    original.compile("adam", "mse")
    original.fit(x, y, epochs=1, verbose=0)  # trained kernels, not the initial ones
    original.save(path)
    loaded = reader.load_model(path)
    for name in ("stft", "mel", "head"):
        ours, theirs = loaded.get_layer(name), original.get_layer(name)
        assert normalize(ours.get_config()) == normalize(theirs.get_config())
        assert len(ours.get_weights()) == len(theirs.get_weights())
        for mine, other in zip(ours.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(mine, other)
    assert_close_spectra(loaded.predict(x, verbose=0), original.predict(x, verbose=0))
