"""Quantized models (`model.quantize`) export to ONNX and torch.export: the artifacts
keep the quantization (int8 and packed int4 kernels stay int8 tensors; float8's
quantize-dequantize casts stay in the graph) and give the quantized lamina model's
numbers in onnxruntime and after `torch.export.load`."""

import warnings
from unittest import mock

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

onnx = pytest.importorskip("onnx")
onnxruntime = pytest.importorskip("onnxruntime")

ATOL = 1e-5
FLOAT8 = {onnx.TensorProto.FLOAT8E4M3FN, onnx.TensorProto.FLOAT8E5M2}


def _quantized_model(mode):
    """Embedding, EinsumDense and Dense (the quantizable layers), quantized in `mode`."""
    torch.manual_seed(0)
    inputs = lamina.Input((4,), dtype="int32", name="tokens")
    spread = lamina.initializers.RandomUniform(-1.0, 1.0, seed=1)
    x = layers.Embedding(10, 32, embeddings_initializer=spread)(inputs)
    x = layers.EinsumDense("abc,cd->abd", (4, 320), bias_axes="d", activation="relu")(x)
    x = layers.Flatten()(x)
    model = lamina.Model(inputs, layers.Dense(8, name="logits")(x))
    with warnings.catch_warnings(), mock.patch("gc.collect", lambda *args: 0):
        # NOTE: InputLayer cannot be quantized (a UserWarning, as in Keras); Keras'
        # quantize runs a full gc.collect per replaced variable (only time).
        warnings.simplefilter("ignore", UserWarning)
        model.quantize(mode)
    return model


def _tokens(batch=5):
    return np.random.default_rng(0).integers(0, 10, (batch, 4)).astype("int32")


@pytest.mark.parametrize("mode", ["int8", "int4", "float8"])
def test_quantized_model_exports_to_onnx_and_torch_with_its_numbers(mode, tmp_path):
    model = _quantized_model(mode)
    tokens = _tokens()
    expected = model(torch.from_numpy(tokens)).detach().numpy()
    assert np.abs(expected).max() > 0.1  # numbers large enough for atol to mean something
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False)
    program = torch.export.load(str(tmp_path / "m.pt2"))
    result = program.module()(torch.from_numpy(tokens)).detach().numpy()
    np.testing.assert_allclose(result, expected, atol=ATOL, rtol=0)

    model.export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(tmp_path / "m.onnx"),
                                           providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {"tokens": tokens})
    np.testing.assert_allclose(result, expected, atol=ATOL, rtol=0)

    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    if mode == "float8":  # Keras' float8 keeps float kernels and casts inputs and kernels
        casts = {a.i for node in graph.node if node.op_type == "Cast" for a in node.attribute}
        assert casts & FLOAT8
    else:  # int4 is packed two values per int8, in Keras' layout
        # NOTE: torch.onnx's optimizer folds casts of kernels under 8192 values into
        # int32 initializers: these kernels are bigger, as real ones are.
        kernels = [layer.kernel for layer in model.layers if hasattr(layer, "kernel")]
        assert {k.dtype for k in kernels} == {torch.int8}
        assert {str(t.dtype) for t in program.state_dict.values()} >= {"torch.int8"}
        int8 = sum(int(np.prod(t.dims)) for t in graph.initializer
                   if t.data_type == onnx.TensorProto.INT8)
        assert int8 >= sum(k.numel() for k in kernels) > 0
