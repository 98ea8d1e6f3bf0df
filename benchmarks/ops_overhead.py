"""Per-call overhead of lamina.ops over the bare torch function, on small tensors.

Prints time per call and the ratio lamina / torch; asserts nothing.
Run: .venv/bin/python benchmarks/ops_overhead.py
"""

import timeit

import torch

from lamina import ops


def bench(fn, number=20000, repeat=5):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main():
    x = torch.randn(8, 16)
    w = torch.randn(16, 16)
    cases = {
        "add": (lambda: ops.add(x, x), lambda: torch.add(x, x)),
        "add scalar": (lambda: ops.add(x, 1.0), lambda: torch.add(x, 1.0)),
        "matmul": (lambda: ops.matmul(x, w), lambda: torch.matmul(x, w)),
        "relu": (lambda: ops.relu(x), lambda: torch.relu(x)),
        "softmax": (lambda: ops.softmax(x), lambda: torch.softmax(x, dim=-1)),
        "sum axis": (lambda: ops.sum(x, axis=1), lambda: torch.sum(x, dim=1)),
        "reshape": (lambda: ops.reshape(x, (16, 8)), lambda: torch.reshape(x, (16, 8))),
    }
    print(f"{'op':<12}{'lamina us':>11}{'torch us':>10}{'ratio':>8}")
    for name, (ours, bare) in cases.items():
        a, b = bench(ours), bench(bare)
        print(f"{name:<12}{a:>11.2f}{b:>10.2f}{a / b:>8.2f}")


if __name__ == "__main__":
    main()
