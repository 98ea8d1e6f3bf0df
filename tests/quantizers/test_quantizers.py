"""`lamina.quantizers` and quantized layers: the arithmetic against Keras 3 (torch backend)
as the oracle, training through quantized layers, export, and the errors."""

import json
import os
import warnings
from unittest import mock

import numpy as np
import pytest
import torch

import lamina
from lamina import dtype_policies, quantizers

os.environ["KERAS_BACKEND"] = "torch"
keras = pytest.importorskip("keras")

RNG = np.random.RandomState(0)
MATRIX = RNG.randn(10, 6).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x) if not isinstance(x, torch.Tensor) else x.numpy()


def test_every_keras_quantizer_name_exists():
    names = {n for n in dir(keras.quantizers) if not n.startswith("_")}
    assert names <= set(dir(quantizers))


@pytest.mark.parametrize("call", [
    lambda q, m: q.abs_max_quantize(m, axis=0),
    lambda q, m: q.abs_max_quantize(m, axis=-1, value_range=(-8, 7)),
    lambda q, m: q.AbsMaxQuantizer(axis=0)(m),
    lambda q, m: q.abs_max_quantize_grouped_with_zero_point(m, block_size=4, to_numpy=True),
    lambda q, m: q.pack_int4(q.abs_max_quantize(m, axis=0, value_range=(-8, 7))[0], axis=-1)[0],
    lambda q, m: q.unpack_int4(q.pack_int4(q.abs_max_quantize(
        m, axis=0, value_range=(-8, 7))[0], axis=0)[0], 10, axis=0),
    lambda q, m: q.quantize_and_dequantize(m * 300, 0.5, "float8_e4m3fn", "float32"),
    lambda q, m: q.compute_float8_scale(np.float32(3.0), np.float32(0.5), 448.0),
    lambda q, m: q.compute_float8_amax_history(m, np.arange(5, dtype="float32")),
    lambda q, m: q.fake_quant_with_min_max_vars(m, -1.0, 1.5, num_bits=4),
    lambda q, m: q.fake_quant_with_min_max_vars(m, -np.ones(6, "float32"),
                                                np.ones(6, "float32"), axis=-1),
])
def test_quantizer_arithmetic_equals_keras(call):
    ours = call(quantizers, torch.from_numpy(MATRIX))
    theirs = call(keras.quantizers, keras.ops.convert_to_tensor(MATRIX))
    for a, b in zip(ours if isinstance(ours, tuple) else [ours],
                    theirs if isinstance(theirs, tuple) else [theirs]):
        np.testing.assert_array_equal(_np(a), _np(b))
        assert str(_np(a).dtype) == str(_np(b).dtype)


def test_fake_quant_passes_gradients_inside_the_range_and_to_the_bounds_outside():
    x = torch.tensor([-2.0, 0.2, 0.7, 3.0], requires_grad=True)
    low = torch.tensor(-1.0, requires_grad=True)
    high = torch.tensor(1.0, requires_grad=True)
    quantizers.fake_quant_with_min_max_vars(x, low, high).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 0.0]
    assert (low.grad.item(), high.grad.item()) == (1.0, 1.0)


@pytest.mark.parametrize("name", ["int8_from_float32", "int8_from_mixed_bfloat16",
                                  "int4_from_float32", "int4/-1_from_float32",
                                  "int4/128_from_mixed_bfloat16", "float8_from_float32",
                                  "gptq/4/128_from_float32", "awq/4/-1_from_float32"])
def test_quantized_policies_serialize_as_keras(name):
    ours, theirs = dtype_policies.get(name), keras.dtype_policies.get(name)
    assert type(ours).__name__ == type(theirs).__name__
    assert (ours.name, ours.quantization_mode, ours.compute_dtype, ours.variable_dtype) == (
        theirs.name, theirs.quantization_mode, theirs.compute_dtype, theirs.variable_dtype)
    config = dtype_policies.serialize(ours)
    assert json.dumps(config) == json.dumps(keras.dtype_policies.serialize(theirs))
    assert keras.dtype_policies.deserialize(config) == theirs
    assert dtype_policies.deserialize(config) == ours


def test_dtype_policy_map_matches_exactly_then_by_regex_and_serializes_as_keras():
    for lib in (dtype_policies, keras.dtype_policies):
        policy_map = lib.DTypePolicyMap(default_policy="mixed_bfloat16")
        policy_map["encoder/.*"] = "float16"
        policy_map["decoder/dense"] = "int8_from_float32"
    assert policy_map["encoder/attention"].name == "float16"
    ours = dtype_policies.DTypePolicyMap("mixed_bfloat16")
    ours["encoder/.*"] = "float16"
    ours["decoder/dense"] = "int8_from_float32"
    assert ours["encoder/attention"].name == "float16"
    assert ours["decoder/dense"].quantization_mode == "int8"
    assert (ours["other"].name, ours.name) == ("mixed_bfloat16", "map_mixed_bfloat16")
    assert json.dumps(dtype_policies.serialize(ours)) == json.dumps(
        keras.dtype_policies.serialize(policy_map))
    assert dtype_policies.deserialize(keras.dtype_policies.serialize(policy_map)) == ours
    ours["encoder/a.*"] = "bfloat16"
    with pytest.raises(ValueError, match="matches multiple dtype policy"):
        ours["encoder/attention"]
    with pytest.raises(ValueError, match="already exist"):
        ours["decoder/dense"] = "float32"


def _mlp(units=(8, 4)):
    inputs = lamina.Input((6,))
    x = lamina.layers.Dense(units[0], activation="relu", name="first")(inputs)
    return lamina.Model(inputs, lamina.layers.Dense(units[1], name="last")(x))


def _quantize(model, *args, **kwargs):
    # NOTE: Keras runs a full `gc.collect()` per replaced variable (seconds in a big test
    # process); skipping it changes nothing but the time.
    with warnings.catch_warnings(), mock.patch("gc.collect", lambda *args: 0):
        warnings.simplefilter("ignore", UserWarning)  # InputLayer cannot be quantized
        model.quantize(*args, **kwargs)


def test_float8_training_updates_scales_and_histories_as_keras():
    x = RNG.randn(16, 6).astype("float32")
    y = RNG.randn(16, 3).astype("float32")
    results = []
    for lib in (keras, lamina):
        model = lib.Sequential([lib.Input((6,)), lib.layers.Dense(4, name="a"),
                                lib.layers.Dense(3, name="b")])
        if lib is keras:
            weights = model.get_weights()
        else:
            model.set_weights(weights)
        _quantize(model, "float8")
        model.compile(optimizer=lib.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        results.append({v.path.split("/", 1)[1]: lib.ops.convert_to_numpy(v)
                        for v in model.weights})
    theirs, ours = results
    assert sorted(ours) == sorted(theirs)
    for path in theirs:
        np.testing.assert_allclose(np.asarray(ours[path]), theirs[path], rtol=1e-6,
                                   err_msg=path)
    assert ours["a/inputs_amax_history"][0] > 0  # the history really moved


@pytest.mark.parametrize("mode", ["int8", "int4"])
def test_gradients_flow_through_a_quantized_layer_as_through_its_dequantized_kernel(mode):
    model = _mlp()
    _quantize(model, mode, filters="last")
    last = model.get_layer("last")
    assert model.get_layer("first").quantization_mode is None
    x = torch.randn(5, 6)
    hidden = model.get_layer("first")(x).detach().requires_grad_(True)
    last(hidden).sum().backward()
    if mode == "int8":
        kernel = last.kernel.float() / last.kernel_scale
    else:
        kernel = quantizers.quantizers.dequantize_with_sz_map(
            quantizers.unpack_int4(last.kernel, 4, axis=-1), last.kernel_scale,
            last.kernel_zero, last.g_idx, group_axis=0)
    torch.testing.assert_close(hidden.grad, kernel.sum(dim=1).expand(5, 8))
    model.compile(optimizer="sgd", loss="mse")
    before = model.get_layer("first").kernel.detach().clone()
    model.fit(np.ones((4, 6), "float32"), np.zeros((4, 4), "float32"), verbose=0)
    assert not torch.equal(before, model.get_layer("first").kernel.detach())


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_quantized_models_trace_with_torch_export(mode):
    inputs = lamina.Input((4,), dtype="int32")
    x = lamina.layers.Embedding(10, 6)(inputs)
    x = lamina.layers.EinsumDense("abc,cd->abd", (4, 5), bias_axes="d")(x)
    model = lamina.Model(inputs, lamina.layers.Dense(3)(x))
    _quantize(model, mode)
    data = torch.tensor([[1, 2, 3, 0], [4, 5, 9, 7]], dtype=torch.int32)
    program = torch.export.export(model, (data,))
    torch.testing.assert_close(program.module()(data), model(data), rtol=0, atol=0)


def test_quantize_shrinks_the_weights_and_keeps_outputs_close():
    model = _mlp((64, 32))
    x = RNG.randn(8, 6).astype("float32")
    expected = model.predict(x, verbose=0)
    size = sum(v.numel() * v.element_size() for v in model.weights)
    _quantize(model, "int8")
    quantized_size = sum(v.numel() * v.element_size() for v in model.weights)
    assert quantized_size < 0.4 * size
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=0.05)


def test_quantize_errors_say_what_is_wrong():
    layer = lamina.layers.Dense(3)
    with pytest.raises(ValueError, match="isn't yet built"):
        layer.quantize("int8")
    layer.build((None, 4))
    with pytest.raises(ValueError, match="Invalid quantization mode"):
        layer.quantize("int3")
    with pytest.raises(NotImplementedError, match="does not implement 'gptq'"):
        layer.quantize("gptq")
    with pytest.raises(NotImplementedError, match="GPTQConfig"):
        quantizers.GPTQConfig(dataset=None, tokenizer=None)
    with pytest.raises(ValueError, match="Contradictory arguments"):
        layer.quantize("int4", config=quantizers.Int8QuantizationConfig())
    layer.quantize("int8")
    with pytest.raises(ValueError, match="already quantized"):
        layer.quantize("int8")
    half = lamina.layers.Dense(3, dtype="mixed_float16")
    half.build((None, 4))
    with pytest.raises(ValueError, match="doesn't work well with compute_dtype='float16'"):
        half.quantize("int8")
    with pytest.raises(NotImplementedError, match="does not have a `quantize` method"):
        lamina.layers.ReLU().quantize("int8")
    embedding = lamina.layers.Embedding(5, 2)
    embedding.build()
    with pytest.raises(NotImplementedError, match="Supported: \\('int8', 'int4'\\)"):
        embedding.quantize("float8")
