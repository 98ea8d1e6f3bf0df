"""Callbacks and the progress bar against Keras 3 (black box, same inputs)."""

import importlib
import io
import math
import re
import sys
import warnings

import numpy as np
import pytest

import lamina
import lamina.utils.progbar as lamina_progbar_module
from lamina import callbacks as lcb
from lamina.utils.progbar import Progbar


class _Clock:
    def __init__(self):
        self.now = 1000.0

    def time(self):
        return self.now


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(K, monkeypatch):
    """One fake clock for both progress bars, so their timing text agrees too."""
    fake = _Clock()
    keras_module = importlib.import_module(K.utils.Progbar.__module__)
    if not hasattr(keras_module, "time"):
        pytest.skip("keras' progbar module no longer imports `time`")
    monkeypatch.setattr(keras_module, "time", fake)
    monkeypatch.setattr(lamina_progbar_module, "time", fake)
    return fake


def _progbar_output(cls, clock, kwargs, updates):
    stream = _Tty()
    saved, sys.stdout = sys.stdout, stream
    try:
        clock.now = 1000.0
        bar = cls(**kwargs)
        for seconds, current, values, finalize in updates:
            clock.now += seconds
            bar.update(current, values, finalize=finalize)
    finally:
        sys.stdout = saved
    return stream.getvalue()


def _steps(n, seconds=0.5, values=lambda i: [("loss", float(i)), ("acc", 1e-5 * i)]):
    return [(seconds, i, values(i), None) for i in range(1, n + 1)]


PROGBAR_CASES = {
    "basic": (dict(target=3), _steps(3)),
    "verbose2": (dict(target=3, verbose=2), _steps(3)),
    "unknown_target": (
        dict(target=None),
        [(0.5, i, [("loss", 1.0 * i)], i == 3) for i in (1, 2, 3)],
    ),
    "slow_first_step": (
        dict(target=4),
        [(d, i, [("loss", i)], None) for i, d in zip((1, 2, 3, 4), (5, 0.1, 0.1, 0.1))],
    ),
    "slow_first_step_v2": (
        dict(target=4, verbose=2),
        [(d, i, [("loss", i)], None) for i, d in zip((1, 2, 3, 4), (5, 0.1, 0.1, 0.1))],
    ),
    "minutes": (dict(target=3), _steps(3, seconds=70)),
    "hours": (dict(target=3), _steps(3, seconds=7000)),
    "hours_v2": (dict(target=3, verbose=2), _steps(3, seconds=7000)),
    "eta_60s": (dict(target=2), _steps(2, seconds=60)),
    "eta_3600s": (dict(target=2), _steps(2, seconds=3600)),
    "microseconds": (dict(target=3), _steps(3, seconds=0.0004)),
    "throttled": (dict(target=120), _steps(120, seconds=0.01)),
    "stateful": (dict(target=3, stateful_metrics=["loss"]), _steps(3)),
    "stateless": (dict(target=3, stateless_metrics=["loss"]), _steps(3)),
    "formats": (
        dict(target=3),
        _steps(
            3,
            values=lambda i: [
                ("tiny", -1e-7 * i),
                ("big", 12345.678),
                ("zero", 0.0),
                ("neg", -0.5),
                ("nan", float("nan")),
                ("int", 3),
            ],
        ),
    ),
    "val_at_end": (
        dict(target=3),
        [
            (0.5, 1, [("loss", 3.0)], None),
            (0.5, 2, [("loss", 1.0)], None),
            (0.5, 3, [("loss", 1.0), ("val_loss", 0.5)], None),
        ],
    ),
    "samples": (
        dict(target=10, unit_name="sample"),
        [(0.5, c, [("loss", 1.0)], None) for c in (4, 8, 10)],
    ),
    "narrow": (dict(target=3, width=7), _steps(3)),
    "no_values": (dict(target=3), [(0.5, i, [], None) for i in (1, 2, 3)]),
    "half_seconds": (dict(target=3, verbose=2), _steps(3, seconds=2.5)),
}


@pytest.mark.parametrize("case", sorted(PROGBAR_CASES))
def test_progbar_output_matches_keras_byte_for_byte(K, clock, case):
    kwargs, updates = PROGBAR_CASES[case]
    expected = _progbar_output(K.utils.Progbar, clock, kwargs, updates)
    assert _progbar_output(Progbar, clock, kwargs, updates) == expected


class _Metric:
    def __init__(self, name, direction):
        self.name = name
        self._direction = direction


class _Model:
    def __init__(self, learning_rate=1.0):
        self.stop_training = False
        self.metrics = [_Metric("acc", "up")]
        self.weights = [np.zeros(2, "float32")]
        self.optimizer = type("Optimizer", (), {})()
        self.optimizer.learning_rate = learning_rate

    def get_weights(self):
        return [w.copy() for w in self.weights]

    def set_weights(self, weights):
        self.weights = [np.array(w) for w in weights]


def _normalize_bar(text):
    """The final line of each bar, without control codes, timing text and padding."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"\x1b\[\d+m", "", line.split("\r")[-1]).rstrip()
        line = re.sub(r"\d+(:\d\d)*(s|ms|us)?(/step)?", "N", line)
        lines.append(line)
    return lines


@pytest.mark.parametrize("verbose", [1, 2])
def test_progbar_logger_fit_output_matches_keras(K, clock, verbose):
    def drive(module):
        stream = _Tty()
        saved, sys.stdout = sys.stdout, stream
        try:
            callbacks = module.CallbackList(
                add_history=True,
                add_progbar=True,
                model=_Model(),
                verbose=verbose,
                epochs=2,
                steps=3,
            )
            callbacks.on_train_begin()
            for epoch in range(2):
                callbacks.on_epoch_begin(epoch)
                for step in range(3):
                    callbacks.on_train_batch_begin(step)
                    clock.now += 0.5
                    callbacks.on_train_batch_end(step, {"loss": 1.0 + step, "accuracy": 0.8125})
                callbacks.on_epoch_end(
                    epoch,
                    {"loss": 0.43021, "accuracy": 0.8125, "val_loss": 2e-5, "val_accuracy": 1.0},
                )
            callbacks.on_train_end()
        finally:
            sys.stdout = saved
        return stream.getvalue()

    expected = _normalize_bar(drive(K.callbacks))
    assert _normalize_bar(drive(lcb)) == expected
    assert "val_accuracy: N.N - val_loss: N.Ne-N" in expected[1]


def _comparable(value):
    """Floats (or `"nan"`, or `None`) so that traces compare with `==`."""
    if value is None:
        return None
    value = float(value)
    return "nan" if math.isnan(value) else value


_STATE = ("wait", "best", "stopped_epoch", "best_epoch", "cooldown_counter", "min_delta")


def _drive_monitor(module, callback_factory, values, monitor, runs=1):
    """Runs a monitor callback over `values` (`None`: `monitor` missing from the logs).

    `runs` fits in a row reuse the callback. Sets the weights to the epoch index (plus
    100 per run) before each epoch end, so the final weights name the restored epoch.
    Returns the per-epoch trace (stop flag, learning rate, logged learning rate and the
    callback's counters), the final weights of each run and the warning texts.
    """
    model = _Model()
    callback = callback_factory(module)
    callback.set_model(model)
    callback.set_params({"epochs": len(values), "steps": 1, "verbose": 0})
    trace = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for run in range(runs):
            model.stop_training = False
            callback.on_train_begin()
            for epoch, value in enumerate(values):
                model.weights = [np.full(2, epoch + 100 * run, "float32")]
                logs = {"loss": 0.0} if value is None else {monitor: value, "loss": 0.0}
                callback.on_epoch_end(epoch, logs)
                state = [_comparable(getattr(callback, name, None)) for name in _STATE]
                trace.append((model.stop_training, float(model.optimizer.learning_rate),
                              logs.get("learning_rate"), *state))
                if model.stop_training:
                    break
            callback.on_train_end()
            trace.append(model.weights[0].tolist())
    return trace, [f"{w.category.__name__}: {w.message}" for w in caught]


NAN = float("nan")


def _sequences():
    rng = np.random.default_rng(0)
    walks = [list(np.round(np.cumsum(rng.normal(0, 0.1, 12)) + 1.0, 3)) for _ in range(8)]
    return walks + [
        [1.0] * 10,  # a plateau from the start
        [1.0, 0.9, 0.95, 0.85, 0.86, 0.87, 0.5],
        [1.0, 0.99, 0.98, 0.97, 0.96, 0.95],  # steady small gains: the best is the last epoch
        [0.5, 0.6, 0.7, 0.8, 0.8, 0.75],  # rising, then a tie
        [1.0, 0.96, 0.93, 0.9, 0.95, 0.91, 0.92, 0.93],
        [NAN, 1.0, 0.5, 0.4, 0.4, 0.4],  # NaN first becomes `best`: nothing beats it
        [1.0, NAN, 0.9, NAN, NAN, NAN, 0.8],  # NaN never improves
        [None, 1.0, None, 0.9, None, None, None, 0.95, 0.95],  # missing: warns, skipped
    ]


ES_CONFIGS = [
    dict(patience=0),
    dict(patience=2),
    dict(patience=2, min_delta=0.05),
    dict(patience=2, min_delta=-0.05),  # the sign of min_delta is ignored
    dict(patience=1, mode="min"),
    dict(patience=1, mode="max"),
    dict(patience=2, min_delta=0.05, mode="max"),
    dict(patience=2, baseline=0.9),
    dict(patience=2, baseline=0.9, mode="max"),
    dict(patience=1, restore_best_weights=True),
    dict(patience=20, restore_best_weights=True),  # never stops: restores at the end
    dict(patience=2, baseline=0.1, restore_best_weights=True),  # baseline never beaten
    dict(patience=2, baseline=5.0, mode="max", restore_best_weights=True),
    dict(patience=1, start_from_epoch=3, restore_best_weights=True),
    dict(patience=0, start_from_epoch=2, baseline=0.95, restore_best_weights=True),
    dict(patience=3, min_delta=0.02, restore_best_weights=True, verbose=1),
]


@pytest.mark.parametrize("config", ES_CONFIGS, ids=str)
def test_early_stopping_matches_keras(K, config, capsys):
    """Stop epoch, `wait`, `best`, `stopped_epoch`, `best_epoch`, `min_delta`, restored
    weights, warnings and messages agree with Keras over many histories, in two fits."""
    for values in _sequences():

        def factory(module):
            return module.callbacks.EarlyStopping(monitor="val_loss", **config)

        keras_result = _drive_monitor(K, factory, values, "val_loss", runs=2)
        keras_out = capsys.readouterr().out
        assert _drive_monitor(lamina, factory, values, "val_loss", runs=2) == keras_result
        assert capsys.readouterr().out == keras_out


RLR_CONFIGS = [
    dict(patience=1, factor=0.5),
    dict(patience=2, factor=0.5, cooldown=2),
    dict(patience=1, factor=0.1, min_lr=0.05),
    dict(patience=1, factor=0.3, min_lr=0.3**3),  # lands exactly on min_lr (float32)
    dict(patience=1, factor=0.5, min_delta=0.05, mode="max"),
    dict(patience=1, factor=0.5, min_delta=-0.05, mode="min"),
    dict(patience=0, factor=0.5, cooldown=1),
    dict(patience=0, factor=0.5, cooldown=1, min_delta=0),
    dict(patience=3, factor=0.2, cooldown=2, min_lr=1e-3, verbose=1),
]


@pytest.mark.parametrize("config", RLR_CONFIGS, ids=str)
@pytest.mark.parametrize("monitor", ["val_loss", "val_acc"])
def test_reduce_lr_on_plateau_matches_keras(K, config, monitor, capsys):
    """The learning rate (set and logged), `wait`, `cooldown_counter` and `best` agree
    with Keras epoch by epoch, over two fits with the same callback."""
    # Keras resolves "auto" only from compiled-metric containers, which a fake model
    # cannot provide; accuracy is monitored with an explicit "max" here (real models:
    # test_auto_mode_resolves_like_keras_from_compiled_metrics).
    config = dict(config, mode=config.get("mode", "max" if monitor == "val_acc" else "auto"))
    for values in _sequences():

        def factory(module):
            return module.callbacks.ReduceLROnPlateau(monitor=monitor, **config)

        keras_result = _drive_monitor(K, factory, values, monitor, runs=2)
        keras_out = capsys.readouterr().out
        assert _drive_monitor(lamina, factory, values, monitor, runs=2) == keras_result
        assert capsys.readouterr().out == keras_out


@pytest.mark.parametrize("name, args", [("EarlyStopping", ()), ("ReduceLROnPlateau", ()),
                                        ("ModelCheckpoint", ("m.keras",))])
def test_unknown_mode_warns_and_falls_back_to_auto_like_keras(K, name, args):
    for module in (K, lamina):
        with pytest.warns(UserWarning, match=f"^{name} mode 'sideways' is unknown, fallback"):
            callback = getattr(module.callbacks, name)(*args, mode="sideways")
        assert callback.mode == "auto"


def test_reduce_lr_on_plateau_refuses_a_factor_of_one_like_keras(K):
    for module in (K, lamina):
        with pytest.raises(ValueError, match=r"not support a factor >= 1.0. Received factor=1"):
            module.callbacks.ReduceLROnPlateau(factor=1.0)


def test_learning_rate_scheduler_matches_keras(K):
    def run(module):
        model = _Model(learning_rate=0.1)
        history = module.callbacks.History()
        callbacks = module.callbacks.CallbackList(
            [
                module.callbacks.LearningRateScheduler(lambda e, lr: lr * 0.5 if e % 2 else lr),
                history,
            ],
            model=model,
        )
        callbacks.on_train_begin()
        for epoch in range(5):
            callbacks.on_epoch_begin(epoch)
            callbacks.on_epoch_end(epoch, {"loss": 1.0})
        return history.history

    assert run(__import__("lamina")) == run(K)


def test_learning_rate_scheduler_refuses_a_schedule_that_is_not_callable(K):
    # Keras fails at the first epoch and lamina at construction: a TypeError either way.
    keras_scheduler = K.callbacks.LearningRateScheduler(0.1)
    keras_scheduler.set_model(_Model())
    with pytest.raises(TypeError, match="not callable"):
        keras_scheduler.on_epoch_begin(0)
    with pytest.raises(TypeError, match="expects a function `schedule"):
        lamina.callbacks.LearningRateScheduler(0.1)


def test_csv_logger_files_match_keras(K, tmp_path):
    runs = [
        [{"loss": 1.0, "acc": 0.5}],
        [{"loss": 1.0, "val_loss": 2.0}, {"loss": 1.0}],
        [{"loss": 1.0}, {"loss": 2.0, "val_loss": 3.0, "extra": 1.0}],
        [{"b": np.array([1.0, 2.0]), "s": "txt", "a": 0.25, "t": 1e-9}],
    ]
    for index, epochs in enumerate(runs):
        contents = []
        for module in (K, __import__("lamina")):
            path = tmp_path / f"{module.__name__}_{index}.csv"
            for append, separator in ((False, ","), (True, ";")):
                logger = module.callbacks.CSVLogger(str(path), separator=separator, append=append)
                logger.set_model(_Model())
                logger.on_train_begin()
                for epoch, logs in enumerate(epochs):
                    logger.on_epoch_end(epoch, dict(logs))
                logger.on_train_end()
            contents.append(path.read_bytes())
        assert contents[1] == contents[0]


def test_callback_list_logs_and_history_match_keras(K):
    import torch

    def run(module):
        seen = []

        class Reader(module.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                seen.append(("batch", batch, logs))

            def on_epoch_end(self, epoch, logs=None):
                seen.append(("epoch", epoch, logs))

        model = _Model()
        callbacks = module.callbacks.CallbackList(
            [Reader()], add_history=True, model=model, verbose=0, epochs=1, steps=1
        )
        callbacks.on_train_begin()
        callbacks.on_epoch_begin(0)
        callbacks.on_train_batch_end(0, {"loss": torch.tensor(1.5), "acc": np.float32(0.5)})
        callbacks.on_epoch_end(0, {"loss": torch.tensor(1.5), "n": torch.tensor(3)})
        callbacks.on_train_end()
        # Keras hands floats or tensors depending on its dispatch path; lamina always
        # hands floats, so values (and key order) are compared as floats.
        seen = [(kind, i, [(k, float(v)) for k, v in logs.items()]) for kind, i, logs in seen]
        history = {k: [float(v) for v in vs] for k, vs in model.history.history.items()}
        return seen, history, [type(c).__name__ for c in callbacks.callbacks]

    assert run(__import__("lamina")) == run(K)


# -- the same decisions inside real models and real `fit` runs -------------------------------

_X = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
_Y = (_X[:, :1] > 0).astype("float32")


def _compiled_classifier(module, learning_rate=0.1):
    model = module.Sequential([module.Input((3,)), module.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer=module.optimizers.SGD(learning_rate),
        loss="binary_crossentropy",
        metrics=["acc", "accuracy", module.metrics.AUC(), "mae", module.metrics.AUC(name="my_auc")],
    )
    return model


def _scripted(module, monitor, values):
    """A callback (first in the list) that writes `values[epoch]` into the epoch logs
    (`None` removes `monitor`), and records per epoch the learning rate at its start
    and the weights at its end."""

    class Scripted(module.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs, self.rates, self.snapshots = [], [], {}

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)
            self.rates.append(float(self.model.optimizer.learning_rate))

        def on_epoch_end(self, epoch, logs=None):
            logs.pop(monitor, None)
            if values[epoch] is not None:
                logs[monitor] = values[epoch]
            # Copies: lamina's `get_weights()` still hands out views of CPU variables.
            self.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    return Scripted()


def _weights_equal(a, b):
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("monitor", ["loss", "val_loss", "acc", "val_acc", "accuracy",
                                     "val_accuracy", "auc", "val_auc", "val_my_auc", "val_mae"])
def test_auto_mode_resolves_like_keras_from_compiled_metrics(K, monitor, tmp_path):
    """With `mode="auto"`, the three monitor callbacks pick the direction Keras picks
    from the compiled metrics: same stop, same reductions, same checkpoint files."""
    values = [0.5, 0.6, 0.4, 0.55, 0.3, 0.7, 0.65]

    def run(module):
        model = _compiled_classifier(module)
        model.fit(_X, _Y, epochs=1, verbose=0)  # builds the compiled metrics
        directory = tmp_path / module.__name__
        callbacks = [
            module.callbacks.EarlyStopping(monitor=monitor, patience=2),
            module.callbacks.ReduceLROnPlateau(monitor=monitor, patience=1, factor=0.5),
            module.callbacks.ModelCheckpoint(str(directory / "{epoch}.weights.h5"),
                                             monitor=monitor, save_best_only=True,
                                             save_weights_only=True),
        ]
        trace = []
        for callback in callbacks:
            callback.set_model(model)
            callback.on_train_begin()
        for epoch, value in enumerate(values):
            for callback in callbacks:
                callback.on_epoch_begin(epoch)
                callback.on_epoch_end(epoch, {monitor: value})
            trace.append((model.stop_training, float(model.optimizer.learning_rate),
                          [_comparable(c.best) for c in callbacks]))
        return trace, [c.min_delta for c in callbacks], sorted(p.name for p in directory.iterdir())

    assert run(lamina) == run(K)


@pytest.mark.parametrize("name", ["EarlyStopping", "ReduceLROnPlateau"])
def test_auto_mode_refuses_a_metric_of_unknown_direction_like_keras(K, name):
    for module in (K, lamina):
        model = _compiled_classifier(module)
        model.fit(_X, _Y, epochs=1, verbose=0)
        callback = getattr(module.callbacks, name)(monitor="val_binary_accuracy")
        callback.set_model(model)
        callback.on_train_begin()
        with pytest.raises(ValueError, match="monitor=val_binary_accuracy.*mode='max'"):
            callback.on_epoch_end(0, {"val_binary_accuracy": 0.5})


RESTORE_CASES = {
    "best_is_last": (dict(patience=1), [1.0, 0.9, 0.8, 0.7]),
    "stops_early": (dict(patience=2), [1.0, 0.5, 0.6, 0.7, 0.8, 0.9]),
    "baseline_never_beaten": (dict(patience=2, baseline=0.1), [1.0, 0.9, 0.95, 0.97, 0.8]),
    "baseline_beaten_late": (dict(patience=1, baseline=0.6), [1.0, 0.9, 0.5, 0.55, 0.4]),
    "start_from_epoch": (dict(patience=1, start_from_epoch=2),
                         [0.1, 0.2, 0.5, 0.4, 0.45, 0.6, 0.7]),
    "max_with_nan_and_missing": (dict(patience=2, mode="max"),
                                 [0.5, NAN, 0.7, None, 0.6, 0.65, 0.9]),
    "min_delta": (dict(patience=2, min_delta=0.1), [1.0, 0.95, 0.85, 0.8, 0.79, 0.5]),
}


@pytest.mark.parametrize("case", sorted(RESTORE_CASES))
def test_fit_with_restore_best_weights_restores_the_best_epoch_like_keras(K, case):
    """In real `fit` runs: the same stop epoch, `stopped_epoch`, `best` and `best_epoch`
    as Keras, and the final weights are exactly those seen at the end of the best epoch."""
    config, values = RESTORE_CASES[case]
    config = {"mode": "min", **config}  # "val_score" is no compiled metric: no "auto"

    def run(module):
        model = _compiled_classifier(module)
        scripted = _scripted(module, "val_score", values)
        stopper = module.callbacks.EarlyStopping(monitor="val_score", restore_best_weights=True,
                                                 **config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = model.fit(_X, _Y, epochs=len(values), batch_size=4, shuffle=False,
                                verbose=0, callbacks=[scripted, stopper])
        snapshots = scripted.snapshots
        assert all(not _weights_equal(snapshots[e], snapshots[e + 1])
                   for e in range(len(snapshots) - 1))  # every epoch moved the weights
        assert _weights_equal(model.get_weights(), snapshots[stopper.best_epoch])
        missing = [w for w in caught if "`val_score` which is not available" in str(w.message)]
        return (len(history.history["loss"]), stopper.stopped_epoch, stopper.best_epoch,
                _comparable(stopper.best), stopper.wait, len(missing))

    assert run(lamina) == run(K)


def test_fit_with_reduce_lr_on_plateau_changes_the_rate_like_keras(K):
    """In real `fit` runs: the learning rate each epoch starts with, and the
    `learning_rate` that History records, agree with Keras."""
    values = [1.0, 1.0, 0.9, 0.9, 0.95, 0.95, 0.95, 0.2, 0.3, 0.3, 0.3]

    def run(module):
        model = _compiled_classifier(module, learning_rate=0.5)
        scripted = _scripted(module, "val_score", values)
        reducer = module.callbacks.ReduceLROnPlateau(monitor="val_score", factor=0.5,
                                                     patience=1, cooldown=1, min_lr=0.07,
                                                     mode="min")
        history = model.fit(_X, _Y, epochs=len(values), batch_size=8, verbose=0,
                            callbacks=[scripted, reducer])
        return scripted.rates, [round(v, 7) for v in history.history["learning_rate"]]

    assert run(lamina) == run(K)
