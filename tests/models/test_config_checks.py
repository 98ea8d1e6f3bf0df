"""A malformed functional config is refused before its graph is walked, with a ValueError
naming the place in the config (cases found by the fuzz harness in strict mode)."""

import copy
import json

import pytest

import lamina
from lamina.models.config_checks import check_functional_config


def build():
    a, b = lamina.Input((3,), name="a"), lamina.Input((2,), name="b")
    x = lamina.layers.Concatenate(name="cat")([a, b])
    model = lamina.Model([a, b], lamina.layers.Dense(1, name="d")(x), name="m")
    return json.loads(json.dumps(lamina.saving.serialize_keras_object(model)))


@pytest.fixture(scope="module")
def config():
    return build()["config"]


def history_of(config, layer=2):
    return config["layers"][layer]["inbound_nodes"][0]["args"][0][0]["config"]["keras_history"]


def test_a_valid_config_and_keras2_nodes_pass(config):
    check_functional_config(config)
    legacy = copy.deepcopy(config)
    legacy["layers"][2]["inbound_nodes"] = [[["a", 0, 0, {}], ["b", 0, 0, {}]]]
    check_functional_config(legacy)


def _edit_history(value):
    def edit(config):
        history_of(config)[:] = value
    return edit


@pytest.mark.parametrize("edit, match", [
    (_edit_history(["a", 0]), r"layers\[2\] \('cat'\)\.inbound_nodes\[0\]\[0\]\[0\]\[0\]\.config"
                              r"\.keras_history: expected a tensor reference"),
    (_edit_history(["a", 0, 0, 0]), "expected a tensor reference"),
    (_edit_history(["a", -1, 0]), r"indices >= 0\), got \['a', -1, 0\]"),
    (_edit_history(["a", True, 0]), "expected a tensor reference"),
    (_edit_history(["ghost", 0, 0]), "refers to layer 'ghost', which the config does not define"),
    (lambda c: c["layers"][2].__setitem__("inbound_nodes", {"args": []}),
     r"inbound_nodes: expected a list of nodes"),
    (lambda c: c["layers"][2]["inbound_nodes"][0].__setitem__("args", {}),
     r"inbound_nodes\[0\]\.args: expected a list"),
    (lambda c: c["layers"][2]["inbound_nodes"][0].__setitem__("kwargs", []),
     r"inbound_nodes\[0\]\.kwargs: expected a dict"),
    (lambda c: c["layers"][2].__setitem__("inbound_nodes", [[["a", 0, 0, "x"]]]),
     r"expected \[layer name, node index, tensor index, kwargs dict\]"),
    (lambda c: c["layers"][2].__setitem__("inbound_nodes", [7]), r"expected a node"),
    (lambda c: c.__setitem__("input_layers", [["a", 0, 0], 0]),
     r"input_layers\[1\]: expected a tensor reference .* or a list/dict of them, got 0"),
    (lambda c: c.__setitem__("output_layers", ["d", 0]), r"output_layers: expected a tensor"),
    (lambda c: c.pop("input_layers"), "input_layers: missing"),
    (lambda c: c.__setitem__("layers", None), "layers: expected a list of layer configs"),
    (lambda c: c["layers"].append(copy.deepcopy(c["layers"][0])), "a second layer named 'a'"),
    (lambda c: c["layers"][0].update(name=None, config=[]), "needs a string `name`"),
])
def test_malformed_functional_configs_name_the_place(config, edit, match):
    bad = copy.deepcopy(config)
    edit(bad)
    with pytest.raises(ValueError, match=r"^Invalid functional model config 'm': "):
        check_functional_config(bad)
    with pytest.raises(ValueError, match=match):
        check_functional_config(bad)


def test_deserializing_refuses_a_malformed_config_before_building():
    full = build()
    full["config"]["output_layers"] = [["d", 0]]
    with pytest.raises(ValueError, match=r"Could not rebuild Functional 'm' from its config: "
                                         r"Invalid functional model config 'm': "
                                         r"output_layers\[0\]"):
        lamina.saving.deserialize_keras_object(full)
