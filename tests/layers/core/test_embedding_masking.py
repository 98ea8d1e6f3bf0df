"""Embedding and Masking: behaviour, masks, config round trip, bad input."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.core.embedding import Embedding
from lamina.layers.core.masking import Masking
from lamina.testing import run_layer_test


def test_embedding_passes_layer_test():
    run_layer_test(Embedding, {"input_dim": 5, "output_dim": 3},
                   input_data=torch.tensor([[1, 2, 4], [0, 3, 3]]),
                   expected_output_shape=(2, 3, 3), expected_num_trainable_weights=1,
                   supports_masking=False)


def test_embedding_looks_up_rows_for_any_int_dtype_and_truncates_floats():
    layer = Embedding(6, 2, weights=np.arange(12, dtype="float32").reshape(6, 2))
    table = np.arange(12, dtype="float32").reshape(6, 2)
    for ids in (torch.tensor([[5, 1]], dtype=torch.uint8), torch.tensor([[5, 1]]),
                torch.tensor([[5.9, 1.2]])):
        np.testing.assert_array_equal(layer(ids).detach().numpy(), table[[[5, 1]]])


def test_embedding_mask_zero_marks_padding_and_flows_through_a_model():
    inputs = lamina.Input((4,), dtype="int32")
    x = Embedding(10, 3, mask_zero=True)(inputs)
    assert tuple(x._keras_mask.shape) == (None, 4)
    model = lamina.Model(inputs, x)
    out = model(torch.tensor([[3, 0, 2, 0]]))
    assert out._keras_mask.tolist() == [[True, False, True, False]]


def test_embedding_lora_freezes_table_and_starts_at_zero_update():
    layer = Embedding(4, 3, lora_rank=2)
    ids = torch.tensor([[1, 3]])
    layer(ids)
    base = torch.nn.functional.embedding(ids, layer.embeddings)
    np.testing.assert_allclose(layer(ids).detach().numpy(), base.detach().numpy())
    assert [w.name for w in layer.trainable_weights] == ["lora_embeddings_a",
                                                        "lora_embeddings_b"]
    assert layer.get_config()["lora_rank"] == 2


def test_embedding_config_round_trip():
    layer = Embedding(7, 2, mask_zero=True, embeddings_regularizer="l2")
    clone = Embedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone.mask_zero and clone.supports_masking


@pytest.mark.parametrize("kwargs, match", [
    ({"input_dim": 0, "output_dim": 2}, "input_dim"),
    ({"input_dim": 3, "output_dim": 2.5}, "output_dim"),
])
def test_embedding_rejects_bad_sizes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Embedding(**kwargs)


def test_embedding_rejects_out_of_range_index():
    with pytest.raises(IndexError):
        Embedding(3, 2)(torch.tensor([[3]]))


def test_masking_zeroes_padded_steps_and_sets_mask():
    x = torch.tensor([[[1.0, 2.0], [0.0, 0.0], [0.0, 3.0]]])
    out = run_layer_test(Masking, {}, input_data=x, expected_output_shape=(1, 3, 2),
                         expected_num_trainable_weights=0, supports_masking=True,
                         run_training_check=False)
    np.testing.assert_array_equal(out.numpy(), x.numpy())
    out = Masking(mask_value=1.0)(torch.tensor([[[1.0, 1.0], [1.0, 0.0]]]))
    assert out._keras_mask.tolist() == [[False, True]]
    np.testing.assert_array_equal(out.numpy(), [[[0.0, 0.0], [1.0, 0.0]]])


def test_masking_config_round_trip():
    layer = Masking(mask_value=-1.0)
    assert Masking.from_config(layer.get_config()).get_config() == layer.get_config()


def test_masking_rejects_unknown_argument():
    with pytest.raises(TypeError, match="mask_valu"):
        Masking(mask_valu=1.0)
