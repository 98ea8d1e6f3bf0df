"""StatelessScope, SymbolicScope, remat and RematScope, as Keras' top-level names."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def test_stateless_scope_reads_mapped_values_and_leaves_variables_unchanged():
    layer = layers.Dense(2, use_bias=False, kernel_initializer="ones")
    layer.build((None, 3))
    twos = np.full((3, 2), 2.0, "float32")
    with lamina.StatelessScope([(layer.kernel, twos)]) as scope:
        out = layer(torch.ones(1, 3))
        layer.kernel.assign(layer.kernel * 3)
    np.testing.assert_allclose(out.detach().numpy(), [[6.0, 6.0]])
    np.testing.assert_allclose(layer.kernel.detach().numpy(), np.ones((3, 2)))
    np.testing.assert_allclose(scope.get_current_value(layer.kernel).numpy(), twos * 3)


def test_stateless_scope_rejects_bad_mapping():
    v = lamina.Variable(np.zeros(3))
    with pytest.raises(ValueError, match="must be Variable instances"):
        lamina.StatelessScope([(torch.zeros(3), np.zeros(3))])
    with pytest.raises(ValueError, match="shape that matches"):
        lamina.StatelessScope([(v, np.zeros(4))])


def test_symbolic_scope_is_seen_only_inside():
    from lamina.backend.scopes import in_symbolic_scope
    assert not in_symbolic_scope()
    with lamina.SymbolicScope():
        assert in_symbolic_scope()
    assert not in_symbolic_scope()


def test_remat_gives_the_same_gradients():
    x = torch.linspace(-1, 1, 5, requires_grad=True)
    torch.tanh(torch.sin(x)).sum().backward()
    expected = x.grad.clone()
    x.grad = None
    lamina.remat(lambda t: torch.tanh(torch.sin(t)))(x).sum().backward()
    torch.testing.assert_close(x.grad, expected)


@pytest.mark.parametrize("mode", ["full", "activations", "larger_than", "list_of_layers"])
def test_remat_scope_layers_train_like_plain_layers(mode):
    torch.manual_seed(0)
    plain = layers.Dense(8, activation="relu")
    with lamina.RematScope(mode=mode, output_size_threshold=4, layer_names=["dense_remat"]):
        rematted = layers.Dense(8, activation="relu", name="dense_remat")
    assert rematted._remat_mode.mode == mode
    x = torch.randn(4, 3)
    plain.build((None, 3))
    rematted.build((None, 3))
    rematted.set_weights(plain.get_weights())
    for layer in (plain, rematted):
        layer(x).square().sum().backward()
    torch.testing.assert_close(rematted.kernel.grad, plain.kernel.grad)
    torch.testing.assert_close(rematted(x), plain(x))


def test_remat_scope_rejects_unknown_mode():
    with pytest.raises(ValueError, match="Invalid mode 'sometimes'"):
        lamina.RematScope(mode="sometimes")
