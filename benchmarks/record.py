"""The benchmark record: every workload, every system, one command, one table and chart.

Run: OMP_NUM_THREADS=1 python benchmarks/record.py [--quick] [--no-compile] [--rounds 5]
     [--workloads mlp,tiny,...] [--candidates torch,lamina,...] [--out benchmarks/results]
     [--device auto|cpu|cuda] [--tf32]

Workloads: MLP 784-512-256-10 fit (Adam), tiny MLP 32-32-1 fit (SGD), small CNN fit, LSTM
fit, a small transformer encoder fit, a ResNet-style stack in inference, `predict` on the
MLP and single-sample `model(x)` latency. Candidates: the hand-written PyTorch loop (the
baseline), the same loop under `torch.compile`, lamina eager, lamina with
`compile(jit_compile=True)`, and Keras 3 on torch, JAX and TensorFlow when installed.

Every (workload, candidate) pair runs in its own worker process (Keras on another backend
needs `KERAS_BACKEND` set before import, and each process's resident memory is that
candidate's alone). The workers of one workload stay alive together and the parent
interleaves them round by round (the order rotates each round), so machine noise hits
all of them alike; the median round is reported. The first call (compilation included)
is timed apart: "compile" is first call minus the steady median. Memory is read from
/proc/self/status: the peak RSS (VmHWM, reset through /proc/self/clear_refs once the model
and data exist) over the steady rounds, and that peak minus the RSS before the first call
("fit memory": optimizer state, activations, compiled code; imports excluded).

On a machine with CUDA (`--device auto`, the default, picks it) every candidate runs on
the GPU: the PyTorch loops keep the dataset resident on the device (lamina's array
adapter does the same when it fits, else it streams from pinned memory with
non-blocking copies), convolutions run channels_last, LSTMs run cuDNN's kernel, torch
workers synchronize before the clock stops, and memory is the CUDA allocator's peak
(`torch.cuda.max_memory_allocated`, torch-based candidates only) instead of RSS.
float32 matmuls keep torch's default precision unless `--tf32` allows TF32 in the
torch-based candidates (TensorFlow and JAX use TF32 on Ampere and newer by default).
`--device cpu` hides the GPUs from every worker.

Writes `latest.md`, `latest.png` (ratios to the PyTorch loop) and `latest.json` into
`--out`. Prints progress; never asserts (CI does not depend on timings).
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = "torch"

# name -> (column title, KERAS_BACKEND of its worker)
CANDIDATES = {
    "torch": ("PyTorch eager", "torch"),
    "torch.compile": ("PyTorch torch.compile", "torch"),
    "lamina": ("lamina", "torch"),
    "lamina jit": ("lamina jit_compile=True", "torch"),
    "keras torch": ("Keras 3 (torch)", "torch"),
    "keras jax": ("Keras 3 (JAX)", "jax"),
    "keras tensorflow": ("Keras 3 (TensorFlow)", "tensorflow"),
}

# name -> (description, full size, quick size): size is samples, or calls per timed unit
WORKLOADS = {
    "mlp": ("MLP 784-512-256-10 fit, batch 128, Adam", 60000, 6000),
    "tiny": ("tiny MLP 32-32-1 fit, batch 32, SGD", 20000, 5000),
    "cnn": ("CNN (2 conv + pool, dropout, dense) fit, 28x28x1, batch 128, Adam", 20000, 1000),
    "lstm": ("Embedding(10000, 64) -> LSTM(64) -> Dense(1) fit, length 80, batch 64, Adam",
             10000, 500),
    "transformer": ("transformer encoder block (d=64, 4 heads, ff 128) fit, length 64, "
                    "batch 64, Adam", 4000, 320),
    "resnet": ("ResNet-style stack (3 blocks, 64 ch, 32x32), inference batch 64 x calls",
               10, 2),
    "predict": ("`predict` MLP 784-512-256-10, batch 1024", 60000, 10000),
    "latency": ("single-sample `model(x)` MLP 784-512-256-10 x calls (no grad)", 5000, 1000),
}

SEQ_T, VOCAB_T, D_T, FF_T, HEADS_T = 64, 5000, 64, 128, 4
MLP = [784, 512, 256, 10]


def installed(candidate):
    backend = CANDIDATES[candidate][1]
    module = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}[backend]
    if candidate.startswith("keras") and importlib.util.find_spec("keras") is None:
        return False
    return importlib.util.find_spec(module) is not None


# ---------------------------------------------------------------- the worker side


def _data(workload, size):
    import numpy as np

    rng = np.random.default_rng(0)
    if workload in ("mlp", "predict", "latency"):
        n = 1 if workload == "latency" else size
        return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n)
    if workload == "tiny":
        return (rng.random((size, 32), dtype=np.float32),
                rng.random((size, 1), dtype=np.float32))
    if workload == "cnn":
        return rng.random((size, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size)
    if workload == "lstm":
        return (rng.integers(0, 10000, (size, 80)).astype("int64"),
                rng.integers(0, 2, (size, 1)).astype("float32"))
    if workload == "transformer":
        return (rng.integers(0, VOCAB_T, (size, SEQ_T)).astype("int64"),
                rng.integers(0, 2, (size, 1)).astype("float32"))
    if workload == "resnet":
        return rng.standard_normal((64, 32, 32, 64), dtype=np.float32), None
    raise ValueError(f"unknown workload {workload!r}; expected one of {list(WORKLOADS)}")


def keras_api_model(api, workload, jit_compile="auto"):
    """The workload's model written once against the Keras API (`api` is `keras` or
    `lamina`), compiled for training where the workload trains."""
    layers = api.layers
    if workload in ("mlp", "predict", "latency", "tiny"):
        sizes = [32, 32, 1] if workload == "tiny" else MLP
        model = api.Sequential([api.Input((sizes[0],))] + [
            layers.Dense(units, activation="relu" if i < len(sizes) - 2 else None)
            for i, units in enumerate(sizes[1:])])
    elif workload == "cnn":
        model = api.Sequential([
            api.Input((28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
            layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    elif workload == "lstm":
        model = api.Sequential([api.Input((80,), dtype="int64"), layers.Embedding(10000, 64),
                                layers.LSTM(64), layers.Dense(1)])
    elif workload == "transformer":
        inputs = api.Input((SEQ_T,), dtype="int64")
        x = layers.Embedding(VOCAB_T, D_T)(inputs)
        x = layers.LayerNormalization(epsilon=1e-5)(
            layers.Add()([x, layers.MultiHeadAttention(HEADS_T, D_T // HEADS_T)(x, x)]))
        ff = layers.Dense(D_T)(layers.Dense(FF_T, activation="relu")(x))
        x = layers.LayerNormalization(epsilon=1e-5)(layers.Add()([x, ff]))
        model = api.Model(inputs, layers.Dense(1)(layers.GlobalAveragePooling1D()(x)))
    elif workload == "resnet":
        inputs = x = api.Input((32, 32, 64))
        for _ in range(3):
            y = layers.ReLU()(layers.BatchNormalization()(
                layers.Conv2D(64, 3, padding="same")(x)))
            y = layers.BatchNormalization()(layers.Conv2D(64, 3, padding="same")(y))
            x = layers.ReLU()(layers.Add()([x, y]))
        model = api.Model(inputs, x)
    else:
        raise ValueError(f"unknown workload {workload!r}")
    _compile_for(api, model, workload, jit_compile)
    return model


def _compile_for(api, model, workload, jit_compile):
    if workload in ("mlp", "cnn"):
        loss = api.losses.SparseCategoricalCrossentropy(from_logits=workload == "mlp")
        optimizer = api.optimizers.Adam(1e-3)
    elif workload == "tiny":
        loss, optimizer = "mse", api.optimizers.SGD(0.01)
    elif workload in ("lstm", "transformer"):
        loss = api.losses.BinaryCrossentropy(from_logits=True)
        optimizer = api.optimizers.Adam(1e-3)
    else:
        loss, optimizer = "mse", api.optimizers.Adam(1e-3)
    model.compile(optimizer=optimizer, loss=loss, jit_compile=jit_compile)


def _lamina_model(workload, jit):
    """lamina's models come from the existing scripts' builders where one exists."""
    import lamina

    if workload in ("mlp", "tiny", "predict", "latency"):
        from fit_vs_torch import lamina_mlp

        model = lamina_mlp([32, 32, 1] if workload == "tiny" else MLP)
        _compile_for(lamina, model, workload, jit)
        return model
    if workload == "cnn":
        from cnn_fit import lamina_cnn

        return lamina_cnn("channels_last", jit_compile=jit)
    if workload == "resnet":
        from resnet_block import LaminaResNet

        model = lamina.Sequential([lamina.Input((32, 32, 64)), LaminaResNet()])
        _compile_for(lamina, model, workload, jit)
        return model
    return keras_api_model(lamina, workload, jit_compile=jit)


class TorchEncoder:
    """The transformer workload hand-written in torch (built lazily: no torch import at
    module level, so a TensorFlow worker never loads it)."""

    @staticmethod
    def build():
        import torch

        class Encoder(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embedding = torch.nn.Embedding(VOCAB_T, D_T)
                self.block = torch.nn.TransformerEncoderLayer(
                    D_T, HEADS_T, FF_T, dropout=0.0, batch_first=True)
                self.head = torch.nn.Linear(D_T, 1)

            def forward(self, x):
                return self.head(self.block(self.embedding(x)).mean(1))

        return Encoder()


def _torch_net(workload, device="cpu"):
    """(network, loss function, optimizer, epoch function) from the existing scripts, the
    network moved to `device` before its optimizer exists."""
    import torch
    import torch.nn.functional as F

    def adam(net):
        return torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)

    if workload in ("mlp", "tiny", "predict", "latency"):
        from fit_vs_torch import torch_epoch, torch_mlp

        net = torch_mlp([32, 32, 1] if workload == "tiny" else MLP).to(device)
        loss_fn = torch.nn.MSELoss() if workload == "tiny" else torch.nn.CrossEntropyLoss()
        opt = (torch.optim.SGD(net.parameters(), lr=0.01, foreach=True)
               if workload == "tiny" else adam(net))
        return net, loss_fn, opt, lambda x, y, b: torch_epoch(net, opt, loss_fn, x, y, b)
    if workload == "cnn":
        import cnn_fit

        net = cnn_fit.torch_cnn().to(device)
        opt = adam(net)
        return (net, torch.nn.CrossEntropyLoss(), opt,
                lambda x, y, b: cnn_fit.torch_epoch(net, opt, x, y, b))
    if workload in ("lstm", "transformer"):
        import rnn_fit

        net = (rnn_fit.TorchNet("lstm") if workload == "lstm" else TorchEncoder.build()).to(
            device)
        opt = adam(net)
        return (net, F.binary_cross_entropy_with_logits, opt,
                lambda x, y, b: rnn_fit.torch_epoch(net, opt, x, y, b))
    if workload == "resnet":
        from resnet_block import TorchResNet

        return TorchResNet().to(device).eval(), None, None, None
    raise ValueError(f"unknown workload {workload!r}")


BATCH = {"mlp": 128, "tiny": 32, "cnn": 128, "lstm": 64, "transformer": 64,
         "predict": 1024}


def worker_env(candidate, device, base=None):
    """The environment of `candidate`'s worker process for `device` ("cpu" or "cuda")."""
    env = dict(os.environ if base is None else base,
               KERAS_BACKEND=CANDIDATES[candidate][1], TF_CPP_MIN_LOG_LEVEL="2")
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # Keras on JAX/TF would take a GPU otherwise
        env["LAMINA_DEVICE"] = "cpu"
    else:
        env["LAMINA_DEVICE"] = "cuda"
    return env


def make_runner(workload, candidate, quick, device="cpu"):
    """A zero-argument callable running one timed unit of `workload` for `candidate`
    (one epoch of `fit`, one `predict`, or `calls` forward calls) on `device`."""
    size = WORKLOADS[workload][2 if quick else 1]
    x, y = _data(workload, size)
    if candidate.startswith("torch"):
        return _torch_runner(workload, candidate == "torch.compile", x, y, size, device)
    if candidate.startswith("lamina"):
        api = __import__("lamina")
        if candidate == "lamina jit":
            # imported at set-up, as `torch.compile(...)` does in the torch.compile worker,
            # so that neither's fit memory counts the compiler's import
            import torch._dynamo  # noqa: F401
            import torch._inductor.compile_fx  # noqa: F401
        model = _lamina_model(workload, candidate == "lamina jit")
    else:
        import keras as api

        if CANDIDATES[candidate][1] == "tensorflow" and os.environ.get("OMP_NUM_THREADS"):
            import tensorflow as tf

            threads = int(os.environ["OMP_NUM_THREADS"])
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        model = keras_api_model(api, workload)
    if workload in BATCH and workload != "predict":
        return lambda: model.fit(x, y, batch_size=BATCH[workload], epochs=1, verbose=0)
    if workload == "predict":
        return lambda: model.predict(x, batch_size=1024, verbose=0)
    if workload == "resnet":
        def forward_calls():
            for _ in range(size):
                model.predict_on_batch(x)
        return forward_calls
    # latency: model(x) on a backend tensor, without autograd where the backend has one
    xt = api.ops.convert_to_tensor(x)
    no_grad = _no_grad_context(candidate)

    def latency():
        with no_grad():
            for _ in range(size):
                model(xt)
    return latency


def _no_grad_context(candidate):
    if CANDIDATES[candidate][1] == "torch":
        import torch

        return torch.no_grad
    import contextlib

    return contextlib.nullcontext


def _torch_runner(workload, compiled, x, y, size, device="cpu"):
    import torch

    net, loss_fn, opt, epoch = _torch_net(workload, device)
    tx = torch.from_numpy(x)
    if workload in ("cnn", "resnet"):
        # the torch nets are NCHW; the NHWC data seen as NCHW is channels_last in memory,
        # the fast layout on CUDA (the net follows); on CPU NCHW-contiguous is faster
        tx = tx.permute(0, 3, 1, 2)
        if device == "cpu":
            tx = tx.contiguous()
        else:
            net.to(memory_format=torch.channels_last)
    tx = tx.to(device)  # resident on the device, as lamina keeps arrays that fit
    ty = torch.from_numpy(y).to(device) if y is not None else None
    if workload in BATCH and workload != "predict":
        b = BATCH[workload]
        if not compiled:
            return lambda: epoch(tx, ty, b)
        from _common import compiled_torch_step
        from fit_vs_torch import torch_compiled_epoch

        step = compiled_torch_step(net, opt, loss_fn)
        net.train()
        return lambda: torch_compiled_epoch(step, tx, ty, b)
    net.eval()
    fn = torch.compile(net) if compiled else net
    if workload == "predict":
        def predict():
            with torch.no_grad():
                out = torch.cat([fn(tx[i:i + 1024]) for i in range(0, len(tx), 1024)])
                return out.cpu().numpy()
        return predict

    if workload == "resnet" and device != "cpu":
        # the other candidates call predict_on_batch: numpy in, numpy out, so on a GPU
        # the baseline pays the same two transfers per call
        host = torch.from_numpy(x)

        def calls():
            with torch.no_grad():
                for _ in range(size):
                    fn(host.to(device).permute(0, 3, 1, 2)).cpu().numpy()
        return calls

    def calls():
        with torch.no_grad():
            for _ in range(size):
                fn(tx)
    return calls


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_peak():
    """Reset VmHWM to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class _Memory:
    """The worker's memory readings: process RSS on CPU; on CUDA, the torch caching
    allocator's bytes in use (None for a JAX or TensorFlow worker, which torch cannot see)."""

    def __init__(self, device, candidate):
        self.cuda = device == "cuda"
        self.readable = not self.cuda or CANDIDATES[candidate][1] == "torch"

    def _kb(self, status_field, cuda_reading):
        if not self.cuda:
            return _status_kb(status_field)
        if not self.readable:
            return None
        import torch

        return getattr(torch.cuda, cuda_reading)() / 1024

    def current_kb(self):
        return self._kb("VmRSS", "memory_allocated")

    def peak_kb(self):
        return self._kb("VmHWM", "max_memory_allocated")

    def reset_peak(self):
        if not self.cuda:
            return _reset_peak()
        if self.readable:
            import torch

            torch.cuda.reset_peak_memory_stats()
        return self.readable


def _synchronizer(device, candidate):
    """What makes a timed unit's queued GPU work finish before the clock stops."""
    if device != "cuda" or CANDIDATES[candidate][1] != "torch":
        return lambda: None  # CPU work is done when it returns; JAX/TF fit and predict
        # return host values
    import torch

    return torch.cuda.synchronize


def worker_main(workload, candidate, quick, clock="wall", device="cpu", tf32=False):
    def reply(**message):
        sys.stdout.write("@@" + json.dumps(message) + "\n")
        sys.stdout.flush()

    sys.path.insert(0, HERE)
    try:
        if tf32 and CANDIDATES[candidate][1] == "torch":
            import torch

            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        run = make_runner(workload, candidate, quick, device)
        synchronize = _synchronizer(device, candidate)
        synchronize()
    except Exception as error:  # noqa: BLE001 - reported in the table, not raised
        reply(error=f"setup: {type(error).__name__}: {error}"[:300])
        return
    memory = _Memory(device, candidate)
    reply(ready=True, rss_setup_kb=memory.current_kb())
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "mark":
            reply(reset=memory.reset_peak(), rss_kb=memory.current_kb())
        elif command == "stats":
            reply(peak_kb=memory.peak_kb(), rss_kb=memory.current_kb())
        elif command == "run":
            timer = time.process_time if clock == "process" else time.perf_counter
            try:
                start = timer()
                run()
                synchronize()
                reply(seconds=timer() - start)
            except Exception as error:  # noqa: BLE001
                reply(error=f"run: {type(error).__name__}: {error}"[:300])
                return


# ---------------------------------------------------------------- the parent side


class Worker:
    """One candidate's worker process, spoken to over stdin/stdout lines."""

    def __init__(self, workload, candidate, quick, log, timeout, clock="wall", device="cpu",
                 tf32=False):
        env = worker_env(candidate, device)
        argv = [sys.executable, os.path.abspath(__file__), "--worker", workload, candidate,
                "--clock", clock, "--device", device] + (["--tf32"] if tf32 else [])
        self.timeout = timeout
        self.process = subprocess.Popen(argv + (["--quick"] if quick else []), env=env,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=log, text=True, cwd=HERE)
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("@@"):
                self.lines.put(json.loads(line[2:]))
        self.lines.put({"error": f"worker exited (code {self.process.wait()})"})

    def receive(self):
        try:
            return self.lines.get(timeout=self.timeout)
        except queue.Empty:
            return {"error": f"no answer within {self.timeout} s"}

    def ask(self, command):
        try:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        except OSError as error:
            return {"error": f"worker gone: {error}"}
        return self.receive()

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def run_workload(workload, candidates, args, log):
    """Start every candidate's worker, time the first calls, then interleave `rounds`."""
    results, workers = {}, {}
    print(f"  [{workload}] starting {', '.join(candidates)}", flush=True)
    started = {name: Worker(workload, name, args.quick, log, args.timeout, args.clock,
                            args.device, args.tf32)
               for name in candidates}  # set-up is not timed: start them together
    for name, worker in started.items():
        message = worker.receive()
        if "error" in message:
            results[name] = {"error": message["error"]}
            worker.close()
            continue
        workers[name] = worker
        setup_kb = message["rss_setup_kb"]
        results[name] = {"rss_setup_mb": None if setup_kb is None else setup_kb / 1024,
                         "times": []}
    for name, worker in list(workers.items()):
        message = worker.ask("run")
        if "error" in message:
            results[name]["error"] = message["error"]
            worker.close()
            del workers[name]
            continue
        results[name]["first"] = message["seconds"]
        print(f"  [{workload}] {name}: first call {message['seconds']:.2f} s", flush=True)
    for _ in range(args.warmup):
        for worker in list(workers.values()):
            worker.ask("run")
    for name, worker in workers.items():
        results[name]["peak_reset"] = worker.ask("mark").get("reset", False)
    order = list(workers)
    for round_index in range(args.rounds):
        shift = round_index % max(len(order), 1)
        for name in order[shift:] + order[:shift]:
            if name not in workers:
                continue
            message = workers[name].ask("run")
            if "error" in message:
                results[name]["error"] = message["error"]
                workers.pop(name).close()
            else:
                results[name]["times"].append(message["seconds"])
    for name, worker in workers.items():
        stats = worker.ask("stats")
        if stats.get("peak_kb") is not None:
            results[name]["peak_mb"] = stats["peak_kb"] / 1024
            results[name]["fit_mb"] = (stats["peak_kb"] / 1024
                                       - results[name]["rss_setup_mb"])
        worker.close()
    for result in results.values():
        if result.get("times"):
            result["median"] = statistics.median(result["times"])
            if "first" in result:
                result["compile"] = max(result["first"] - result["median"], 0.0)
    return results


def _ratio(results, workload, name, key):
    row = results.get(workload, {})
    base, mine = row.get(BASELINE, {}).get(key), row.get(name, {}).get(key)
    if not base or mine is None or row.get(name, {}).get("error"):
        return None
    return mine / base


def _columns(results):
    present = {name for row in results.values() for name in row}
    return [name for name in CANDIDATES if name in present]


def write_markdown(results, meta, path):
    """The record as Markdown: ratio table, absolute times, compile times, memory."""
    columns = _columns(results)
    heads = [CANDIDATES[c][0] for c in columns]
    lines = [f"# Benchmark record ({meta['date']})", "",
             f"Command: `{meta['command']}`  ",
             f"Machine: {meta['machine']}  ",
             f"Load average before / after the run: {meta['load_before']} / "
             f"{meta['load_after']}{meta.get('load_note', '')}  ",
             f"Mode: {meta['mode']}, {meta['rounds']} interleaved rounds (median kept), "
             f"each candidate in its own process.  ",
             f"Not measured: {meta.get('missing') or 'nothing'}", "",
             "## Steady-state time, ratio to the hand-written PyTorch eager loop "
             "(lower is faster)", "",
             "| workload | " + " | ".join(heads) + " | PyTorch eager time |",
             "|---" * (len(columns) + 2) + "|"]
    errors = []
    for workload, row in results.items():
        cells = []
        for name in columns:
            ratio = _ratio(results, workload, name, "median")
            if row.get(name, {}).get("error"):
                errors.append(f"- {workload} / {CANDIDATES[name][0]}: {row[name]['error']}")
                cells.append("error")
            else:
                cells.append("—" if ratio is None else f"{ratio:.2f}x")
        base = row.get(BASELINE, {}).get("median")
        base_text = "—" if base is None else f"{base * 1e3:.1f} ms"
        lines.append(f"| {WORKLOADS[workload][0]} | " + " | ".join(cells)
                     + f" | {base_text} |")
    lines += ["", "## First call minus steady time (compilation, warm-up), seconds", "",
              "| workload | " + " | ".join(heads) + " |", "|---" * (len(columns) + 1) + "|"]
    for workload, row in results.items():
        cells = [f"{row[name]['compile']:.2f}" if "compile" in row.get(name, {}) else "—"
                 for name in columns]
        lines.append(f"| {workload} | " + " | ".join(cells) + " |")
    if meta.get("device") == "cuda":
        lines += ["", "## Memory: peak CUDA memory allocated over the steady rounds "
                  "(`torch.cuda.max_memory_allocated`), ratio to the PyTorch loop (fit "
                  "memory ratio in brackets; absolute PyTorch values last)", "",
                  "Fit memory = peak minus what is allocated once model and data exist. "
                  "JAX and TensorFlow allocate outside torch: not measured.", ""]
    else:
        lines += ["", "## Memory: peak RSS over the steady rounds, ratio to the PyTorch "
                  "loop (fit memory ratio in brackets; absolute PyTorch values last)", "",
                  "Fit memory = peak RSS minus the RSS once model and data exist "
                  "(optimizer state, activations, compiled code; imports excluded).", ""]
    lines += ["| workload | " + " | ".join(heads) + " | PyTorch peak / fit memory |",
              "|---" * (len(columns) + 2) + "|"]
    for workload, row in results.items():
        cells = []
        for name in columns:
            peak = _ratio(results, workload, name, "peak_mb")
            fit = _ratio(results, workload, name, "fit_mb")
            cells.append("—" if peak is None else f"{peak:.2f}x"
                         + ("" if fit is None else f" ({fit:.2f}x)"))
        base = row.get(BASELINE, {})
        base_text = (f"{base['peak_mb']:.0f} / {base['fit_mb']:.0f} MB"
                     if "peak_mb" in base else "—")
        lines.append(f"| {workload} | " + " | ".join(cells) + f" | {base_text} |")
    if errors:
        lines += ["", "## Errors", ""] + errors
    lines += ["", "Chart: [latest.png](latest.png); raw numbers: [latest.json](latest.json)."]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def write_chart(results, meta, path):
    """Grouped horizontal bars of the steady-state ratios, log scale, 1.0 marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = [c for c in _columns(results) if c != BASELINE]
    workloads = list(results)
    height = 0.8 / max(len(columns), 1)
    fig, ax = plt.subplots(figsize=(9, 1.0 + 0.9 * len(workloads)))
    for i, name in enumerate(columns):
        ys, xs = [], []
        for j, workload in enumerate(workloads):
            ratio = _ratio(results, workload, name, "median")
            if ratio is not None:
                ys.append(j + (i - (len(columns) - 1) / 2) * height)
                xs.append(ratio)
        ax.barh(ys, xs, height=height, label=CANDIDATES[name][0])
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ticks = [t for t in (0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 50)
             if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    ax.set_xticks(ticks, [f"{t:g}x" for t in ticks])
    ax.minorticks_off()
    ax.set_yticks(range(len(workloads)), workloads)
    ax.invert_yaxis()
    ax.set_xlabel("time / hand-written PyTorch eager (log scale, lower is faster)")
    ax.set_title(f"lamina benchmark record, {meta['date']} ({meta['mode']})")
    ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def resolve_device(device, parser):
    """`--device` made concrete: "auto" is CUDA when torch sees a GPU. Asking for CUDA
    without one, or CUDA with the CPU-time clock (which cannot see GPU time), is an error."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device here (torch "
                     f"{torch.__version__}); use --device cpu")
    return device


def _accelerator(args):
    if args.device != "cuda":
        return "CPU only"
    import torch

    return (f"GPU {torch.cuda.get_device_name()} (CUDA {torch.version.cuda}, TF32 "
            f"{'allowed' if args.tf32 else 'off'} in torch)")


def _load():
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="small datasets and 5 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds (5)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="untimed rounds after the first call (1; quick 0)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--candidates", default=",".join(CANDIDATES))
    parser.add_argument("--no-compile", action="store_true",
                        help="leave out torch.compile and lamina jit (their compiles take "
                             "minutes on CPU)")
    parser.add_argument("--clock", choices=["wall", "process"], default="wall",
                        help="time rounds in wall time, or in the worker's CPU time (all "
                             "its threads: other jobs on a shared machine do not inflate "
                             "it; meant for OMP_NUM_THREADS=1)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="where every candidate runs (auto: CUDA when available)")
    parser.add_argument("--tf32", action="store_true",
                        help="allow TF32 matmuls and convolutions in the torch-based "
                             "candidates on CUDA (TensorFlow and JAX use TF32 by default)")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--timeout", type=float, default=900,
                        help="seconds one worker may take to answer (a compile included)")
    parser.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "CANDIDATE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device == "cuda" and args.clock == "process":
        parser.error("--clock process counts CPU time only, not GPU time: use --clock wall "
                     "with --device cuda")
    if args.worker:
        worker_main(*args.worker, args.quick, args.clock, args.device, args.tf32)
        return
    args.device = resolve_device(args.device, parser)
    args.rounds = args.rounds or 5
    if args.warmup is None:
        args.warmup = 0 if args.quick else 1
    workloads = [w for w in args.workloads.split(",") if w]
    asked = [c for c in args.candidates.split(",") if c]
    for name in workloads:
        if name not in WORKLOADS:
            parser.error(f"--workloads: unknown {name!r}; expected some of {list(WORKLOADS)}")
    for name in asked:
        if name not in CANDIDATES:
            parser.error(f"--candidates: unknown {name!r}; expected some of {list(CANDIDATES)}")
    if args.no_compile:
        asked = [c for c in asked if c not in ("torch.compile", "lamina jit")]
    if BASELINE not in asked:
        asked.insert(0, BASELINE)
    candidates = [c for c in asked if installed(c)]
    missing = [CANDIDATES[c][0] + " (not installed)" for c in asked if c not in candidates]
    os.makedirs(args.out, exist_ok=True)
    import torch

    meta = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python benchmarks/record.py " + " ".join(sys.argv[1:] if argv is None
                                                                else argv),
        "device": args.device,
        "machine": (f"{platform.machine()}, {os.cpu_count()} CPUs, {_accelerator(args)}, "
                    f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
                    f"torch {torch.__version__}, python {platform.python_version()}"),
        "mode": ("quick" if args.quick else "full") + (", CPU-time clock" if args.clock ==
                                                        "process" else ""),
        "rounds": args.rounds,
        "missing": ", ".join(missing), "load_before": _load(),
    }
    if os.environ.get("OMP_NUM_THREADS") is None:
        meta["machine"] += " (torch threads: default)"
    results = {}
    log_path = os.path.join(tempfile.gettempdir(), "lamina_record_workers.log")
    print(f"workers' stderr: {log_path}")
    with open(log_path, "w") as log:
        for workload in workloads:
            print(f"{workload}: {WORKLOADS[workload][0]}", flush=True)
            results[workload] = run_workload(workload, candidates, args, log)
    meta["load_after"] = _load()
    meta["load_note"] = " (2 cores shared with other jobs: ratios are indicative)" if (
        os.getloadavg()[0] > (os.cpu_count() or 1) * 0.75) else ""
    with open(os.path.join(args.out, "latest.json"), "w") as f:
        json.dump({"meta": meta, "results": results}, f, indent=1)
    write_markdown(results, meta, os.path.join(args.out, "latest.md"))
    write_chart(results, meta, os.path.join(args.out, "latest.png"))
    print(open(os.path.join(args.out, "latest.md")).read())


if __name__ == "__main__":
    main()
