"""`CategoryEncoding` exports (ONNX, torch): its eager index range check reads a value
back to the host, which traced code cannot do, so tracing skips it.

Each artifact must match `model.predict` and an independent numpy encoding; eager
calls must still refuse an index past `num_tokens`.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

onnxruntime = pytest.importorskip("onnxruntime")

MODES = ("one_hot", "multi_hot", "count")
NUM_TOKENS = 5
ATOL = 1e-6
# Batch 4 (not the trace batch): repeated indices (count differs from multi-hot), a
# negative index (encodes as zeros), the largest valid index.
INDICES = np.array([[0, 1, 1], [4, 4, 4], [2, -1, 3], [0, 0, 4]], dtype="int32")


def _model(mode):
    torch.manual_seed(0)
    inputs = lamina.Input((3,), dtype="int32", name="indices")
    encoded = layers.CategoryEncoding(num_tokens=NUM_TOKENS, output_mode=mode,
                                      name="encode")(inputs)
    outputs = layers.Dense(2, name="scores")(encoded)
    return lamina.Model(inputs, outputs)


def _numpy_reference(model, mode, indices):
    """Encode with a numpy one-hot table (zeros for negative indices), then the Dense."""
    table = np.vstack([np.eye(NUM_TOKENS, dtype="float64"), np.zeros((1, NUM_TOKENS))])
    one_hot = table[np.where(indices < 0, NUM_TOKENS, indices)]  # (batch, 3, tokens)
    encoded = {"one_hot": one_hot, "multi_hot": one_hot.max(axis=1),
               "count": one_hot.sum(axis=1)}[mode]
    dense = model.get_layer("scores")
    kernel, bias = (np.asarray(w.detach().numpy(), "float64") for w in dense.weights)
    return encoded @ kernel + bias


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`exported(mode, format) -> (model, path)`, exported on first use."""
    folder = tmp_path_factory.mktemp("category_encoding")
    cache = {}

    def get(mode, format):
        if mode not in cache:
            cache[mode] = (_model(mode), {})
        model, paths = cache[mode]
        if format not in paths:
            paths[format] = str(folder / f"{mode}.{'onnx' if format == 'onnx' else 'pt2'}")
            model.export(paths[format], format=format, verbose=False)
        return model, paths[format]

    return get


def _expected(model, mode):
    expected = model.predict(INDICES, verbose=0)
    np.testing.assert_allclose(expected, _numpy_reference(model, mode, INDICES),
                               atol=1e-5, rtol=0)
    return expected


@pytest.mark.parametrize("mode", MODES)
def test_onnx_artifact_matches_predict_in_onnxruntime(exported, mode):
    model, path = exported(mode, "onnx")
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {session.get_inputs()[0].name: INDICES})
    np.testing.assert_allclose(result, _expected(model, mode), atol=ATOL, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_torch_artifact_matches_predict_after_torch_export_load(exported, mode):
    model, path = exported(mode, "torch")
    program = torch.export.load(path).module()
    result = program(torch.from_numpy(INDICES)).detach().numpy()
    np.testing.assert_allclose(result, _expected(model, mode), atol=ATOL, rtol=0)


@pytest.mark.parametrize("mode", MODES)
def test_eager_calls_still_refuse_an_index_past_num_tokens_after_export(exported, mode):
    model, _ = exported(mode, "torch")
    bad = np.array([[0, 5, 1]], dtype="int32")
    message = (r"CategoryEncoding layer 'encode': every input must be an index in \[0, 5\) "
               r"\(5 categories\), but the input holds 5")
    with pytest.raises(ValueError, match=message):
        model.get_layer("encode")(torch.from_numpy(bad))
    with pytest.raises(ValueError, match=message):
        model.predict(bad, verbose=0)


def test_torch_compile_keeps_the_range_check():
    """Only exported programs skip the check: a compiled call still refuses a bad index."""
    layer = lamina.layers.CategoryEncoding(num_tokens=5, output_mode="multi_hot")
    compiled = torch.compile(layer, backend="eager")
    np.testing.assert_array_equal(compiled(torch.tensor([[0, 4, 4]])).numpy(),
                                  [[1, 0, 0, 0, 1]])
    with pytest.raises(ValueError, match=r"index in \[0, 5\)"):
        compiled(torch.tensor([[5, 1, 2]]))
