"""Saved op nodes name Keras' own op classes: the module, class and constructor arguments
each lamina op declares are Keras', and functional configs holding ops load both ways."""

import importlib
import inspect
import json

import numpy as np
import pytest
import torch

import lamina
from lamina import ops

keras = pytest.importorskip("keras")

NAMESPACES = (ops, ops.core, ops.nn, ops.numpy, ops.math, ops.linalg, ops.image)
# lamina records these as graph nodes; Keras has no op class for them (it computes them
# eagerly or through another op), so their saved graphs load in lamina only.
LAMINA_ONLY = {"Bartlett", "Blackman", "Hamming", "Hanning", "Kaiser", "Rearrange",
               "ExtractPatches3D"}


def _declared_ops():
    found = {}
    for namespace in NAMESPACES:
        for name in dir(namespace):
            fn = getattr(namespace, name)
            if callable(fn) and getattr(fn, "keras_class_name", None):
                found[id(fn)] = fn
    return list(found.values())


def _keras_init_args(cls):
    return {p for p in inspect.signature(cls.__init__).parameters
            if p not in ("self", "name", "args", "kwargs")}


def test_every_op_names_a_keras_class_with_its_constructor_arguments():
    wrong = []
    for fn in _declared_ops():
        cls = getattr(importlib.import_module(fn.keras_module), fn.keras_class_name, None)
        if cls is None:
            if fn.keras_class_name not in LAMINA_ONLY:
                wrong.append(f"{fn.__name__}: no {fn.keras_module}.{fn.keras_class_name}")
        elif set(fn.keras_init_args) != _keras_init_args(cls):
            wrong.append(f"{fn.__name__}: init_args {fn.keras_init_args}, Keras "
                         f"{sorted(_keras_init_args(cls))}")
    assert wrong == []
    assert len(_declared_ops()) > 300


KERNEL = np.random.default_rng(0).random((3, 3, 4), dtype=np.float32)


def graph(ns):
    """One or more ops from every namespace: core, nn, numpy, math, linalg, image."""
    o = ns.ops
    x = ns.Input((8, 3), name="x")
    img = ns.Input((6, 6, 3), name="img")
    h = o.conv(x, KERNEL, strides=2, padding="same", data_format="channels_last")
    h = o.softmax(h, axis=1)  # nn
    h = o.reshape(o.sum(h, axis=2, keepdims=True), (-1, 4))  # numpy
    h = o.add(o.logsumexp(h, axis=-1, keepdims=True), o.erf(h))  # math
    n = o.norm(h, axis=-1, keepdims=True)  # linalg
    h = o.cast(o.divide(h, n), "float32")  # core
    g = o.image.rgb_to_grayscale(img, data_format="channels_last")  # image
    g = o.image.resize(g, (3, 3), interpolation="bilinear", data_format="channels_last")
    return ns.Model([x, img], [h, o.mean(g, axis=(1, 2, 3))], name="ops")


def _inputs():
    rng = np.random.default_rng(1)
    return [rng.random((2, 8, 3), dtype=np.float32), rng.random((2, 6, 6, 3), dtype=np.float32)]


def _op_entries(config):
    return {entry["name"]: entry for entry in json.loads(json.dumps(config))["layers"]
            if entry["module"].startswith("keras.src.ops.")}


def test_saved_op_nodes_match_keras_module_class_and_config(K):
    ours = _op_entries(graph(lamina).get_config())
    theirs = _op_entries(graph(K).get_config())
    assert sorted(ours) == sorted(theirs)
    for name, entry in theirs.items():
        mine = ours[name]
        assert (mine["module"], mine["class_name"]) == (entry["module"], entry["class_name"])
        assert mine["config"] == entry["config"], name
        node, keras_node = mine["inbound_nodes"][0], entry["inbound_nodes"][0]
        assert len(node["args"]) == len(keras_node["args"]), name
        assert sorted(node["kwargs"]) == sorted(keras_node["kwargs"]), name
    assert ours["conv"]["module"] == "keras.src.ops.nn"


def _predict(model, inputs):
    outputs = model(inputs) if isinstance(model, lamina.Model) else model(
        [torch.from_numpy(a) for a in inputs])
    return [np.asarray(o.detach().cpu()) for o in outputs]


def _assert_same(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_op_graph_configs_load_both_ways(K):
    inputs = _inputs()
    ours, theirs = graph(lamina), graph(K)
    expected = _predict(ours, [torch.from_numpy(a) for a in inputs])
    _assert_same(_predict(theirs, inputs), expected)
    in_keras = K.Model.from_config(json.loads(json.dumps(ours.get_config())))
    _assert_same(_predict(in_keras, inputs), expected)
    in_lamina = lamina.Model.from_config(json.loads(json.dumps(theirs.get_config())))
    got = _predict(in_lamina, [torch.from_numpy(a) for a in inputs])
    _assert_same(got, expected)
