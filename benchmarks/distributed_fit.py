"""Data-parallel lamina `fit` vs a hand-written DDP loop, and 1 -> N process scaling.

Run: python benchmarks/distributed_fit.py [--processes 2] [--repeats 3] [--quick] [--sharded]

Starts the processes itself (gloo on CPU, NCCL on GPUs), each with `--threads` CPU
threads. In the same job each process times, interleaved: lamina `fit` under
`DataParallel`, and a plain PyTorch loop over the same MLP wrapped in
`DistributedDataParallel` that reads the same share of each global batch. Then, in this
process, the same two without distribution give the 1-process times. `--sharded` adds
lamina `fit` under `ModelParallel` (kernels sharded with FSDP2) against a hand-written
FSDP2 loop. Prints medians and ratios; never asserts.
"""

import argparse
import json
import os
import socket
import sys
import tempfile

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _common import interleaved, report
from fit_vs_torch import copy_weights, lamina_mlp, torch_mlp

import lamina
from lamina import distribution


def make_case(args):
    rng = np.random.default_rng(0)
    x = rng.random((args.samples, args.sizes[0]), dtype=np.float32)
    y = rng.integers(0, args.sizes[-1], args.samples)
    lamina.utils.set_random_seed(0)
    model = lamina_mlp(args.sizes)
    model.compile(optimizer=lamina.optimizers.Adam(1e-3),
                  loss=lamina.losses.SparseCategoricalCrossentropy(from_logits=True))
    tmodel = torch_mlp(args.sizes)
    copy_weights(model, tmodel)
    return x, y, model, tmodel


def torch_epochs(model, optimizer, x, y, batch_size, epochs, rank, world):
    """The hand-written loop: a shared permutation, this process's rows of each batch."""
    loss_fn = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0])
        for start in range(0, x.shape[0], batch_size):
            rows = perm[start:start + batch_size]
            share = rows.tensor_split(world)[rank]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x.index_select(0, share)), y.index_select(0, share))
            loss.backward()
            optimizer.step()


def candidates(args, rank=0, world=1):
    x, y, model, tmodel = make_case(args)
    if world > 1:
        tmodel = torch.nn.parallel.DistributedDataParallel(tmodel)
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)
    return {
        "lamina fit": lambda: model.fit(x, y, batch_size=args.batch_size,
                                        epochs=args.epochs, verbose=0),
        "hand-written loop": lambda: torch_epochs(tmodel, topt, tx, ty, args.batch_size,
                                                  args.epochs, rank, world),
    }


def sharded_candidates(args, world):
    """ModelParallel: every kernel split over a (1, world) mesh's "model" axis (FSDP2),
    every process reading the whole batch; against a hand-written FSDP2 loop (fully_shard
    over the same torch MLP: every parameter split along its output units)."""
    from torch.distributed.fsdp import fully_shard

    x, y, model, tmodel = make_case(args)
    mesh = distribution.DeviceMesh((1, world), ["batch", "model"])
    layout_map = distribution.LayoutMap(mesh)
    layout_map[".*kernel"] = (None, "model")
    model_parallel = distribution.ModelParallel(layout_map=layout_map)
    fully_shard(tmodel, mesh=mesh.backend_mesh["model"])  # the usual: every parameter
    topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3, eps=1e-7, foreach=True)
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def lamina_fit():
        with model_parallel.scope():
            model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)

    return {
        "lamina fit, sharded": lamina_fit,
        "hand-written FSDP2 loop": lambda: torch_epochs(tmodel, topt, tx, ty,
                                                        args.batch_size, args.epochs, 0, 1),
    }


def _worker(rank, world, port, args, path):
    torch.set_num_threads(args.threads)
    distribution.initialize(f"127.0.0.1:{port}", world, rank)
    distribution.set_distribution(distribution.DataParallel())
    medians = interleaved(candidates(args, rank, world), repeats=args.repeats)
    if args.sharded:
        medians.update(interleaved(sharded_candidates(args, world), repeats=args.repeats))
    if rank == 0:
        with open(path, "w") as f:
            json.dump(medians, f)
    dist.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sharded", action="store_true",
                        help="also time ModelParallel (FSDP2) fit vs a hand-written FSDP2 "
                             "loop, every process reading the whole batch")
    args = parser.parse_args(argv)
    args.sizes = [64, 512, 512, 10]
    args.samples, args.batch_size, args.epochs = (8192, 256, 1) if args.quick else (32768, 256, 2)

    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "medians.json")
        mp.spawn(_worker, args=(args.processes, _free_port(), args, path),
                 nprocs=args.processes)
        with open(path) as f:
            many = json.load(f)
    torch.set_num_threads(args.threads)
    one = interleaved(candidates(args), repeats=args.repeats)
    n = args.processes
    report(f"{n} processes, DataParallel (MLP {args.sizes}, {args.samples} samples, global "
           f"batch {args.batch_size}, {args.epochs} epoch(s), {args.threads} thread(s) each)",
           {k: many[k] for k in one}, "hand-written loop")
    report("1 process", one, "hand-written loop")
    if args.sharded:
        report(f"{n} processes, ModelParallel, kernels sharded {n} ways (FSDP2), whole batch "
               "in each process", {k: many[k] for k in ("lamina fit, sharded",
                                                        "hand-written FSDP2 loop")},
               "hand-written FSDP2 loop")
    for name in one:
        speedup = one[name] / many[name]
        print(f"  scaling 1 -> {n} processes, {name:<18} {speedup:5.2f}x speed-up "
              f"({speedup / n:.0%} efficiency)")


if __name__ == "__main__":
    sys.exit(main())
