"""A small CNN, one epoch of `fit`: lamina (channels_last and channels_first) vs the same
network hand-written in PyTorch (NCHW, nn.Conv2d/nn.MaxPool2d, torch.optim.Adam).

28x28x1 -> Conv2D 32 3x3 relu -> MaxPool 2 -> Conv2D 64 3x3 relu -> MaxPool 2 -> Flatten
-> Dropout 0.5 -> Dense 10 softmax; 20,000 random samples, batch 128, Adam.

Run: OMP_NUM_THREADS=1 python benchmarks/cnn_fit.py [--repeats 3] [--samples 20000]
Prints median times and ratios (target <= 1.10x); never asserts.
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from _common import first_calls, interleaved, report, report_first

import lamina
from lamina.layers.convolutional import Conv2D

try:
    from lamina.layers.pooling import MaxPooling2D

    POOLING = "lamina.layers.pooling.MaxPooling2D"
except ImportError:  # the pooling family may not be merged yet
    POOLING = "local stand-in (F.max_pool2d in a lamina Layer)"

    class MaxPooling2D(lamina.Layer):
        """Stand-in: 2x2 max pooling, stride 2, valid padding, either data format."""

        def __init__(self, pool_size=2, data_format=None, **kwargs):
            super().__init__(**kwargs)
            self.pool_size = pool_size
            self.data_format = data_format or lamina.backend.image_data_format()

        def call(self, inputs):
            if self.data_format == "channels_first":
                return F.max_pool2d(inputs, self.pool_size)
            x = F.max_pool2d(inputs.permute(0, 3, 1, 2), self.pool_size)
            return x.permute(0, 2, 3, 1)

        def compute_output_shape(self, shape):
            p = self.pool_size
            if self.data_format == "channels_first":
                return (shape[0], shape[1], shape[2] // p, shape[3] // p)
            return (shape[0], shape[1] // p, shape[2] // p, shape[3])


def lamina_cnn(data_format, jit_compile=False):
    shape = (28, 28, 1) if data_format == "channels_last" else (1, 28, 28)
    model = lamina.Sequential([
        lamina.Input(shape),
        Conv2D(32, 3, activation="relu", data_format=data_format),
        MaxPooling2D(2, data_format=data_format),
        Conv2D(64, 3, activation="relu", data_format=data_format),
        MaxPooling2D(2, data_format=data_format),
        lamina.layers.Flatten(),
        lamina.layers.Dropout(0.5),
        lamina.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=lamina.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", jit_compile=jit_compile)
    return model


def torch_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(64 * 5 * 5, 10),
    )


def torch_epoch(model, opt, x, y, batch_size):
    model.train()
    loss_fn = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(x.shape[0], device=x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.detach() * xb.shape[0]
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=20000)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--jit", action="store_true",
                        help="add lamina channels_last with compile(jit_compile=True)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, pooling: {POOLING}")

    rng = np.random.default_rng(0)
    x_last = rng.random((args.samples, 28, 28, 1), dtype=np.float32)
    x_first = np.ascontiguousarray(x_last.transpose(0, 3, 1, 2))
    y = rng.integers(0, 10, args.samples)
    tx, ty = torch.from_numpy(x_first), torch.from_numpy(y)

    net = torch_cnn()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    last, first = lamina_cnn("channels_last"), lamina_cnn("channels_first")
    b = args.batch_size
    candidates = {
        "torch loop (NCHW)": lambda: torch_epoch(net, opt, tx, ty, b),
        "lamina fit channels_last": lambda: last.fit(x_last, y, batch_size=b, epochs=1,
                                                     verbose=0),
        "lamina fit channels_first": lambda: first.fit(x_first, y, batch_size=b, epochs=1,
                                                       verbose=0),
    }
    title = f"CNN: one epoch, {args.samples} samples, batch {b}, adam"
    if args.jit:
        jit = lamina_cnn("channels_last", jit_compile=True)
        candidates["lamina jit channels_last"] = lambda: jit.fit(
            x_last, y, batch_size=b, epochs=1, verbose=0)
        report_first(title, first_calls(candidates))
    medians = interleaved(candidates, repeats=args.repeats)
    report(title, medians, "torch loop (NCHW)")


if __name__ == "__main__":
    main()
