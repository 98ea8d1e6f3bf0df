"""`TensorBoard`: writes training logs, weight histograms, the model graph and profiles
for TensorBoard, through `torch.utils.tensorboard` (no TensorFlow needed)."""

import contextlib
import io
import os
import time
import warnings

import numpy as np
import torch

from lamina import tree
from lamina.backend import config as backend_config
from lamina.backend.dtypes import to_torch_dtype
from lamina.callbacks.callback import Callback, _as_float
from lamina.distribution.distribution_lib import is_chief
from lamina.layers.core.embedding import Embedding
from lamina.optimizers.optimizer import Optimizer
from lamina.trainers.logs import materialize_logs


def _summary_writer_class():
    # NOTE: imported here, not at module level, so that `import lamina` never pays for
    # tensorboard (it pulls in protobuf, grpc and numpy-heavy modules).
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError as error:
        raise ImportError(
            "lamina.callbacks.TensorBoard writes event files with `torch.utils.tensorboard`, "
            "which needs the `tensorboard` package. Install it with "
            "`pip install lamina[tensorboard]` (or `pip install tensorboard`). "
            f"Import error: {error}"
        ) from error
    return SummaryWriter


class _NullWriter:
    """What processes other than 0 of a distributed job write through: nothing."""

    def __getattr__(self, name):
        return self._ignore

    def _ignore(self, *args, **kwargs):
        return self


def _check_frequency(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"TensorBoard: `{name}` must be a non-negative integer (a number of epochs; "
            f"0 turns it off). Received: {name}={value!r}"
        )
    return value


def _check_update_freq(update_freq):
    if update_freq in ("epoch", "batch"):
        return 1 if update_freq == "batch" else "epoch"
    if isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1:
        raise ValueError(
            "TensorBoard: `update_freq` must be 'epoch', 'batch' or a positive integer "
            f"(write batch-level logs every N batches). Received: update_freq={update_freq!r}"
        )
    return update_freq


def _parse_profile_batch(profile_batch):
    """`(start, stop)`: 1-based global batch numbers to profile, `(0, 0)` for none."""
    value = profile_batch
    if isinstance(value, str):  # Keras' legacy "start,stop" or "start" form
        try:
            value = [int(part) for part in value.split(",")]
        except ValueError:
            value = None
        if value is not None and len(value) == 1:
            value = value[0]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value, value
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            and 0 < value[0] <= value[1]):
        return tuple(value)
    raise ValueError(
        "TensorBoard: `profile_batch` must be a non-negative integer (the batch to profile, "
        "0 for none) or a pair of positive integers (start, stop) with start <= stop, "
        f"counting batches from 1. Received: profile_batch={profile_batch!r}"
    )


def _check_embeddings_metadata(metadata):
    if metadata is None or isinstance(metadata, (str, os.PathLike, dict)):
        return metadata
    raise TypeError(
        "TensorBoard: `embeddings_metadata` must be a file path (used for every Embedding "
        "layer), a dict mapping Embedding layer names to file paths, or None. "
        f"Received: {metadata!r} of type {type(metadata).__name__}"
    )


def _scalar(value):
    """A float for a one-element number, array or tensor; None for anything else."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if value is None or isinstance(value, (str, bytes)):
        return None
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(array.reshape(())) if array.size == 1 else None


def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in value
    )


def _zeros_for_shapes(shapes, dtype, device):
    """Zero tensors shaped as a (nested) build shape; unknown dimensions become 1."""
    if _is_shape(shapes):
        return torch.zeros([1 if d is None else d for d in shapes], dtype=dtype, device=device)
    if isinstance(shapes, dict):
        return {key: _zeros_for_shapes(value, dtype, device) for key, value in shapes.items()}
    return type(shapes)(_zeros_for_shapes(value, dtype, device) for value in shapes)


def _sample_inputs(model):
    """Zero inputs the model accepts (from its symbolic inputs or build shape), or None."""
    parameter = next(iter(model.parameters()), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    try:
        specs = model.input
    except (AttributeError, ValueError):
        specs = None
    if specs is not None:
        return tree.map_structure(
            lambda spec: _zeros_for_shapes(tuple(spec.shape), to_torch_dtype(spec.dtype), device),
            specs,
        )
    build_config = model.get_build_config() if hasattr(model, "get_build_config") else None
    shapes = (build_config or {}).get("input_shape")
    if shapes is None:
        return None
    return _zeros_for_shapes(shapes, to_torch_dtype(backend_config.floatx()), device)


@contextlib.contextmanager
def _without_torch_compile(model):
    """The model's plain forward for the duration: jit tracing refuses a module that
    `torch.compile` wraps (`compile(jit_compile=True)`), and the graph is the same."""
    compiled = model.__dict__.get("_compiled_call_impl")
    if compiled is not None:
        model.__dict__["_compiled_call_impl"] = None
    try:
        yield
    finally:
        if compiled is not None:
            model.__dict__["_compiled_call_impl"] = compiled


def _weight_image(values):
    """A weight laid out as NHWC images the way Keras shows it, or None if it has no such view."""
    image = values.squeeze()
    if image.ndim == 1:  # a bias: one column
        image = image.reshape(1, image.shape[0], 1, 1)
    elif image.ndim == 2:  # a dense kernel, wider than tall
        if image.shape[0] > image.shape[1]:
            image = image.T
        image = image.reshape(1, image.shape[0], image.shape[1], 1)
    elif image.ndim == 3:  # a 1D conv kernel: one image per output channel
        if backend_config.image_data_format() == "channels_last":
            image = image.permute(2, 0, 1)
        image = image.reshape(*image.shape, 1)
    if image.ndim == 4 and image.shape[-1] in (1, 3, 4):
        return image.numpy()
    return None


def _read_projector_metadata(path, layer_name):
    """Labels (and a header for multi-column files) of a projector metadata TSV file."""
    try:
        with open(path, encoding="utf-8") as f:
            rows = f.read().splitlines()
    except OSError as error:
        raise OSError(
            f"TensorBoard: cannot read the embeddings metadata of Embedding layer "
            f"'{layer_name}' from {path!r}: {error}"
        ) from error
    while rows and not rows[-1]:
        rows.pop()
    if rows and "\t" in rows[0]:  # the projector's convention: several columns = a header
        return [row.split("\t") for row in rows[1:]], rows[0].split("\t")
    return rows, None


class TensorBoard(Callback):
    """Writes logs for TensorBoard: metrics, weight histograms, the graph and profiles.

    Event files go to `log_dir/train` and `log_dir/validation` (see them with
    `tensorboard --logdir log_dir`). Per epoch, the training logs are written as
    `epoch_<name>` (with `epoch_learning_rate`) to `train` and the `val_` logs as
    `epoch_<name>` to `validation`; each validation also writes
    `evaluation_<name>_vs_iterations` against the optimizer's step count. Metric
    values are read only where they are written: at epoch end, and every
    `update_freq` batches when that is a number. Writing needs the `tensorboard`
    package (`pip install lamina[tensorboard]`), not TensorFlow.

    Args:
        log_dir: the directory of the event files.
        histogram_freq: write a histogram of every weight (`<weight path>/histogram`)
            every this many epochs; 0 never.
        write_graph: write the model's config (Functional and Sequential models) and
            its traced torch graph, from zero inputs shaped as the model's inputs.
        write_images: with `histogram_freq`, also write weights as images
            (`<weight path>/image`).
        write_steps_per_second: also write the training speed, `epoch_steps_per_second`
            (and `batch_steps_per_second` with batch-level logs).
        update_freq: `"epoch"`, `"batch"` or an integer N: also write the running
            training logs as `batch_<name>` every N batches (`"batch"` is 1). Batch
            numbers count from 1 across epochs.
        profile_batch: profile this batch (an integer), or the batches from `start` to
            `stop` (a pair), with `torch.profiler`; the trace goes to `log_dir/train`
            for TensorBoard's PyTorch profiler plugin. 0 turns profiling off.
        embeddings_freq: write the tables of the model's `Embedding` layers for the
            projector every this many epochs; 0 never.
        embeddings_metadata: a TSV file of labels for the embeddings' rows (relative
            to `log_dir` unless absolute), or a dict from Embedding layer name to one.

    >>> import os, tempfile
    >>> import numpy as np
    >>> import lamina as keras
    >>> log_dir = tempfile.mkdtemp()
    >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    >>> model.compile(optimizer="sgd", loss="mse")
    >>> history = model.fit(np.ones((8, 3)), np.ones((8, 1)), validation_split=0.25,
    ...                     callbacks=[TensorBoard(log_dir)], verbose=0)
    >>> sorted(os.listdir(log_dir))
    ['train', 'validation']
    """

    # Batch logs are read (one device-to-host copy) only on the batches that are written.
    _accepts_tensor_logs = True

    def __init__(
        self,
        log_dir="logs",
        histogram_freq=0,
        write_graph=True,
        write_images=False,
        write_steps_per_second=False,
        update_freq="epoch",
        profile_batch=0,
        embeddings_freq=0,
        embeddings_metadata=None,
    ):
        super().__init__()
        self._summary_writer = _summary_writer_class()
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = _check_frequency("histogram_freq", histogram_freq)
        self.write_graph = write_graph
        self.write_images = write_images
        self.write_steps_per_second = write_steps_per_second
        self.update_freq = _check_update_freq(update_freq)
        self.embeddings_freq = _check_frequency("embeddings_freq", embeddings_freq)
        self.embeddings_metadata = _check_embeddings_metadata(embeddings_metadata)
        self._start_batch, self._stop_batch = _parse_profile_batch(profile_batch)
        self._train_dir = os.path.join(self.log_dir, "train")
        self._val_dir = os.path.join(self.log_dir, "validation")
        self._writers = {}
        self._global_train_batch = 0
        self._in_fit = False
        self._batch_start_time = 0.0
        self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0
        self._graph_pending = False
        self._embedding_layers = []
        self._profiler = None
        self._batch_trace = None

    # -- writers -------------------------------------------------------------------------
    def _writer(self, run):
        """The `SummaryWriter` of `run` ("train" or "validation"), created on first use."""
        writer = self._writers.get(run)
        if writer is None and not is_chief():
            writer = self._writers[run] = _NullWriter()  # process 0 writes
        if writer is None:
            directory = self._train_dir if run == "train" else self._val_dir
            try:
                # NOTE: made here so an unwritable log_dir raises OSError even when
                # SummaryWriter writes through TensorFlow's file system (its errors are not).
                os.makedirs(directory, exist_ok=True)
                writer = self._summary_writer(directory)
            except OSError as error:
                raise OSError(
                    f"TensorBoard cannot write event files under log_dir={self.log_dir!r} "
                    f"({error}). Pass a writable directory as `log_dir`."
                ) from error
            self._writers[run] = writer
        return writer

    def _close_writers(self):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _write_scalars(self, run, prefix, suffix, logs, step):
        writer = None
        for name, value in logs.items():
            value = _scalar(value)
            if value is None:
                continue  # vector-valued metrics and non-numbers have no scalar plot
            writer = writer or self._writer(run)
            writer.add_scalar(f"{prefix}{name}{suffix}", value, step, new_style=True)

    # -- hooks ---------------------------------------------------------------------------
    def set_model(self, model):
        super().set_model(model)
        self._close_writers()
        self._graph_pending = bool(self.write_graph)
        if self.write_graph:
            self._write_model_config()
        if self.embeddings_freq:
            self._embedding_layers = self._find_embedding_layers()

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._global_train_batch = 0
        self._writer("train")
        if self._graph_pending and getattr(self.model, "built", False):
            self._write_graph(final=False)

    def on_train_end(self, logs=None):
        self._in_fit = False
        if self._profiler is not None:
            self._stop_profiler()
        self._close_writers()

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_iterations = self._iterations()
            self._epoch_start_time = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        train_logs = {k: v for k, v in logs.items() if not k.startswith("val_")}
        val_logs = {k[len("val_"):]: v for k, v in logs.items() if k.startswith("val_")}
        if logs:  # as Keras: nothing at all for an empty epoch
            train_logs.update(self._learning_rates())
            if self.write_steps_per_second:
                elapsed = time.perf_counter() - self._epoch_start_time
                steps = self._iterations() - self._epoch_start_iterations
                train_logs["steps_per_second"] = steps / elapsed if elapsed > 0 else 0.0
        self._write_scalars("train", "epoch_", "", train_logs, epoch)
        self._write_scalars("validation", "epoch_", "", val_logs, epoch)
        if self._graph_pending:  # a subclassed model is built by its first batch
            self._write_graph(final=True)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            self._write_weights(epoch)
        if self.embeddings_freq and epoch % self.embeddings_freq == 0:
            self._write_embeddings(epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_end(self, logs=None):
        optimizer = getattr(self.model, "optimizer", None)
        if logs and optimizer is not None and hasattr(optimizer, "iterations"):
            step = self._iterations()
            self._write_scalars("validation", "evaluation_", "_vs_iterations", logs, step)
        if not self._in_fit:  # a standalone `evaluate`: no on_train_end will close them
            self._close_writers()

    def on_predict_end(self, logs=None):
        if not self._in_fit:  # `set_model` may have opened the train writer (write_graph)
            self._close_writers()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second and self._batch_is_written():
            self._batch_start_time = time.perf_counter()
        if self._start_batch and self._global_train_batch == self._start_batch:
            self._start_profiler()
        if self._profiler is not None:
            # NOTE: "ProfilerStep#N" is the name TensorBoard's PyTorch profiler plugin
            # reads step boundaries from (`torch.profiler.profile.step` uses it too).
            self._batch_trace = torch.profiler.record_function(
                f"ProfilerStep#{self._global_train_batch}"
            )
            self._batch_trace.__enter__()

    def on_train_batch_end(self, batch, logs=None):
        if self._batch_is_written():
            values = materialize_logs(logs)  # one device-to-host copy, on written batches only
            if self.write_steps_per_second:
                elapsed = time.perf_counter() - self._batch_start_time
                values["steps_per_second"] = 1.0 / elapsed if elapsed > 0 else 0.0
            self._write_scalars("train", "batch_", "", values, self._global_train_batch)
        if self._batch_trace is not None:
            self._batch_trace.__exit__(None, None, None)
            self._batch_trace = None
        if self._profiler is not None and self._global_train_batch >= self._stop_batch:
            self._stop_profiler()

    # -- pieces --------------------------------------------------------------------------
    def _batch_is_written(self):
        return self.update_freq != "epoch" and self._global_train_batch % self.update_freq == 0

    def _iterations(self):
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if iterations is None:
            return self._global_train_batch
        return int(_as_float(iterations))

    def _learning_rates(self):
        optimizer = getattr(self.model, "optimizer", None)
        optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # LossScaleOptimizer
        if hasattr(optimizer, "optimizers"):
            return {
                f"learning_rate_{inner.name}": _as_float(inner.learning_rate)
                for inner in optimizer.optimizers
            }
        if isinstance(optimizer, Optimizer):
            return {"learning_rate": _as_float(optimizer.learning_rate)}
        return {}

    def _write_model_config(self):
        """The model's JSON config under the tag `keras`, for TensorBoard's graph plugin."""
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return
        from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto

        try:
            config = self.model.to_json().encode("utf-8")
        except (TypeError, ValueError, NotImplementedError) as error:
            warnings.warn(
                f"TensorBoard: the config of model '{self.model.name}' is not serializable "
                f"({error}); its conceptual graph is not written.",
                stacklevel=3,
            )
            return
        metadata = SummaryMetadata(
            plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model", content=b"1"),
            data_class=3,  # DATA_CLASS_BLOB_SEQUENCE, as Keras writes it
        )
        tensor = TensorProto(
            dtype=7,  # DT_STRING
            tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
            string_val=[config],
        )
        summary = Summary(value=[Summary.Value(tag="keras", tensor=tensor, metadata=metadata)])
        # NOTE: SummaryWriter has no public method for a prebuilt Summary; its own
        # add_custom_scalars goes through the same file writer.
        self._writer("train")._get_file_writer().add_summary(summary, global_step=0)

    def _write_graph(self, final):
        """Trace the model on zero inputs with `SummaryWriter.add_graph`."""
        sample = _sample_inputs(self.model)
        if sample is None and not final:
            return
        self._graph_pending = False
        reason = "its input shape is unknown (it was never built)"
        if sample is not None:
            try:
                # NOTE: tracing prints its errors and warns (deprecations, Python
                # booleans from tensors); neither is the user's business here.
                with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                    warnings.simplefilter("ignore")
                    with torch.no_grad(), _without_torch_compile(self.model):
                        self._writer("train").add_graph(
                            self.model, (sample,), use_strict_trace=False
                        )
                return
            except Exception as error:  # tracing can fail in any op; the run must go on
                reason = f"{type(error).__name__}: {error}"
        warnings.warn(
            f"TensorBoard: could not trace the graph of model '{self.model.name}' "
            f"({reason}); no graph is written. Pass `write_graph=False` to skip it.",
            stacklevel=3,
        )

    def _write_weights(self, epoch):
        writer = self._writer("train")
        for layer in self.model.layers:
            for weight in layer.weights:
                if weight.numel() == 0:
                    continue
                name = weight.path.replace(":", "_")
                values = weight.detach().float().cpu()
                writer.add_histogram(f"{name}/histogram", values, global_step=epoch)
                if self.write_images:
                    image = _weight_image(values)
                    if image is None:
                        continue
                    if image.shape[-1] == 4:  # the grid writer takes 1 or 3 channels
                        writer.add_image(f"{name}/image", image[0], epoch, dataformats="HWC")
                    else:
                        writer.add_images(f"{name}/image", image, epoch, dataformats="NHWC")

    def _find_embedding_layers(self):
        layers = [layer for layer in self.model.layers if isinstance(layer, Embedding)]
        if isinstance(self.embeddings_metadata, dict):
            unknown = sorted(set(self.embeddings_metadata) - {layer.name for layer in layers})
            if unknown:
                raise ValueError(
                    f"TensorBoard: `embeddings_metadata` names layers that are not Embedding "
                    f"layers of model '{self.model.name}': {unknown}. Embedding layers: "
                    f"{[layer.name for layer in layers]}"
                )
        return layers

    def _metadata_path(self, layer):
        metadata = self.embeddings_metadata
        if isinstance(metadata, dict):
            metadata = metadata.get(layer.name)
        if metadata is None:
            return None
        return os.path.join(self.log_dir, os.fspath(metadata))  # absolute paths stay as-is

    def _write_embeddings(self, epoch):
        writer = self._writer("train")
        for layer in self._embedding_layers:
            table = layer.embeddings.detach().float().cpu()
            labels = header = None
            path = self._metadata_path(layer)
            if path is not None:
                labels, header = _read_projector_metadata(path, layer.name)
                if len(labels) != table.shape[0]:
                    raise ValueError(
                        f"TensorBoard: the embeddings metadata {path!r} of Embedding layer "
                        f"'{layer.name}' has {len(labels)} rows of labels; the layer has "
                        f"{table.shape[0]} embeddings (input_dim). Give one label per row."
                    )
            writer.add_embedding(table, metadata=labels, metadata_header=header,
                                 global_step=epoch, tag=layer.name)

    def _start_profiler(self):
        if not is_chief():
            return  # process 0 profiles
        activities = [torch.profiler.ProfilerActivity.CPU]
        if torch.cuda.is_available():
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        profiler = torch.profiler.profile(
            activities=activities,
            on_trace_ready=torch.profiler.tensorboard_trace_handler(self._train_dir),
        )
        try:
            profiler.start()
        except RuntimeError as error:  # e.g. another profiler is running: not fatal
            warnings.warn(f"TensorBoard: could not start the profiler ({error}).", stacklevel=3)
            return
        self._profiler = profiler

    def _stop_profiler(self):
        profiler, self._profiler = self._profiler, None
        if self._batch_trace is not None:
            self._batch_trace.__exit__(None, None, None)
            self._batch_trace = None
        profiler.stop()  # the trace handler writes the trace file
