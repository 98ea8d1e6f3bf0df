"""Acceptance test: the keras.io guide "Save, serialize, and export models", lamina and Keras 3."""

import pytest
from guide_serialization_and_saving import run
from guide_support import fresh

import lamina


@pytest.fixture(scope="module")
def _registry():
    """The guide clears the global custom objects: give each library's back afterwards."""
    saved = []
    yield saved.append
    for objects, snapshot in saved:
        objects.clear()
        objects.update(snapshot)


def _run(keras, workdir, keep_registry):
    objects = keras.saving.get_custom_objects()
    keep_registry((objects, dict(objects)))
    fresh(keras)
    return run(keras, str(workdir))


@pytest.fixture(scope="module")
def facts(tmp_path_factory, _registry):
    return _run(lamina, tmp_path_factory.mktemp("lamina"), _registry)


@pytest.fixture(scope="module")
def keras_facts(tmp_path_factory, _registry):
    keras = pytest.importorskip("keras")
    return _run(keras, tmp_path_factory.mktemp("keras"), _registry)


def test_saved_model_reloads_with_its_optimizer_state(facts):
    # (The guide itself asserts equal predictions after each reload.)
    assert facts["reloaded_optimizer_iterations"] == (4, 4)  # 128 samples, batches of 32
    assert facts["reloaded_optimizer_variables_equal"]


def test_registered_objects_carry_package_and_name(facts):
    assert facts["registered_names"] == ["MyLayers>CustomLayer", "my_package>custom_fn"]


def test_clone_model_rebuilds_with_fresh_weights_and_compiles_alike(facts):
    clone = facts["clone"]
    assert clone["layer_classes"] == ["InputLayer", "CustomLayer", "Dense"]
    assert not clone["same_weights"] and clone["compiled"]


def test_configs_rebuild_layers_and_models(facts):
    assert facts["dense_from_config"] == facts["dense_config"]
    assert facts["dense_config"]["units"] == 3 and facts["dense_config"]["activation"] == "relu"
    assert facts["sequential_from_config"] == (["Dense"], (None, 1))
    assert facts["functional_from_config"] == (["InputLayer", "Dense"], (None, 1))
    assert facts["json_roundtrip"] == (["Dense"], (None, 1))


def test_serialize_keras_object_gives_module_class_config_registered_name(facts):
    config = facts["regularizer_config"]
    assert config["module"] == "keras.regularizers" and config["class_name"] == "L1"
    assert config["registered_name"] is None
    assert config["config"]["l1"] == pytest.approx(0.005)
    assert facts["regularizer_roundtrip"][0] == "L1"


def test_weights_move_between_layers_models_and_files(facts):
    for key in ("layer_weights_copied", "subclassed_matches_functional",
                "dropout_model_matches", "weights_file_roundtrip", "pretrained_loaded"):
        assert facts[key], key
    assert facts["nested_variable_names"] == (["kernel", "bias"] * 2, ["kernel", "bias"] * 2)
    assert facts["extracted"] == {"layers": ["dense_1", "dense_2", "dense_3"],
                                  "output_shape": (None, 5), "params": 54_725}


def test_custom_layer_configs_nest_and_register(facts):
    config = facts["mydense_config"]
    assert config["registered_name"] == "MyLayers>KernelMult"
    assert config["class_name"] == "MyDense"
    assert config["config"]["kernel_regularizer"]["class_name"] == "L1L2"
    nested = facts["mydense_nested_config"]["config"]["nested_model"]
    assert nested["registered_name"] == "MyLayers>KernelMult"
    assert nested["config"]["kernel_regularizer"] == "l1"
    # `from_config` is the default `cls(**config)`: the nested layer stays a config dict.
    assert facts["mydense_deserialized"][:2] == ("MyDense", 64)
    assert facts["mydense_deserialized"][2] == nested
    assert facts["complex_model"] == {"output_shape": (None, 16),
                                      "weight_shapes": [(8, 16), (32, 8), (8,)]}


def test_guide_shows_the_same_as_keras(facts, keras_facts):
    assert facts.keys() == keras_facts.keys()
    for key in facts:
        assert facts[key] == keras_facts[key], key
