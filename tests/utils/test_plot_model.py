"""plot_model/model_to_dot: the DOT graph matches the model's structure and Keras' own
DOT for the same model (node ids mapped to layer names), and images are written."""

import inspect
import re
import sys

import keras
import numpy as np
import pydot
import pytest

import lamina
from lamina.utils import model_to_dot, plot_model

SHOW_ALL = {"show_shapes": True, "show_dtype": True, "show_layer_activations": True,
            "show_trainable": True}


def branchy_model(K):
    """A model with a branch, a merge, a nested Sequential and a nested functional model,
    built the same way with lamina or Keras (`K`)."""
    inner_in = K.Input((3,), name="inner_in")
    inner = K.Model(inner_in, K.layers.Dense(3, activation="tanh", name="inner_dense")(inner_in),
                    name="inner")
    stack = K.Sequential([K.Input((4,)), K.layers.Dense(3, name="stack_a"),
                          K.layers.Dense(3, activation="relu", name="stack_b")], name="stack")
    x = K.Input((4,), name="x")
    left = K.layers.Dense(3, activation="relu", name="left")(x)
    right = stack(x)
    merged = K.layers.Add(name="add")([left, right])
    frozen = K.layers.Dense(2, name="frozen")
    frozen.trainable = False
    return K.Model(x, frozen(inner(merged)), name="outer")


def _all_layers(model):
    if isinstance(model, (lamina.Sequential, keras.Sequential)):
        layers = model.layers
    else:  # functional: its operations; subclassed: nothing drawn inside
        layers = getattr(type(model), "operations", None) and model.operations or []
    for layer in layers:
        yield layer
        yield from _all_layers(layer)


def named_dot(model, **kwargs):
    """The DOT text with each node id replaced by its layer's name (ids differ per run)."""
    text = model_to_dot(model, **kwargs).to_string() if isinstance(model, lamina.Model) else \
        keras.utils.model_to_dot(model, **kwargs).to_string()
    names = {str(id(layer)): layer.name for layer in [model, *_all_layers(model)]}
    return re.sub(r"\b\d{6,}\b", lambda m: names[m.group()], text)


def edges(text):
    return sorted(re.findall(r"^(\w+) -> (\w+)", text, flags=re.M))


@pytest.fixture(scope="module")
def models():
    return branchy_model(lamina), branchy_model(keras)


def test_model_to_dot_draws_each_layer_and_tensor_once(models):
    text = named_dot(models[0])
    nodes = re.findall(r"^(\w+) \[label=", text, flags=re.M)
    assert sorted(nodes) == sorted(["x", "left", "stack", "add", "inner", "frozen"])
    assert edges(text) == sorted([("x", "left"), ("x", "stack"), ("left", "add"),
                                  ("stack", "add"), ("add", "inner"), ("inner", "frozen")])
    assert "subgraph" not in text


def test_expand_nested_draws_nested_models_as_clusters_wired_inside(models):
    text = named_dot(models[0], expand_nested=True)
    assert "subgraph cluster_stack {" in text and "subgraph cluster_inner {" in text
    assert re.search(r"cluster_stack \{[^}]*label=stack;[^}]*stack_a \[label", text)
    assert edges(text) == sorted([
        ("x", "left"), ("x", "stack_a"), ("stack_a", "stack_b"), ("left", "add"),
        ("stack_b", "add"), ("add", "inner_in"), ("inner_in", "inner_dense"),
        ("inner_dense", "frozen")])


@pytest.mark.parametrize("kwargs", [{}, SHOW_ALL, {"expand_nested": True, **SHOW_ALL},
                                    {"show_layer_names": False, "rankdir": "LR", "dpi": 96,
                                     "splines": "curved"}])
def test_model_to_dot_equals_keras_dot_for_the_same_model(models, kwargs):
    assert named_dot(models[0], **kwargs) == named_dot(models[1], **kwargs)


def test_labels_show_shapes_dtypes_activations_and_trainability(models):
    text = named_dot(models[0], **SHOW_ALL)
    label = re.search(r"^add \[label=(.*)\];$", text, flags=re.M).group(1)
    assert "Input shape: <b>[(None, 3), (None, 3)]</b>" in label
    assert "Output shape: <b>(None, 3)</b>" in label and "Output dtype: <b>float32</b>" in label
    assert "Trainable" not in label  # no weights
    assert "Activation: <b>relu</b>" in re.search(r"^left \[label=(.*)$", text, re.M).group(1)
    frozen = re.search(r"^frozen \[label=(.*)$", text, flags=re.M).group(1)
    assert "<b>Non-trainable</b>" in frozen and 'bgcolor="firebrick"' in frozen
    inputs = re.search(r"^x \[label=(.*)$", text, flags=re.M).group(1)
    assert "Input shape" not in inputs and "Output shape: <b>(None, 4)</b>" in inputs


def test_sequential_and_subclassed_models_match_keras():
    def sequential(K):
        return K.Sequential([K.Input((5,)), K.layers.Dense(4, name="a"),
                             K.layers.Dropout(0.1, name="b"), K.layers.Dense(1, name="c")])

    text = named_dot(sequential(lamina), **SHOW_ALL)
    assert edges(text) == [("a", "b"), ("b", "c")]
    assert text == named_dot(sequential(keras), **SHOW_ALL)

    class Net(lamina.Model):
        def __init__(self):
            super().__init__(name="net")
            self.dense = lamina.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    net = Net()
    net(np.ones((1, 3), "float32"))
    text = named_dot(net)
    assert re.findall(r"^(\w+) \[label=", text, flags=re.M) == ["net"] and not edges(text)


@pytest.mark.parametrize("extension, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"),
                                              (".pdf", b"%PDF"), ("", b"\x89PNG")])
def test_plot_model_writes_the_format_of_the_extension(models, tmp_path, extension, magic):
    path = tmp_path / f"model{extension}"
    plot_model(models[0], to_file=path, show_shapes=True, expand_nested=True, dpi=50)
    assert path.read_bytes().startswith(magic)


def test_unbuilt_models_and_unknown_arguments_are_refused(models):
    with pytest.raises(ValueError, match="has not been built yet"):
        model_to_dot(lamina.Sequential([lamina.layers.Dense(2)]))
    with pytest.raises(ValueError, match="`layer_range` is no longer supported"):
        plot_model(models[0], layer_range=["x", "add"])
    with pytest.raises(ValueError, match="Unrecognized keyword arguments"):
        model_to_dot(models[0], show_colors=True)


def test_missing_pydot_says_how_to_install_it(models, monkeypatch):
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match=r"pip install lamina\[plot\]"):
        model_to_dot(models[0])
    with pytest.raises(ImportError, match=r"`plot_model` needs pydot"):
        plot_model(models[0])


def test_missing_graphviz_says_how_to_install_it(models, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` program to find
    with pytest.raises(ImportError, match=r"needs Graphviz.*apt-get install graphviz"):
        plot_model(models[0], to_file=tmp_path / "m.png")
    assert not (tmp_path / "m.png").exists()
    assert isinstance(model_to_dot(models[0]), pydot.Dot)  # DOT text needs no Graphviz


@pytest.mark.parametrize("name", ["plot_model", "model_to_dot"])
def test_signatures_equal_keras(name):
    assert inspect.signature(getattr(lamina.utils, name)) == inspect.signature(
        getattr(keras.utils, name))


def shared_and_multi_io_model(K):
    """Dict inputs and outputs, a shared layer, a nested model with two inputs and outputs."""
    a, b = K.Input((3,), name="a"), K.Input((3,), name="b")
    inner = K.Model([a, b], [K.layers.Add(name="iadd")([a, b]), K.layers.Dense(2, name="id")(b)],
                    name="inner")
    p, q = K.Input((3,), name="p"), K.Input((3,), name="q")
    s, t = inner([p, q])
    shared = K.layers.Dense(3, name="shared")
    seq = K.Sequential([K.Input((2,)), K.layers.Dense(3, name="s1")], name="seq")
    out = K.layers.Concatenate(name="cat")([shared(s), shared(p), seq(t)])
    return K.Model({"p": p, "q": q}, {"o": out, "t": t}, name="top")


@pytest.mark.parametrize("kwargs", [{}, {"expand_nested": True, **SHOW_ALL}])
def test_shared_layers_and_multi_io_nested_models_match_keras(kwargs):
    ours = named_dot(shared_and_multi_io_model(lamina), **kwargs)
    assert ours == named_dot(shared_and_multi_io_model(keras), **kwargs)
    if kwargs:
        assert ("q", "id") not in edges(ours) and ("q", "b") in edges(ours)
        assert ("iadd", "shared") in edges(ours) and ("p", "shared") in edges(ours)
