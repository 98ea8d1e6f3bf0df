import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_sequential_with_input_is_built_and_functional():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3), layers.Dense(2)])
    assert model.built and model.output_shape == (None, 2)
    assert len(model.layers) == 2  # the InputLayer is not listed, as in Keras
    assert [w.path for w in model.weights][:2] == ["sequential/dense/kernel",
                                                   "sequential/dense/bias"]
    assert model(torch.ones(5, 4)).shape == (5, 2)
    assert model.layers[0].output.shape == (None, 3)


def test_sequential_deferred_build_on_first_call():
    model = lamina.Sequential([layers.Dense(3), layers.Dense(1)])
    assert not model.built
    with pytest.raises(AttributeError, match="has not been built"):
        _ = model.output_shape
    out = model(np.ones((2, 7), "float32"))
    assert out.shape == (2, 1) and model.built
    # As in Keras, the first call's batch size becomes part of the input shape; other
    # batch sizes still run.
    assert model.input_shape == (2, 7)
    assert model(np.ones((5, 7), "float32")).shape == (5, 1)


def test_sequential_input_shape_argument_on_first_layer():
    model = lamina.Sequential([layers.Dense(3, input_shape=(6,))])
    assert model.built and model.input_shape == (None, 6)


def test_add_and_pop():
    model = lamina.Sequential()
    model.add(lamina.Input((3,)))
    model.add(layers.Dense(4))
    model.add(layers.Dense(2))
    assert model.output_shape == (None, 2)
    popped = model.pop()
    assert popped.units == 2 and model.output_shape == (None, 4)
    with pytest.raises(ValueError, match="Only instances of `lamina.Layer`"):
        model.add("dense")
    with pytest.raises(ValueError, match="unique names"):
        model.add(layers.Dense(1, name=model.layers[0].name))


def test_sequential_state_dict_and_torch_interop():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    keys = list(model.state_dict())
    # `layers.<i>` indexes Keras' `model.layers`, which leaves the InputLayer out.
    assert keys == ["layers.0.kernel", "layers.0.bias"]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(torch.ones(2, 4)).sum()
    loss.backward()
    opt.step()


def test_sequential_propagates_training_flag():
    model = lamina.Sequential([lamina.Input((100,)), layers.Dropout(0.5)])
    x = torch.ones(4, 100)
    assert torch.equal(model(x), x)
    assert not torch.equal(model(x, training=True), x)


def test_sequential_starting_with_a_built_model_is_built_from_its_input_shape():
    base = lamina.Sequential([lamina.Input((6, 6, 3)), layers.Conv2D(4, 3),
                              layers.GlobalAveragePooling2D()])
    model = lamina.Sequential([base, layers.Dense(2)])
    assert model.built and model.input_shape == (None, 6, 6, 3)
    assert model.output_shape == (None, 2)
