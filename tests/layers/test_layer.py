import numpy as np
import pytest
import torch

import lamina
from lamina.layers.input_spec import InputSpec
from lamina.layers.layer import Layer


class Linear(Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.input_spec = InputSpec(min_ndim=2, axes={-1: input_shape[-1]})
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")

    def call(self, x):
        return x @ self.kernel + self.bias


class TrainingEcho(Layer):
    def call(self, x, training=None):
        return x + (1.0 if training else 0.0)


def test_layer_builds_lazily_from_first_input():
    layer = Linear(3)
    assert not layer.built
    out = layer(torch.ones(2, 4))
    assert layer.built and out.shape == (2, 3)
    assert [w.path for w in layer.weights] == ["linear/kernel", "linear/bias"]
    assert layer.get_build_config() == {"input_shape": (2, 4)}


def test_layer_is_a_module_with_honest_state():
    layer = Linear(3)
    layer(torch.ones(1, 4))
    assert isinstance(layer, torch.nn.Module)
    assert list(layer.state_dict()) == ["kernel", "bias"]
    assert [n for n, _ in layer.named_parameters()] == ["kernel", "bias"]


def test_automatic_names_are_unique_and_snake_case():
    assert [Linear(1).name for _ in range(3)] == ["linear", "linear_1", "linear_2"]
    assert TrainingEcho().name == "training_echo"


def test_unknown_constructor_kwargs_are_rejected():
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to Linear"):
        Linear(3, colour="red")


def test_invalid_name_is_rejected():
    with pytest.raises(ValueError, match="without '/'"):
        Linear(3, name="a/b")


def test_wrong_feature_size_names_layer_expected_and_received():
    layer = Linear(3, name="proj")
    layer(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"layer 'proj'.*expected axis -1.*value 4.*\(2, 5\)"):
        layer(torch.ones(2, 5))


def test_wrong_rank_is_reported_with_layer_name():
    layer = Linear(3, name="proj")
    layer(torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"'proj'.*min_ndim=2.*found ndim=1"):
        layer(torch.ones(4))


def test_tracking_lists_dicts_and_nested_layers():
    class Block(Layer):
        def __init__(self):
            super().__init__()
            self.stack = [Linear(4), Linear(4)]
            self.heads = {"a": Linear(1), "b": Linear(2)}
            self.later = []

        def call(self, x):
            for layer in self.stack:
                x = layer(x)
            outs = [self.heads["a"](x), self.heads["b"](x)]
            for layer in self.later:
                x = layer(x)
            return outs

    block = Block()
    block.later.append(Linear(4))
    block(torch.ones(2, 3))
    assert len(block.weights) == 10
    keys = list(block.state_dict())
    assert "stack.0.kernel" in keys and "heads.b.bias" in keys and "later.0.kernel" in keys
    assert len(list(block.parameters())) == 10
    assert isinstance(block.stack, list)


def test_trainable_false_freezes_recursively_and_back():
    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.inner = Linear(2)

        def call(self, x):
            return self.inner(x)

    outer = Outer()
    outer(torch.ones(1, 3))
    outer.trainable = False
    assert outer.trainable_weights == [] and len(outer.non_trainable_weights) == 2
    assert not outer.inner.kernel.requires_grad and not outer.inner.trainable
    outer.trainable = True
    assert len(outer.trainable_weights) == 2 and outer.inner.kernel.requires_grad


def test_non_trainable_weights_are_buffers():
    class Stat(Layer):
        def build(self, shape):
            self.gamma = self.add_weight(shape=(shape[-1],), initializer="ones", name="gamma")
            self.mean = self.add_weight(shape=(shape[-1],), initializer="zeros",
                                        trainable=False, name="mean")

        def call(self, x):
            return x * self.gamma - self.mean

    layer = Stat()
    layer(torch.ones(2, 3))
    assert [n for n, _ in layer.named_parameters()] == ["gamma"]
    assert [n for n, _ in layer.named_buffers()] == ["mean"]
    assert [w.name for w in layer.weights] == ["gamma", "mean"]
    moved = layer.to(torch.float64)
    assert moved.mean is layer.mean and layer.mean.dtype == torch.float64
    assert isinstance(layer.mean, lamina.Variable)


def test_get_and_set_weights_round_trip_and_errors():
    layer = Linear(2)
    with pytest.raises(ValueError, match="has not been built yet"):
        layer.get_weights()
    with pytest.raises(ValueError, match="isn't built"):
        layer.count_params()
    layer(torch.ones(1, 3))
    values = [np.full((3, 2), 2.0, "float32"), np.ones(2, "float32")]
    layer.set_weights(values)
    np.testing.assert_array_equal(layer.get_weights()[0], values[0])
    assert layer.count_params() == 8
    with pytest.raises(ValueError, match="weight list of length 1.*expecting 2"):
        layer.set_weights(values[:1])
    with pytest.raises(ValueError, match=r"shape \(3, 2\).*\(2, 2\)"):
        layer.set_weights([np.ones((2, 2)), np.ones(2)])


def test_training_flag_resolution():
    layer = TrainingEcho()
    x = torch.zeros(1)
    assert layer(x).item() == 0.0  # inference by default
    assert layer(x, training=True).item() == 1.0

    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.inner = TrainingEcho()

        def call(self, x):
            return self.inner(x)

    outer = Outer()
    assert outer(x, training=True).item() == 1.0  # propagated through the call context
    assert outer(x).item() == 0.0
    outer.train()  # torch's module mode is the fallback
    assert outer(x).item() == 1.0
    assert outer(x, training=False).item() == 0.0


def test_masks_propagate_through_supporting_layers():
    class MakeMask(Layer):
        def call(self, x):
            return x

        def compute_mask(self, inputs, previous_mask):
            return inputs != 0

    class Consumer(Layer):
        def call(self, x, mask=None):
            return x * mask

    class PassThrough(Layer):
        def __init__(self):
            super().__init__()
            self.supports_masking = True

        def call(self, x):
            return x + 1

    x = torch.tensor([[1.0, 0.0, 2.0]])
    y = PassThrough()(MakeMask()(x))
    assert y._keras_mask.tolist() == [[True, False, True]]
    assert Consumer()(y).tolist() == [[2.0, 0.0, 3.0]]


def test_add_loss_and_weight_regularizers():
    class Penalised(Layer):
        def build(self, shape):
            self.w = self.add_weight(shape=(2,), initializer="ones", regularizer="l2")

        def call(self, x):
            self.add_loss(x.sum())
            return x

    layer = Penalised()
    layer(torch.ones(3))
    layer(torch.ones(2))
    losses = layer.losses
    assert len(losses) == 2
    assert losses[0].item() == 2.0  # only the last call's add_loss
    np.testing.assert_allclose(losses[1].item(), 0.01 * 2.0)


def test_activity_regularizer_adds_a_loss():
    layer = TrainingEcho(activity_regularizer="l1")
    layer(torch.full((4, 2), -1.0))
    np.testing.assert_allclose(layer.losses[0].item(), 0.01 * 8 / 4, rtol=1e-6)


def test_default_get_config_uses_constructor_arguments():
    layer = Linear(7, name="p")
    config = layer.get_config()
    assert config["units"] == 7 and config["name"] == "p"
    clone = Linear.from_config(config)
    assert clone.units == 7 and clone.name == "p"


def test_symbolic_call_infers_shapes_without_compute():
    x = lamina.Input(shape=(5,))
    y = Linear(3)(x)
    assert y.shape == (None, 3) and y.dtype == "float32"
    layer = Linear(2)
    assert layer.compute_output_shape((None, 4)) == (None, 2)


def test_numpy_inputs_are_converted_to_floatx():
    layer = Linear(2)
    out = layer(np.ones((2, 3)))  # float64 numpy input
    assert out.dtype == torch.float32


def test_torch_module_wrapper_trains_the_wrapped_parameters():
    wrapper = lamina.layers.TorchModuleWrapper(torch.nn.Linear(3, 2))
    assert len(wrapper.trainable_weights) == 2
    assert all(isinstance(w, lamina.Variable) for w in wrapper.weights)
    out = wrapper(torch.ones(4, 3))
    out.sum().backward()
    assert wrapper.module.weight.grad is not None
    with pytest.raises(ValueError, match="wraps a `torch.nn.Module`"):
        lamina.layers.TorchModuleWrapper("nope")


def test_plain_torch_module_attribute_is_tracked():
    class Hybrid(Layer):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(3, 3)

        def call(self, x):
            return self.proj(x)

    layer = Hybrid()
    layer(torch.ones(1, 3))
    assert len(layer.trainable_weights) == 2
    assert list(layer.state_dict()) == ["proj.weight", "proj.bias"]


def test_get_weights_returns_copies_that_training_does_not_change():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    snapshot = model.get_weights()
    before = [w.copy() for w in snapshot]
    model.fit(np.ones((4, 3)), np.ones((4, 1)), epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(snapshot, before))
    assert not np.array_equal(snapshot[0], model.get_weights()[0])
    snapshot[0][:] = 5.0  # writing to a snapshot leaves the model alone
    assert not np.array_equal(model.get_weights()[0], snapshot[0])


def test_nested_python_list_input_is_one_array_not_a_structure():
    out = lamina.layers.ActivityRegularization()([[1.0, 2.0], [3.0, 4.0]])
    assert torch.equal(out, torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert lamina.layers.Conv1D(2, 2)([[[1.0, 2.0]] * 3] * 2).shape == (2, 2, 2)
    # a list of arrays is still a list of inputs (merge layers)
    assert torch.equal(lamina.layers.Add()([np.ones((2, 2)), np.ones((2, 2))]),
                       torch.full((2, 2), 2.0))


def test_string_input_names_the_layer():
    with pytest.raises(ValueError, match=r"Layer 'dense' \(Dense\) takes tensors.*str: 'abc'"):
        lamina.layers.Dense(3)("abc")
