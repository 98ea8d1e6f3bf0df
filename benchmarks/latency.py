"""Single-sample latency: `model(x)` and `predict_on_batch` of a lamina 784-512-256-10 MLP
vs the same plain `torch.nn.Sequential`, both at batch 1 (and 32).

Run: python benchmarks/latency.py [--repeats 15] [--calls 500]
`model(x)` is timed on a torch tensor under `torch.no_grad()` against `reference(x)`;
`predict_on_batch(x)` on a numpy array (numpy out) against the hand-written equivalent,
`reference(torch.from_numpy(x)).numpy()` under `torch.no_grad()`. Runs are interleaved
and the median is reported. With `--clock thread` (the default) each run is timed in the
thread's CPU time, which a shared machine's other jobs do not inflate (run with
OMP_NUM_THREADS=1 so all the work is on this thread); `--clock wall` uses wall time.
Prints ratios; never asserts.
"""

import argparse
import time

import numpy as np
import torch
from _common import interleaved, report
from layer_forward import build


def burst(fn, x, calls, no_grad=True):
    def run():
        with torch.set_grad_enabled(not no_grad):
            for _ in range(calls):
                fn(x)
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--clock", choices=["thread", "wall"], default="thread")
    args = parser.parse_args()
    clock = time.thread_time if args.clock == "thread" else time.perf_counter
    torch.manual_seed(0)
    model, reference = build("cpu")
    reference.eval()

    def torch_predict_on_batch(x):
        with torch.no_grad():
            return reference(torch.from_numpy(x)).numpy()

    for batch in (1, 32):
        x = torch.randn(batch, 784)
        xn = x.numpy()
        np.testing.assert_allclose(model.predict_on_batch(xn), torch_predict_on_batch(xn),
                                   atol=1e-5, rtol=1e-5)
        medians = interleaved({
            "torch.nn.Sequential(x)": burst(reference, x, args.calls),
            "lamina model(x)": burst(model, x, args.calls),
            "torch predict_on_batch": burst(torch_predict_on_batch, xn, args.calls, False),
            "lamina predict_on_batch": burst(model.predict_on_batch, xn, args.calls, False),
        }, repeats=args.repeats, warmup=2, clock=clock)
        report(f"MLP 784-512-256-10, batch {batch}, {args.calls} calls (no_grad / numpy, "
               f"{args.clock} clock)",
               medians, "torch.nn.Sequential(x)")
        print(f"  predict_on_batch ratio: "
              f"{medians['lamina predict_on_batch'] / medians['torch predict_on_batch']:.2f}x "
              "vs torch predict_on_batch")


if __name__ == "__main__":
    main()
