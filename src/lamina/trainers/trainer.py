"""`Trainer`: compile / fit / evaluate / predict and the overridable `*_step` methods.

A step runs forward, loss, backward, optimizer update and metric updates, all on the
device. Nothing in a step reads a value back to the host: metric results are tensors,
and per-batch `logs` compute them only when a callback or the progress bar asks.
"""

from collections.abc import Mapping

import numpy as np
import torch

from lamina import tree
from lamina.backend.context import TRAINING
from lamina.trainers.compile_loss import CompileLoss
from lamina.trainers.compile_metrics import CompileMetrics
from lamina.variables import trainable_state_version

# torch.compile backend used by `compile(jit_compile=True)` (tests switch it to "eager").
JIT_BACKEND = "inductor"

_STEP_CACHE_KEYS = ("_train_function", "_test_function", "_predict_function")


class MetricLogs(Mapping):
    """Per-batch logs that read the metric results only when a value is asked for."""

    __slots__ = ("_model", "_cache")

    def __init__(self, model):
        self._model = model
        self._cache = None

    def _values(self):
        if self._cache is None:
            self._cache = self._model.get_metrics_result()
        return self._cache

    def __getitem__(self, key):
        return self._values()[key]

    def __iter__(self):
        return iter(self._values())

    def __len__(self):
        return len(self._values())

    def __repr__(self):
        return repr(materialize_logs(self))


def materialize_logs(logs):
    """Turn tensor log values into Python floats with a single device-to-host copy."""
    if logs is None:
        return {}
    items = dict(logs.items())
    tensors = [(k, v) for k, v in items.items() if isinstance(v, torch.Tensor) and v.numel() == 1]
    if tensors:
        stacked = torch.stack([v.detach().reshape(()).float() for _, v in tensors])
        values = stacked.cpu().tolist()
        for (k, _), value in zip(tensors, values):
            items[k] = value
    for k, v in items.items():
        if isinstance(v, torch.Tensor):
            items[k] = v.detach().cpu().numpy()
        elif isinstance(v, np.generic):
            items[k] = v.item()
    return items


def _unpack(data):
    from lamina.trainers.data.data_utils import unpack_x_y_sample_weight

    return unpack_x_y_sample_weight(data)


def _batch_size(x):
    for t in tree.flatten(x):
        if isinstance(t, torch.Tensor) and t.ndim > 0:
            return t.shape[0]
    return 1


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
        self.steps_per_execution = 1
        self._run_eagerly = False

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True):
        """Configure the model for training: optimizer, loss(es) and metrics."""
        from lamina import metrics as metrics_module
        from lamina import optimizers

        self.optimizer = optimizers.get(optimizer)
        scaler = getattr(optimizers, "LossScaleOptimizer", None)
        if (auto_scale_loss and scaler is not None and self.dtype_policy.compute_dtype ==
                "float16" and not isinstance(self.optimizer, scaler)):
            self.optimizer = scaler(self.optimizer)  # float16 needs loss scaling, as in Keras
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
        self._run_eagerly = bool(run_eagerly)
        self.steps_per_execution = int(steps_per_execution)
        self.compiled = True
        self._compile_config = {
            "optimizer": optimizer if isinstance(optimizer, str) else None,
            "loss": loss, "loss_weights": loss_weights, "metrics": metrics,
            "weighted_metrics": weighted_metrics, "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution, "jit_compile": jit_compile,
        }
        for key in _STEP_CACHE_KEYS:
            self.__dict__.pop(key, None)
        if self._jit_compile:
            self.compile_module = True

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
                if _is_metric(value) and not any(value is m for m in result):
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
        """What the running `fit` needs, beyond the weights and optimizer variables, to go
        on exactly as if never interrupted: the data order and the position in it, the
        metric accumulators, the random generators (the global ones and the model's seed
        generators) and the callbacks' progress. Host copies, made only when asked."""
        from lamina.utils.rng_utils import get_rng_state

        iterator = self.__dict__.get("_fit_iterator")
        callbacks = getattr(self.__dict__.get("_fit_callbacks"), "callbacks", ())
        return {
            "data": None if iterator is None else iterator.get_state(),
            "metrics": [_host_copy(v) for v in self._metric_variables()],
            "seeds": [_host_copy(v) for v in self._unsaved_variables()],
            "rng": get_rng_state(),
            "callbacks": [[type(c).__name__, c._get_resume_state()] for c in callbacks],
        }

    def _resume_fit(self, epoch, step=None, state=None):
        """Make the `fit` that is starting (call from `on_train_begin`) continue at `epoch`:
        after its batch `step` when given, with `state` from `_fit_state`."""
        self._initial_epoch = epoch
        self.__dict__["_fit_resume"] = (epoch, step, state)

    def _metric_variables(self):
        return [v for metric in self.metrics for v in metric.variables]

    def _unsaved_variables(self):
        """Variables that `save_weights` leaves out: the seed generators' states."""
        saved = {id(v) for v in self.weights}
        return [v for v in self.variables if id(v) not in saved]

    def _apply_fit_resume(self, resume, iterator, callbacks):
        """Put back a `_fit_state`; returns (first step of the epoch, metric state to load
        once the epoch's metrics are reset, or None)."""
        from lamina.utils.rng_utils import set_rng_state

        _, step, state = resume
        if state is None:
            return 0, None
        metrics = state["metrics"] if step is not None else None
        if (metrics is not None and state["data"] is not None
                and len(self._metric_variables()) != len(metrics)):
            # Compiled metrics are routed on their first batch: evaluate one batch to
            # create them (the data position and the generators are put back below).
            self.make_test_function()((_single_batch(iterator),))
        first = iterator.resume(state["data"], 0 if step is None else step + 1)
        if not first or len(self._metric_variables()) != len(metrics or ()):
            metrics = None
        _assign_all(self._unsaved_variables(), state["seeds"])
        # Matched by class and rank among callbacks of that class, so adding or dropping
        # another kind of callback on restart does not shift them.
        saved = dict(zip(_callback_keys(name for name, _ in state["callbacks"]),
                         (entry for _, entry in state["callbacks"])))
        names = [type(c).__name__ for c in callbacks.callbacks]
        for callback, key in zip(callbacks.callbacks, _callback_keys(names)):
            if saved.get(key) is not None:
                callback._set_resume_state(saved[key])
        set_rng_state(state["rng"])
        return first, metrics

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

    def _call_training(self, x, training):
        # NOTE: the step functions already set the training scope (backend/context.py), so a
        # plain call sees the same flag as `self(x, training=training)` and keeps the
        # model's fast path; the explicit argument serves a step called on its own.
        if TRAINING.get() is training:
            return self(x)
        return self(x, training=training)

    def _track_loss(self, loss, x):
        """`loss_tracker.update_state(loss, sample_weight=batch_size)` in two kernels."""
        tracker = self._loss_tracker
        batch = _batch_size(x)
        with torch.no_grad():
            if tracker.total.device != loss.device:
                tracker._follow_device(loss)
            tracker.total.add_(loss.detach().to(tracker.total.dtype), alpha=batch)
            tracker.count.add_(batch)

    def train_step(self, data):
        """One optimisation step on a batch `data` = `(x, y, sample_weight)`; returns logs."""
        x, y, sample_weight = _unpack(data)
        y_pred = self._call_training(x, True)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                 training=True)
        self._track_loss(loss, x)
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
        x, y, sample_weight = _unpack(data)
        y_pred = self._call_training(x, False)
        loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                 training=False)
        self._track_loss(loss, x)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def predict_step(self, data):
        """Model outputs for a batch."""
        x, _, _ = _unpack(data)
        return self._call_training(x, False)

    def make_train_function(self, force=False):
        """The function `fit` runs on each group of `steps_per_execution` batches: the
        train steps, inside a training scope (every layer sees training=True)."""
        if self.__dict__.get("_train_function") is None or force:
            step = self.train_step
            compiled = self.__dict__.get("compile_module")

            def train_function(batches):
                token = TRAINING.set(True)
                if compiled and not self.training:
                    self.train()  # compiled models read module mode (Layer._full_call)
                try:
                    for batch in batches:
                        logs = step(batch)
                        # NOTE: `torch.autocast` caches low-precision copies of the weights
                        # until its block exits; around `fit` that is never, so the forward
                        # would keep reading the first step's weights. 0.4 us per step.
                        torch.clear_autocast_cache()
                finally:
                    TRAINING.reset(token)
                return logs

            self.__dict__["_train_function"] = train_function
        return self.__dict__["_train_function"]

    def make_test_function(self, force=False):
        """As `make_train_function`, for `test_step`, in inference mode without gradients."""
        if self.__dict__.get("_test_function") is None or force:
            step = self.test_step
            compiled = self.__dict__.get("compile_module")

            @torch.no_grad()
            def test_function(batches):
                token = TRAINING.set(False)
                if compiled and self.training:
                    self.eval()
                try:
                    for batch in batches:
                        logs = step(batch)
                finally:
                    TRAINING.reset(token)
                return logs

            self.__dict__["_test_function"] = test_function
        return self.__dict__["_test_function"]

    def make_predict_function(self, force=False):
        """As `make_test_function`, for `predict_step`; returns each batch's outputs."""
        if self.__dict__.get("_predict_function") is None or force:
            step = self.predict_step
            compiled = self.__dict__.get("compile_module")

            @torch.no_grad()
            def predict_function(batches):
                token = TRAINING.set(False)
                if compiled and self.training:
                    self.eval()
                try:
                    return [step(batch) for batch in batches]
                finally:
                    TRAINING.reset(token)

            self.__dict__["_predict_function"] = predict_function
        return self.__dict__["_predict_function"]

    # -- loops ---------------------------------------------------------------------------
    def _assert_compiled(self, method):
        if not self.compiled:
            raise ValueError(
                f"You must call `compile()` before using the model in `{method}()`: e.g. "
                "model.compile(optimizer='adam', loss='mse')."
            )

    def _maybe_jit(self):
        """Compile `forward` for `jit_compile=True` once the model is built (a subclassed
        model builds on its first batch, which must not run inside the compiler).
        Returns whether nothing is left to do."""
        if not self.__dict__.get("compile_module") or self.__dict__.get("_jit_done"):
            return True
        if not self.built:
            return False
        torch.nn.Module.compile(self, backend=JIT_BACKEND)
        self.__dict__["_jit_done"] = True
        return True

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1):
        """Train the model for `epochs` epochs; returns a `History`."""
        from lamina.callbacks import CallbackList
        from lamina.trainers.data.data_utils import train_validation_split
        from lamina.trainers.data.epoch_iterator import EpochIterator

        self._assert_compiled("fit")
        if validation_split and validation_data is None:
            (x, y, sample_weight), validation_data = train_validation_split(
                (x, y, sample_weight), validation_split=validation_split)
        val_x = val_y = val_sw = None
        if validation_data is not None:
            val_x, val_y, val_sw = _unpack_validation(validation_data)
        iterator = EpochIterator(x=x, y=y, sample_weight=sample_weight, batch_size=batch_size,
                                 steps_per_epoch=steps_per_epoch, shuffle=shuffle,
                                 class_weight=class_weight,
                                 steps_per_execution=self.steps_per_execution)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_history=True, add_progbar=verbose != 0,
                                     model=self, verbose=_verbose(verbose, iterator),
                                     epochs=epochs, steps=iterator.num_batches)
        jit_pending = not self._maybe_jit()
        mode = self.training
        self.stop_training = False
        self._eval_iterator = None
        train_function = self.make_train_function()
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
            _, resumed_metrics = self._apply_fit_resume(resume, iterator, callbacks)
        training_logs = None
        logs = {}
        spe = self.steps_per_execution
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            if resumed_metrics is not None:
                _assign_all(self._metric_variables(), resumed_metrics)
                resumed_metrics = None
            callbacks.on_epoch_begin(epoch)
            pending = []
            for step, batch in iterator.enumerate_epoch():
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
                    jit_pending = not self._maybe_jit()
                if self.stop_training:
                    break
            if pending:
                logs = train_function(pending)
                callbacks.on_train_batch_end(step, logs)
            epoch_logs = materialize_logs(self.get_metrics_result())
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
        _restore_mode(self, mode)
        callbacks.on_train_end(logs=training_logs)
        self.__dict__.pop("_fit_iterator", None)
        self.__dict__.pop("_fit_callbacks", None)
        return self.history

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """Loss and metric values of the model on the given data."""
        from lamina.callbacks import CallbackList
        from lamina.trainers.data.epoch_iterator import EpochIterator

        in_fit = kwargs.pop("_in_fit", False)
        if kwargs:
            raise ValueError(f"Arguments not recognized: {kwargs}")
        self._assert_compiled("evaluate")
        if in_fit and self.__dict__.get("_eval_iterator") is not None:
            iterator = self._eval_iterator
        else:
            iterator = EpochIterator(x=x, y=y, sample_weight=sample_weight,
                                     batch_size=batch_size, steps_per_epoch=steps,
                                     shuffle=False, steps_per_execution=self.steps_per_execution)
            if in_fit:
                self._eval_iterator = iterator
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=_verbose(verbose, iterator), epochs=1,
                                     steps=iterator.num_batches)
        test_function = self.make_test_function()
        mode = self.training
        self.reset_metrics()
        callbacks.on_test_begin()
        logs = {}
        for step, batch in iterator.enumerate_epoch():
            callbacks.on_test_batch_begin(step)
            logs = test_function((batch,))
            callbacks.on_test_batch_end(step, logs)
        _restore_mode(self, mode)
        logs = materialize_logs(self.get_metrics_result())
        callbacks.on_test_end(logs)
        if return_dict:
            return dict(sorted(logs.items()))  # Keras returns the keys sorted
        return self._flatten_metrics_in_order(logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Model outputs for the inputs `x`, as numpy arrays (structure preserved)."""
        from lamina.callbacks import CallbackList
        from lamina.trainers.data.epoch_iterator import EpochIterator

        iterator = EpochIterator(x=x, batch_size=batch_size, steps_per_epoch=steps,
                                 shuffle=False)
        if not isinstance(callbacks, CallbackList):
            callbacks = CallbackList(callbacks, add_progbar=verbose != 0, model=self,
                                     verbose=_verbose(verbose, iterator), epochs=1,
                                     steps=iterator.num_batches)
        predict_function = self.make_predict_function()
        mode = self.training
        callbacks.on_predict_begin()
        outputs = []
        for step, batch in iterator.enumerate_epoch():
            callbacks.on_predict_batch_begin(step)
            batch_out = predict_function((batch,))[0]
            outputs.append(batch_out)
            callbacks.on_predict_batch_end(step, {"outputs": batch_out})
        _restore_mode(self, mode)
        if not outputs:
            raise ValueError(
                "The data passed to `predict()` produced no batches: it is empty."
            )
        result = tree.map_structure(lambda *parts: _to_numpy(torch.cat(parts)), *outputs)
        callbacks.on_predict_end()
        return result

    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None,
                       return_dict=False):
        """One optimisation step on a single batch; returns the metric values."""
        from lamina.trainers.data.epoch_iterator import EpochIterator

        self._assert_compiled("train_on_batch")
        batch = _single_batch(EpochIterator(x=x, y=y, sample_weight=sample_weight,
                                            batch_size=_batch_size_of(x), shuffle=False,
                                            class_weight=class_weight))
        self.reset_metrics()  # Keras reports this batch only
        mode = self.training
        logs = materialize_logs(self.make_train_function()((batch,)))
        _restore_mode(self, mode)
        return dict(sorted(logs.items())) if return_dict else self._flatten_metrics_in_order(
            logs)

    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Evaluate a single batch; returns the metric values."""
        from lamina.trainers.data.epoch_iterator import EpochIterator

        self._assert_compiled("test_on_batch")
        batch = _single_batch(EpochIterator(x=x, y=y, sample_weight=sample_weight,
                                            batch_size=_batch_size_of(x), shuffle=False))
        self.reset_metrics()
        mode = self.training
        logs = materialize_logs(self.make_test_function()((batch,)))
        _restore_mode(self, mode)
        return dict(sorted(logs.items())) if return_dict else self._flatten_metrics_in_order(
            logs)

    def predict_on_batch(self, x):
        """Model outputs for a single batch, as numpy arrays."""
        from lamina.trainers.data.epoch_iterator import EpochIterator

        batch = _single_batch(EpochIterator(x=x, batch_size=_batch_size_of(x), shuffle=False))
        mode = self.training
        out = self.make_predict_function()((batch,))[0]
        _restore_mode(self, mode)
        return tree.map_structure(_to_numpy, out)

    def get_compile_config(self):
        if not self.compiled or self._compile_config is None:
            return None
        from lamina.serialization.serialization import serialize_keras_object

        return serialize_keras_object(dict(self._compile_config, optimizer=self.optimizer))

    def compile_from_config(self, config):
        from lamina.serialization.serialization import deserialize_keras_object

        config = deserialize_keras_object(config)
        self.compile(**config)


def _host_copy(variable):
    return variable.detach().cpu().clone()


def _assign_all(variables, values):
    """Load saved values into `variables` (same order), on each variable's device."""
    if len(variables) != len(values):
        return
    with torch.no_grad():
        for variable, value in zip(variables, values):
            variable.copy_(value.to(variable.device))


def _callback_keys(names):
    """`(class name, how many of that class came before)` for each name in turn."""
    seen = {}
    keys = []
    for name in names:
        keys.append((name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return keys


def _restore_mode(model, mode):
    """Put back the torch module mode a loop found (compiled steps switch it)."""
    if model.training is not mode:
        model.train(mode)


def _to_numpy(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.cpu().numpy()
    return t


def _is_metric(value):
    from lamina.metrics import Metric

    return isinstance(value, Metric)


def _single_batch(iterator):
    for _, batch in iterator.enumerate_epoch():
        return batch
    raise ValueError("The batch passed is empty.")


def _batch_size_of(x):
    flat = tree.flatten(x)
    for t in flat:
        if hasattr(t, "shape") and len(t.shape) > 0:
            return int(t.shape[0]) or 1
    return None


def _unpack_validation(data):
    if isinstance(data, (list, tuple)) and not isinstance(data, (np.ndarray, torch.Tensor)):
        if len(data) == 2:
            return data[0], data[1], None
        if len(data) == 3:
            return data[0], data[1], data[2]
        raise ValueError(
            "`validation_data` must be a tuple (x, y) or (x, y, sample_weight), or a "
            f"dataset. Received a {type(data).__name__} of length {len(data)}."
        )
    return data, None, None


def _should_validate(epoch, validation_freq):
    if isinstance(validation_freq, int):
        if validation_freq < 1:
            raise ValueError(f"`validation_freq` must be >= 1. Received: {validation_freq}")
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _verbose(verbose, iterator):
    if verbose == "auto":
        return 1
    return verbose
