"""RandomCrop inside a functional model: symbolic shape inference, fit and predict."""

import numpy as np
import torch

import lamina


def test_random_crop_in_a_functional_model_fits_and_predicts():
    inputs = lamina.Input((32, 32, 3))
    crop = lamina.layers.RandomCrop(16, 16, seed=3)
    cropped = crop(inputs)
    assert tuple(cropped.shape) == (None, 16, 16, 3)
    outputs = lamina.layers.Dense(2)(lamina.layers.Flatten()(cropped))
    model = lamina.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = np.random.default_rng(0).uniform(0, 1, (8, 32, 32, 3)).astype("float32")
    history = model.fit(x, np.zeros((8, 2), "float32"), batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x, verbose=0).shape == (8, 2)
    # Inference takes the central window, so predict is deterministic.
    np.testing.assert_array_equal(model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_symbolic_calls_draw_no_crop_offset():
    layer = lamina.layers.RandomCrop(5, 4, seed=1)
    before = layer.generator.state.numpy().copy()
    out = layer(lamina.Input((9, 11, 2), batch_size=3))
    assert tuple(out.shape) == (3, 5, 4, 2)
    np.testing.assert_array_equal(layer.generator.state.numpy(), before)
    # The eager training call still draws a window inside the image.
    image = torch.arange(9 * 11, dtype=torch.float32).reshape(1, 9, 11, 1)
    window = layer(image, training=True)
    assert window.shape == (1, 5, 4, 1)
    top, left = divmod(int(window[0, 0, 0, 0]), 11)
    assert torch.equal(window[0, ..., 0], image[0, top:top + 5, left:left + 4, 0])
