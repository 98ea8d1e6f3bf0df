"""`Model.export` artifacts run in their own runtimes and give lamina's numbers.

Each zoo model (tests/export/conftest.py) is exported once per format; onnxruntime,
`torch.export.load` (also in a process where lamina cannot be imported) and the
ExecuTorch runtime then run it at a batch size other than the traced one, at atol 1e-5.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import lamina
from lamina import layers

onnxruntime = pytest.importorskip("onnxruntime")

ATOL = 1e-5
KINDS = ["attention", "image", "sequence", "tabular"]


def _expected(model, inputs):
    tensors = ({k: torch.from_numpy(v) for k, v in inputs.items()} if isinstance(inputs, dict)
               else torch.from_numpy(inputs))
    return inputs, tensors, model(tensors).detach().numpy()


@pytest.mark.parametrize("kind", KINDS)
def test_onnx_artifact_matches_lamina_in_onnxruntime(zoo_models, zoo_artifact, zoo_inputs,
                                                      kind):
    inputs, _, expected = _expected(zoo_models[kind], zoo_inputs(kind))
    session = onnxruntime.InferenceSession(zoo_artifact(kind, "onnx"),
                                           providers=["CPUExecutionProvider"])
    feed = inputs if isinstance(inputs, dict) else {session.get_inputs()[0].name: inputs}
    (result,) = session.run(None, feed)
    np.testing.assert_allclose(result, expected, atol=ATOL, rtol=0)


@pytest.mark.parametrize("kind", KINDS)
def test_torch_artifact_matches_lamina_after_torch_export_load(zoo_models, zoo_artifact,
                                                               zoo_inputs, kind):
    _, tensors, expected = _expected(zoo_models[kind], zoo_inputs(kind))
    program = torch.export.load(zoo_artifact(kind, "torch")).module()
    np.testing.assert_allclose(program(tensors).detach().numpy(), expected, atol=ATOL, rtol=0)


def test_onnx_artifact_names_inputs_and_outputs_and_keeps_the_batch_free(zoo_artifact):
    session = onnxruntime.InferenceSession(zoo_artifact("attention", "onnx"),
                                           providers=["CPUExecutionProvider"])
    inputs = {i.name: i.shape for i in session.get_inputs()}
    assert set(inputs) == {"sequence", "extra"}
    assert inputs == {"sequence": ["batch", 4, 8], "extra": ["batch", 3]}  # one shared axis
    assert [(o.name, o.shape) for o in session.get_outputs()] == [("out", ["batch", 3])]


_WITHOUT_LAMINA = """
import sys, json
sys.modules["lamina"] = None  # any import of lamina now fails
import numpy as np, torch
program = torch.export.load(sys.argv[1]).module()
x = torch.from_numpy(np.load(sys.argv[2]))
print(json.dumps(program(x).detach().tolist()))
"""


def test_torch_artifact_loads_and_runs_where_lamina_cannot_be_imported(
        zoo_models, zoo_artifact, zoo_inputs, tmp_path):
    inputs, _, expected = _expected(zoo_models["image"], zoo_inputs("image"))
    np.save(tmp_path / "x.npy", inputs)
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_LAMINA, zoo_artifact("image", "torch"),
         str(tmp_path / "x.npy")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONWARNINGS": "ignore"}, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = np.array(json.loads(done.stdout.strip().splitlines()[-1]), dtype=np.float32)
    np.testing.assert_allclose(result, expected, atol=ATOL, rtol=0)


# NOTE: not "sequence": ExecuTorch 1.5.1's lowering pins a masked RNN's batch axis to the
# trace size, 2 (its argument validator guards on it; model.export warns); unmasked RNNs
# run at any batch. Not "tabular": see test_executorch_names_the_layer_...
@pytest.mark.parametrize("kind", ["attention", "image"])
def test_executorch_artifact_matches_lamina_in_the_executorch_runtime(zoo_models, zoo_artifact,
                                                                      zoo_inputs, kind):
    runtime = pytest.importorskip("executorch.runtime")
    _, tensors, expected = _expected(zoo_models[kind], zoo_inputs(kind))
    program = runtime.Runtime.get().load_program(zoo_artifact(kind, "executorch"))
    # The runtime takes the inputs flat, in the order torch's pytree flattens them.
    flat = torch.utils._pytree.tree_leaves(tensors)
    (result,) = program.load_method("forward").execute(flat)
    np.testing.assert_allclose(result.numpy(), expected, atol=ATOL, rtol=0)


def test_executorch_says_when_its_lowering_narrows_the_batch_axis(tmp_path):
    # torch 2.13's conv shape function guards on `batch < 16` while ExecuTorch lowers: the
    # program takes at most 15 samples, whatever `max_batch_size` asked for.
    runtime = pytest.importorskip("executorch.runtime")
    inputs = lamina.Input((6, 6, 1))
    model = lamina.Model(inputs, layers.Conv2D(2, 3)(inputs))
    with pytest.warns(UserWarning, match=r"accepts batches of at most 15 samples, not 32"):
        model.export(str(tmp_path / "m.pte"), format="executorch", verbose=False)
    method = runtime.Runtime.get().load_program(str(tmp_path / "m.pte")).load_method("forward")
    x = torch.randn(15, 6, 6, 1)
    np.testing.assert_allclose(method.execute([x])[0].numpy(), model(x).detach().numpy(),
                               atol=ATOL, rtol=0)
    with pytest.raises(RuntimeError, match="set_inputs"):
        method.execute([torch.randn(16, 6, 6, 1)])


def test_executorch_names_the_layer_whose_op_it_has_no_kernel_for(zoo_models, tmp_path):
    pytest.importorskip("executorch.runtime")
    with pytest.raises(RuntimeError, match=r"Could not convert the traced model to ExecuTorch "
                                           r"in layer 'discretization' \(Discretization\): "
                                           r"no ExecuTorch translation for the op "
                                           r"aten\.bucketize"):
        zoo_models["tabular"].export(str(tmp_path / "m.pte"), format="executorch")
    assert not (tmp_path / "m.pte").exists()
