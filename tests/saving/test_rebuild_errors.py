"""A class that fails to rebuild from its config (junk arguments, wrong types, a bad node)
gives one clear error naming the class, its slot in the parent config and the suspect
argument, with Keras' error type (found by the fuzz harness in strict mode)."""

import json

import pytest

import lamina
from lamina.serialization.serialization import deserialize_keras_object


def sequential_config():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="adam", loss="mse")
    return json.loads(json.dumps(lamina.saving.serialize_keras_object(model)))


def functional_config():
    x = lamina.Input((3,), name="x")
    model = lamina.Model(x, lamina.layers.Dense(2, name="d")(x), name="m")
    return json.loads(json.dumps(lamina.saving.serialize_keras_object(model)))


def test_unknown_optimizer_argument_names_optimizer_slot_and_argument():
    config = sequential_config()
    config["compile_config"]["optimizer"]["config"]["junk"] = 3
    with pytest.raises(ValueError, match=r"Could not rebuild Adam 'adam' \(the "
                                         r"`compile_config.optimizer` of Sequential "
                                         r"'sequential'\) from its config: .*\{'junk': 3\}"):
        deserialize_keras_object(config)


def test_wrongly_typed_optimizer_argument_is_named_as_the_suspect():
    config = sequential_config()
    config["compile_config"]["optimizer"]["config"]["beta_1"] = {}
    with pytest.raises(TypeError, match=r"Could not rebuild Adam 'adam' .* Suspect argument: "
                                        r"`beta_1`=\{\} \(expected a number, like the default "
                                        r"0.9\)"):
        deserialize_keras_object(config)


def test_unknown_initializer_argument_names_the_layer_and_the_argument():
    config = sequential_config()
    config["config"]["layers"][1]["config"]["kernel_initializer"]["config"]["junk"] = 1
    with pytest.raises(TypeError, match=r"Could not rebuild Dense 'dense' \(the `layers\[1\]` "
                                        r"of Sequential 'sequential'\).*GlorotUniform.*'junk'"):
        deserialize_keras_object(config)


def test_an_object_config_that_is_no_dict_is_a_typeerror_naming_the_slot():
    config = sequential_config()
    config["config"]["layers"][1]["config"]["kernel_initializer"]["config"] = [["a", 1]]
    with pytest.raises(TypeError, match=r"GlorotUniform.*`config` must be a dict"):
        deserialize_keras_object(config)


def test_node_arguments_the_layer_cannot_take_name_the_model():
    config = functional_config()
    node = config["config"]["layers"][1]["inbound_nodes"][0]
    node["args"] = node["args"] * 2
    with pytest.raises(TypeError, match=r"Could not rebuild Functional 'm' from its config: "
                                        r".*call\(\) takes 2 positional arguments but 3"):
        deserialize_keras_object(config)


def test_clear_layer_errors_keep_their_text_and_type():
    config = sequential_config()
    config["config"]["layers"][1]["config"]["units"] = "x"
    with pytest.raises(ValueError, match=r"Dense 'dense' \(the `layers\[1\]` of Sequential "
                                         r"'sequential'\) from its config: Received an invalid "
                                         r"value for `units`"):
        deserialize_keras_object(config)
