"""lamina `fit` on Embedding -> LSTM/GRU -> Dense vs the same network hand-written in torch.

Run: OMP_NUM_THREADS=1 python benchmarks/rnn_fit.py [--repeats 3] [--quick]
One epoch of 10,000 sequences of length 80, batch 64, Adam, BCE from logits. Both sides
start from the same weights; runs are interleaved and the median is reported. Never
asserts (CI does not depend on timings).
"""

import argparse

import numpy as np
import torch
import torch.nn.functional as F
from _common import first_calls, interleaved, report, report_first

import lamina
from lamina.layers.rnn import GRU, LSTM

VOCAB, DIM, UNITS, STEPS = 10000, 64, 64, 80


def embedding_layer():
    """`lamina.layers.Embedding`, or a stand-in when it is not available yet."""
    try:
        from lamina.layers import Embedding

        return Embedding(VOCAB, DIM), "lamina.layers.Embedding"
    except ImportError:
        return _StandInEmbedding(VOCAB, DIM), "local stand-in Embedding"


class _StandInEmbedding(lamina.layers.Layer):
    def __init__(self, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.input_dim, self.output_dim = input_dim, output_dim

    def build(self, input_shape):
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer="uniform", name="embeddings")

    def call(self, inputs):
        return F.embedding(inputs.long(), self.embeddings)


class TorchNet(torch.nn.Module):
    def __init__(self, kind):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, DIM)
        rnn = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
        self.rnn = rnn(DIM, UNITS, batch_first=True)
        self.head = torch.nn.Linear(UNITS, 1)

    def forward(self, x):
        _, h = self.rnn(self.embedding(x))
        h = h[0] if isinstance(h, tuple) else h
        return self.head(h[0])


def copy_weights(model, net, kind):
    """Give the torch network the lamina model's weights (Keras layout -> torch layout)."""
    embedding, rnn, dense = model.layers
    cell = rnn.cell
    kernel, recurrent = cell.kernel.detach(), cell.recurrent_kernel.detach()
    bias = cell.bias.detach()
    with torch.no_grad():
        net.embedding.weight.copy_(embedding.weights[0])
        if kind == "lstm":
            net.rnn.weight_ih_l0.copy_(kernel.T)
            net.rnn.weight_hh_l0.copy_(recurrent.T)
            net.rnn.bias_ih_l0.copy_(bias)
            net.rnn.bias_hh_l0.zero_()
        else:
            u = UNITS

            def swap(w):
                return torch.cat((w[..., u:2 * u], w[..., :u], w[..., 2 * u:]), -1)

            net.rnn.weight_ih_l0.copy_(swap(kernel).T)
            net.rnn.weight_hh_l0.copy_(swap(recurrent).T)
            net.rnn.bias_ih_l0.copy_(swap(bias)[0])
            net.rnn.bias_hh_l0.copy_(swap(bias)[1])
        net.head.weight.copy_(dense.kernel.T)
        net.head.bias.copy_(dense.bias)


def torch_epoch(net, opt, x, y, batch_size):
    net.train()
    perm = torch.randperm(x.shape[0], device=x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        opt.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(net(xb), yb)
        loss.backward()
        opt.step()
        total += loss.detach() * xb.shape[0]
    return total


def bench(kind, n, batch_size, repeats, jit=False):
    rng = np.random.default_rng(0)
    x = rng.integers(0, VOCAB, (n, STEPS)).astype("int64")
    y = rng.integers(0, 2, (n, 1)).astype("float32")
    embedding, embedding_name = embedding_layer()
    recurrent = LSTM(UNITS) if kind == "lstm" else GRU(UNITS)
    model = lamina.Sequential([lamina.Input((STEPS,), dtype="int64"), embedding, recurrent,
                               lamina.layers.Dense(1)])
    model.compile(optimizer=lamina.optimizers.Adam(1e-3),
                  loss=lamina.losses.BinaryCrossentropy(from_logits=True))
    net = TorchNet(kind)
    copy_weights(model, net, kind)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    candidates = {
        "torch loop": lambda: torch_epoch(net, opt, tx, ty, batch_size),
        "lamina fit": lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0),
    }
    title = (f"Embedding({VOCAB}, {DIM}) -> {kind.upper()}({UNITS}) -> Dense(1): one "
             f"epoch, {n} sequences of {STEPS}, batch {batch_size} [{embedding_name}]")
    if jit:
        jit_model = lamina.Sequential([
            lamina.Input((STEPS,), dtype="int64"), embedding_layer()[0],
            LSTM(UNITS) if kind == "lstm" else GRU(UNITS), lamina.layers.Dense(1)])
        jit_model.compile(optimizer=lamina.optimizers.Adam(1e-3),
                          loss=lamina.losses.BinaryCrossentropy(from_logits=True),
                          jit_compile=True)
        candidates["lamina fit jit_compile"] = lambda: jit_model.fit(
            x, y, batch_size=batch_size, epochs=1, verbose=0)
        report_first(title, first_calls(candidates))
    medians = interleaved(candidates, repeats=repeats)
    report(title, medians, "torch loop")
    return medians


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="2,000 sequences")
    parser.add_argument("--only", choices=["lstm", "gru"], default=None)
    parser.add_argument("--jit", action="store_true",
                        help="add lamina with compile(jit_compile=True)")
    args = parser.parse_args()
    n = 2000 if args.quick else 10000
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}")
    for kind in ("lstm", "gru"):
        if args.only in (None, kind):
            medians = bench(kind, n, 64, args.repeats, args.jit)
            print(f"  ratio lamina/torch: {medians['lamina fit'] / medians['torch loop']:.3f}")


if __name__ == "__main__":
    main()
