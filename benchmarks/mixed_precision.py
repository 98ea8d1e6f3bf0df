"""Mixed precision on CPU: one epoch of `fit` under "mixed_bfloat16" vs "float32", for an
MLP and a small CNN, next to the same networks hand-written in PyTorch (float32, and bfloat16
with `torch.autocast("cpu")` and float32 master weights).

MLP: 784-512-256-10 relu, 20,000 samples. CNN: 28x28x1 -> Conv2D 32 3x3 -> MaxPool ->
Conv2D 64 3x3 -> MaxPool -> Flatten -> Dense 10; 8,000 samples. Batch 128, Adam.

Run: OMP_NUM_THREADS=1 python benchmarks/mixed_precision.py [--repeats 3]
Prints median times and ratios (bfloat16 vs float32 of the same library, and lamina vs
PyTorch at the same precision); never asserts. bfloat16 pays off on CPUs with native
bfloat16 matmuls (AVX512-BF16, AMX); elsewhere it can be slower than float32.
"""

import argparse

import numpy as np
import torch
from _common import interleaved, report

import lamina


def lamina_model(kind, policy):
    lamina.config.set_dtype_policy(policy)
    try:
        if kind == "mlp":
            layers = [lamina.Input((784,)), lamina.layers.Dense(512, activation="relu"),
                      lamina.layers.Dense(256, activation="relu")]
        else:
            layers = [lamina.Input((28, 28, 1)),
                      lamina.layers.Conv2D(32, 3, activation="relu"),
                      lamina.layers.MaxPooling2D(2),
                      lamina.layers.Conv2D(64, 3, activation="relu"),
                      lamina.layers.MaxPooling2D(2), lamina.layers.Flatten()]
        # NOTE: the last layer computes in float32, as Keras' mixed precision guide advises.
        layers.append(lamina.layers.Dense(10, dtype="float32"))
        model = lamina.Sequential(layers)
    finally:
        lamina.config.set_dtype_policy(None)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def torch_model(kind):
    if kind == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                                   torch.nn.Linear(512, 256), torch.nn.ReLU(),
                                   torch.nn.Linear(256, 10))
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(64 * 5 * 5, 10))


def torch_epoch(model, optimizer, x, y, batch_size, bfloat16):
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    for start in range(0, x.shape[0], batch_size):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            logits = model(x[start:start + batch_size])
        loss = loss_fn(logits.float(), y[start:start + batch_size])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def run(kind, samples, repeats, batch_size=128):
    rng = np.random.default_rng(0)
    shape = (samples, 784) if kind == "mlp" else (samples, 28, 28, 1)
    x = rng.standard_normal(shape).astype("float32")
    y = rng.integers(0, 10, samples).astype("int64")
    x_torch = torch.from_numpy(x if kind == "mlp" else x.transpose(0, 3, 1, 2).copy())
    y_torch = torch.from_numpy(y)
    candidates = {}
    for policy in ("float32", "mixed_bfloat16"):
        model = lamina_model(kind, policy)
        candidates[f"lamina {policy}"] = (
            lambda m=model: m.fit(x, y, batch_size=batch_size, epochs=1, verbose=0,
                                  shuffle=False))
    for bfloat16 in (False, True):
        net = torch_model(kind)
        optimizer = torch.optim.Adam(net.parameters(), 1e-3)
        candidates[f"torch {'autocast bf16' if bfloat16 else 'float32'}"] = (
            lambda n=net, o=optimizer, b=bfloat16: torch_epoch(n, o, x_torch, y_torch,
                                                               batch_size, b))
    medians = interleaved(candidates, repeats=repeats)
    title = f"{kind.upper()}, one epoch of {samples} samples, batch {batch_size} (cpu)"
    report(title, medians, "torch float32")
    print(f"  bfloat16/float32: lamina "
          f"{medians['lamina mixed_bfloat16'] / medians['lamina float32']:.2f}x, torch "
          f"{medians['torch autocast bf16'] / medians['torch float32']:.2f}x; lamina/torch "
          f"in bfloat16 {medians['lamina mixed_bfloat16'] / medians['torch autocast bf16']:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=None)
    args = parser.parse_args()
    run("mlp", args.samples or 20000, args.repeats)
    run("cnn", args.samples or 8000, args.repeats)


if __name__ == "__main__":
    main()
