"""TensorBoard: event files read back with tensorboard's EventAccumulator, checked
against `History`. The tag names are those Keras 3.15.1 (torch backend, TensorFlow's
summary writer) wrote for the same runs."""

import glob
import json
import os
import pathlib
import subprocess
import sys
from collections.abc import Mapping

import numpy as np
import pytest
import torch

pytest.importorskip("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import (  # noqa: E402
    EventAccumulator,
)
from tensorboard.util import tensor_util  # noqa: E402

import lamina as keras  # noqa: E402
from lamina.callbacks import TensorBoard  # noqa: E402
from lamina.trainers import step as step_functions  # noqa: E402


def _events(run_dir):
    accumulator = EventAccumulator(
        str(run_dir), size_guidance={"tensors": 0, "histograms": 0, "images": 0}
    )
    accumulator.Reload()
    return accumulator


def _scalars(run_dir):
    """{tag: [(step, value), ...]} of the scalar summaries of one run."""
    events = _events(run_dir)
    scalars = {}
    for tag in events.Tags()["tensors"]:
        if events.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            continue
        scalars[tag] = [
            (e.step, float(tensor_util.make_ndarray(e.tensor_proto))) for e in events.Tensors(tag)
        ]
    return scalars


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


def _functional():
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, name="hidden")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    return model


def _fit(model, callback, epochs=2, **kwargs):
    x, y = _data()
    return model.fit(x, y, batch_size=10, epochs=epochs, validation_split=0.25,
                     callbacks=[callback], verbose=0, **kwargs)


def _values(pairs):
    return [value for _, value in pairs]


def test_tensorboard_writes_epoch_logs_as_keras_tags_matching_history(tmp_path):
    model = _functional()
    history = _fit(model, TensorBoard(tmp_path)).history
    assert sorted(os.listdir(tmp_path)) == ["train", "validation"]

    train = _scalars(tmp_path / "train")
    assert list(train) == ["epoch_loss", "epoch_mae", "epoch_learning_rate"]
    np.testing.assert_allclose(_values(train["epoch_loss"]), history["loss"], rtol=1e-6)
    np.testing.assert_allclose(_values(train["epoch_mae"]), history["mae"], rtol=1e-6)
    assert train["epoch_learning_rate"] == [(0, pytest.approx(0.01)), (1, pytest.approx(0.01))]
    assert [step for step, _ in train["epoch_loss"]] == [0, 1]

    validation = _scalars(tmp_path / "validation")
    assert sorted(validation) == ["epoch_loss", "epoch_mae", "evaluation_loss_vs_iterations",
                                  "evaluation_mae_vs_iterations"]
    np.testing.assert_allclose(_values(validation["epoch_loss"]), history["val_loss"], rtol=1e-6)
    np.testing.assert_allclose(_values(validation["epoch_mae"]), history["val_mae"], rtol=1e-6)
    # Validation is also written against the optimizer's step count (3 batches an epoch).
    evaluation = validation["evaluation_loss_vs_iterations"]
    assert [step for step, _ in evaluation] == [3, 6]
    np.testing.assert_allclose(_values(evaluation), history["val_loss"], rtol=1e-6)


def test_tensorboard_writes_model_config_and_traced_graph(tmp_path):
    model = _functional()
    _fit(model, TensorBoard(tmp_path), epochs=1)
    events = _events(tmp_path / "train")
    assert events.Tags()["graph"]
    config = events.Tensors("keras")
    assert [e.step for e in config] == [0]
    assert events.SummaryMetadata("keras").plugin_data.plugin_name == "graph_keras_model"
    text = tensor_util.make_ndarray(config[0].tensor_proto)[0].decode()
    assert json.loads(text)["class_name"] == "Functional"
    node_ops = {node.op for node in events.Graph().node}
    assert "aten::linear" in node_ops or "aten::addmm" in node_ops


def test_tensorboard_traces_a_jit_compiled_model(tmp_path, monkeypatch):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", "eager")  # Dynamo tracing, no C compiler
    model = _functional()
    model.compile(optimizer="sgd", loss="mse", jit_compile=True)
    _fit(model, TensorBoard(tmp_path), epochs=1)
    assert _events(tmp_path / "train").Tags()["graph"]
    assert model.__dict__.get("_compiled_call_impl") is not None  # still compiled after


def test_tensorboard_write_graph_false_writes_no_graph(tmp_path):
    _fit(_functional(), TensorBoard(tmp_path, write_graph=False), epochs=1)
    events = _events(tmp_path / "train")
    assert not events.Tags()["graph"]
    assert "keras" not in events.Tags()["tensors"]


def test_tensorboard_traces_subclassed_model_once_built(tmp_path):
    class TwoLayers(keras.Model):
        def __init__(self):
            super().__init__()
            self.first = keras.layers.Dense(3)
            self.second = keras.layers.Dense(1)

        def call(self, x):
            return self.second(self.first(x))

    model = TwoLayers()
    model.compile(optimizer="sgd", loss="mse")
    _fit(model, TensorBoard(tmp_path), epochs=1)
    events = _events(tmp_path / "train")
    assert events.Tags()["graph"]
    assert "keras" not in events.Tags()["tensors"]  # Keras writes configs of graph models only


def test_tensorboard_warns_and_trains_on_when_the_graph_cannot_be_traced(tmp_path, monkeypatch):
    from torch.utils.tensorboard import SummaryWriter

    def fail(*args, **kwargs):
        raise RuntimeError("data-dependent control flow")

    monkeypatch.setattr(SummaryWriter, "add_graph", fail)
    with pytest.warns(UserWarning, match="could not trace the graph of model .*write_graph=False"):
        history = _fit(_functional(), TensorBoard(tmp_path), epochs=1)
    assert len(history.history["loss"]) == 1
    assert "epoch_loss" in _scalars(tmp_path / "train")


@pytest.mark.parametrize("update_freq, steps", [(2, [2, 4, 6]), ("batch", [1, 2, 3, 4, 5, 6])])
def test_tensorboard_writes_batch_logs_every_update_freq_batches(tmp_path, update_freq, steps):
    history = _fit(_functional(), TensorBoard(tmp_path, update_freq=update_freq)).history
    train = _scalars(tmp_path / "train")
    assert [step for step, _ in train["batch_loss"]] == steps
    assert [step for step, _ in train["batch_mae"]] == steps
    # A batch log is the running mean over the epoch: the last one is the epoch's.
    assert train["batch_loss"][-1][1] == pytest.approx(history["loss"][-1], rel=1e-6)
    # Epoch summaries are written every epoch whatever update_freq says.
    assert [step for step, _ in train["epoch_loss"]] == [0, 1]
    assert "batch_loss" not in _scalars(tmp_path / "validation")


class _CountingLogs(Mapping):
    """Batch logs that count how often their values are read."""

    def __init__(self):
        self.reads = 0

    def __getitem__(self, key):
        self.reads += 1
        return torch.tensor(0.5)

    def __iter__(self):
        return iter(["loss"])

    def __len__(self):
        return 1


@pytest.mark.parametrize("update_freq, reads", [("epoch", 0), (3, 2)])
def test_tensorboard_reads_batch_logs_only_on_written_batches(tmp_path, update_freq, reads):
    callback = TensorBoard(tmp_path, update_freq=update_freq, write_graph=False)
    callback.set_model(_functional())
    callback.on_train_begin()
    logs = _CountingLogs()
    for batch in range(6):
        callback.on_train_batch_begin(batch)
        callback.on_train_batch_end(batch, logs)
    callback.on_train_end()
    assert logs.reads == reads


def test_tensorboard_writes_steps_per_second_when_asked(tmp_path):
    _fit(_functional(), TensorBoard(tmp_path, write_steps_per_second=True, update_freq=3))
    train = _scalars(tmp_path / "train")
    assert [step for step, _ in train["epoch_steps_per_second"]] == [0, 1]
    assert [step for step, _ in train["batch_steps_per_second"]] == [3, 6]
    assert all(value > 0 for value in _values(train["epoch_steps_per_second"]))
    _fit(_functional(), TensorBoard(tmp_path / "off"))
    assert "epoch_steps_per_second" not in _scalars(tmp_path / "off" / "train")


def test_tensorboard_histograms_and_images_use_weight_paths(tmp_path):
    model = _functional()
    _fit(model, TensorBoard(tmp_path, histogram_freq=2, write_images=True), epochs=3)
    events = _events(tmp_path / "train")
    paths = ["hidden/kernel", "hidden/bias", "dense/kernel", "dense/bias"]
    assert events.Tags()["histograms"] == [f"{path}/histogram" for path in paths]
    kernel = events.Histograms("hidden/kernel/histogram")
    assert [e.step for e in kernel] == [0, 2]  # epochs 0 and 2 of 0..2
    final = kernel[-1].histogram_value
    weights = model.get_layer("hidden").kernel.numpy()
    assert final.num == weights.size
    assert final.sum == pytest.approx(float(weights.sum()), abs=1e-5)
    # As Keras: kernels shown wider than tall, a bias as a column, no image of a 1-element bias.
    images = {tag: events.Images(tag)[-1] for tag in events.Tags()["images"]}
    assert sorted(images) == ["dense/kernel/image", "hidden/bias/image", "hidden/kernel/image"]
    assert (images["hidden/kernel/image"].height, images["hidden/kernel/image"].width) == (3, 4)
    assert (images["hidden/bias/image"].height, images["hidden/bias/image"].width) == (3, 1)


def test_tensorboard_profiles_the_requested_batches_with_torch_profiler(tmp_path):
    _fit(_functional(), TensorBoard(tmp_path, profile_batch=(2, 3), write_graph=False), epochs=1)
    traces = glob.glob(str(tmp_path / "train" / "*.pt.trace.json"))
    assert len(traces) == 1
    with open(traces[0]) as f:
        names = {event.get("name") for event in json.load(f)["traceEvents"]}
    assert {"ProfilerStep#2", "ProfilerStep#3"} <= names
    assert "ProfilerStep#1" not in names and "ProfilerStep#4" not in names


def test_tensorboard_profile_batch_zero_writes_no_trace(tmp_path):
    _fit(_functional(), TensorBoard(tmp_path, write_graph=False), epochs=1)
    assert not glob.glob(str(tmp_path / "train" / "*.pt.trace.json"))


def test_tensorboard_accepts_keras_profile_batch_forms():
    for profile_batch, batches in [("2,4", (2, 4)), ("3", (3, 3)), (5, (5, 5)), ([1, 3], (1, 3))]:
        callback = TensorBoard(profile_batch=profile_batch)
        assert (callback._start_batch, callback._stop_batch) == batches


def test_tensorboard_writes_embeddings_with_metadata_for_the_projector(tmp_path):
    model = keras.Sequential([keras.Input((2,), dtype="int32"),
                              keras.layers.Embedding(5, 3, name="words"),
                              keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    (tmp_path / "labels.tsv").write_text("a\nb\nc\nd\ne\n")
    callback = TensorBoard(tmp_path, embeddings_freq=1, write_graph=False,
                           embeddings_metadata={"words": "labels.tsv"})
    x = np.array([[0, 1], [2, 3], [4, 0], [1, 2]], "int32")
    model.fit(x, np.ones((4, 1), "float32"), epochs=1, callbacks=[callback], verbose=0)
    config = (tmp_path / "train" / "projector_config.pbtxt").read_text()
    assert "words" in config
    [tensors] = glob.glob(str(tmp_path / "train" / "*" / "words" / "tensors.tsv"))
    table = np.loadtxt(tensors, delimiter="\t")
    np.testing.assert_allclose(table, model.get_layer("words").embeddings.numpy(), rtol=1e-5)
    metadata = pathlib.Path(tensors).parent / "metadata.tsv"
    assert metadata.read_text().split() == ["a", "b", "c", "d", "e"]


def test_tensorboard_rejects_metadata_for_unknown_embedding_layers(tmp_path):
    callback = TensorBoard(tmp_path, embeddings_freq=1, embeddings_metadata={"nope": "x.tsv"})
    with pytest.raises(ValueError, match=r"not Embedding layers of model .*\['nope'\]"):
        callback.set_model(_functional())


def test_tensorboard_evaluate_writes_evaluation_against_optimizer_steps(tmp_path):
    model = _functional()
    x, y = _data()
    model.fit(x, y, batch_size=10, epochs=1, verbose=0)  # 4 optimizer steps
    result = model.evaluate(x, y, callbacks=[TensorBoard(tmp_path, write_graph=False)],
                            verbose=0, return_dict=True)
    validation = _scalars(tmp_path / "validation")
    assert validation["evaluation_loss_vs_iterations"] == [(4, pytest.approx(result["loss"]))]


def test_tensorboard_closes_its_writers_after_standalone_evaluate_and_predict(tmp_path):
    model = _functional()
    x, y = _data()
    callback = TensorBoard(tmp_path)
    model.evaluate(x, y, callbacks=[callback], verbose=0)
    assert callback._writers == {}
    model.predict(x, callbacks=[callback], verbose=0)
    assert callback._writers == {}
    assert "keras" in _events(tmp_path / "train").Tags()["tensors"]


@pytest.mark.parametrize("update_freq", ["sometimes", 0, -2, 1.5, True])
def test_tensorboard_rejects_bad_update_freq(update_freq):
    with pytest.raises(ValueError, match="`update_freq` must be 'epoch', 'batch' or a positive"):
        TensorBoard(update_freq=update_freq)


@pytest.mark.parametrize("profile_batch", [-1, (3, 2), (0, 2), "a,b", (1, 2, 3), 1.5])
def test_tensorboard_rejects_bad_profile_batch(profile_batch):
    with pytest.raises(ValueError, match="`profile_batch` must be a non-negative integer"):
        TensorBoard(profile_batch=profile_batch)


def test_tensorboard_rejects_bad_frequencies_and_metadata():
    with pytest.raises(ValueError, match="`histogram_freq` must be a non-negative integer"):
        TensorBoard(histogram_freq=-1)
    with pytest.raises(ValueError, match="`embeddings_freq` must be a non-negative integer"):
        TensorBoard(embeddings_freq="often")
    with pytest.raises(TypeError, match="`embeddings_metadata` must be a file path"):
        TensorBoard(embeddings_metadata=["labels.tsv"])


def test_tensorboard_unwritable_log_dir_raises_naming_it(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    model = _functional()
    with pytest.raises(OSError, match=r"cannot write event files under log_dir=.*a_file"):
        _fit(model, TensorBoard(blocker), epochs=1)


def test_tensorboard_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    with pytest.raises(ImportError, match=r"pip install lamina\[tensorboard\]"):
        TensorBoard()


def test_import_lamina_does_not_import_tensorboard():
    code = ("import sys, lamina, lamina.callbacks; lamina.callbacks.TensorBoard; "
            "assert 'tensorboard' not in sys.modules, 'tensorboard'; "
            "assert 'torch.utils.tensorboard' not in sys.modules, 'torch.utils.tensorboard'")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ,
                                                                  "OMP_NUM_THREADS": "1"})
