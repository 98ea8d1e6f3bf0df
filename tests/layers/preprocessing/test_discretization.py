import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import Discretization
from lamina.testing import run_layer_test

RNG = np.random.default_rng(4)


def test_discretization_buckets_like_numpy_digitize():
    x = np.array([[-1.5, 0.0, 0.5, 1.0, 2.5]], "float32")
    run_layer_test(Discretization, {"bin_boundaries": [0.0, 1.0, 2.0]}, input_data=x,
                   expected_output=np.digitize(x, [0.0, 1.0, 2.0]).astype("int32"),
                   expected_output_dtype="int32", expected_num_trainable_weights=0,
                   expected_num_non_trainable_weights=0, run_training_check=False)


@pytest.mark.parametrize("output_mode,want", [
    ("one_hot", [[[1, 0, 0, 0], [0, 0, 1, 0]], [[0, 0, 0, 1], [0, 1, 0, 0]]]),
    ("multi_hot", [[1, 0, 1, 0], [0, 1, 0, 1]]),
    ("count", [[1, 0, 1, 0], [0, 1, 0, 1]]),
])
def test_discretization_encodes_its_buckets(output_mode, want):
    layer = Discretization(bin_boundaries=[0.0, 1.0, 2.0], output_mode=output_mode)
    out = layer(np.array([[-1.0, 1.5], [3.0, 0.5]], "float32"))
    assert out.dtype == torch.float32 and out.tolist() == want


def test_adapt_learns_quantile_boundaries():
    data = RNG.uniform(0, 100, (10000, 1)).astype("float32")
    layer = Discretization(num_bins=4, epsilon=0.001)
    layer.adapt(data)
    np.testing.assert_allclose(layer.bin_boundaries, [25.0, 50.0, 75.0], atol=1.5)
    counts = np.bincount(layer(data).numpy().ravel(), minlength=4)
    assert counts.min() > 2300 and counts.max() < 2700


def test_adapt_on_batches_and_torch_tensors():
    data = RNG.normal(size=(600,)).astype("float32")
    from_numpy, from_tensor, from_loader = (Discretization(num_bins=3) for _ in range(3))
    from_numpy.adapt(data)
    from_tensor.adapt(torch.from_numpy(data))
    assert from_tensor.bin_boundaries == from_numpy.bin_boundaries
    from_loader.adapt(torch.utils.data.DataLoader(torch.from_numpy(data), batch_size=100),
                      steps=3)
    assert len(from_loader.bin_boundaries) == 2
    np.testing.assert_allclose(from_loader.bin_boundaries, np.quantile(data[:300], [1 / 3, 2 / 3]),
                               atol=0.2)


def test_adapted_boundaries_live_in_the_config():
    layer = Discretization(num_bins=3, output_mode="one_hot")
    layer.adapt(np.arange(30, dtype="float32"))
    config = layer.get_config()
    assert config["num_bins"] == 3 and config["bin_boundaries"] == layer.bin_boundaries
    clone = Discretization.from_config(config)
    assert clone.bin_boundaries == layer.bin_boundaries and clone.num_bins == 3
    x = np.array([0.0, 12.0, 29.0], "float32")
    torch.testing.assert_close(clone(x), layer(x))


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_discretization_inside_a_model(kind):
    bins = Discretization(bin_boundaries=[-0.5, 0.0, 0.5], output_mode="one_hot")
    if kind == "sequential":
        model = lamina.Sequential([lamina.Input((1,)), bins, lamina.layers.Dense(1)])
    else:
        inputs = lamina.Input((1,))
        model = lamina.Model(inputs, lamina.layers.Dense(1)(bins(inputs)))
    assert model.output_shape == (None, 1)
    x = RNG.normal(size=(64, 1)).astype("float32")
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.sign(x), epochs=1, batch_size=16, verbose=0)
    assert model.predict(x[:4], verbose=0).shape == (4, 1)


def test_discretization_errors_name_the_problem():
    with pytest.raises(ValueError, match="either `num_bins` or `bin_boundaries`"):
        Discretization()
    with pytest.raises(ValueError, match="Both `num_bins` and `bin_boundaries`"):
        Discretization(num_bins=2, bin_boundaries=[0.0])
    with pytest.raises(ValueError, match="`output_mode`.*Received: output_mode=tf_idf"):
        Discretization(num_bins=2, output_mode="tf_idf")
    with pytest.raises(ValueError, match="`sparse=True` cannot be used with backend torch"):
        Discretization(num_bins=2, output_mode="count", sparse=True)
    with pytest.raises(ValueError, match="call `adapt.dataset.` before"):
        Discretization(num_bins=2)(np.zeros((2, 1), "float32"))
    with pytest.raises(ValueError, match="initialized with `bin_boundaries`"):
        Discretization(bin_boundaries=[0.0]).adapt(np.zeros(3))
    with pytest.raises(ValueError, match="Discretization layer 'bins': adapt.. received empty"):
        Discretization(num_bins=2, name="bins").adapt(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="Discretization layer 'words' takes numeric data"):
        Discretization(num_bins=2, name="words").adapt(np.array(["a", "b"]))
