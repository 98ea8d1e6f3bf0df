"""Small Keras behaviours that real programs rely on (each confirmed against Keras 3; the
oracle comparisons live in `tests/parity/test_keras_behaviours_parity.py`)."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

rng = np.random.default_rng(0)
ONE_HOT_X = np.eye(4, dtype=bool)[rng.integers(0, 4, 32)]
ONE_HOT_Y = np.eye(3, dtype=bool)[rng.integers(0, 3, 32)]


def _reference_output(model, x):
    """The model's output on `x` cast to float32 by hand (what Keras computes)."""
    return model(torch.as_tensor(np.asarray(x, dtype="float32"))).detach().numpy()


# -- inputs are cast to the model's input dtype ---------------------------------------------
@pytest.mark.parametrize("style", ["input", "input_shape", "deferred"])
@pytest.mark.parametrize("dtype", ["bool", "int64", "int32", "uint8"])
def test_sequential_casts_non_float_inputs_to_its_input_dtype(style, dtype):
    first = {"input": [lamina.Input((4,))], "input_shape": [], "deferred": []}[style]
    dense = layers.Dense(3, input_shape=(4,)) if style == "input_shape" else layers.Dense(3)
    model = lamina.Sequential([*first, dense, layers.Dense(2)])
    x = ONE_HOT_X.astype(dtype)
    out = model(x)
    assert out.dtype == torch.float32 and out.shape == (32, 2)
    np.testing.assert_allclose(out.detach().numpy(), _reference_output(model, x), rtol=1e-6)
    torch_out = model(torch.as_tensor(x))
    np.testing.assert_allclose(torch_out.detach().numpy(), out.detach().numpy(), rtol=1e-6)
    assert model.inputs[0].dtype == "float32"


def test_sequential_fits_and_predicts_on_bool_one_hot_data_with_accuracy_metrics():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile("adam", "categorical_crossentropy",
                  metrics=["accuracy", "categorical_accuracy",
                           lamina.metrics.TopKCategoricalAccuracy(k=2)])
    history = model.fit(ONE_HOT_X, ONE_HOT_Y, epochs=1, batch_size=8, verbose=0).history
    assert set(history) == {"loss", "accuracy", "categorical_accuracy",
                            "top_k_categorical_accuracy"}
    assert all(np.isfinite(v[0]) for v in history.values())
    predictions = model.predict(ONE_HOT_X.astype("int64"), verbose=0)
    assert predictions.dtype == np.float32 and predictions.shape == (32, 3)
    logs = model.evaluate(ONE_HOT_X, ONE_HOT_Y.astype("int64"), verbose=0, return_dict=True)
    assert 0.0 <= logs["accuracy"] <= 1.0


def test_sequential_implicit_input_takes_the_first_layers_compute_dtype():
    model = lamina.Sequential([layers.Dense(2, dtype="float64")])
    out = model(np.ones((3, 5), "int32"))
    assert out.dtype == torch.float64 and model.inputs[0].dtype == "float64"


def test_sequential_starting_with_embedding_still_takes_integer_ids():
    model = lamina.Sequential([layers.Embedding(10, 2)])
    ids = np.array([[1, 2, 9]])
    out = model(ids)
    np.testing.assert_allclose(out.detach().numpy()[0],
                               model.layers[0].embeddings.detach().numpy()[[1, 2, 9]])


def test_sequential_float_inputs_keep_the_fast_path_result():
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])
    x = torch.rand(5, 4)
    expected = x @ model.layers[0].kernel.detach() + model.layers[0].bias.detach()
    np.testing.assert_allclose(model(x).detach().numpy(), expected.numpy(), rtol=1e-6)
    # float64 data is cast down to the float32 input, not computed in float64.
    assert model(x.double()).dtype == torch.float32


@pytest.mark.parametrize("make", [
    lambda: layers.Dense(2),
    lambda: layers.LayerNormalization(),
    lambda: layers.BatchNormalization(),
    lambda: layers.GlobalAveragePooling1D(),
], ids=["Dense", "LayerNormalization", "BatchNormalization", "GlobalAveragePooling1D"])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_float_weight_layers_promote_integer_inputs_as_keras_does(make, dtype):
    shape = (2, 3, 4) if "Global" in make().__class__.__name__ else (2, 4)
    x = (np.arange(np.prod(shape)).reshape(shape) % 2).astype(dtype)
    layer = make()
    out = layer(x)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(),
                               layer(x.astype("float32")).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_recurrent_layers_promote_integer_inputs(cls):
    layer = cls(2)
    x = np.ones((2, 3, 4), "int64")
    out = layer(x)
    assert out.dtype == torch.float32
    np.testing.assert_allclose(out.detach().numpy(),
                               layer(x.astype("float32")).detach().numpy(), rtol=1e-6)


def test_subclassed_model_with_dense_runs_on_int_one_hot_data():
    class MLP(lamina.Model):
        def __init__(self):
            super().__init__()
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(3)

        def call(self, x):
            return self.out(self.hidden(x))

    model = MLP()
    model.compile("sgd", lamina.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(ONE_HOT_X.astype("int64"), ONE_HOT_Y, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


def test_layers_without_float_weights_keep_integer_inputs():
    assert layers.Flatten()(np.ones((2, 2, 2), "int64")).dtype == torch.int64
    assert layers.Dropout(0.5)(np.ones((2, 2), bool)).dtype == torch.bool


# -- a missing (or extra) trailing axis of size 1 -------------------------------------------
def _two_input_model():
    a = lamina.Input((1,), name="a")
    b = lamina.Input((1,), name="b")
    out = layers.Dense(1)(layers.Concatenate()([a, b]))
    return lamina.Model([a, b], out)


def test_every_input_of_a_multi_input_model_gets_its_trailing_axis():
    model = _two_input_model()
    xa, xb = rng.random(16).astype("float32"), rng.random(16).astype("float32")
    expected = model([xa[:, None], xb[:, None]]).detach().numpy()
    for inputs in ([xa, xb], (xa, xb), {"a": xa, "b": xb}, [xa, xb[:, None]],
                   [torch.from_numpy(xa), torch.from_numpy(xb)]):
        np.testing.assert_allclose(model(inputs).detach().numpy(), expected, rtol=1e-6)
    assert model.predict([xa, xb], verbose=0).shape == (16, 1)
    model.compile("sgd", "mse")
    assert np.isfinite(model.fit([xa, xb], xa, epochs=1, verbose=0).history["loss"][0])
    assert np.isfinite(model.evaluate({"a": xa, "b": xb}, xa, verbose=0))


@pytest.mark.parametrize("kind", ["functional", "sequential"])
def test_single_input_models_add_or_drop_a_trailing_unit_axis(kind):
    if kind == "functional":
        x = lamina.Input((1,))
        model = lamina.Model(x, layers.Dense(2)(x))
    else:
        model = lamina.Sequential([lamina.Input((1,)), layers.Dense(2)])
    data = rng.random(8).astype("float32")
    expected = model(data[:, None]).detach().numpy()
    np.testing.assert_allclose(model(data).detach().numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(model(torch.from_numpy(data)).detach().numpy(), expected,
                               rtol=1e-6)
    np.testing.assert_allclose(model(data[:, None, None]).detach().numpy(), expected,
                               rtol=1e-6)
    assert model.predict(data, verbose=0).shape == (8, 2)


def test_inputs_of_unfixable_rank_are_refused_with_the_expected_shape():
    x = lamina.Input((1,))
    functional_model = lamina.Model(x, layers.Dense(2)(x))
    with pytest.raises(ValueError, match=r"Input 0 of model .* expected shape \(None, 1\)"):
        functional_model(np.ones((2, 1, 1, 1), "float32"))
    sequential = lamina.Sequential([lamina.Input((3,)), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 3\).*\(2, 3, 2\)"):
        sequential(np.ones((2, 3, 2), "float32"))
    with pytest.raises(ValueError, match="expects inputs of shape"):
        sequential(np.ones((2,), "float32"))  # a trailing axis of 3 is not added


# -- Bidirectional as the first layer of a Sequential ----------------------------------------
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_first_layer_has_one_node_for_feature_extraction(return_sequences):
    model = lamina.Sequential([
        layers.Bidirectional(layers.LSTM(4, return_sequences=return_sequences),
                             input_shape=(5, 3)),
        layers.Dense(2),
    ])
    first = model.layers[0]
    assert len(first._inbound_nodes) == 1
    expected_shape = (None, 5, 8) if return_sequences else (None, 8)
    assert first.output.shape == expected_shape
    extractor = lamina.Model(model.inputs, first.output)
    x = rng.random((2, 5, 3)).astype("float32")
    np.testing.assert_allclose(extractor(x).detach().numpy(),
                               first(torch.from_numpy(x)).detach().numpy(), rtol=1e-6)


# -- where Keras code imports things from ----------------------------------------------------
def test_top_level_base_classes_are_the_family_classes():
    assert lamina.Loss is lamina.losses.Loss
    assert lamina.Metric is lamina.metrics.Metric
    assert lamina.Optimizer is lamina.optimizers.Optimizer
    assert lamina.Initializer is lamina.initializers.Initializer
    assert lamina.Regularizer is lamina.regularizers.Regularizer
    assert lamina.DTypePolicy is lamina.dtype_policies.DTypePolicy
    # As in Keras 3.15: FloatDTypePolicy is its own subclass of DTypePolicy.
    assert lamina.FloatDTypePolicy is lamina.dtype_policies.FloatDTypePolicy
    assert issubclass(lamina.FloatDTypePolicy, lamina.DTypePolicy)
    assert lamina.version() == lamina.__version__
    for name in ("Loss", "Metric", "Optimizer", "device", "name_scope"):
        assert name in dir(lamina)


def test_utils_exports_the_serialization_helpers():
    from lamina import saving, utils

    for name in ("register_keras_serializable", "serialize_keras_object",
                 "deserialize_keras_object", "custom_object_scope", "CustomObjectScope",
                 "get_custom_objects", "get_registered_name", "get_registered_object"):
        assert getattr(utils, name) is getattr(saving, name), name

    @utils.register_keras_serializable(package="Behaviours")
    def triple(x):
        return 3 * x

    try:
        assert utils.get_registered_name(triple) == "Behaviours>triple"
        assert utils.get_registered_object("Behaviours>triple") is triple
        assert utils.deserialize_keras_object(utils.serialize_keras_object(triple)) is triple
    finally:
        utils.get_custom_objects().pop("Behaviours>triple")
        lamina.serialization.registry.GLOBAL_CUSTOM_NAMES.pop(triple)
    with utils.custom_object_scope({"my_triple": triple}):
        assert utils.get_registered_object("my_triple") is triple
    assert utils.get_registered_object("my_triple") is None


def test_layers_serialize_and_deserialize_round_trip():
    layer = layers.Dense(3, activation="relu", name="head")
    config = lamina.layers.serialize(layer)
    assert config["module"] == "keras.layers" and config["class_name"] == "Dense"
    clone = lamina.layers.deserialize(config)
    assert isinstance(clone, layers.Dense) and clone.get_config() == layer.get_config()
    short = lamina.layers.deserialize({"class_name": "Dropout", "config": {"rate": 0.2}})
    assert isinstance(short, layers.Dropout) and short.rate == 0.2


def test_layers_deserialize_refuses_what_is_not_a_layer():
    with pytest.raises(ValueError, match="expects a layer config dict"):
        lamina.layers.deserialize("Dense")
    with pytest.raises(ValueError, match="does not describe a layer"):
        lamina.layers.deserialize(lamina.saving.serialize_keras_object(
            lamina.losses.MeanSquaredError()))
    with pytest.raises(TypeError, match="Could not locate class 'Dens'"):
        lamina.layers.deserialize({"class_name": "Dens", "config": {}})


def test_device_scope_places_new_tensors_and_restores_the_previous_device():
    before = lamina.backend.get_device()
    with lamina.device("cpu") as device:
        assert device == torch.device("cpu")
        assert lamina.ops.ones((2,)).device.type == "cpu"
        assert lamina.Variable(1.0).device.type == "cpu"
    assert lamina.backend.get_device() == before
    with pytest.raises(ValueError, match="expected a string like 'gpu:0'"):
        with lamina.device(0):
            pass


def test_name_scope_prefixes_variable_paths():
    with lamina.name_scope("block"):
        assert lamina.Variable(1.0, name="w").path == "block/w"
        with lamina.name_scope("inner"):
            assert lamina.Variable(1.0, name="w").path == "block/inner/w"
        with lamina.name_scope("other", override_parent="root"):
            assert lamina.Variable(1.0, name="w").path == "root/other/w"
        assert lamina.Variable(1.0, name="w").path == "block/w"
    assert lamina.Variable(1.0, name="w").path == "w"
    owner = object()
    with lamina.name_scope("twice", caller=owner), lamina.name_scope("twice", caller=owner):
        assert lamina.Variable(1.0, name="w").path == "twice/w"
    with pytest.raises(ValueError, match="cannot contain character `/`"):
        lamina.name_scope("a/b")


# -- layer attributes --------------------------------------------------------------------------
def test_a_plain_value_replaces_a_tracked_list_or_layer_attribute():
    class Holder(layers.Layer):
        def __init__(self):
            super().__init__()
            self.items = []  # tracked (it may receive layers later)
            self.head = layers.Dense(2)

        def call(self, x):
            return x

    holder = Holder()
    holder.items = ["a", "b"]
    holder.head = "replaced"
    assert holder.items == ["a", "b"] and holder.head == "replaced"
    assert "items" not in holder._modules and "head" not in holder._modules
    holder.head = layers.Dense(3)
    assert [type(m).__name__ for m in holder._modules.values()] == ["Dense"]
