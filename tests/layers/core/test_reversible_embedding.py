"""ReversibleEmbedding against Keras' (oracle): both directions, tied and untied, files."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.testing.layer_test import run_layer_test


@pytest.mark.parametrize("tie_weights", [True, False])
def test_reversible_embedding_layer_contract(tie_weights):
    run_layer_test(layers.ReversibleEmbedding,
                   {"input_dim": 20, "output_dim": 4, "tie_weights": tie_weights},
                   input_data=np.array([[1, 2, 3], [4, 5, 6]]), expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=1 if tie_weights else 2,
                   run_training_check=False)


@pytest.mark.parametrize("kwargs", [{}, {"tie_weights": False}, {"logit_soft_cap": 2.0}])
def test_reversible_embedding_matches_keras_both_ways(kwargs):
    import keras

    theirs = keras.layers.ReversibleEmbedding(7, 3, **kwargs)
    theirs.build()
    ours = layers.ReversibleEmbedding(7, 3, **kwargs)
    ours.build()
    ours.set_weights([w.numpy() for w in theirs.weights])
    tokens = np.array([[0, 6, 3]])
    vectors = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(ours(torch.tensor(tokens)).detach().numpy(),
                               keras.ops.convert_to_numpy(theirs(tokens)), rtol=1e-6)
    np.testing.assert_allclose(ours(torch.tensor(vectors), reverse=True).detach().numpy(),
                               keras.ops.convert_to_numpy(theirs(vectors, reverse=True)),
                               rtol=1e-5)
    assert ours.get_config() == theirs.get_config() | {"name": ours.name}


def test_reverse_output_has_no_mask_and_reverse_dtype_applies():
    layer = layers.ReversibleEmbedding(5, 2, mask_zero=True, reverse_dtype="float64")
    assert layer(torch.tensor([[1, 0]]))._keras_mask.tolist() == [[True, False]]
    logits = layer(torch.zeros(1, 2), reverse=True)
    assert getattr(logits, "_keras_mask", None) is None
    assert logits.dtype == torch.float64


def test_untied_weights_round_trip_through_keras_file(tmp_path):
    import keras

    model = lamina.Sequential([lamina.Input((3,), dtype="int32"),
                               layers.ReversibleEmbedding(10, 4, tie_weights=False)])
    path = tmp_path / "m.keras"
    model.save(path)
    theirs = keras.saving.load_model(path)
    x = np.array([[1, 2, 9]])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(theirs(x)),
                               model(torch.tensor(x)).detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(theirs.layers[0].reverse_embeddings.numpy(),
                               model.layers[0].reverse_embeddings.detach().numpy())
