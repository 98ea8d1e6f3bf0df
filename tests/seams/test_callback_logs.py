"""Seam: callbacks and the logs the trainer hands them.

A recording callback sees every hook, in order, with its `logs`; the hook order,
the keys and the values (to float tolerance) must be Keras'. History, `params`
and `model` are what callbacks read as well.
"""

import numpy as np
from seam_support import assert_same, run_both, to_numpy

RNG = np.random.default_rng(2)
X = RNG.normal(size=(20, 3)).astype("float32")
Y = RNG.integers(0, 2, (20, 1)).astype("float32")
X_VAL = RNG.normal(size=(6, 3)).astype("float32")
Y_VAL = RNG.integers(0, 2, (6, 1)).astype("float32")

HOOKS = [f"on_{stage}_{edge}" for stage in ("train", "test", "predict", "epoch")
         for edge in ("begin", "end")] + [
    f"on_{stage}_batch_{edge}" for stage in ("train", "test", "predict")
    for edge in ("begin", "end")]


def _recorder(api):
    class Recorder(api.callbacks.Callback):
        """Keeps (hook, positional args, logs) for every hook call."""

        def __init__(self):
            super().__init__()
            self.calls = []

    def make_hook(name):
        def hook(self, *args, logs=None):
            if logs is None:
                kept = None
            else:
                kept = {k: ("<outputs>" if k == "outputs" else float(to_numpy(v)))
                        for k, v in logs.items()}
            self.calls.append((name, list(args), kept))
        return hook

    for name in HOOKS:
        setattr(Recorder, name, make_hook(name))
    return Recorder()


def _model(api):
    return api.Sequential([api.Input((3,)), api.layers.Dense(4, activation="relu"),
                           api.layers.Dense(1, activation="sigmoid")])


def _compile(api, model):
    model.compile(optimizer=api.optimizers.Adam(0.01), loss="binary_crossentropy",
                  metrics=["accuracy", api.metrics.AUC(name="auc")])


def test_fit_with_validation_calls_hooks_in_keras_order_with_keras_logs():
    def program(api, model):
        _compile(api, model)
        recorder = _recorder(api)
        history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                            validation_data=(X_VAL, Y_VAL), callbacks=[recorder])
        return {"calls": recorder.calls, "history": history.history,
                "epoch": history.epoch, "params": dict(history.params),
                "model_is_set": recorder.model is model}

    mine, theirs = run_both(_model, program)
    assert [c[0] for c in mine["calls"]] == [c[0] for c in theirs["calls"]]
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_fit_with_validation_freq_and_steps_logs_like_keras():
    def program(api, model):
        _compile(api, model)
        recorder = _recorder(api)
        history = model.fit(X, Y, batch_size=8, epochs=3, shuffle=False, verbose=0,
                            steps_per_epoch=2, validation_split=0.25, validation_freq=2,
                            initial_epoch=0, callbacks=[recorder])
        return {"calls": recorder.calls, "history": history.history,
                "epoch": history.epoch, "params": dict(history.params)}

    mine, theirs = run_both(_model, program)
    assert [c[0] for c in mine["calls"]] == [c[0] for c in theirs["calls"]]
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_evaluate_and_predict_call_their_hooks_like_keras():
    def program(api, model):
        _compile(api, model)
        recorder = _recorder(api)
        result = model.evaluate(X, Y, batch_size=8, verbose=0, callbacks=[recorder],
                                return_dict=True)
        predicted = model.predict(X, batch_size=8, verbose=0, callbacks=[recorder])
        return {"calls": recorder.calls, "evaluate": result, "predict": predicted}

    mine, theirs = run_both(_model, program)
    assert [c[0] for c in mine["calls"]] == [c[0] for c in theirs["calls"]]
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_callbacks_can_stop_training_and_read_the_model_in_hooks():
    def program(api, model):
        _compile(api, model)
        seen = []

        class StopAfterTwoBatches(api.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                seen.append(float(to_numpy(self.model.layers[-1].get_weights()[1][0])))
                if batch == 1:
                    self.model.stop_training = True

        history = model.fit(X, Y, batch_size=4, epochs=3, shuffle=False, verbose=0,
                            callbacks=[StopAfterTwoBatches()])
        return {"seen": seen, "history": history.history, "epoch": history.epoch}

    mine, theirs = run_both(_model, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_builtin_callbacks_read_the_logged_keys():
    def program(api, model):
        _compile(api, model)
        stopper = api.callbacks.EarlyStopping(monitor="val_auc", mode="max", patience=1,
                                              restore_best_weights=True)
        logger = api.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: epochs.append(sorted(logs)))
        epochs = []
        history = model.fit(X, Y, batch_size=4, epochs=6, shuffle=False, verbose=0,
                            validation_data=(X_VAL, Y_VAL),
                            callbacks=[stopper, logger,
                                       api.callbacks.ReduceLROnPlateau(
                                           monitor="loss", patience=0, factor=0.5)])
        return {"history": history.history, "stopped_epoch": stopper.stopped_epoch,
                "epochs": epochs, "weights": model.get_weights()}

    mine, theirs = run_both(_model, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_predict_and_evaluate_inside_fit_callbacks_leave_training_alone():
    """A callback that predicts and evaluates mid-fit must not leak inference mode or
    reset the running training metrics: BatchNormalization statistics, the logs and
    the weights stay Keras'."""
    def build(api):
        # No bias before the normalization: its gradient is rounding noise, which Adam
        # would scale up to full steps.
        return api.Sequential([api.Input((3,)), api.layers.Dense(4, use_bias=False),
                               api.layers.BatchNormalization(momentum=0.5),
                               api.layers.Dense(1, activation="sigmoid")])

    def program(api, model):
        _compile(api, model)
        seen = []

        class Probe(api.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                seen.append(to_numpy(self.model.predict(X_VAL, verbose=0)))

            def on_train_batch_end(self, batch, logs=None):
                seen.append({k: float(to_numpy(v)) for k, v in logs.items()})

            def on_epoch_end(self, epoch, logs=None):
                seen.append(self.model.evaluate(X_VAL, Y_VAL, verbose=0, return_dict=True))

        history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0,
                            validation_data=(X_VAL, Y_VAL), callbacks=[Probe()])
        return {"seen": seen, "history": history.history, "weights": model.get_weights()}

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)
