"""`lamina.models.save_model` is Keras' `keras.models.save_model`: a .keras file Keras reads."""

import numpy as np

import lamina


def test_models_save_model_writes_a_keras_file_keras_loads(tmp_path):
    import keras

    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    path = tmp_path / "m.keras"
    lamina.models.save_model(model, path)
    x = np.ones((1, 3), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.models.load_model(path)(x)),
                               model(x).detach().numpy(), rtol=1e-6)
