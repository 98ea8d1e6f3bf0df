"""Per-call overhead of lamina.ops over the bare torch function, on small tensors.

Each pair (lamina op, the torch call it stands for) is timed in short interleaved bursts
and the fastest burst of each is kept, so other load on the machine mostly cancels out.
Prints time per call and the ratio lamina / torch; asserts nothing.

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ops_overhead.py [--bursts N]
"""

import argparse
import timeit

import torch

from lamina import ops


def cases():
    x = torch.randn(8, 16)
    w = torch.randn(16, 16)
    return {
        "add": (lambda: ops.add(x, x), lambda: torch.add(x, x)),
        "add scalar": (lambda: ops.add(x, 1.0), lambda: torch.add(x, 1.0)),
        "multiply": (lambda: ops.multiply(x, x), lambda: torch.mul(x, x)),
        "matmul": (lambda: ops.matmul(x, w), lambda: torch.matmul(x, w)),
        "relu": (lambda: ops.relu(x), lambda: torch.relu(x)),
        "sigmoid": (lambda: ops.sigmoid(x), lambda: torch.sigmoid(x)),
        "softmax": (lambda: ops.softmax(x), lambda: torch.softmax(x, dim=-1)),
        "sum axis": (lambda: ops.sum(x, axis=1), lambda: torch.sum(x, dim=1)),
        "mean axis": (lambda: ops.mean(x, axis=1), lambda: torch.mean(x, dim=1)),
        "reshape": (lambda: ops.reshape(x, (16, 8)), lambda: torch.reshape(x, (16, 8))),
        "transpose": (lambda: ops.transpose(x), lambda: torch.permute(x, (1, 0))),
        "concatenate": (lambda: ops.concatenate([x, x], axis=-1),
                        lambda: torch.cat([x, x], dim=-1)),
        "exp": (lambda: ops.exp(x), lambda: torch.exp(x)),
    }


def fastest(fn, bursts, number=200):
    return min(timeit.timeit(fn, number=number) for _ in range(bursts)) / number * 1e6


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bursts", type=int, default=300)
    bursts = parser.parse_args().bursts
    print(f"{'op':<13}{'lamina us':>11}{'torch us':>10}{'ratio':>8}")
    ratios = []
    for name, (ours, bare) in cases().items():
        ours_t, bare_t = [], []
        for _ in range(bursts // 20):  # interleave: both see the same machine state
            ours_t.append(fastest(ours, 20))
            bare_t.append(fastest(bare, 20))
        a, b = min(ours_t), min(bare_t)
        ratios.append(a / b)
        print(f"{name:<13}{a:>11.2f}{b:>10.2f}{a / b:>8.2f}")
    geo = torch.tensor(ratios).log().mean().exp().item()
    print(f"{'geomean':<13}{'':>21}{geo:>8.2f}")


if __name__ == "__main__":
    main()
