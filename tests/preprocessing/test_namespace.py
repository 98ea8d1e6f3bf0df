"""`lamina.preprocessing` holds the names of Keras 3's `keras.preprocessing`."""

import numpy as np
import pytest

import lamina


def _public(module):
    return {n for n in dir(module) if not n.startswith("_")}


def test_namespace_matches_keras():
    keras = pytest.importorskip("keras")
    for ours, theirs in ((lamina.preprocessing, keras.preprocessing),
                         (lamina.preprocessing.image, keras.preprocessing.image),
                         (lamina.preprocessing.sequence, keras.preprocessing.sequence)):
        assert _public(theirs) - _public(ours) == set()


def test_names_are_the_utils_functions():
    assert lamina.preprocessing.sequence.pad_sequences is lamina.utils.pad_sequences
    assert lamina.preprocessing.image.load_img is lamina.utils.load_img
    assert (lamina.preprocessing.timeseries_dataset_from_array
            is lamina.utils.timeseries_dataset_from_array)
    padded = lamina.preprocessing.sequence.pad_sequences([[1, 2], [3]], maxlen=3)
    assert padded.tolist() == [[0, 1, 2], [0, 0, 3]]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        lamina.preprocessing.nothing  # noqa: B018


def test_utils_names_keras_has_for_data():
    keras = pytest.importorskip("keras")
    wanted = {"get_file", "split_dataset", "timeseries_dataset_from_array",
              "image_dataset_from_directory", "text_dataset_from_directory", "load_img",
              "img_to_array", "array_to_img", "save_img", "normalize", "get_source_inputs",
              "is_keras_tensor", "pad_sequences", "audio_dataset_from_directory"}
    assert wanted <= _public(keras.utils)
    assert wanted <= set(dir(lamina.utils))
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(lamina.utils.normalize(x), keras.utils.normalize(x))
    np.testing.assert_allclose(lamina.utils.normalize(x, axis=0), keras.utils.normalize(x, 0))


def test_utils_reexports_of_backend_and_logging_helpers():
    keras = pytest.importorskip("keras")
    for name in ("clear_session", "standardize_dtype", "enable_interactive_logging",
                 "disable_interactive_logging", "is_interactive_logging_enabled"):
        assert hasattr(keras.utils, name) and callable(getattr(lamina.utils, name)), name
    assert lamina.utils.standardize_dtype("float32") == keras.utils.standardize_dtype(
        "float32")
    lamina.utils.disable_interactive_logging()
    try:
        assert lamina.utils.is_interactive_logging_enabled() is False
    finally:
        lamina.utils.enable_interactive_logging()
    assert lamina.utils.is_interactive_logging_enabled() is True
