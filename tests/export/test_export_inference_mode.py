"""Exported programs run the model in inference mode, as Keras' export does: random
augmentation layers (whose call default is training=True) and Dropout pass inputs through
in the exported file, whatever torch's tracing mode."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def augmenting_model():
    inputs = lamina.Input((6, 6, 3))
    x = layers.RandomFlip("horizontal_and_vertical", seed=1)(inputs)
    x = layers.RandomContrast(0.5, seed=2)(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Flatten()(x)
    return lamina.Model(inputs, layers.Dense(4)(x))


@pytest.mark.parametrize("fmt", ["torch", "onnx"])
def test_random_layers_export_in_inference_mode(tmp_path, fmt):
    model = augmenting_model()
    x = np.random.default_rng(0).random((3, 6, 6, 3)).astype("float32")
    expected = model.predict(x, verbose=0)
    # the same model called directly, in Keras' training default, does augment
    assert not np.allclose(model(x).detach().numpy(), expected)
    path = str(tmp_path / ("m.pt2" if fmt == "torch" else "m.onnx"))
    model.export(path, format=fmt, verbose=False)
    if fmt == "torch":
        actual = torch.export.load(path).module()(torch.from_numpy(x)).detach().numpy()
    else:
        ort = pytest.importorskip("onnxruntime")
        session = ort.InferenceSession(path)
        actual = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(actual, expected, atol=1e-5)
