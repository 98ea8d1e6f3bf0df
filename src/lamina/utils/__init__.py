"""`lamina.utils`: progress bar, data helpers, seeding and model utilities.

The public `keras.utils` namespace. Names load on first access, so importing one
low-level helper (`lamina.utils.progbar`) does not import the trainers or models.
"""

import importlib

_LAZY = {
    "Config": "lamina.utils.config",
    "CustomObjectScope": "lamina.serialization.registry",
    "custom_object_scope": "lamina.serialization.registry",
    "get_custom_objects": "lamina.serialization.registry",
    "get_registered_name": "lamina.serialization.registry",
    "get_registered_object": "lamina.serialization.registry",
    "register_keras_serializable": "lamina.serialization.registry",
    "deserialize_keras_object": "lamina.serialization.serialization",
    "serialize_keras_object": "lamina.serialization.serialization",
    "pack_x_y_sample_weight": "lamina.trainers.data.data_utils",
    "unpack_x_y_sample_weight": "lamina.trainers.data.data_utils",
    "PyDataset": "lamina.trainers.data.py_dataset",
    "Sequence": "lamina.trainers.data.py_dataset",
    "Progbar": "lamina.utils.progbar",
    "set_random_seed": "lamina.utils.rng_utils",
    "pad_sequences": "lamina.utils.sequence_utils",
    "to_categorical": "lamina.utils.numerical_utils",
    "normalize": "lamina.utils.numerical_utils",
    "is_keras_tensor": "lamina.backend.symbolic",
    "get_source_inputs": "lamina.utils.operation_utils",
    "get_file": "lamina.utils.download_utils",
    "split_dataset": "lamina.utils.dataset_utils",
    "timeseries_dataset_from_array": "lamina.utils.timeseries_dataset_utils",
    "FeatureSpace": "lamina.utils.feature_space",
    "image_dataset_from_directory": "lamina.utils.image_dataset_utils",
    "text_dataset_from_directory": "lamina.utils.text_dataset_utils",
    "audio_dataset_from_directory": "lamina.utils.audio_dataset_utils",
    "array_to_img": "lamina.utils.image_utils",
    "img_to_array": "lamina.utils.image_utils",
    "load_img": "lamina.utils.image_utils",
    "save_img": "lamina.utils.image_utils",
    "clear_session": "lamina.backend",
    "standardize_dtype": "lamina.backend.dtypes",
    "enable_interactive_logging": "lamina.utils.io_utils",
    "disable_interactive_logging": "lamina.utils.io_utils",
    "is_interactive_logging_enabled": "lamina.utils.io_utils",
    "model_to_dot": "lamina.utils.model_visualization",
    "plot_model": "lamina.utils.model_visualization",
}


# Submodules Keras exposes as namespaces (`keras.utils.bounding_boxes`).
_SUBMODULES = ("bounding_boxes", "legacy")


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f"lamina.utils.{name}")
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lamina.utils' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES})
