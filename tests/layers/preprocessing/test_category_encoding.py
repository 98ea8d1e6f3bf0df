import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import CategoryEncoding
from lamina.testing import run_layer_test


@pytest.mark.parametrize("output_mode,want", [
    ("one_hot", [[[1, 0, 0, 0], [0, 0, 0, 1]], [[0, 0, 1, 0], [0, 0, 1, 0]]]),
    ("multi_hot", [[1, 0, 0, 1], [0, 0, 1, 0]]),
    ("count", [[1, 0, 0, 1], [0, 0, 2, 0]]),
])
def test_category_encoding_modes(output_mode, want):
    x = np.array([[0, 3], [2, 2]], "int32")
    run_layer_test(CategoryEncoding, {"num_tokens": 4, "output_mode": output_mode},
                   input_data=x, expected_output=np.array(want, "float32"),
                   expected_output_dtype="float32", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)


def test_count_weights_weigh_each_index():
    layer = CategoryEncoding(3, output_mode="count")
    out = layer(np.array([[0, 2, 2]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    assert out.tolist() == [[0.5, 0.0, 3.0]]
    with pytest.raises(ValueError, match="`count_weights` is not used"):
        CategoryEncoding(3, output_mode="one_hot")(np.array([[0]]), count_weights=[[1.0]])


def test_negative_indices_encode_as_zeros_and_large_ones_raise():
    layer = CategoryEncoding(3, output_mode="multi_hot", name="codes")
    assert layer(torch.tensor([[-1, 1]])).tolist() == [[0.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match=r"'codes': every input must be an index in \[0, 3\)"):
        layer(torch.tensor([[0, 3]]))


def test_category_encoding_feeds_a_model():
    inputs = lamina.Input((2,), dtype="int32")
    outputs = lamina.layers.Dense(1)(CategoryEncoding(5)(inputs))
    model = lamina.Model(inputs, outputs)
    x = np.random.default_rng(5).integers(0, 5, (32, 2)).astype("int32")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, x.sum(axis=1, keepdims=True).astype("float32"), epochs=1, verbose=0)
    assert model.predict(x[:3], verbose=0).shape == (3, 1)


def test_category_encoding_arguments_are_checked():
    with pytest.raises(ValueError, match="num_tokens must be set"):
        CategoryEncoding()
    with pytest.raises(ValueError, match="`num_tokens` must be >= 1"):
        CategoryEncoding(0)
    with pytest.raises(ValueError, match="Unknown arg for output_mode: tf_idf"):
        CategoryEncoding(3, output_mode="tf_idf")
    with pytest.raises(ValueError, match="'codes': `sparse=True` is not supported"):
        CategoryEncoding(3, sparse=True, name="codes")
    assert CategoryEncoding(3, output_mode="binary").output_mode == "multi_hot"
