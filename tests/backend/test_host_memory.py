"""`backend/host_memory.py`: the loops keep freed memory in glibc's heap (no page faults on
every step's activations) and let glibc give it back after they end."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import lamina
from lamina.backend import host_memory

pytestmark = pytest.mark.skipif(not host_memory.tuning_enabled(),
                                reason="glibc malloc tuning applies on glibc only")

_PROBE = textwrap.dedent("""
    import importlib.util, json, resource, sys
    import numpy as np

    spec = importlib.util.spec_from_file_location("host_memory", sys.argv[1])
    host_memory = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(host_memory)

    def rss_mb():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

    def faults_in_third_round():
        # a step's worth of large buffers: 16 x 8 MB written, then all freed
        for _ in range(3):
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            buffers = [np.ones(1 << 20) for _ in range(16)]
            del buffers
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    plain = faults_in_third_round()
    with host_memory.loop_allocation():
        tuned = faults_in_third_round()
        rss_inside = rss_mb()
    np.ones(1 << 17).sum()  # a 1 MB block freed after the loop: glibc trims the heap top
    print(json.dumps({"plain": plain, "tuned": tuned, "rss_inside": rss_inside,
                      "rss_after": rss_mb()}))
""")


def test_loop_reuses_freed_buffers_and_returns_them_at_the_end():
    # a fresh process: the settings are process-wide and earlier tests ran loops
    result = subprocess.run([sys.executable, "-c", _PROBE, host_memory.__file__],
                            capture_output=True, text=True, check=True, timeout=120)
    numbers = json.loads(result.stdout)
    pages = 16 * 8 * 1024 * 1024 // os.sysconf("SC_PAGE_SIZE")
    # glibc's defaults fault in part of the pages again every round (a quarter here: what
    # lies past the adaptive trim threshold); the loop setting reuses all of them
    assert numbers["plain"] > pages // 8
    assert numbers["tuned"] < pages // 100
    # the loop kept ~128 MB free in the heap; afterwards glibc gives it back as usual
    assert numbers["rss_inside"] - numbers["rss_after"] > 50


def _model():
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


class _DepthProbe(lamina.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = {}

    def on_train_batch_end(self, batch, logs=None):
        self.seen["train"] = host_memory._depth

    def on_test_batch_end(self, batch, logs=None):
        self.seen.setdefault("test", host_memory._depth)

    def on_predict_batch_end(self, batch, logs=None):
        self.seen["predict"] = host_memory._depth


def test_fit_evaluate_and_predict_run_inside_the_loop_setting():
    model, probe = _model(), _DepthProbe()
    x, y = np.ones((8, 3), "float32"), np.ones((8, 2), "float32")
    model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[probe])
    assert probe.seen == {"train": 1, "test": 2}  # validation nests inside fit
    model.evaluate(x, y, verbose=0, callbacks=[probe])
    model.predict(x, verbose=0, callbacks=[probe])
    assert probe.seen["predict"] == 1 and host_memory._depth == 0


def test_a_failing_fit_restores_the_settings():
    class Failing(lamina.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        _model().fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, callbacks=[Failing()])
    assert host_memory._depth == 0


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("LAMINA_MALLOC_TUNING", "0")
    probe = _DepthProbe()
    _model().fit(np.ones((4, 3)), np.ones((4, 2)), verbose=0, callbacks=[probe])
    assert probe.seen == {"train": 0}
