"""Forward latency: a lamina 784-512-256-10 MLP vs the same `torch.nn.Sequential`.

Run: python benchmarks/layer_forward.py [--repeats 15] [--calls 200] [--device cpu|cuda]
Both models hold identical weights (copied, outputs checked equal). Each timed sample
runs `--calls` forward passes; runs are interleaved and the median is reported, at batch
1 and 128, under `torch.no_grad()` and with autograd on. Prints ratios; never asserts.
"""

import argparse

import torch
from _common import interleaved, report

import lamina


def build(device):
    model = lamina.Sequential([
        lamina.Input((784,)),
        lamina.layers.Dense(512, activation="relu"),
        lamina.layers.Dense(256, activation="relu"),
        lamina.layers.Dense(10),
    ]).to(device)
    linears = []
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        linear = torch.nn.Linear(*kernel.shape)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(kernel.T))
            linear.bias.copy_(torch.from_numpy(bias))
        linears.append(linear)
    reference = torch.nn.Sequential(linears[0], torch.nn.ReLU(), linears[1], torch.nn.ReLU(),
                                    linears[2]).to(device)
    return model, reference


def timed(fn, x, calls, grad, device):
    def run():
        with torch.set_grad_enabled(grad):
            for _ in range(calls):
                fn(x)
        if device == "cuda":
            torch.cuda.synchronize()
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    model, reference = build(args.device)
    for batch in (1, 128):
        x = torch.randn(batch, 784, device=args.device)
        with torch.no_grad():
            torch.testing.assert_close(model(x), reference(x), atol=1e-5, rtol=1e-5)
        for grad in (False, True):
            medians = interleaved({
                "torch.nn.Sequential": timed(reference, x, args.calls, grad, args.device),
                "lamina.Sequential": timed(model, x, args.calls, grad, args.device),
            }, repeats=args.repeats, warmup=2)
            mode = "with grad" if grad else "no_grad"
            report(f"MLP 784-512-256-10, batch {batch}, {mode}, {args.calls} calls "
                   f"({args.device})", medians, "torch.nn.Sequential")


if __name__ == "__main__":
    main()
