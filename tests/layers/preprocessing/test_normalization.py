import numpy as np
import pytest
import torch

import lamina
from lamina.layers.preprocessing import Normalization
from lamina.testing import run_layer_test

RNG = np.random.default_rng(3)
DATA = RNG.normal(5.0, 3.0, (200, 4)).astype("float32")


def test_normalization_with_given_statistics_is_a_plain_layer():
    x = RNG.normal(size=(3, 4)).astype("float32")
    mean, variance = np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 1.0, 0.25, 9.0])
    out = run_layer_test(Normalization, {"mean": mean, "variance": variance}, input_data=x,
                         expected_output=(x - mean) / np.sqrt(variance),
                         expected_output_dtype="float32", expected_num_trainable_weights=0,
                         expected_num_non_trainable_weights=0, supports_masking=True,
                         atol=1e-6)
    assert out.shape == (3, 4)


def test_adapted_normalization_keeps_mean_variance_and_count_as_keras():
    layer = Normalization()
    layer.adapt(DATA)
    assert [w.path for w in layer.weights] == ["normalization/mean", "normalization/variance",
                                               "normalization/count"]
    assert [w.trainable for w in layer.weights] == [False] * 3
    np.testing.assert_array_equal(layer.adapt_mean.numpy(), DATA.mean(axis=0))
    np.testing.assert_array_equal(layer.adapt_variance.numpy(), DATA.var(axis=0))
    out = layer(DATA).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1.0, atol=1e-5)


@pytest.mark.parametrize("make", [
    lambda: (DATA[i:i + 32] for i in range(0, 200, 32)),
    lambda: [(DATA[i:i + 50], np.zeros(50)) for i in range(0, 200, 50)],
    lambda: torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.from_numpy(DATA), torch.zeros(200)), batch_size=64),
    lambda: torch.utils.data.DataLoader(torch.from_numpy(DATA), batch_size=30),
])
def test_adapt_on_batches_matches_adapt_on_the_whole_array(make):
    whole, batched = Normalization(), Normalization()
    whole.adapt(DATA)
    batched.adapt(make())
    np.testing.assert_allclose(batched.adapt_mean.numpy(), whole.adapt_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(batched.adapt_variance.numpy(), whole.adapt_variance.numpy(),
                               rtol=1e-4)


class Batches(lamina.utils.PyDataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return DATA[i * 50:(i + 1) * 50], np.ones(50)


def test_adapt_reads_a_py_dataset_once_per_batch():
    layer = Normalization(axis=None)
    layer.adapt(Batches())
    np.testing.assert_allclose(layer.adapt_mean.numpy(), DATA.mean(), rtol=1e-5)
    np.testing.assert_allclose(layer.adapt_variance.numpy(), DATA.var(), rtol=1e-4)


def test_invert_undoes_the_normalization():
    forward, backward = Normalization(), Normalization(invert=True)
    forward.adapt(DATA)
    backward.adapt(DATA)
    x = torch.from_numpy(DATA[:8])
    torch.testing.assert_close(backward(forward(x)), x, rtol=1e-5, atol=1e-5)


def test_axis_keeps_a_statistic_per_index_of_each_kept_axis():
    data = RNG.normal(size=(50, 3, 2)).astype("float32")
    layer = Normalization(axis=(1, 2))
    layer.adapt(data)
    assert tuple(layer.adapt_mean.shape) == (3, 2)
    scalar = Normalization(axis=None)
    scalar.adapt(data)
    assert tuple(scalar.adapt_mean.shape) == ()
    np.testing.assert_allclose(scalar(data).numpy(), (data - data.mean()) / data.std(),
                               rtol=1e-4, atol=1e-5)


def test_a_constant_feature_divides_by_epsilon_not_zero():
    layer = Normalization()
    layer.adapt(np.ones((10, 2), "float32"))
    assert torch.isfinite(layer(np.array([[1.0, 2.0]], "float32"))).all()


@pytest.mark.parametrize("kind", ["sequential", "functional"])
def test_adapted_normalization_trains_inside_a_model(kind):
    norm = Normalization()
    norm.adapt(DATA)
    if kind == "sequential":
        model = lamina.Sequential([lamina.Input((4,)), norm, lamina.layers.Dense(1)])
    else:
        inputs = lamina.Input((4,))
        model = lamina.Model(inputs, lamina.layers.Dense(1)(norm(inputs)))
    model.compile(optimizer="sgd", loss="mse")
    y = DATA.sum(axis=1, keepdims=True)
    history = model.fit(DATA, y, epochs=2, batch_size=50, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert norm.adapt_mean.numpy() == pytest.approx(DATA.mean(axis=0))  # not trained
    assert model.predict(DATA[:5], verbose=0).shape == (5, 1)


def test_statistics_survive_state_dict_and_set_weights():
    layer = Normalization()
    layer.adapt(DATA)
    x = DATA[:3]
    for load in (lambda copy: copy.load_state_dict(layer.state_dict()),
                 lambda copy: copy.set_weights(layer.get_weights())):
        copy = Normalization()
        copy.build((None, 4))
        assert not torch.allclose(copy(x), layer(x))
        load(copy)
        torch.testing.assert_close(copy(x), layer(x))


def test_normalization_on_a_data_loader_batch_outside_a_model():
    layer = Normalization()
    layer.adapt(DATA)
    loader = torch.utils.data.DataLoader(DATA, batch_size=64,
                                         collate_fn=lambda rows: layer(np.stack(rows)))
    batches = list(loader)
    assert [tuple(b.shape) for b in batches] == [(64, 4)] * 3 + [(8, 4)]
    torch.testing.assert_close(torch.cat(batches), layer(torch.from_numpy(DATA)))


def test_constants_are_planned_once_per_device():
    layer = Normalization(mean=[1.0, 2.0], variance=[1.0, 4.0])
    layer(np.ones((2, 2), "float32"))
    constants = layer._constants[torch.device("cpu")]
    layer(np.ones((3, 2), "float32"))
    assert layer._constants[torch.device("cpu")] is constants


def test_integer_inputs_compute_in_the_compute_dtype():
    layer = Normalization(mean=1.0, variance=4.0, dtype="float64")
    out = layer(np.array([[1, 3]], "int32"))
    assert out.dtype == torch.float64 and out.tolist() == [[0.0, 1.0]]


def test_normalization_rejects_strings_naming_the_layer():
    layer = Normalization(mean=0.0, variance=1.0, name="norm")
    with pytest.raises(ValueError, match="Normalization layer 'norm' takes numeric data.*<U1"):
        layer(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="Normalization layer 'strings' takes numeric data"):
        Normalization(name="strings").adapt(np.array([["a", "b"]]))


@pytest.mark.parametrize("data,match", [
    (np.zeros((0, 4), "float32"), r"received empty data \(shape \(0, 4\)\)"),
    (iter([]), "received an empty iterable"),
    ([np.zeros((0, 4), "float32")], "received only empty batches"),
])
def test_adapt_on_empty_data_says_so(data, match):
    with pytest.raises(ValueError, match=f"Normalization layer 'norm': adapt.. {match}"):
        Normalization(name="norm").adapt(data)


def test_mean_without_variance_is_refused():
    with pytest.raises(ValueError, match="both `mean` and `variance` must be set"):
        Normalization(mean=1.0)
    with pytest.raises(ValueError, match="must have the same shape"):
        Normalization(mean=[1.0, 2.0], variance=[1.0])


def test_adapt_refuses_given_statistics_and_mismatched_shapes():
    with pytest.raises(ValueError, match="was given `mean` and `variance`"):
        Normalization(mean=1.0, variance=1.0).adapt(DATA)
    layer = Normalization(name="norm")
    layer.adapt(DATA)
    with pytest.raises(ValueError, match=r"built with input_shape=\(200, 4\).*\(10, 3\)"):
        layer.adapt(np.zeros((10, 3), "float32"))
    with pytest.raises(TypeError, match="adapt.. takes a numpy array"):
        Normalization().adapt(3.0)


def test_adapt_reads_a_list_of_numbers_as_one_sample_each():
    layer = Normalization(axis=None)
    layer.adapt([1.0, 2.0, 3.0, 6.0])
    assert float(layer.adapt_mean) == 3.0 and float(layer.adapt_variance) == 3.5


def test_given_statistics_that_do_not_fit_the_input_are_refused():
    layer = Normalization(mean=[1.0, 2.0], variance=[1.0, 1.0], name="norm")
    with pytest.raises(ValueError, match=r"'norm': `mean` and `variance` of shape \(2,\) do "
                                         r"not broadcast.*expected \(3,\)"):
        layer(np.zeros((4, 3), "float32"))


def test_given_float64_statistics_keep_their_precision_in_float64():
    mean = np.array([0.1, 1 / 3])
    layer = Normalization(mean=mean, variance=np.ones(2), dtype="float64")
    out = layer(np.zeros((1, 2)))
    np.testing.assert_array_equal(out.numpy(), -mean[None])
