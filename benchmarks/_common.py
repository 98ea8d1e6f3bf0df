"""Shared timing helpers: interleaved repeats, medians, ratio tables. Never asserts."""

import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")


def interleaved(candidates, repeats=5, warmup=1, clock=time.perf_counter):
    """Time each zero-argument callable in `candidates` (name -> fn), interleaving the
    runs so machine noise hits all of them alike. Returns name -> median seconds.
    `clock=time.thread_time` counts this thread's CPU time only (steadier on a busy
    machine, blind to time spent in other threads)."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = clock()
            fn()
            times[name].append(clock() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def first_calls(candidates):
    """Time the first call of each callable in `candidates` (compilation included, for
    `jit_compile=True` and `torch.compile`), in order. Returns name -> seconds."""
    seconds = {}
    for name, fn in candidates.items():
        start = time.perf_counter()
        fn()
        seconds[name] = time.perf_counter() - start
    return seconds


def report_first(title, seconds):
    print(f"\n{title}: first call (compilation included)")
    for name, value in seconds.items():
        print(f"  {name:<28} {value:10.2f} s")


def compiled_torch_step(model, opt, loss_fn):
    """The usual way to compile a hand-written PyTorch step: `torch.compile` the model
    (forward and backward) and the optimizer's `step` (one fused update)."""
    import torch

    compiled_model = torch.compile(model)

    @torch.compile(fullgraph=False)
    def opt_step():
        opt.step()

    def step(xb, yb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(compiled_model(xb), yb)
        loss.backward()
        opt_step()
        return loss.detach()

    return step


def report(title, medians, baseline):
    base = medians[baseline]
    print(f"\n{title}")
    for name, value in medians.items():
        print(f"  {name:<28} {value * 1e3:10.2f} ms   {value / base:5.2f}x vs {baseline}")


def keras_or_none():
    try:
        import keras

        return keras
    except Exception:  # noqa: BLE001 - keras is optional here
        return None


def limit_tensorflow_threads(tf):
    """Give TensorFlow the thread count OMP_NUM_THREADS gives torch (TensorFlow ignores
    that variable), so a Keras-on-TensorFlow column is not timed on more cores."""
    threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
