"""Safe mode covers every config slot: a `module`/`class_name` pair naming anything but
lamina's own or the user's registered/custom classes is refused, wherever it sits.

Each attack points one slot of a valid saved model at a canary class in an importable
module (written to a temporary directory on `sys.path`); the canary records being
imported or instantiated, and the test proves it never was.
"""

import copy
import json
import sys
import zipfile

import pytest

import lamina
from lamina.saving import keras_archive

CANARY_SOURCE = '''
import os
os.environ["LAMINA_CANARY_IMPORTED"] = "1"
INSTANCES = []


class Thing:
    def __init__(self, *args, **kwargs):
        INSTANCES.append((args, kwargs))

    @classmethod
    def from_config(cls, config):
        return cls(**(config or {}))

    def get_config(self):
        return {}

    def __call__(self, *args, **kwargs):
        INSTANCES.append(("call", args))
        return 0.0


def thing_function(*args, **kwargs):
    INSTANCES.append(("function", args))
    return 0.0
'''


@pytest.fixture
def canary(tmp_path, monkeypatch):
    """The importable canary module's name; asserts afterwards it was never imported."""
    name = f"lamina_canary_{tmp_path.name.replace('-', '_')}"
    (tmp_path / "canary").mkdir()
    (tmp_path / "canary" / f"{name}.py").write_text(CANARY_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path / "canary"))
    monkeypatch.delenv("LAMINA_CANARY_IMPORTED", raising=False)
    yield name
    import os

    assert name not in sys.modules, "the canary module was imported"
    assert "LAMINA_CANARY_IMPORTED" not in os.environ


def _thing(module, registered_name=None):
    return {"module": module, "class_name": "Thing", "config": {},
            "registered_name": registered_name}


@pytest.fixture(scope="module")
def saved_config(tmp_path_factory):
    """A compiled functional model with a nested Sequential, saved by lamina."""
    inputs = lamina.Input((4,), name="x")
    inner = lamina.Sequential([lamina.layers.Dense(3, name="inner_dense")], name="inner")
    hidden = inner(lamina.layers.Dense(4, activation="relu", name="d1")(inputs))
    outputs = lamina.layers.Dense(2, name="d2")(hidden)
    model = lamina.Model(inputs, outputs, name="outer")
    model.compile(optimizer=lamina.optimizers.SGD(
        learning_rate=lamina.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
        loss="mse", metrics=["mae"], weighted_metrics=["mse"])
    path = tmp_path_factory.mktemp("slots") / "model.keras"
    model.save(path)
    return keras_archive.read_archive(path)


def _layer(config, name):
    for layer in config["config"]["layers"]:
        if layer["config"]["name"] == name:
            return layer
    raise KeyError(name)


def _set_layer_arg(key, value, layer="d1"):
    return lambda c: _layer(c, layer)["config"].__setitem__(key, value)


def _set_compile(key, value):
    return lambda c: c["compile_config"].__setitem__(key, value)


def _nested_layer(c, thing):
    _layer(c, "inner")["config"]["layers"][0] = dict(thing, config={"name": "inner_dense"})


# slot name -> how to point it at `thing` (a config dict naming the canary)
SLOTS = {
    "model": lambda c, t: c.update(t),
    "layer": lambda c, t: _layer(c, "d2").update(t),
    "nested_model": lambda c, t: _layer(c, "inner").update(t),
    "layer_in_nested_model": _nested_layer,
    "activation_class": lambda c, t: _set_layer_arg("activation", t)(c),
    "activation_function": lambda c, t: _set_layer_arg("activation", dict(
        t, class_name="function", config="thing_function", registered_name="function"))(c),
    "initializer": lambda c, t: _set_layer_arg("kernel_initializer", t)(c),
    "regularizer": lambda c, t: _set_layer_arg("kernel_regularizer", t)(c),
    "constraint": lambda c, t: _set_layer_arg("kernel_constraint", t)(c),
    "dtype_policy": lambda c, t: _set_layer_arg("dtype", t)(c),
    "optimizer": lambda c, t: _set_compile("optimizer", t)(c),
    "schedule": lambda c, t: c["compile_config"]["optimizer"]["config"].__setitem__(
        "learning_rate", t),
    "loss": lambda c, t: _set_compile("loss", t)(c),
    "loss_in_dict": lambda c, t: _set_compile("loss", {"d2": t})(c),
    "loss_function": lambda c, t: _set_compile("loss", dict(
        t, class_name="function", config="thing_function", registered_name="function"))(c),
    "metric": lambda c, t: _set_compile("metrics", [t])(c),
    "metric_nested_list": lambda c, t: _set_compile("metrics", [["mae", t]])(c),
    "weighted_metric": lambda c, t: _set_compile("weighted_metrics", [t])(c),
    "loss_weights": lambda c, t: _set_compile("loss_weights", t)(c),
}

# Ways of naming the canary: its module path, a private-looking `keras.src` path, and a
# registered name nobody registered.
NAMINGS = {
    "module_path": lambda name: _thing(name),
    "module_path_registered_name": lambda name: _thing(name, f"{name}>Thing"),
    "keras_src_module": lambda name: _thing(f"keras.src.{name}"),
}


def _load(tmp_path, saved, config, **kwargs):
    members = dict(saved, **{"config.json": json.dumps(config).encode()})
    path = tmp_path / "evil.keras"
    with zipfile.ZipFile(path, "w") as z:
        for member, data in members.items():
            z.writestr(member, data)
    return lamina.saving.load_model(path, **kwargs)


@pytest.mark.parametrize("naming", NAMINGS)
@pytest.mark.parametrize("slot", SLOTS)
def test_every_slot_refuses_classes_outside_lamina_and_the_registry(
        tmp_path, saved_config, canary, slot, naming):
    config = json.loads(saved_config["config.json"])
    SLOTS[slot](config, NAMINGS[naming](canary))
    with pytest.raises((TypeError, ValueError),
                       match=r"(Could not locate|Could not interpret|Unknown).*thing"
                             r"|(Could not locate|Could not interpret|Unknown).*Thing"):
        _load(tmp_path, saved_config, config)


def test_slots_are_refused_even_with_safe_mode_off(tmp_path, saved_config, canary):
    # Nothing named in a file is ever imported: `safe_mode=False` only allows Lambda
    # bytecode, not arbitrary module paths.
    config = json.loads(saved_config["config.json"])
    SLOTS["metric"](config, _thing(canary))
    with pytest.raises(TypeError, match="Could not locate class 'Thing'"):
        _load(tmp_path, saved_config, config, safe_mode=False)


def test_unmodified_model_loads(tmp_path, saved_config):
    # The control: the slots above are refused for their content, not the archive.
    model = _load(tmp_path, saved_config, json.loads(saved_config["config.json"]))
    assert model.compiled and model.name == "outer"


def test_custom_objects_resolve_a_canary_only_when_the_user_passes_it(
        tmp_path, saved_config, canary):
    class Mine:
        """The user's own class, passed by name: resolves (no import involved)."""

        made = []

        def __init__(self, **kwargs):
            Mine.made.append(kwargs)

        @classmethod
        def from_config(cls, config):
            return cls(**config)

        def __call__(self, shape, dtype=None):
            import torch

            return torch.zeros(shape)

        def get_config(self):
            return {}

    config = json.loads(saved_config["config.json"])
    SLOTS["initializer"](config, _thing(canary))
    _load(tmp_path, saved_config, config, custom_objects={"Thing": Mine})
    assert Mine.made == [{}]


@pytest.mark.parametrize("where", ["top", "compile_config", "layer_config"])
def test_safe_mode_cannot_be_switched_off_from_inside_the_file(
        tmp_path, saved_config, where):
    import base64
    import marshal

    config = json.loads(saved_config["config.json"])
    fn = eval("lambda x: x")  # noqa: S307
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "config": {"name": "d2", "function": {"class_name": "__lambda__", "config": {
               "code": base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii"),
               "defaults": None, "closure": None}}}}
    _layer(config, "d2").update(copy.deepcopy(lam))
    target = {"top": config, "compile_config": config["compile_config"],
              "layer_config": _layer(config, "d2")["config"]}[where]
    target["safe_mode"] = False
    with pytest.raises(ValueError, match="Lambda.*is a Python lambda.*disallowed by default"):
        _load(tmp_path, saved_config, config)
    from lamina.serialization import serialization

    assert serialization.in_safe_mode()
