"""`Model.export`'s contract: formats, file names, signatures, and errors that teach.

Runtime numerics of every layer family are in test_export.py; these use the fast
`format="torch"` path and tiny models.
"""

import warnings

import numpy as np
import pytest
import torch

import lamina
from lamina import layers


def _mlp():
    return lamina.Sequential([lamina.Input((4,)), layers.Dense(3)])


@pytest.mark.parametrize("format", ["tf_saved_model", "litert"])
def test_tensorflow_formats_say_they_need_tensorflow_and_what_to_use(format, tmp_path):
    with pytest.raises(ValueError, match=rf"format='{format}' is not available in lamina.*"
                                         r"format='(onnx|executorch)'"):
        _mlp().export(str(tmp_path / "m"), format=format)


def test_default_format_is_keras_tf_saved_model_and_explains_itself(tmp_path):
    with pytest.raises(ValueError, match="TensorFlow SavedModel needs TensorFlow"):
        _mlp().export(str(tmp_path / "m"))


def test_unknown_format_lists_the_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r"Unrecognized format='tflite'.*'onnx', 'torch'"):
        _mlp().export(str(tmp_path / "m"), format="tflite")


def test_torch_format_needs_a_pt2_file_name(tmp_path):
    with pytest.raises(ValueError, match=r"must end with '\.pt2'"):
        _mlp().export(str(tmp_path / "m.pt"), format="torch")


def test_unknown_keyword_arguments_are_refused_with_the_supported_list(tmp_path):
    with pytest.raises(ValueError, match=r"Unsupported arguments for `format='torch'`: "
                                         r"opset_version.*strict"):
        _mlp().export(str(tmp_path / "m.pt2"), format="torch", opset_version=18)


def test_export_prints_where_it_saved_unless_verbose_is_false(tmp_path, capsys):
    _mlp().export(str(tmp_path / "a.pt2"), format="torch")
    assert f"Saved artifact at '{tmp_path / 'a.pt2'}'." in capsys.readouterr().out
    _mlp().export(str(tmp_path / "b.pt2"), format="torch", verbose=False)
    assert capsys.readouterr().out == ""


def test_export_leaves_training_mode_and_weights_as_they_were(tmp_path):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(8), layers.Dropout(0.5),
                               layers.BatchNormalization()])
    model.train()
    before = [w.detach().clone() for w in model.weights]
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False)
    assert all(m.training for m in model.modules())
    assert all(torch.equal(a, b) for a, b in zip(before, model.weights))
    # The artifact is the inference call: Dropout off, moving statistics used.
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    x = torch.randn(6, 4)
    torch.testing.assert_close(program(x), model(x, training=False))


def test_subclassed_model_signature_comes_from_its_build_shape(tmp_path):
    class Net(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = layers.Dense(5, activation="relu")
            self.out = layers.Dense(2)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = Net()
    model(np.ones((3, 4), "float32"))
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False)
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    x = torch.randn(7, 4)
    torch.testing.assert_close(program(x), model(x))


def test_unbuilt_model_asks_for_a_build_or_a_signature(tmp_path):
    model = lamina.Sequential([layers.Dense(3)])
    with pytest.raises(ValueError, match=r"has not been built yet.*input_signature"):
        model.export(str(tmp_path / "m.pt2"), format="torch")


@pytest.mark.parametrize("signature", [
    [lamina.InputSpec(shape=(None, 4), dtype="float32")],
    lamina.InputSpec(shape=(None, 4), dtype="float32"),
    [lamina.KerasTensor((None, 4))],
    [np.zeros((9, 4), "float32")],
    [torch.zeros(9, 4)],
], ids=["input_spec_list", "bare_input_spec", "keras_tensor", "numpy", "tensor"])
def test_input_signature_accepts_what_keras_accepts_with_a_free_batch(signature, tmp_path):
    model = lamina.Sequential([layers.Dense(3)])
    model.build((None, 4))
    model.export(str(tmp_path / "m.pt2"), format="torch", input_signature=signature,
                 verbose=False)
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    assert program(torch.ones(11, 4)).shape == (11, 3)


def test_input_signature_rejects_specs_without_shape_or_dtype(tmp_path):
    with pytest.raises(ValueError, match="needs a `shape` and a `dtype`"):
        _mlp().export(str(tmp_path / "m.pt2"), format="torch",
                      input_signature=[lamina.InputSpec(ndim=2)])
    with pytest.raises(TypeError, match=r"Unsupported entry in `input_signature`: 123"):
        _mlp().export(str(tmp_path / "m.pt2"), format="torch", input_signature=[123])


def test_static_input_signature_gives_a_static_artifact(tmp_path):
    _mlp().export(str(tmp_path / "m.pt2"), format="torch", verbose=False,
                  input_signature=[lamina.InputSpec(shape=(3, 4), dtype="float32")])
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    assert program(torch.ones(3, 4)).shape == (3, 3)
    with pytest.raises(Exception, match=r"3"):
        program(torch.ones(5, 4))


def test_multi_input_functional_takes_a_flat_list_signature_too(tmp_path):
    a, b = lamina.Input((2,), name="a"), lamina.Input((3,), name="b")
    model = lamina.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False,
                 input_signature=[lamina.InputSpec(shape=(None, 2), dtype="float32"),
                                  lamina.InputSpec(shape=(None, 3), dtype="float32")])
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    xa, xb = torch.randn(4, 2), torch.randn(4, 3)
    torch.testing.assert_close(program([xa, xb]), model([xa, xb]))


class _ValueDependent(layers.Layer):
    def call(self, inputs):
        if inputs.sum() > 0:  # a Python decision on a tensor's value
            return inputs
        return -inputs

    def compute_output_shape(self, input_shape):
        return input_shape


def test_untraceable_layer_is_named_in_the_error(tmp_path, capfd):
    model = lamina.Sequential([lamina.Input((4,)), layers.Dense(4),
                               _ValueDependent(name="gate"), layers.Dense(2)])
    with pytest.raises(RuntimeError, match=r"(?s)Could not export in layer 'gate' "
                                           r"\(_ValueDependent\).*no Python decisions") as info:
        model.export(str(tmp_path / "m.pt2"), format="torch")
    assert info.value.__cause__ is not None  # torch's own error stays attached
    assert "def forward" in info.value.__cause__.partial_fx_graph  # with its partial graph,
    assert "def forward" not in capfd.readouterr().err  # which torch no longer prints
    assert not (tmp_path / "m.pt2").exists()


def test_free_time_axis_that_the_model_fixes_asks_for_a_static_signature(tmp_path):
    inputs = lamina.Input((None, 3))
    model = lamina.Model(inputs, layers.SimpleRNN(2, use_cudnn=False)(inputs))
    with pytest.raises(ValueError, match=r"axis 1 of input .* is free in the input "
                                         r"signature, but the model's code fixes it"):
        model.export(str(tmp_path / "m.pt2"), format="torch")
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False,
                 input_signature=[lamina.InputSpec(shape=(None, 6, 3), dtype="float32")])
    x = torch.randn(4, 6, 3)
    program = torch.export.load(str(tmp_path / "m.pt2")).module()
    torch.testing.assert_close(program(x), model(x))


class _Cholesky(layers.Layer):
    def call(self, inputs):
        gram = inputs[:, :, None] * inputs[:, None, :] + torch.eye(inputs.shape[-1])
        return torch.linalg.cholesky(gram).sum(-1)

    def compute_output_shape(self, input_shape):
        return input_shape


def test_op_without_onnx_translation_names_the_layer_and_the_op(tmp_path):
    pytest.importorskip("onnxscript")
    model = lamina.Sequential([lamina.Input((3,)), layers.Dense(3), _Cholesky(name="chol")])
    with pytest.raises(RuntimeError, match=r"Could not convert the traced model to ONNX in "
                                           r"layer 'chol' \(_Cholesky\): no ONNX translation "
                                           r"for the op aten\.linalg_cholesky"):
        model.export(str(tmp_path / "m.onnx"), format="onnx")
    assert not (tmp_path / "m.onnx").exists()
    model.export(str(tmp_path / "m.pt2"), format="torch", verbose=False)  # torch keeps it


def test_onnx_export_shows_users_no_notices_about_torch_internals(tmp_path, capfd):
    pytest.importorskip("onnxscript")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _mlp().export(str(tmp_path / "m.onnx"), format="onnx", verbose=False)
    assert [str(w.message) for w in caught] == []
    captured = capfd.readouterr()
    assert (captured.out, captured.err) == ("", "")
