"""Whole-model legacy `.h5` files (`model.save("m.h5")` from tf.keras 2): config from the
`model_config` attribute, weights from `model_weights`, compile arguments from
`training_config`; the format is picked from the file's content. The files here are built
with h5py in tf.keras 2.15's layout; `tests/parity/test_legacy_whole_model_parity.py`
compares the same files (and Keras 3-written ones) with Keras 3's own loader."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import lamina

rng = np.random.default_rng(7)


def glorot():
    return {"class_name": "GlorotUniform", "config": {"seed": None}}


def zeros():
    return {"class_name": "Zeros", "config": {}}


def dense_config(name, units, activation="linear", **extra):
    return {"name": name, "trainable": True, "dtype": "float32", "units": units,
            "activation": activation, "use_bias": True, "kernel_initializer": glorot(),
            "bias_initializer": zeros(), "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
            **extra}


def input_layer(name, shape, dtype="float32"):
    return {"class_name": "InputLayer", "name": name, "inbound_nodes": [],
            "config": {"batch_input_shape": [None, *shape], "dtype": dtype, "sparse": False,
                       "ragged": False, "name": name}}


def node(*sources, **kwargs):
    """Keras 2's `inbound_nodes`: one call of the layer on `sources`."""
    return [[[source, 0, 0, kwargs] for source in sources]]


def write_keras2_h5(path, model_config, weights, training_config=None,
                    optimizer_weights=None):
    """A whole-model `.h5` file as tf.keras 2.15 writes it.

    `weights` maps each layer name (in `model.layers` order) to `{weight name: array}`,
    the names as TensorFlow gives them (`"dense/kernel:0"`).
    """
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps(model_config).encode("utf8")
        if training_config is not None:
            f.attrs["training_config"] = json.dumps(training_config).encode("utf8")
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [name.encode("utf8") for name in weights]
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = b"2.15.0"
        for layer_name, layer_weights in weights.items():
            layer_group = group.create_group(layer_name)
            layer_group.attrs["weight_names"] = (
                [n.encode("utf8") for n in layer_weights] if layer_weights
                else np.array([], dtype=np.float64))
            for name, value in layer_weights.items():
                layer_group.create_dataset(name, data=value)
        if optimizer_weights:
            opt = f.create_group("optimizer_weights")
            opt.attrs["weight_names"] = [n.encode("utf8") for n in optimizer_weights]
            for name, value in optimizer_weights.items():
                opt.create_dataset(name, data=value)
    return str(path)


def normal(*shape):
    return rng.normal(size=shape).astype(np.float32)


def keras2_sequential(path, training_config=None, optimizer_weights=None):
    """Dense(8, relu) -> Dense(3, softmax) on 4 features, as tf.keras 2.15 saves it."""
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 4],
                                                "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "dense_input"}},
        {"class_name": "Dense",
         "config": dense_config("dense", 8, "relu", batch_input_shape=[None, 4])},
        {"class_name": "Dense", "config": dense_config("dense_1", 3, "softmax")},
    ]}}
    weights = {
        "dense": {"dense/kernel:0": normal(4, 8), "dense/bias:0": normal(8)},
        "dense_1": {"dense_1/kernel:0": normal(8, 3), "dense_1/bias:0": normal(3)},
    }
    return write_keras2_h5(path, config, weights, training_config, optimizer_weights), weights


def edit_model_config(path, edit):
    """Rewrite the file's `model_config` with `edit(config)` (in place, or its result)."""
    with h5py.File(path, "a") as f:
        config = json.loads(f.attrs["model_config"])
        config = edit(config) or config
        f.attrs["model_config"] = json.dumps(config).encode()


def numpy_sequential(weights, x):
    h = np.maximum(x @ weights["dense"]["dense/kernel:0"] + weights["dense"]["dense/bias:0"], 0)
    z = h @ weights["dense_1"]["dense_1/kernel:0"] + weights["dense_1"]["dense_1/bias:0"]
    z = np.exp(z - z.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


KERAS2_TRAINING_CONFIG = {
    "loss": {"class_name": "CategoricalCrossentropy",
             "config": {"reduction": "auto", "name": "categorical_crossentropy",
                        "from_logits": False, "label_smoothing": 0.0, "axis": -1}},
    "metrics": [["accuracy"]], "weighted_metrics": None, "loss_weights": None,
    "optimizer_config": {"class_name": "Custom>Adam", "config": {
        "name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
        "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
        "ema_overwrite_frequency": None, "jit_compile": False, "is_legacy_optimizer": False,
        "learning_rate": 0.0020000000949949026, "beta_1": 0.9, "beta_2": 0.999,
        "epsilon": 1e-07, "amsgrad": False}},
}


def keras2_functional(path, keras3_loadable=False):
    """Two inputs (tokens -> Embedding -> LSTM; image -> Conv2D -> BN -> pooling -> a
    nested Sequential), two outputs, Keras 2 nodes, BN axis `[3]`, and (unless
    `keras3_loadable`: Keras 3's own loader refuses these two) a mixed-precision `Policy`
    dtype and the LSTM's `time_major`."""
    head = {"class_name": "Sequential", "name": "head",
            "inbound_nodes": node("global_average_pooling2d"),
            "config": {"name": "head", "layers": [
                {"class_name": "InputLayer", "config": {
                    "batch_input_shape": [None, 3], "dtype": "float32", "sparse": False,
                    "ragged": False, "name": "dense_input"}},
                {"class_name": "Dense",
                 "config": dense_config("dense", 4, "relu", batch_input_shape=[None, 3])},
                {"class_name": "Dense", "config": dense_config("dense_1", 2)}]}}
    layers = [
        input_layer("tokens", [5], "int32"),
        input_layer("image", [6, 6, 2]),
        {"class_name": "Embedding", "name": "embedding", "inbound_nodes": node("tokens"),
         "config": {"name": "embedding", "trainable": True, "dtype": "float32",
                    "batch_input_shape": [None, 5], "input_dim": 20, "output_dim": 4,
                    "embeddings_initializer": {"class_name": "RandomUniform", "config": {
                        "minval": -0.05, "maxval": 0.05, "seed": None}},
                    "embeddings_regularizer": None, "activity_regularizer": None,
                    "embeddings_constraint": None, "mask_zero": False, "input_length": 5}},
        {"class_name": "Conv2D", "name": "conv2d", "inbound_nodes": node("image"),
         "config": {"name": "conv2d", "trainable": True, "dtype": "float32", "filters": 3,
                    "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
                    "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
                    "activation": "relu", "use_bias": True, "kernel_initializer": glorot(),
                    "bias_initializer": zeros(), "kernel_regularizer": None,
                    "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "bias_constraint": None}},
        {"class_name": "BatchNormalization", "name": "batch_normalization",
         "inbound_nodes": node("conv2d"),
         "config": {"name": "batch_normalization", "trainable": True, "dtype": "float32",
                    "axis": [3], "momentum": 0.99, "epsilon": 0.001, "center": True,
                    "scale": True, "beta_initializer": zeros(),
                    "gamma_initializer": {"class_name": "Ones", "config": {}},
                    "moving_mean_initializer": zeros(),
                    "moving_variance_initializer": {"class_name": "Ones", "config": {}},
                    "beta_regularizer": None, "gamma_regularizer": None,
                    "beta_constraint": None, "gamma_constraint": None}},
        {"class_name": "LSTM", "name": "lstm", "inbound_nodes": node("embedding"),
         "config": {"name": "lstm", "trainable": True, "dtype": "float32",
                    "return_sequences": False, "return_state": False, "go_backwards": False,
                    "stateful": False, "unroll": False, "time_major": False, "units": 3,
                    "activation": "tanh", "recurrent_activation": "sigmoid",
                    "use_bias": True, "kernel_initializer": glorot(),
                    "recurrent_initializer": {"class_name": "Orthogonal",
                                              "config": {"gain": 1.0, "seed": None}},
                    "bias_initializer": zeros(), "unit_forget_bias": True,
                    "kernel_regularizer": None, "recurrent_regularizer": None,
                    "bias_regularizer": None, "activity_regularizer": None,
                    "kernel_constraint": None, "recurrent_constraint": None,
                    "bias_constraint": None, "dropout": 0.0, "recurrent_dropout": 0.0,
                    "implementation": 2}},
        {"class_name": "GlobalAveragePooling2D", "name": "global_average_pooling2d",
         "inbound_nodes": node("batch_normalization"),
         "config": {"name": "global_average_pooling2d", "trainable": True,
                    "dtype": "float32", "data_format": "channels_last",
                    "keepdims": False}},
        head,
        {"class_name": "Concatenate", "name": "concatenate",
         "inbound_nodes": [[["lstm", 0, 0, {}], ["head", 0, 0, {}]]],
         "config": {"name": "concatenate", "trainable": True, "dtype": "float32",
                    "axis": -1}},
        {"class_name": "Dense", "name": "out", "inbound_nodes": node("concatenate"),
         "config": dense_config("out", 1, dtype={"class_name": "Policy",
                                                 "config": {"name": "float32"}})},
    ]
    if keras3_loadable:
        layers[-1]["config"]["dtype"] = "float32"
        del next(x for x in layers if x["name"] == "lstm")["config"]["time_major"]
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": layers,
        "input_layers": [["tokens", 0, 0], ["image", 0, 0]],
        "output_layers": [["out", 0, 0], ["lstm", 0, 0]]}}
    weights = {
        "tokens": {}, "image": {},
        "embedding": {"embedding/embeddings:0": normal(20, 4)},
        "conv2d": {"conv2d/kernel:0": normal(3, 3, 2, 3), "conv2d/bias:0": normal(3)},
        "batch_normalization": {
            "batch_normalization/gamma:0": normal(3), "batch_normalization/beta:0": normal(3),
            "batch_normalization/moving_mean:0": normal(3),
            "batch_normalization/moving_variance:0": np.abs(normal(3)) + 0.5},
        "lstm": {"lstm/lstm_cell/kernel:0": normal(4, 12),
                 "lstm/lstm_cell/recurrent_kernel:0": normal(3, 12),
                 "lstm/lstm_cell/bias:0": normal(12)},
        "global_average_pooling2d": {},
        "head": {"dense/kernel:0": normal(3, 4), "dense/bias:0": normal(4),
                 "dense_1/kernel:0": normal(4, 2), "dense_1/bias:0": normal(2)},
        "concatenate": {},
        "out": {"out/kernel:0": normal(5, 1), "out/bias:0": normal(1)},
    }
    # tf.keras 2 lists a graph's layers by decreasing depth, then traversal order.
    order = ["image", "conv2d", "tokens", "batch_normalization", "embedding",
             "global_average_pooling2d", "lstm", "head", "concatenate", "out"]
    layers.sort(key=lambda entry: order.index(entry["name"]))
    weights = {name: weights[name] for name in order}
    return write_keras2_h5(path, config, weights), weights


def functional_inputs():
    return [rng.integers(0, 20, (3, 5)).astype(np.int32),
            rng.normal(size=(3, 6, 6, 2)).astype(np.float32)]


def test_keras2_sequential_predicts_as_its_weights_say(tmp_path):
    path, weights = keras2_sequential(tmp_path / "m.h5")
    model = lamina.models.load_model(path)
    x = normal(5, 4)
    assert isinstance(model, lamina.Sequential)
    np.testing.assert_allclose(model.predict(x, verbose=0), numpy_sequential(weights, x),
                               rtol=1e-5, atol=1e-6)
    assert lamina.saving.load_model is not None and model.optimizer is None


def test_keras2_functional_multi_io_nested_bn_lstm_embedding_conv(tmp_path):
    path, weights = keras2_functional(tmp_path / "f.h5")
    model = lamina.models.load_model(path)
    out, lstm = model.predict(functional_inputs(), verbose=0)
    assert out.shape == (3, 1) and lstm.shape == (3, 3)
    np.testing.assert_array_equal(model.get_layer("head").layers[1].kernel.numpy(),
                                  weights["head"]["dense_1/kernel:0"])
    bn = model.get_layer("batch_normalization")
    assert bn.axis == -1 or bn.axis == 3
    np.testing.assert_array_equal(bn.moving_variance.numpy(),
                                  weights["batch_normalization"]
                                  ["batch_normalization/moving_variance:0"])


def test_keras2_compiled_file_compiles_with_its_loss_metrics_and_optimizer(tmp_path):
    names = ["iteration:0"] + [f"Adam/{slot}/{w}:0" for w in ("dense/kernel", "dense/bias",
                                                              "dense_1/kernel", "dense_1/bias")
                               for slot in ("m", "v")]
    shapes = [(), (4, 8), (4, 8), (8,), (8,), (8, 3), (8, 3), (3,), (3,)]
    optimizer_weights = {n: np.zeros(s, np.float32) for n, s in zip(names, shapes)}
    path, _ = keras2_sequential(tmp_path / "c.h5", KERAS2_TRAINING_CONFIG, optimizer_weights)
    # tf.keras 2's optimizer keeps other variables than Keras 3's (no learning-rate
    # variable): its state cannot be restored, as in Keras 3, and the model says so.
    with pytest.warns(UserWarning, match="freshly initialized optimizer"):
        model = lamina.models.load_model(path)
    assert type(model.optimizer).__name__ == "Adam"
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.002, rtol=1e-6)
    assert type(model.loss).__name__ == "CategoricalCrossentropy"
    history = model.fit(normal(6, 4), np.eye(3)[[0, 1, 2, 0, 1, 2]], epochs=1, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}


def test_compile_false_skips_training_config(tmp_path):
    path, _ = keras2_sequential(tmp_path / "c.h5", KERAS2_TRAINING_CONFIG)
    assert lamina.models.load_model(path, compile=False).optimizer is None


def test_format_comes_from_content_not_name(tmp_path):
    path, weights = keras2_sequential(tmp_path / "m.h5")
    renamed = tmp_path / "model.keras"
    renamed.write_bytes(Path(path).read_bytes())
    x = normal(2, 4)
    np.testing.assert_allclose(lamina.models.load_model(renamed).predict(x, verbose=0),
                               numpy_sequential(weights, x), rtol=1e-5, atol=1e-6)
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    model.save(tmp_path / "real.keras")
    zip_named_h5 = tmp_path / "zip.h5"
    zip_named_h5.write_bytes((tmp_path / "real.keras").read_bytes())
    np.testing.assert_allclose(lamina.models.load_model(zip_named_h5).predict(x, verbose=0),
                               model.predict(x, verbose=0))


@pytest.mark.parametrize("content", [b"", b"hello, not a model", b"\x00" * 4096,
                                     b"\x89HDF\r\n\x1a\n" + b"\x00" * 100])
def test_garbage_or_truncated_files_are_refused_clearly(tmp_path, content):
    path = tmp_path / "bad.h5"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="not a valid `.keras` zip archive, nor|cannot be read"):
        lamina.models.load_model(path)


def test_truncated_h5_model_is_refused(tmp_path):
    path, _ = keras2_sequential(tmp_path / "m.h5")
    data = Path(path).read_bytes()
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated"):
        lamina.models.load_model(cut)


def test_weights_only_h5_says_to_use_load_weights(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(2)])
    model.save_weights(tmp_path / "w.weights.h5")
    with pytest.raises(ValueError, match=r"weights only.*load_weights"):
        lamina.models.load_model(tmp_path / "w.weights.h5")
    path, weights = keras2_sequential(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        del f.attrs["model_config"]
    with pytest.raises(ValueError, match=r"without a `model_config`.*load_weights"):
        lamina.saving.load_model(path)


def test_invalid_model_config_json_is_refused(tmp_path):
    path, _ = keras2_sequential(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        f.attrs["model_config"] = b"{not json"
    with pytest.raises(ValueError, match="invalid `model_config`"):
        lamina.models.load_model(path)


def keras2_lambda(path, function_type="lambda"):
    """Sequential with a Keras 2 Lambda (bytecode list, `function_type`, `module`)."""
    import base64
    import marshal

    code = base64.encodebytes(marshal.dumps((lambda x: x * 2.0).__code__)).decode("ascii")
    function = [code, None, None] if function_type == "lambda" else "double_it"
    config = {"class_name": "Sequential", "config": {"name": "sequential", "layers": [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 3],
                                                "dtype": "float32", "name": "x"}},
        {"class_name": "Lambda", "config": {
            "name": "lambda", "trainable": True, "dtype": "float32", "function": function,
            "function_type": function_type, "module": "os", "output_shape": None,
            "output_shape_type": "raw", "output_shape_module": None, "arguments": {}}},
    ]}}
    return write_keras2_h5(path, config, {"lambda": {}})


def test_keras2_lambda_bytecode_is_refused_in_safe_mode(tmp_path):
    path = keras2_lambda(tmp_path / "l.h5")
    with pytest.raises(ValueError, match="safe_mode"):
        lamina.models.load_model(path)
    model = lamina.models.load_model(path, safe_mode=False)
    np.testing.assert_allclose(model.predict(np.ones((2, 3), np.float32), verbose=0), 2.0)


def test_keras2_named_lambda_function_resolves_only_from_custom_objects(tmp_path):
    path = keras2_lambda(tmp_path / "l.h5", function_type="function")
    with pytest.raises(ValueError, match="double_it"):
        lamina.models.load_model(path)  # its `module` ("os") is never imported

    def double_it(x):
        return x * 2.0

    model = lamina.models.load_model(path, custom_objects={"double_it": double_it})
    np.testing.assert_allclose(model.predict(np.ones((2, 3), np.float32), verbose=0), 2.0)


def test_unknown_class_is_refused_and_custom_objects_resolve_it(tmp_path):
    path, weights = keras2_sequential(tmp_path / "m.h5")
    edit_model_config(path, lambda c: c["config"]["layers"][2].update(class_name="MyDense"))
    with pytest.raises(TypeError, match="MyDense"):
        lamina.models.load_model(path)

    class MyDense(lamina.layers.Dense):
        pass

    model = lamina.models.load_model(path, custom_objects={"MyDense": MyDense})
    assert type(model.layers[-1]) is MyDense
    x = normal(2, 4)
    np.testing.assert_allclose(model.predict(x, verbose=0), numpy_sequential(weights, x),
                               rtol=1e-5, atol=1e-6)


def test_tf_op_layers_get_a_clear_error(tmp_path):
    path, _ = keras2_sequential(tmp_path / "m.h5")
    edit_model_config(path,
                      lambda c: c["config"]["layers"][2].update(class_name="TFOpLambda"))
    with pytest.raises(ValueError, match="TFOpLambda.*recreate the model in code"):
        lamina.models.load_model(path)


def test_mismatched_weights_are_refused(tmp_path):
    path, _ = keras2_sequential(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/dense_1/dense_1/kernel:0"]
        f["model_weights/dense_1"].create_dataset("dense_1/kernel:0", data=np.zeros((8, 4)))
    with pytest.raises(ValueError, match="Shape mismatch"):
        lamina.models.load_model(path)


def test_keras2_kwargs_tensor_references_replay(tmp_path):
    """`mha(q, value=v)` in tf.keras 2 records `value` as `["v", 0, 0]` in the node."""
    mha = {"class_name": "MultiHeadAttention", "name": "mha",
           "inbound_nodes": [[["q", 0, 0, {"value": ["v", 0, 0]}]]],
           "config": {"name": "mha", "trainable": True, "dtype": "float32", "num_heads": 2,
                      "key_dim": 2, "value_dim": 2, "dropout": 0.0, "use_bias": True,
                      "output_shape": None, "attention_axes": [1],
                      "kernel_initializer": glorot(), "bias_initializer": zeros(),
                      "kernel_regularizer": None, "bias_regularizer": None,
                      "activity_regularizer": None, "kernel_constraint": None,
                      "bias_constraint": None}}
    config = {"class_name": "Model", "config": {
        "name": "model", "layers": [input_layer("q", [2, 3]), input_layer("v", [4, 3]), mha],
        "input_layers": [["q", 0, 0], ["v", 0, 0]], "output_layers": [["mha", 0, 0]]}}
    shapes = {"query": [(3, 2, 2), (2, 2)], "key": [(3, 2, 2), (2, 2)],
              "value": [(3, 2, 2), (2, 2)], "attention_output": [(2, 2, 3), (3,)]}
    weights = {}
    for part, (kernel, bias) in shapes.items():
        weights[f"mha/{part}/kernel:0"] = normal(*kernel)
        weights[f"mha/{part}/bias:0"] = normal(*bias)
    path = write_keras2_h5(tmp_path / "a.h5", config, {"q": {}, "v": {}, "mha": weights})
    model = lamina.models.load_model(path)
    q, v = normal(2, 2, 3), normal(2, 4, 3)
    expected = model.get_layer("mha")(torch.as_tensor(q), torch.as_tensor(v))
    np.testing.assert_allclose(model.predict([q, v], verbose=0), expected.detach().numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model.get_layer("mha")._value_dense.kernel.numpy(),
                                  weights["mha/value/kernel:0"])


def test_config_attribute_over_the_limit_is_refused_before_reading(tmp_path):
    path, _ = keras2_sequential(tmp_path / "m.h5")
    with pytest.raises(ValueError, match=r"`model_config` attribute holds \d+ bytes.*"
                                         r"max_config_bytes"):
        lamina.saving.load_model(path, max_config_bytes=100)


def test_links_out_of_the_file_are_refused_and_no_decoy_loads(tmp_path):
    decoy = tmp_path / "decoy.h5"
    with h5py.File(decoy, "w") as f:
        f["kernel"] = np.full((4, 8), 7.0, np.float32)
    path, _ = keras2_sequential(tmp_path / "m.h5")
    with h5py.File(path, "a") as f:
        del f["model_weights/dense/dense/kernel:0"]
        f["model_weights/dense/dense/kernel:0"] = h5py.ExternalLink(str(decoy), "/kernel")
    with pytest.raises(ValueError, match="ExternalLink"):
        lamina.models.load_model(path)
    names = ["iteration:0", "learning_rate:0"]
    path, _ = keras2_sequential(tmp_path / "o.h5", KERAS2_TRAINING_CONFIG,
                                {n: np.zeros((), np.float32) for n in names})
    with h5py.File(path, "a") as f:
        del f["optimizer_weights/iteration:0"]
        f["optimizer_weights/iteration:0"] = h5py.ExternalLink(str(decoy), "/kernel")
    with pytest.raises(ValueError, match="ExternalLink"):
        lamina.models.load_model(path)


def test_unbuilt_optimizer_state_restores_without_a_warning(tmp_path):
    names = ["iteration:0", "learning_rate:0"]
    values = [np.array(0, np.int64), np.array(0.002, np.float32)]
    path, _ = keras2_sequential(tmp_path / "o.h5", KERAS2_TRAINING_CONFIG,
                                dict(zip(names, values)))
    model = lamina.models.load_model(path)
    assert int(model.optimizer.iterations) == 0
    np.testing.assert_allclose(float(model.optimizer.learning_rate), 0.002, rtol=1e-6)


def test_keras2_files_predict_as_keras3_loads_them(tmp_path):
    """Keras 3's own legacy loader as the oracle, on the same tf.keras 2-layout files."""
    keras = pytest.importorskip("keras")
    path, _ = keras2_sequential(tmp_path / "s.h5")
    x = normal(5, 4)
    np.testing.assert_allclose(lamina.models.load_model(path).predict(x, verbose=0),
                               keras.models.load_model(path).predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    path, _ = keras2_functional(tmp_path / "f.h5", keras3_loadable=True)
    inputs = functional_inputs()
    ours = lamina.models.load_model(path).predict(inputs, verbose=0)
    theirs = keras.models.load_model(path).predict(inputs, verbose=0)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_loading_a_legacy_h5_model_spawns_writes_and_imports_nothing(tmp_path):
    """The audit-hook check of `test_load_side_effects`, on whole-model `.h5` files."""
    import textwrap

    from test_load_side_effects import AUDIT, _run

    path, _ = keras2_sequential(tmp_path / "m.h5", KERAS2_TRAINING_CONFIG, {
        "iteration:0": np.array(0, np.int64), "learning_rate:0": np.array(0.002, np.float32)})
    functional, _ = keras2_functional(tmp_path / "f.h5")
    script = AUDIT + textwrap.dedent('''
        import lamina
        from lamina.saving import saving_api  # noqa: F401

        model = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3)])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.fit(lamina.ops.ones((2, 4)), lamina.ops.ones((2, 3)), verbose=0)
        lamina.layers.LSTM(2)(lamina.ops.ones((1, 2, 2)))
        inputs = lamina.Input((3,))
        lamina.Model.from_config(lamina.Model(inputs, lamina.layers.Dense(1)(inputs))
                                 .get_config())
        sys.addaudithook(hook)
        print("RESULTS" + json.dumps({
            "sequential": audited(lambda: lamina.saving.load_model(sys.argv[1])),
            "functional": audited(lambda: lamina.saving.load_model(sys.argv[2])),
        }))
    ''')
    assert _run(script, path, functional) == {"sequential": [], "functional": []}


def with_modules(entry):
    """A legacy object config as tf.keras 2.13+ serializes it: `module`,
    `registered_name`, and `build_config` for built layers."""
    if isinstance(entry, list):
        return [with_modules(item) for item in entry]
    if not isinstance(entry, dict):
        return entry
    entry = {k: with_modules(v) for k, v in entry.items()}
    if "class_name" in entry and "config" in entry:
        family = "keras.initializers" if entry["class_name"] in ("GlorotUniform", "Zeros") \
            else "keras.layers"
        entry.setdefault("module", family)
        entry.setdefault("registered_name", None)
    return entry


def test_keras2_13_configs_with_modules_and_private_model_modules(tmp_path):
    path, weights = keras2_sequential(tmp_path / "m.h5")

    def as_functional(config):
        layers = with_modules(config["config"]["layers"])
        layers[1]["build_config"] = {"input_shape": [None, 4]}
        inputs = {**layers[0], "name": "dense_input", "inbound_nodes": []}
        first = {**layers[1], "name": "dense", "inbound_nodes": node("dense_input")}
        second = {**layers[2], "name": "dense_1", "inbound_nodes": node("dense")}
        return {"module": "keras.src.engine.functional", "class_name": "Functional",
                "registered_name": "Functional", "config": {
                    "name": "model", "trainable": True, "layers": [inputs, first, second],
                    "input_layers": [["dense_input", 0, 0]],
                    "output_layers": [["dense_1", 0, 0]]}}

    edit_model_config(path, as_functional)
    model = lamina.models.load_model(path)
    x = normal(3, 4)
    np.testing.assert_allclose(model.predict(x, verbose=0), numpy_sequential(weights, x),
                               rtol=1e-5, atol=1e-6)


def test_old_keras2_sequential_without_an_input_layer_entry(tmp_path):
    """tf.keras before 2.4 wrote no InputLayer: the first layer's `batch_input_shape` is
    the model's input."""
    path, weights = keras2_sequential(tmp_path / "m.h5")
    edit_model_config(path, lambda c: c["config"].update(layers=c["config"]["layers"][1:]))
    model = lamina.models.load_model(path)
    x = normal(3, 4)
    np.testing.assert_allclose(model.predict(x, verbose=0), numpy_sequential(weights, x),
                               rtol=1e-5, atol=1e-6)


def test_hdf5_file_with_a_user_block_is_recognised(tmp_path):
    path, weights = keras2_sequential(tmp_path / "m.h5")
    with h5py.File(path, "r") as source, h5py.File(tmp_path / "u.hdf5", "w",
                                                    userblock_size=512) as f:
        for key, value in source.attrs.items():
            f.attrs[key] = value
        source.copy("model_weights", f)
    x = normal(2, 4)
    np.testing.assert_allclose(
        lamina.models.load_model(tmp_path / "u.hdf5").predict(x, verbose=0),
        numpy_sequential(weights, x), rtol=1e-5, atol=1e-6)


def test_keras2_nested_functional_and_shared_layer(tmp_path):
    """An inner Functional called once, and a Dense shared by two inputs (its second call
    is node 1), in tf.keras 2's node format."""
    inner = {"class_name": "Functional", "name": "enc", "inbound_nodes": node("shared"),
             "config": {"name": "enc", "layers": [
                 input_layer("enc_in", [3]),
                 {"class_name": "Dense", "name": "enc_dense",
                  "inbound_nodes": node("enc_in"),
                  "config": dense_config("enc_dense", 2, "tanh")}],
                 "input_layers": [["enc_in", 0, 0]], "output_layers": [["enc_dense", 0, 0]]}}
    shared = {"class_name": "Dense", "name": "shared",
              "inbound_nodes": [[["a", 0, 0, {}]], [["b", 0, 0, {}]]],
              "config": dense_config("shared", 3, "relu")}
    b_proj = {"class_name": "Dense", "name": "proj", "inbound_nodes": [[["shared", 1, 0, {}]]],
              "config": dense_config("proj", 2)}
    add = {"class_name": "Add", "name": "add",
           "inbound_nodes": [[["enc", 0, 0, {}], ["proj", 0, 0, {}]]],
           "config": {"name": "add", "trainable": True, "dtype": "float32"}}
    config = {"class_name": "Functional", "config": {
        "name": "model", "layers": [input_layer("a", [4]), input_layer("b", [4]), shared,
                                    inner, b_proj, add],
        "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": [["add", 0, 0]]}}
    w = {"shared": {"shared/kernel:0": normal(4, 3), "shared/bias:0": normal(3)},
         "enc": {"enc_dense/kernel:0": normal(3, 2), "enc_dense/bias:0": normal(2)},
         "proj": {"proj/kernel:0": normal(3, 2), "proj/bias:0": normal(2)}}
    path = write_keras2_h5(tmp_path / "n.h5", config,
                           {"a": {}, "b": {}, **{k: w[k] for k in ("shared", "enc", "proj")},
                            "add": {}})
    a, b = normal(5, 4), normal(5, 4)

    def dense(x, layer, name):
        return x @ w[layer][f"{name}/kernel:0"] + w[layer][f"{name}/bias:0"]

    expected = (np.tanh(dense(np.maximum(dense(a, "shared", "shared"), 0), "enc", "enc_dense"))
                + dense(np.maximum(dense(b, "shared", "shared"), 0), "proj", "proj"))
    model = lamina.models.load_model(path)
    np.testing.assert_allclose(model.predict([a, b], verbose=0), expected,
                               rtol=1e-5, atol=1e-5)
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(keras.models.load_model(path).predict([a, b], verbose=0),
                               expected, rtol=1e-5, atol=1e-5)


def test_damaged_hdf5_structure_raises_oserror(tmp_path):
    """Bytes flipped inside the file's structure: h5py's KeyError/RuntimeError become an
    OSError naming the file (never another exception type)."""
    path, _ = keras2_functional(tmp_path / "f.h5")
    data = Path(path).read_bytes()
    flips = np.random.default_rng(0)
    outcomes = set()
    for trial in range(40):
        damaged = bytearray(data)
        for index in flips.integers(8, len(data), 6):
            damaged[index] = int(flips.integers(256))
        target = tmp_path / f"d{trial}.h5"
        target.write_bytes(bytes(damaged))
        try:
            lamina.models.load_model(target)
            outcomes.add("loaded")
        except OSError:
            outcomes.add("OSError")
        except (ValueError, TypeError):
            outcomes.add("ValueError/TypeError")
    # Anything else would have escaped the loop; h5py's own errors did occur.
    assert "OSError" in outcomes


def test_model_from_json_reads_tf_keras_2_to_json(tmp_path):
    path, _ = keras2_functional(tmp_path / "f.h5")
    with h5py.File(path, "r") as f:
        config = json.loads(f.attrs["model_config"])
    text = json.dumps({**config, "keras_version": "2.15.0", "backend": "tensorflow"})
    model = lamina.models.model_from_json(text)
    assert [t.shape for t in model.outputs] == [(None, 1), (None, 3)]
    assert model.get_layer("head").layers[0].units == 4


def test_custom_loss_and_metric_names_resolve_from_custom_objects(tmp_path):
    training_config = {**KERAS2_TRAINING_CONFIG, "loss": "halved_mse",
                       "metrics": ["mean_offset"]}
    path, _ = keras2_sequential(tmp_path / "c.h5", training_config)

    def halved_mse(y_true, y_pred):
        return lamina.ops.mean(lamina.ops.square(y_true - y_pred), axis=-1) / 2

    def mean_offset(y_true, y_pred):
        return lamina.ops.mean(y_pred - y_true, axis=-1)

    model = lamina.models.load_model(path, custom_objects={"halved_mse": halved_mse,
                                                           "mean_offset": mean_offset})
    history = model.fit(normal(4, 4), np.eye(3)[[0, 1, 2, 0]], verbose=0)
    assert set(history.history) == {"loss", "mean_offset"}
