"""The Layer base's contracts with its subclasses: building children, first inputs,
adopted torch modules, declared bookkeeping."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.layer import Layer


class _Pair(Layer):
    """A composite layer that builds its two Dense children by hand."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = lamina.layers.Dense(4, name="first")
        self.second = lamina.layers.Dense(2, name="second")

    def build(self, input_shape):
        self._build_child(self.first, input_shape)
        self._build_child(self.second, (*input_shape[:-1], 4))

    def call(self, x):
        return self.second(self.first(x))


def test_build_child_scopes_paths_and_records_build_config():
    pair = _Pair(name="pair")
    pair.build((None, 3))
    assert [w.path for w in pair.weights] == [
        "pair/first/kernel", "pair/first/bias", "pair/second/kernel", "pair/second/bias"]
    assert pair.first.built and pair.second.built
    assert pair.second.get_build_config() == {"input_shape": (None, 4)}
    assert tuple(pair(lamina.ops.ones((5, 3))).shape) == (5, 2)


def test_build_child_outside_build_opens_the_parent_scope_and_skips_built_layers():
    pair = _Pair(name="outer")
    pair._build_child(pair.first, (None, 3))
    assert [w.path for w in pair.first.weights] == ["outer/first/kernel", "outer/first/bias"]
    kernel = pair.first.kernel
    pair._build_child(pair.first, (None, 7))  # already built: left alone
    assert pair.first.kernel is kernel


class _Attend(Layer):
    """A layer whose first input is not called `inputs`."""

    def build(self, query_shape, value_shape):
        self.w = self.add_weight(shape=(value_shape[-1], query_shape[-1]), name="w")

    def call(self, query, value):
        return query + value @ self.w


def test_first_input_is_calls_first_parameter_by_name():
    q, v = torch.ones(2, 3), torch.ones(2, 5)
    layer = _Attend()
    out = layer(query=q, value=v)
    assert tuple(out.shape) == (2, 3) and layer.built
    assert tuple(layer.w.shape) == (5, 3)
    assert layer.get_build_config()["input_shape"] == (2, 3)
    torch.testing.assert_close(layer(q, v), out)
    torch.testing.assert_close(layer(value=v, query=q), out)


def test_first_input_by_name_in_a_functional_model():
    query, value = lamina.Input((3,)), lamina.Input((5,))
    layer = _Attend()
    output = layer(query=query, value=value)
    assert output.shape == (None, 3)
    model = lamina.Model([query, value], output)
    q, v = torch.randn(4, 3), torch.randn(4, 5)
    torch.testing.assert_close(model([q, v]), layer(q, v))


def test_multi_head_attention_called_with_keywords_only():
    mha = lamina.layers.MultiHeadAttention(num_heads=2, key_dim=4)
    x = torch.randn(2, 3, 8)
    out = mha(query=x, value=x)
    assert tuple(out.shape) == (2, 3, 8)
    torch.testing.assert_close(mha(x, x), out)
    symbolic = lamina.Input((3, 8))
    model = lamina.Model(symbolic, lamina.layers.MultiHeadAttention(2, 4)(
        query=symbolic, value=symbolic))
    assert tuple(model(x).shape) == (2, 3, 8)


def test_a_call_without_its_first_input_is_an_error():
    with pytest.raises(ValueError, match="called without inputs"):
        _Attend()(value=torch.ones(2, 5))


class _Tied(torch.nn.Module):
    """An embedding whose output projection reuses its table (weight tying)."""

    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(6, 4)
        self.head = torch.nn.Linear(4, 6, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, ids):
        return self.head(self.embed(ids))


def test_tied_torch_parameters_stay_one_variable_and_train_together():
    layer = lamina.layers.TorchModuleWrapper(_Tied())
    module = layer.module
    assert module.head.weight is module.embed.weight
    assert len(layer.trainable_weights) == 1
    assert isinstance(layer.trainable_weights[0], lamina.Variable)
    model = lamina.Sequential([lamina.Input((2,), dtype="int64"), layer])
    model.compile(optimizer=lamina.optimizers.Adam(0.1),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    before = module.embed.weight.detach().clone()
    model.fit(np.array([[0, 1], [2, 3]]), np.array([[1, 2], [3, 4]]), epochs=2, verbose=0)
    slots = [v for v in model.optimizer.variables if v.path.endswith(("momentum", "velocity"))]
    assert len(slots) == 2  # one momentum and one velocity, not one pair per use
    assert module.head.weight is module.embed.weight
    after = module.embed.weight.detach()
    assert not torch.equal(after, before)
    # Both uses read the one updated table: the projection is the embedding's transpose.
    torch.testing.assert_close(module.head(torch.eye(4)), after.T)


def test_tie_made_across_two_attributes_survives_adoption():
    class Hybrid(Layer):
        def __init__(self):
            super().__init__()
            embed, head = torch.nn.Embedding(6, 4), torch.nn.Linear(4, 6, bias=False)
            head.weight = embed.weight
            self.embed = embed  # adopted first: head still holds the old Parameter
            self.head = head

        def call(self, ids):
            return self.head(self.embed(ids))

    layer = Hybrid()
    assert layer.head.weight is layer.embed.weight
    assert len(layer.trainable_weights) == 1
    out = layer(torch.tensor([[1, 2]]))
    out.sum().backward()
    assert layer.embed.weight.grad is not None


def test_bookkeeping_is_declared_per_class_and_merged():
    class Holder(Layer):
        _bookkeeping = frozenset({"_peers"})

        def __init__(self, peers):
            super().__init__()
            self._peers = list(peers)
            self.children_ = list(peers)

    class Sub(Holder):
        _bookkeeping = frozenset({"_other"})

    assert {"_peers", "_other", "_losses"} <= Sub._bookkeeping
    peers = [lamina.layers.Dense(2), lamina.layers.Dense(3)]
    holder = Sub(peers)
    assert type(holder._peers) is list  # declared: left as a plain list, not tracked
    assert holder._sublayers() == peers  # through the tracked `children_` only
    functional = lamina.models.Functional
    assert {"_plan", "_flat_inputs", "_losses"} <= functional._bookkeeping


def test_auto_config_is_declared_not_inferred_from_the_module():
    from lamina.layers.auto_config import uses_auto_config

    class Scale(Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

    class Custom(Scale):
        def get_config(self):
            return {**super().get_config(), "custom": True}

    assert uses_auto_config(Scale) and not uses_auto_config(Custom)
    assert uses_auto_config(lamina.Model)
    assert Scale(2.0).get_config()["factor"] == 2.0
    assert "factor" not in Custom(2.0).get_config()
    assert Scale.from_config(Scale(3.0, name="s").get_config()).factor == 3.0


def test_automatic_names_of_digit_suffixed_classes_match_keras():
    layers = lamina.layers
    made = [layers.Conv2D(2, 3), layers.Conv1DTranspose(2, 3), layers.DepthwiseConv2D(3),
            layers.SeparableConv1D(2, 3), layers.Conv3DTranspose(2, 3),
            layers.ConvLSTM2D(2, 3), layers.GlobalAveragePooling2D(), layers.MaxPooling2D(),
            layers.AdaptiveAveragePooling2D(2), layers.AdaptiveMaxPooling1D(2),
            layers.Conv2D(2, 3)]
    # Keras 3's names for the same classes, in order.
    assert [layer.name for layer in made] == [
        "conv2d", "conv1d_transpose", "depthwise_conv2d", "separable_conv1d",
        "conv3d_transpose", "conv_lstm2d", "global_average_pooling2d", "max_pooling2d",
        "adaptive_average_pooling2d", "adaptive_max_pooling1d", "conv2d_1"]


def test_same_padding_plan_puts_the_odd_unit_after():
    from lamina.layers.convolutional.base_conv import same_padding_plan

    assert same_padding_plan((1, 1), (3, 3), (1, 1)) == ((1, 1), None)
    # span 4, stride 1: 3 units, 1 before and 2 after; F.pad lists the last axis first.
    assert same_padding_plan((5, 1), (4, 3), (1, 1)) == ((1, 1), (0, 0, 0, 1))
    assert same_padding_plan((6,), (3,), (2,)) == ((0,), (0, 1))


class _BuildsScale:
    """A mixin that is not a Layer but gives one its `build`."""

    def build(self, input_shape):
        self.scale = self.add_weight(shape=(input_shape[-1],), initializer="ones",
                                     name="scale")


class _Scaled(_BuildsScale, Layer):
    def call(self, x):
        return x * self.scale


def test_a_build_from_a_non_layer_mixin_is_scoped_like_any_other():
    layer = _Scaled(name="scaled")
    layer(torch.ones(2, 3))
    assert [w.path for w in layer.weights] == ["scaled/scale"]
    outer = _Pair(name="outer")
    child = _Scaled(name="inner")
    outer._build_child(child, (None, 4))
    assert [w.path for w in child.weights] == ["outer/inner/scale"]
    assert child.built and child.get_build_config() == {"input_shape": (None, 4)}
