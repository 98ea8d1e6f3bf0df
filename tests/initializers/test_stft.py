"""`initializers.STFT` equals Keras' kernels (oracle) and rejects bad arguments alike."""

import numpy as np
import pytest

import lamina
from lamina import initializers


@pytest.mark.parametrize("kwargs", [
    {}, {"side": "imag"}, {"window": "hamming", "scaling": "spectrum", "periodic": True},
    {"window": None}, {"window": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "scaling": None},
])
def test_stft_kernels_equal_keras(kwargs):
    import keras

    expected = keras.ops.convert_to_numpy(keras.initializers.STFT(**kwargs)((6, 1, 5)))
    ours = initializers.STFT(**kwargs)((6, 1, 5))
    np.testing.assert_allclose(ours.cpu().numpy(), expected, atol=1e-5)  # Keras: float32
    assert initializers.get({"class_name": "STFT", "config": kwargs}).get_config() == \
        keras.initializers.STFT(**kwargs).get_config()


def test_stft_aliases_and_errors():
    assert initializers.stft is initializers.STFTInitializer is initializers.STFT
    with pytest.raises(ValueError, match="side should be 'real' or 'imag'"):
        initializers.STFT(side="x")
    with pytest.raises(ValueError, match="Scaling is invalid"):
        initializers.STFT(scaling="x")
    with pytest.raises(ValueError, match=r"must hold 4 values"):
        initializers.STFT(window=[1.0, 2.0])((4, 1, 3))
    assert lamina.layers.STFTSpectrogram(frame_length=8).get_config()["window"] == "hann"
