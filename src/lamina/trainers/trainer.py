"""`Trainer`: compile / fit / evaluate / predict and the overridable `*_step` methods.

A step runs forward, loss, backward, optimizer update and metric updates, all on the
device. Nothing in a step reads a value back to the host: metric results are tensors,
and per-batch `logs` compute them only when a callback or the progress bar asks.
"""

import contextlib

import torch

from lamina import config as keras_config
from lamina import metrics as metrics_module
from lamina import optimizers, tree
from lamina.backend import config as backend_config
from lamina.backend import host_memory
from lamina.callbacks import CallbackList
from lamina.distribution.distribution_lib import is_chief
from lamina.serialization.serialization import deserialize_keras_object, serialize_keras_object
from lamina.trainers import compiled_step, distributed, fit_resume
from lamina.trainers import step as step_functions
from lamina.trainers.auto_jit import AutoJit
from lamina.trainers.compile_loss import CompileLoss
from lamina.trainers.compile_metrics import CompileMetrics
from lamina.trainers.data.data_utils import (
    batch_size_of,
    train_validation_split,
    unpack_validation_data,
    unpack_x_y_sample_weight,
)
from lamina.trainers.data.epoch_iterator import EpochIterator, lone_array_batch
from lamina.trainers.logs import MetricLogs, materialize_logs
from lamina.variables import trainable_state_version


def _host_memory_for_loop():
    """The allocation setting of the `fit`/`evaluate`/`predict` loops: glibc keeps freed
    memory in the heap while batches live on the CPU (`backend/host_memory.py`: no page
    faults on every step's activations)."""
    if backend_config.get_device().type != "cpu":
        return contextlib.nullcontext()
    return host_memory.loop_allocation()


class Trainer:
    """Mixin giving `Model` Keras' training API."""

    def __init__(self):
        self.compiled = False
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._compile_loss = None
        self._compile_metrics = None
        self._loss_tracker = None
        self._compile_config = None
        self._jit_compile = False
        self._jit_auto = False
        self.steps_per_execution = 1
        self._run_eagerly = False

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: optimizer, loss(es) and metrics."""
        self.optimizer = optimizers.get(optimizer)
        if (auto_scale_loss and self.dtype_policy.compute_dtype == "float16"
                and not isinstance(self.optimizer, optimizers.LossScaleOptimizer)):
            # float16 needs loss scaling, as in Keras
            self.optimizer = optimizers.LossScaleOptimizer(self.optimizer)
        if steps_per_execution is None or int(steps_per_execution) < 1:
            raise ValueError(
                f"`steps_per_execution` must be a positive integer. Received: "
                f"{steps_per_execution!r}"
            )
        # As Keras: compiling again without a loss or metrics keeps the earlier ones.
        output_names = self._output_names_for_compile()
        if loss is not None:
            self.loss = loss
            self._compile_loss = CompileLoss(loss, loss_weights, output_names)
        if metrics is not None or weighted_metrics is not None:
            self._compile_metrics = CompileMetrics(metrics, weighted_metrics, output_names)
        self._loss_tracker = metrics_module.Mean(name="loss")
        self._jit_compile = jit_compile is True
        self._jit_auto = jit_compile == "auto"
        self._run_eagerly = bool(run_eagerly)
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution, "jit_compile": jit_compile,
        }
        for key in step_functions.CACHE_KEYS:
            self.__dict__.pop(key, None)

    def _output_names_for_compile(self):
        try:
            return list(self.output_names)
        except (AttributeError, IndexError):
            return None

    @property
    def metrics(self):
        """The loss tracker, the compiled metrics and any metric attributes, as Keras lists."""
        result = []
        if self.compiled and self._loss_tracker is not None:
            result.append(self._loss_tracker)
        if self._compile_metrics is not None:
            result.append(self._compile_metrics)
        if self._compile_loss is not None:
            result.extend(self._compile_loss.metrics())
        for layer in self._flatten_layers(include_self=True):
            for value in layer.__dict__.values():
                if isinstance(value, metrics_module.Metric) and not any(value is m for m in result):
                    result.append(value)
        return result

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    @property
    def metrics_variables(self):
        return [v for m in self.metrics for v in m.variables]

    def reset_metrics(self):
        for metric in self.metrics:
            metric.reset_state()

    # -- resuming an interrupted fit (BackupAndRestore) ---------------------------------
    def _fit_state(self):
        """What `BackupAndRestore` saves of the running `fit` beyond the weights and the
        optimizer (see `trainers/fit_resume.py`)."""
        return fit_resume.fit_state(self)

    def _resume_fit(self, epoch, step=None, state=None):
        """Make the `fit` that is starting (call from `on_train_begin`) continue at `epoch`:
        after its batch `step` when given, with `state` from `_fit_state`."""
        self._initial_epoch = epoch
        self.__dict__["_fit_resume"] = (epoch, step, state)

    def get_metrics_result(self):
        """Current metric values as a flat dict of 0-d tensors (no host sync)."""
        results = {}
        for metric in self.metrics:
            value = metric.result()
            if isinstance(value, dict):
                results.update(value)
            else:
                results[metric.name] = value
        return results

    def _flatten_metrics_in_order(self, logs):
        """Keras' order for evaluate()'s list: loss, per-output losses, then the other
        entries sorted by name."""
        names = ["loss"] + [m.name for m in (self._compile_loss.metrics()
                                             if self._compile_loss else [])]
        ordered = [logs[k] for k in names if k in logs]
        ordered += [logs[k] for k in sorted(logs) if k not in names]
        return ordered[0] if len(ordered) == 1 else ordered

    # -- steps ---------------------------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total loss: the compiled loss plus `model.losses`. Override for custom losses."""
        losses = []
        if self._compile_loss is not None:
            losses.append(self._compile_loss(y, y_pred, sample_weight))
        losses.extend(self._additional_losses())
        if not losses:
            raise ValueError(
                "No loss to compute. Provide a `loss` argument in `compile()`, or add losses "
                "with `add_loss()` in a layer's `call`."
            )
        total = losses[0]
        for extra in losses[1:]:
            total = total + extra
        return total

    def _additional_losses(self):
        cache = self.__dict__.get("_loss_sources")
        version = trainable_state_version()
        if cache is None or cache[0] != version:
            layers = self._flatten_layers(include_self=True)
            # as `Layer.losses`: frozen weights add no penalty (Keras)
            regularized = [(v, v.regularizer) for v in self.trainable_weights
                           if getattr(v, "regularizer", None) is not None]
            cache = (version, layers, regularized)
            self.__dict__["_loss_sources"] = cache
        _, layers, regularized = cache
        result = []
        for layer in layers:
            if layer._losses:
                result.extend(layer._losses)
        for variable, regularizer in regularized:
            result.append(regularizer(variable))
        return result

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics; returns the logs (lazily read metric results)."""
        if self._compile_metrics is not None:
            self._compile_metrics.update_state(y, y_pred, sample_weight)
        return MetricLogs(self)

    def _trainable_for_step(self):
        cache = self.__dict__.get("_trainable_cache")
        version = trainable_state_version()
        if cache is None or cache[0] != version:
            cache = (version, list(self.trainable_weights))
            self.__dict__["_trainable_cache"] = cache
        return cache[1]

    def train_step(self, data):
        """One optimisation step on a batch `data` = `(x, y, sample_weight)`; returns logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = step_functions.forward(self, x, True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                 training=True)
        step_functions.track_loss(self, loss, x)
        trainable = self._trainable_for_step()
        if trainable:
            for variable in trainable:
                variable.grad = None
            scale = getattr(self.optimizer, "scale_loss", None)
            (scale(loss) if scale is not None else loss).backward()
            grads = [v.grad for v in trainable]
            self.optimizer.apply(grads, trainable)
            for variable in trainable:
                variable.grad = None
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data):
        """One evaluation step on a batch; returns logs."""
        x, y, sample_weight = unpack_x_y_sample_weight(data)
        y_pred = step_functions.forward(self, x, False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                 training=False)
        step_functions.track_loss(self, loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """Model outputs for a batch."""
        x, _, _ = unpack_x_y_sample_weight(data)
        return step_functions.forward(self, x, False)

    def make_train_function(self, force=False):
        """The function `fit` runs on each group of `steps_per_execution` batches: the
        train steps, inside a training scope (every layer sees training=True)."""
        return self._step_function("_train_function", compiled_step.train_function, force)

    def make_test_function(self, force=False):
        """As `make_train_function`, for `test_step`, in inference mode without gradients."""
        return self._step_function("_test_function", step_functions.test_function, force)

    def make_predict_function(self, force=False):
        """As `make_test_function`, for `predict_step`; returns each batch's outputs."""
        return self._step_function("_predict_function", step_functions.predict_function, force)

    def _step_function(self, key, make, force):
        if force or self.__dict__.get(key) is None:
            self.__dict__[key] = make(self)
        return self.__dict__[key]

    # -- loops ---------------------------------------------------------------------------
    def _assert_compiled(self, method):
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before using the model in `{method}()`: e.g. "
                "model.compile(optimizer='adam', loss='mse')."
            )

    def _callback_list(self, callbacks, verbose, iterator, epochs=1, add_history=False):
        if isinstance(callbacks, CallbackList):
            return callbacks  # `evaluate` inside `fit` shares fit's
        if not is_chief():
            verbose = 0  # only process 0 of a distributed job prints
        return CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0,
                            model=self, verbose=1 if verbose == "auto" else verbose,
                            epochs=epochs, steps=iterator.num_batches)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train the model for `epochs` epochs; returns a `History`."""
        with _host_memory_for_loop():
            self._assert_compiled("fit")
            epochs = keras_config.capped_epochs(epochs)
            if validation_split and validation_data is None:
                (x, y, sample_weight), validation_data = train_validation_split(
                    (x, y, sample_weight), validation_split=validation_split)
            val_x = val_y = val_sw = None
            if validation_data is not None:
                val_x, val_y, val_sw = unpack_validation_data(validation_data)
            run = distributed.start(self, training=True)  # None in a single process
            iterator = (EpochIterator if run is None else run.epoch_iterator)(
                x=x, y=y, sample_weight=sample_weight, batch_size=batch_size,
                steps_per_epoch=steps_per_epoch, shuffle=shuffle, class_weight=class_weight,
                steps_per_execution=self.steps_per_execution)
            callbacks = self._callback_list(callbacks, verbose, iterator, epochs, add_history=True)
            jit_pending = not step_functions.compile_forward(self)
            mode = self.training
            self.stop_training = False
            self._eval_iterator = None
            train_function = self.make_train_function()
            if run is not None:
                train_function = run.train_function(train_function, iterator, callbacks)
            self.__dict__["_fit_iterator"] = iterator
            self.__dict__["_fit_callbacks"] = callbacks
            callbacks.on_train_begin()
            # BackupAndRestore sets `_initial_epoch` in on_train_begin to resume a killed run,
            # and, through `_resume_fit`, the position inside it and everything else it saved.
            if self.__dict__.get("_initial_epoch"):
                initial_epoch = self._initial_epoch
            resume = self.__dict__.pop("_fit_resume", None)
            resumed_metrics = None
            if resume is not None:
                resumed_metrics = fit_resume.restore_fit_state(self, resume, iterator, callbacks)
            training_logs = None
            logs = {}
            spe = self.steps_per_execution
            auto_jit = AutoJit(self, epochs) if run is None else None
            for epoch in range(initial_epoch, epochs):
                self.reset_metrics()
                if resumed_metrics is not None:
                    fit_resume.assign_all(self.metrics_variables, resumed_metrics)
                    resumed_metrics = None
                callbacks.on_epoch_begin(epoch)
                if auto_jit is not None:
                    auto_jit.epoch_begin()
                pending = []
                steps = 0
                for step, batch in iterator.enumerate_epoch():
                    steps += 1
                    if spe == 1:
                        callbacks.on_train_batch_begin(step)
                        logs = train_function((batch,))
                        callbacks.on_train_batch_end(step, logs)
                    else:
                        pending.append(batch)
                        if len(pending) == spe:
                            callbacks.on_train_batch_begin(step - spe + 1)
                            logs = train_function(pending)
                            callbacks.on_train_batch_end(step, logs)
                            pending = []
                    if jit_pending:
                        jit_pending = not step_functions.compile_forward(self)
                    if self.stop_training:
                        break
                if pending:
                    logs = train_function(pending)
                    callbacks.on_train_batch_end(step, logs)
                epoch_logs = (materialize_logs(self.get_metrics_result()) if run is None
                              else run.metrics_result())
                if auto_jit is not None:
                    train_function = auto_jit.epoch_end(epoch, steps) or train_function
                if val_x is not None and _should_validate(epoch, validation_freq):
                    val_logs = self.evaluate(x=val_x, y=val_y, sample_weight=val_sw,
                                             batch_size=validation_batch_size or batch_size,
                                             steps=validation_steps, callbacks=callbacks,
                                             return_dict=True, _in_fit=True)
                    epoch_logs.update({"val_" + k: v for k, v in val_logs.items()})
                callbacks.on_epoch_end(epoch, epoch_logs)
                training_logs = epoch_logs
                if self.stop_training:
                    break
            if self.optimizer is not None and hasattr(self.optimizer, "finalize_variable_values"):
                self.optimizer.finalize_variable_values(self.trainable_weights)
            self._eval_iterator = None
            step_functions.restore_mode(self, mode)
            if run is not None:
                run.close()
            callbacks.on_train_end(logs=training_logs)
            self.__dict__.pop("_fit_iterator", None)
            self.__dict__.pop("_fit_callbacks", None)
            return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metric values of the model on the given data."""
        with _host_memory_for_loop():
            in_fit = kwargs.pop("_in_fit", False)
            if kwargs:
                raise ValueError(f"Arguments not recognized: {kwargs}")
            self._assert_compiled("evaluate")
            step_functions.compile_forward(self)  # jit_compile=True compiles inference too
            run = distributed.start(self)  # None in a single process
            if in_fit and self.__dict__.get("_eval_iterator") is not None:
                iterator = self._eval_iterator
            else:
                iterator = (EpochIterator if run is None else run.epoch_iterator)(
                    x=x, y=y, sample_weight=sample_weight, batch_size=batch_size,
                    steps_per_epoch=steps, shuffle=False,
                    steps_per_execution=self.steps_per_execution)
                if in_fit:
                    self._eval_iterator = iterator
            callbacks = self._callback_list(callbacks, verbose, iterator)
            test_function = self.make_test_function()
            if run is not None:
                test_function = run.test_function(test_function, iterator, callbacks)
            mode = self.training
            self.reset_metrics()
            callbacks.on_test_begin()
            logs = {}
            for step, batch in iterator.enumerate_epoch():
                callbacks.on_test_batch_begin(step)
                logs = test_function((batch,))
                callbacks.on_test_batch_end(step, logs)
            step_functions.restore_mode(self, mode)
            logs = (materialize_logs(self.get_metrics_result()) if run is None
                    else run.metrics_result())
            callbacks.on_test_end(logs)
            if return_dict:
                return dict(sorted(logs.items()))  # Keras returns the keys sorted
            return self._flatten_metrics_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for the inputs `x`, as numpy arrays (structure preserved)."""
        with _host_memory_for_loop():
            step_functions.compile_forward(self)
            run = distributed.start(self)  # None in a single process
            iterator = (EpochIterator if run is None else run.epoch_iterator)(
                x=x, batch_size=batch_size, steps_per_epoch=steps, shuffle=False)
            callbacks = self._callback_list(callbacks, verbose, iterator)
            predict_function = self.make_predict_function()
            mode = self.training
            callbacks.on_predict_begin()
            outputs = []
            for step, batch in iterator.enumerate_epoch():
                callbacks.on_predict_batch_begin(step)
                batch_out = predict_function((batch,))[0]
                outputs.append(batch_out)
                callbacks.on_predict_batch_end(step, {"outputs": batch_out})
            step_functions.restore_mode(self, mode)
            if not outputs:
                raise ValueError(
                    "The data passed to `predict()` produced no batches: it is empty."
                )
            result = tree.map_structure(lambda *parts: _to_numpy(torch.cat(parts)), *outputs)
            if run is not None:
                result = run.gather_predictions(result)
            callbacks.on_predict_end()
            return result

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimisation step on a single batch; returns the metric values."""
        self._assert_compiled("train_on_batch")
        batch = EpochIterator(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size_of(x),
                              class_weight=class_weight).single_batch()
        return self._metrics_on_batch(self.make_train_function(), batch, return_dict)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Evaluate a single batch; returns the metric values."""
        self._assert_compiled("test_on_batch")
        batch = EpochIterator(x=x, y=y, sample_weight=sample_weight,
                              batch_size=batch_size_of(x)).single_batch()
        return self._metrics_on_batch(self.make_test_function(), batch, return_dict)

    def _metrics_on_batch(self, function, batch, return_dict):
        self.reset_metrics()  # Keras reports this batch only
        mode = self.training
        logs = materialize_logs(function((batch,)))
        step_functions.restore_mode(self, mode)
        return dict(sorted(logs.items())) if return_dict else self._flatten_metrics_in_order(
            logs)

    def predict_on_batch(self, x):
        """Model outputs for a single batch, as numpy arrays."""
        if self._jit_compile:
            step_functions.compile_forward(self)
        # NOTE: a lone array (the usual case) becomes its batch directly: the adapter and
        # iterator cost more than a small model's forward.
        batch = lone_array_batch(x)
        if batch is not None and self._predicts_eagerly():
            out = step_functions.predict_eagerly(self, batch)
        else:
            if batch is None:
                batch = EpochIterator(x=x, batch_size=batch_size_of(x)).single_batch()
            mode = self.training
            out = self.make_predict_function()((batch,))[0]
            if self.training is not mode:
                step_functions.restore_mode(self, mode)
        if out.__class__ is torch.Tensor:
            return _to_numpy(out)
        return tree.map_structure(_to_numpy, out)

    def _predicts_eagerly(self):
        """Whether a batch's prediction is the built-in `predict_step` on an eager forward
        (`step.predict_eagerly` runs it without the predict function around it)."""
        return (type(self).predict_step is Trainer.predict_step
                and "predict_step" not in self.__dict__
                and not step_functions.reads_module_mode(self))

    def get_compile_config(self):
        if not self.compiled or self._compile_config is None:
            return None
        return serialize_keras_object(dict(self._compile_config, optimizer=self.optimizer))

    def compile_from_config(self, config):
        config = deserialize_keras_object(config)
        self.compile(**config)


def _to_numpy(t):
    if isinstance(t, torch.Tensor):
        if t.requires_grad:
            t = t.detach()
        if t.dtype is torch.bfloat16:
            t = t.float()
        return (t if t.is_cpu else t.cpu()).numpy()
    return t


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        if validation_freq < 1:
            raise ValueError(f"`validation_freq` must be >= 1. Received: {validation_freq}")
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq
