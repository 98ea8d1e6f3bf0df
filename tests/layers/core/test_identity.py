import torch

from lamina.layers.core import Identity
from lamina.testing import run_layer_test


def test_identity_passes_layer_test():
    run_layer_test(Identity, {}, input_shape=(2, 3, 4), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


def test_identity_returns_same_objects_for_structures():
    a, b = torch.ones(2), torch.zeros(3)
    out = Identity()([a, b])
    assert out[0] is a and out[1] is b


def test_identity_keeps_mask():
    x = torch.ones(2, 3)
    mask = torch.tensor([True, False])
    x._keras_mask = mask
    assert Identity()(x)._keras_mask is mask
