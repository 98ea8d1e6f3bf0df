"""Shared timing helpers: interleaved repeats, medians, ratio tables. Never asserts."""

import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "torch")


def interleaved(candidates, repeats=5, warmup=1):
    """Time each zero-argument callable in `candidates` (name -> fn), interleaving the
    runs so machine noise hits all of them alike. Returns name -> median seconds."""
    for _ in range(warmup):
        for fn in candidates.values():
            fn()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
