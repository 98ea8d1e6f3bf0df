"""Data-parallel training: one Keras script, run in 1 process and then in 2.

`python -m lamina.examples.distributed` times `fit` in this process, then starts 2 CPU
processes itself (gloo), runs the same `train` under `DataParallel` in each, and prints
the speed-up. Every process uses `--threads` CPU threads, so the comparison is one
worker against two. Under a launcher the script is the worker:

    torchrun --nproc_per_node=2 -m lamina.examples.distributed --epochs 3
"""

import argparse
import json
import os
import socket
import tempfile
import time

import numpy as np
import torch
import torch.multiprocessing as mp

import lamina as keras
from lamina import distribution, layers


def make_data(samples, features=64, classes=10):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(samples, features)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(features, classes)), axis=-1)
    return x, y


def train(args):
    """The Keras script: identical in 1 process and in each of N."""
    keras.utils.set_random_seed(0)
    x, y = make_data(args.samples)
    model = keras.Sequential([
        keras.Input((x.shape[1],)),
        layers.Dense(args.width, activation="relu"),
        layers.Dense(args.width, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x[:args.batch_size], y[:args.batch_size], batch_size=args.batch_size,
              verbose=0)  # warm-up: first-call building and allocation stay out of the timing
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=0)
    return time.perf_counter() - start, history.history


def _worker(rank, world, port, args, result_path):
    torch.set_num_threads(args.threads)
    distribution.initialize(f"127.0.0.1:{port}", world, rank)
    distribution.set_distribution(distribution.DataParallel())
    seconds, history = train(args)
    if rank == 0:
        with open(result_path, "w") as f:
            json.dump({"seconds": seconds, "history": history}, f)
    torch.distributed.destroy_process_group()


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--samples", type=int, default=32768)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)

    if "RANK" in os.environ:  # started by torchrun: be one of its processes
        torch.set_num_threads(args.threads)
        distribution.set_distribution(distribution.DataParallel())
        seconds, history = train(args)
        if torch.distributed.get_rank() == 0:
            print(f"{torch.distributed.get_world_size()} processes: fit {seconds:.2f}s, "
                  f"loss {history['loss'][-1]:.4f}")
        return None

    previous = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        one_seconds, one_history = train(args)
    finally:
        torch.set_num_threads(previous)
    with tempfile.TemporaryDirectory() as directory:
        result_path = os.path.join(directory, "result.json")
        # NOTE: fork starts in a blink (lamina is imported already) but cannot carry CUDA.
        method = "spawn" if torch.cuda.is_initialized() else "fork"
        mp.start_processes(_worker, args=(args.processes, _free_port(), args, result_path),
                           nprocs=args.processes, start_method=method)
        with open(result_path) as f:
            result = json.load(f)
    speedup = one_seconds / result["seconds"]
    print(f"1 process:   fit {one_seconds:.2f}s, loss {one_history['loss'][-1]:.4f}")
    print(f"{args.processes} processes: fit {result['seconds']:.2f}s, "
          f"loss {result['history']['loss'][-1]:.4f}")
    print(f"speed-up: {speedup:.2f}x with {args.processes} processes "
          f"({args.threads} thread(s) each; the same global batch of {args.batch_size})")
    return {"speedup": speedup, "one": one_history, "many": result["history"]}


if __name__ == "__main__":
    main()
