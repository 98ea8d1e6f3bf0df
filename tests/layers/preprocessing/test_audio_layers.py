import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import MelSpectrogram, STFTSpectrogram
from lamina.layers.preprocessing.stft_spectrogram import window_values
from lamina.testing import run_layer_test

RNG = np.random.default_rng(5)


def signal(*shape):
    return RNG.normal(size=shape).astype("float32")


def as_numpy(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def numpy_stft(x, frame_length, frame_step, fft_length, window):
    # An independent reference: frame, window, FFT (valid padding, one channel).
    frames = np.lib.stride_tricks.sliding_window_view(x, frame_length)[::frame_step]
    return np.fft.rfft(frames * window, n=fft_length)


def test_stft_spectrogram_magnitude_equals_a_numpy_stft():
    x = signal(2, 200, 1)
    out = run_layer_test(STFTSpectrogram,
                         {"mode": "magnitude", "frame_length": 32, "frame_step": 16,
                          "fft_length": 64, "scaling": None, "periodic": True},
                         input_data=x, expected_output_shape=(2, 11, 33),
                         expected_output_dtype="float32", expected_num_trainable_weights=2,
                         expected_num_non_trainable_weights=0, atol=1e-4, rtol=1e-4)
    window = np.hanning(33)[:-1]  # periodic Hann
    want = np.abs(numpy_stft(x[0, :, 0].astype("float64"), 32, 16, 64, window))
    np.testing.assert_allclose(as_numpy(out[0]), np.maximum(want, 1e-7 ** 0.5), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("mode, weights", [("real", ["real_kernel"]), ("imag", ["imag_kernel"]),
                                           ("log", ["real_kernel", "imag_kernel"])])
def test_stft_spectrogram_keeps_only_the_kernels_its_mode_needs(mode, weights):
    layer = STFTSpectrogram(mode=mode, frame_length=16, window=None)
    layer.build((None, 64, 1))
    assert [w.name for w in layer.weights] == weights
    assert all(tuple(w.shape) == (16, 1, 9) for w in layer.weights)


@pytest.mark.parametrize("data_format, expand_dims, shape", [
    ("channels_last", False, (2, 7, 3 * 18)), ("channels_last", True, (2, 7, 18, 3)),
    ("channels_first", False, (2, 3 * 18, 7)), ("channels_first", True, (2, 3, 7, 18))])
def test_stft_spectrogram_layouts_put_each_channels_spectrum_in_place(data_format,
                                                                      expand_dims, shape):
    x = signal(2, 64, 3)
    if data_format == "channels_first":
        x = x.transpose(0, 2, 1).copy()
    layer = STFTSpectrogram(mode="stft", frame_length=16, frame_step=8, data_format=data_format,
                            expand_dims=expand_dims)
    out = layer(x)
    assert tuple(out.shape) == shape == layer.compute_output_shape(x.shape)
    # the second channel alone gives the second channel's block
    alone = STFTSpectrogram(mode="stft", frame_length=16, frame_step=8, data_format=data_format,
                            expand_dims=True)
    channel = x[:, :, 1:2] if data_format == "channels_last" else x[:, 1:2]
    single = as_numpy(alone(channel))
    full = as_numpy(out)
    if not expand_dims:
        full = full.reshape(2, 7, 3, 18).transpose(0, 1, 3, 2) if data_format == "channels_last" \
            else full.reshape(2, 3, 18, 7).transpose(0, 1, 3, 2)
    block = full[..., 1:2] if data_format == "channels_last" else full[:, 1:2]
    np.testing.assert_allclose(block, single, rtol=1e-5, atol=1e-5)


def test_stft_spectrogram_same_padding_keeps_ceil_time_over_step_frames():
    layer = STFTSpectrogram(frame_length=16, frame_step=5, padding="same")
    assert tuple(layer(signal(1, 52, 1)).shape) == (1, 11, 9)
    assert layer.compute_output_shape((None, None, 1)) == (None, None, 9)


def test_stft_spectrogram_psd_doubles_all_but_the_edge_bins():
    x = signal(1, 64, 1)
    power = as_numpy(STFTSpectrogram(mode="magnitude", frame_length=16, window=None)(x)) ** 2
    psd = as_numpy(STFTSpectrogram(mode="psd", frame_length=16, window=None)(x))
    np.testing.assert_allclose(psd[..., 1:-1], 2 * power[..., 1:-1], rtol=1e-5)
    np.testing.assert_allclose(psd[..., [0, -1]], power[..., [0, -1]],
                               rtol=1e-5, atol=1e-6)


def test_stft_spectrogram_kernels_train_and_fit_in_a_sequential_model():
    x, y = signal(16, 128, 1), RNG.integers(0, 2, 16).astype("float32")
    model = lamina.Sequential([lamina.Input((128, 1)),
                               STFTSpectrogram(frame_length=32, frame_step=16),
                               lamina.layers.GlobalAveragePooling1D(),
                               lamina.layers.Dense(1, activation="sigmoid")])
    model.compile("adam", "binary_crossentropy")
    before = model.layers[0].get_weights()[0].copy()
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert not np.allclose(model.layers[0].get_weights()[0], before)


def test_stft_spectrogram_reads_kernels_swapped_in_by_load_state_dict():
    layer = STFTSpectrogram(mode="real", frame_length=16, window=None)
    x = signal(1, 64, 1)
    assert as_numpy(layer(x)).any()
    layer.load_state_dict({k: v * 0 for k, v in layer.state_dict().items()}, assign=True)
    assert not as_numpy(layer(x)).any()


def test_stft_spectrogram_frozen_kernels_stay_put():
    layer = STFTSpectrogram(frame_length=16, trainable=False)
    layer.build((None, 64, 1))
    assert len(layer.trainable_weights) == 0 and len(layer.non_trainable_weights) == 2


@pytest.mark.parametrize("kwargs, match", [
    ({"mode": "power"}, "STFTSpectrogram layer .*`mode`.*power"),
    ({"frame_length": 64, "fft_length": 32}, "STFTSpectrogram layer .*`fft_length`.*32"),
    ({"frame_step": 0}, "STFTSpectrogram layer .*`frame_step`"),
    ({"padding": "causal"}, "STFTSpectrogram layer .*`padding`.*causal"),
    ({"scaling": "energy"}, "STFTSpectrogram layer .*`scaling`.*energy"),
    ({"window": "hanning-ish"}, "STFTSpectrogram layer .*`window`.*hanning-ish"),
    ({"frame_length": 8, "window": [1.0, 2.0]}, "STFTSpectrogram layer .*`window`.*8 values"),
])
def test_stft_spectrogram_rejects_bad_arguments_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        STFTSpectrogram(**kwargs).build((None, 256, 1))


def test_stft_spectrogram_rejects_wrong_rank_and_integer_signals():
    layer = STFTSpectrogram(frame_length=16)
    with pytest.raises(ValueError, match="stft_spectrogram.*ndim=3"):
        layer(signal(2, 64))
    with pytest.raises(TypeError, match="STFTSpectrogram layer .*float.*int32"):
        layer(np.zeros((1, 64, 1), "int32"))


def test_stft_spectrogram_warns_on_a_fft_length_that_is_not_a_power_of_two():
    with pytest.warns(UserWarning, match="power of two"):
        STFTSpectrogram(frame_length=16, fft_length=24)


def htk_mel(hz):
    return 1127.0 * np.log(1.0 + hz / 700.0)


def test_mel_weight_matrix_is_triangles_peaking_at_one_on_the_mel_scale():
    layer = MelSpectrogram()
    matrix = layer.linear_to_mel_weight_matrix(num_mel_bins=10, num_spectrogram_bins=257,
                                               sampling_rate=16000, lower_edge_hertz=0.0,
                                               upper_edge_hertz=8000.0).numpy()
    assert matrix.shape == (257, 10)
    assert (matrix[0] == 0).all() and matrix.min() >= 0 and matrix.max() <= 1
    # between two neighbouring centres the rising and falling slopes add up to one
    edges = np.linspace(htk_mel(0.0), htk_mel(8000.0), 12)
    bins = htk_mel(np.linspace(0, 8000, 257))
    inside = (bins > edges[2]) & (bins < edges[3])
    np.testing.assert_allclose(matrix[inside, 1] + matrix[inside, 2], 1.0, rtol=1e-5)


def test_mel_spectrogram_power_equals_numpy_stft_times_the_matrix():
    x = signal(2, 1000)
    layer = MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=16,
                           sampling_rate=8000, power_to_db=False)
    out = run_layer_test(MelSpectrogram, layer.get_config(), input_data=x,
                         expected_output_shape=(2, 16, 16), expected_output_dtype="float32",
                         expected_num_trainable_weights=0, expected_num_non_trainable_weights=0,
                         run_training_check=False, atol=1e-3, rtol=1e-4)
    padded = np.pad(x[1].astype("float64"), 64, mode="reflect")
    power = np.abs(numpy_stft(padded, 128, 64, 128, np.hanning(129)[:-1])) ** 2
    matrix = layer.linear_to_mel_weight_matrix(16, 65, 8000, 20.0, 4000.0).numpy()
    np.testing.assert_allclose(as_numpy(out[1]), (power @ matrix).T, rtol=1e-4, atol=1e-3)


def test_mel_spectrogram_decibels_clip_top_db_below_the_batch_peak():
    x = np.stack([signal(800), 1e-3 * signal(800)])
    out = MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=8, top_db=30.0,
                         ref_power=4.0)(x).numpy()
    power = MelSpectrogram(fft_length=128, sequence_stride=64, num_mel_bins=8,
                           power_to_db=False)(x).numpy()
    db = 10 * np.log10(np.maximum(power, 1e-10)) - 10 * np.log10(4.0)
    np.testing.assert_allclose(out, np.maximum(db, db.max() - 30.0), rtol=1e-4, atol=1e-3)
    assert out[1].max() < out[0].max()  # the quiet signal is clipped against the loud one


def test_mel_spectrogram_unbatched_signal_equals_its_batched_row():
    x = signal(3, 600)
    layer = MelSpectrogram(fft_length=128, sequence_stride=50, num_mel_bins=12, power_to_db=False)
    assert tuple(layer(x[2]).shape) == (12, 13) == layer.compute_output_shape((600,))
    np.testing.assert_allclose(layer(x[2]).numpy(), layer(x)[2].numpy(), rtol=1e-5, atol=1e-5)


def test_mel_spectrogram_output_shape_counts_the_frames_it_outputs():
    # Keras' formula, (time + stride + 1) // stride, says 4 here; the layer outputs 3.
    layer = MelSpectrogram(fft_length=8, sequence_stride=4, num_mel_bins=2)
    assert layer.compute_output_shape((None, 11)) == (None, 2, 3) == \
        (None, *layer(signal(1, 11)).shape[1:])


def test_stft_spectrogram_named_windows_equal_their_formulas():
    layer = STFTSpectrogram()
    np.testing.assert_allclose(window_values("hann", 16, False, layer), np.hanning(16),
                               atol=1e-12)
    np.testing.assert_allclose(window_values("hamming", 16, True, layer), np.hamming(17)[:-1],
                               atol=1e-12)
    np.testing.assert_allclose(window_values("blackman", 16, False, layer), np.blackman(16),
                               atol=1e-12)


def test_mel_spectrogram_in_a_functional_model_fits_and_reloads(tmp_path):
    x, y = signal(16, 512), RNG.integers(0, 3, 16)
    inputs = lamina.Input((512,))
    mel = MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8, name="mel")(inputs)
    outputs = lamina.layers.Dense(3, activation="softmax")(lamina.layers.Flatten()(mel))
    model = lamina.Model(inputs, outputs)
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=8, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    path = str(tmp_path / "mel.keras")
    model.save(path)
    loaded = lamina.saving.load_model(path)
    assert loaded.get_layer("mel").get_config() == model.get_layer("mel").get_config()
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_mel_spectrogram_on_a_torch_batch_outside_a_model():
    out = MelSpectrogram(fft_length=64, sequence_stride=32, num_mel_bins=8)(torch.ones(4, 256))
    assert out.shape == (4, 8, 9) and out.dtype == torch.float32


@pytest.mark.parametrize("kwargs, match", [
    ({"fft_length": 256, "sequence_length": 512}, "MelSpectrogram layer .*`fft_length`.*256"),
    ({"window": "kaiser"}, "MelSpectrogram layer .*`window`.*kaiser"),
])
def test_mel_spectrogram_rejects_bad_arguments_naming_them(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MelSpectrogram(**kwargs)


def test_mel_spectrogram_rejects_a_rank_three_input():
    with pytest.raises(ValueError, match="MelSpectrogram layer .*\\(batch, time\\).*"
                                         "\\(2, 3, 512\\)"):
        MelSpectrogram(fft_length=64)(signal(2, 3, 512))
