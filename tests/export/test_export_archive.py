"""`ExportArchive`: Keras' track / add_endpoint / add_variable_collection / write_out,
written as one torch-loadable file per endpoint."""

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from lamina.export import ExportArchive

onnxruntime = pytest.importorskip("onnxruntime")


@pytest.fixture
def model():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(6, activation="relu"),
                              layers.BatchNormalization(), layers.Dense(2)])


def _spec(*shape):
    return [lamina.InputSpec(shape=shape, dtype="float32")]


def test_two_endpoints_and_a_variable_collection_round_trip(model, tmp_path):
    archive = ExportArchive()
    archive.track(model)
    serve = archive.add_endpoint("serve", model.call, _spec(None, 4))
    archive.add_endpoint("embed", lambda x: model.layers[0](x) * 2.0, _spec(None, 4))
    archive.add_variable_collection("my_vars", model.trainable_weights)
    archive.write_out(str(tmp_path / "archive"), verbose=False)

    x = torch.randn(5, 4)
    torch.testing.assert_close(serve(x), model(x))
    loaded = torch.export.load(str(tmp_path / "archive" / "serve.pt2")).module()
    torch.testing.assert_close(loaded(x), model(x))
    embed = torch.export.load(str(tmp_path / "archive" / "embed.pt2")).module()
    torch.testing.assert_close(embed(x), model.layers[0](x) * 2.0)
    saved = torch.load(str(tmp_path / "archive" / "variables.pt"), weights_only=True)
    assert [type(t) for t in saved["my_vars"]] == [torch.Tensor] * len(model.trainable_weights)
    for tensor, weight in zip(saved["my_vars"], model.trainable_weights):
        torch.testing.assert_close(tensor, weight.detach())


def test_track_and_add_endpoint_runs_inference_mode(model, tmp_path):
    archive = ExportArchive()
    archive.track_and_add_endpoint("serve", model, _spec(None, 4))
    archive.write_out(str(tmp_path / "a"), format="onnx", verbose=False)
    session = onnxruntime.InferenceSession(str(tmp_path / "a" / "serve.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    (result,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(result, model(x, training=False).detach().numpy(), atol=1e-5)


def test_write_out_prints_the_endpoints(model, tmp_path, capsys):
    archive = ExportArchive()
    archive.track_and_add_endpoint("serve", model, _spec(None, 4))
    archive.write_out(str(tmp_path / "a"))
    out = capsys.readouterr().out
    assert "Saved artifact at" in out and "* Endpoint 'serve.pt2': inputs (None, 4) float32" in out


def test_archive_errors_say_what_to_do(model, tmp_path):
    archive = ExportArchive()
    with pytest.raises(ValueError, match=r"No resource is tracked: call `track\(model\)`"):
        archive.add_endpoint("serve", model.call, _spec(None, 4))
    with pytest.raises(ValueError, match="Invalid resource type"):
        archive.track(lambda x: x)
    with pytest.raises(ValueError, match="has not yet been built"):
        archive.track(layers.Dense(2))
    archive.track(model)
    with pytest.raises(ValueError, match="must provide an `input_signature`"):
        archive.add_endpoint("serve", model.call)
    with pytest.raises(ValueError, match="No endpoints have been set yet"):
        archive.write_out(str(tmp_path / "a"))
    archive.add_endpoint("serve", model.call, _spec(None, 4))
    with pytest.raises(ValueError, match="Endpoint name 'serve' is already taken"):
        archive.add_endpoint("serve", model.call, _spec(None, 4))
    with pytest.raises(ValueError, match="list/tuple/set of Variables"):
        archive.add_variable_collection("v", model.weights[0])
    with pytest.raises(ValueError, match="needs TensorFlow"):
        archive.write_out(str(tmp_path / "a"), format="tf_saved_model")
    with pytest.raises(ValueError, match="`options` configures a TensorFlow SavedModel"):
        archive.write_out(str(tmp_path / "a"), options=object())


def test_executorch_archive_takes_a_batch_and_leaves_the_endpoint_as_it_was(model, tmp_path):
    runtime = pytest.importorskip("executorch.runtime")
    inputs = lamina.Input((5,), dtype="int32")
    masked = lamina.Model(inputs, layers.Dense(2)(layers.LSTM(3)(
        layers.Embedding(12, 4, mask_zero=True)(inputs))))
    archive = ExportArchive()
    archive.track_and_add_endpoint("serve", model, _spec(None, 4))
    archive.track_and_add_endpoint("tokens", masked,
                                   [lamina.InputSpec(shape=(None, 5), dtype="int32")])
    with pytest.warns(UserWarning, match="at most 2 samples"):  # the masked RNN, see below
        archive.write_out(str(tmp_path / "et"), format="executorch", verbose=False)
    x = torch.randn(5, 4)
    program = runtime.Runtime.get().load_program(str(tmp_path / "et" / "serve.pte"))
    (result,) = program.load_method("forward").execute([x])
    torch.testing.assert_close(result, model(x, training=False))
    # ExecuTorch's lowering pins a masked RNN's batch to the trace size; the archive's own
    # endpoint (written again below) keeps its free batch.
    archive.write_out(str(tmp_path / "pt"), verbose=False)
    tokens = torch.tensor([[1, 2, 3, 0, 0], [4, 5, 0, 0, 0], [6, 7, 8, 9, 10]] * 2)
    loaded = torch.export.load(str(tmp_path / "pt" / "tokens.pt2")).module()
    torch.testing.assert_close(loaded(tokens.int()), masked(tokens.int()))
