"""The image classifier example's `.keras` file loads in Keras 3 (torch backend) with the
same predictions, and its augmentation layers pass images through in inference in both."""

import numpy as np
import pytest

import lamina
from lamina.examples import image_classifier

keras = pytest.importorskip("keras")
pytest.importorskip("PIL")

AUGMENTATION = ["RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast"]


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("image_classifier") / "digits.keras"
    image_classifier.main(["--epochs", "1", "--output", str(path), "--verbose", "0",
                           "--data-dir", str(path.parent / "data")])
    return path


@pytest.fixture
def pixels():
    return np.random.default_rng(0).uniform(0, 255, (16, *image_classifier.IMAGE_SIZE, 1)
                                            ).astype("float32")


def test_keras_loads_the_example_with_equal_predictions(K, saved_model, pixels):
    ours = lamina.saving.load_model(saved_model)
    theirs = K.saving.load_model(saved_model)
    assert [type(layer).__name__ for layer in theirs.get_layer("augmentation").layers] == (
        AUGMENTATION)
    expected = ours.predict(pixels, verbose=0)
    np.testing.assert_allclose(theirs.predict(pixels, verbose=0), expected, atol=1e-5)
    np.testing.assert_allclose(K.ops.convert_to_numpy(theirs(pixels, training=False)),
                               expected, atol=1e-5)


def test_a_keras_resave_loads_back_in_lamina_with_equal_predictions(K, saved_model, pixels,
                                                                    tmp_path):
    resaved = tmp_path / "resaved.keras"
    theirs = K.saving.load_model(saved_model)
    theirs.save(resaved)
    np.testing.assert_allclose(lamina.saving.load_model(resaved).predict(pixels, verbose=0),
                               theirs.predict(pixels, verbose=0), atol=1e-5)


def test_augmentation_is_identity_in_inference_and_active_in_training_in_both(
        K, saved_model, pixels):
    to_numpy = K.ops.convert_to_numpy
    for model in (lamina.saving.load_model(saved_model), K.saving.load_model(saved_model)):
        augmentation = model.get_layer("augmentation")
        np.testing.assert_array_equal(to_numpy(augmentation(pixels, training=False)), pixels)
        # Alone, a random layer augments by default (Keras' `training=True`); inside
        # predict the model runs in inference, which turns each one off.
        for layer in augmentation.layers:
            np.testing.assert_array_equal(to_numpy(layer(pixels, training=False)), pixels,
                                          err_msg=layer.name)
            assert np.abs(to_numpy(layer(pixels, training=True)) - pixels).max() > 1.0, (
                f"{type(model).__module__}: {layer.name} did nothing in training")
        # predict equals the model with the augmentation left out.
        rest = pixels
        for layer in model.layers[1:]:
            rest = layer(rest, training=False)
        np.testing.assert_allclose(model.predict(pixels, verbose=0), to_numpy(rest), atol=1e-5)
