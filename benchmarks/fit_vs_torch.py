"""lamina `fit`/`predict` vs a hand-written PyTorch loop (and Keras 3 on torch, if installed).

Run: python benchmarks/fit_vs_torch.py [--repeats 3] [--quick] [--jit] [--torch-compile]
[--steps-per-execution 8] [--clock thread]
Prints median times and ratios; never asserts (CI does not depend on timings).
"""

import argparse
import time

import numpy as np
import torch
from _common import (
    compiled_torch_step,
    first_calls,
    interleaved,
    keras_or_none,
    report,
    report_first,
)

import lamina


def torch_mlp(sizes):
    mods = []
    for i in range(len(sizes) - 1):
        mods.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            mods.append(torch.nn.ReLU())
    return torch.nn.Sequential(*mods)


def lamina_mlp(sizes, api=lamina):
    layers = [api.Input((sizes[0],))]
    for i, units in enumerate(sizes[1:]):
        last = i == len(sizes) - 2
        layers.append(api.layers.Dense(units, activation=None if last else "relu"))
    return api.Sequential(layers)


def copy_weights(lamina_model, torch_model):
    """Give the torch model the lamina model's weights (kernel is (in, out) in Keras)."""
    linears = [m for m in torch_model if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        for layer, linear in zip(lamina_model.layers, linears):
            linear.weight.copy_(layer.kernel.T)
            linear.bias.copy_(layer.bias)


def torch_epoch(model, opt, loss_fn, x, y, batch_size):
    model.train()
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


def torch_compiled_epoch(step, x, y, batch_size):
    perm = torch.randperm(x.shape[0], device=x.device)
    total = torch.zeros((), device=x.device)
    for start in range(0, x.shape[0], batch_size):
        idx = perm[start:start + batch_size]
        xb, yb = x.index_select(0, idx), y.index_select(0, idx)
        total += step(xb, yb) * xb.shape[0]
    return total


def bench_fit(name, sizes, n, batch_size, optimizer, loss, repeats, with_keras, jit=False,
              torch_compile=False, steps_per_execution=1, clock=time.perf_counter):
    rng = np.random.default_rng(0)
    x = rng.random((n, sizes[0]), dtype=np.float32)
    if loss == "sparse_categorical_crossentropy":
        y = rng.integers(0, sizes[-1], n)
        torch_loss = torch.nn.CrossEntropyLoss()
        ty = torch.from_numpy(y)
        lamina_loss = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        y = rng.random((n, sizes[-1]), dtype=np.float32)
        torch_loss = torch.nn.MSELoss()
        ty = torch.from_numpy(y)
        lamina_loss = "mse"
    tx = torch.from_numpy(x)

    def lamina_model(jit_compile=False, steps_per_execution=1):
        model = lamina_mlp(sizes)
        opt = (lamina.optimizers.Adam(1e-3) if optimizer == "adam"
               else lamina.optimizers.SGD(0.01))
        model.compile(optimizer=opt, loss=lamina_loss, jit_compile=jit_compile,
                      steps_per_execution=steps_per_execution)
        return model

    model = lamina_model()
    tmodel = torch_mlp(sizes)
    copy_weights(model, tmodel)
    topt = (torch.optim.Adam(tmodel.parameters(), lr=1e-3, eps=1e-7, foreach=True)
            if optimizer == "adam" else torch.optim.SGD(tmodel.parameters(), lr=0.01,
                                                        foreach=True))
    candidates = {
        "torch loop": lambda: torch_epoch(tmodel, topt, torch_loss, tx, ty, batch_size),
        "lamina fit": lambda: model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0),
    }
    first = {}
    if jit:
        jit_model = lamina_model(jit_compile=True)
        candidates["lamina fit jit_compile"] = lambda: jit_model.fit(
            x, y, batch_size=batch_size, epochs=1, verbose=0)
        if steps_per_execution > 1:
            spe_model = lamina_model(jit_compile=True, steps_per_execution=steps_per_execution)
            candidates[f"lamina fit jit spe={steps_per_execution}"] = lambda: spe_model.fit(
                x, y, batch_size=batch_size, epochs=1, verbose=0)
    if torch_compile:
        cnet = torch_mlp(sizes)
        copy_weights(model, cnet)
        copt = (torch.optim.Adam(cnet.parameters(), lr=1e-3, eps=1e-7, foreach=True)
                if optimizer == "adam" else torch.optim.SGD(cnet.parameters(), lr=0.01,
                                                            foreach=True))
        cstep = compiled_torch_step(cnet, copt, torch_loss)
        candidates["torch.compile loop"] = lambda: torch_compiled_epoch(cstep, tx, ty,
                                                                        batch_size)
    if jit or torch_compile:
        first = first_calls(candidates)
    keras = keras_or_none() if with_keras else None
    if keras is not None:
        kmodel = lamina_mlp(sizes, api=keras)
        kmodel.compile(optimizer=keras.optimizers.Adam(1e-3) if optimizer == "adam"
                       else keras.optimizers.SGD(0.01),
                       loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
                       if loss != "mse" else "mse")
        candidates["keras 3 (torch) fit"] = lambda: kmodel.fit(
            x, y, batch_size=batch_size, epochs=1, verbose=0)
    medians = interleaved(candidates, repeats=repeats, clock=clock)
    title = f"{name}: one epoch, {n} samples, batch {batch_size}, {optimizer}"
    if first:
        report_first(title, first)
    report(title, medians, "torch loop")
    return medians


def bench_predict(sizes, n, batch_size, repeats, with_keras):
    x = np.random.default_rng(0).random((n, sizes[0]), dtype=np.float32)
    model = lamina_mlp(sizes)
    tmodel = torch_mlp(sizes)
    copy_weights(model, tmodel)
    tmodel.eval()
    tx = torch.from_numpy(x)

    def torch_predict():
        with torch.no_grad():
            outs = [tmodel(tx[i:i + batch_size]) for i in range(0, n, batch_size)]
        return torch.cat(outs).numpy()

    candidates = {
        "torch loop": torch_predict,
        "lamina predict": lambda: model.predict(x, batch_size=batch_size, verbose=0),
    }
    keras = keras_or_none() if with_keras else None
    if keras is not None:
        kmodel = lamina_mlp(sizes, api=keras)
        candidates["keras 3 (torch) predict"] = lambda: kmodel.predict(
            x, batch_size=batch_size, verbose=0)
    medians = interleaved(candidates, repeats=repeats)
    report(f"predict: {n} samples, batch {batch_size}", medians, "torch loop")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="smaller datasets")
    parser.add_argument("--no-keras", action="store_true")
    parser.add_argument("--only", choices=["mlp", "tiny", "predict"], default=None)
    parser.add_argument("--jit", action="store_true",
                        help="add lamina with compile(jit_compile=True)")
    parser.add_argument("--torch-compile", action="store_true",
                        help="add the hand-written loop with torch.compile")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="with --jit, add lamina jit_compile=True with this many steps "
                             "per execution")
    parser.add_argument("--clock", choices=["wall", "thread"], default="wall",
                        help="time fit runs in wall time or this thread's CPU time")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with_keras = not args.no_keras
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, clock {args.clock}")
    fit_options = dict(steps_per_execution=args.steps_per_execution,
                       clock=time.thread_time if args.clock == "thread" else time.perf_counter)
    if args.only in (None, "mlp"):
        bench_fit("MLP 784-512-256-10", [784, 512, 256, 10], 60000 // scale, 128, "adam",
                  "sparse_categorical_crossentropy", args.repeats, with_keras, args.jit,
                  args.torch_compile, **fit_options)
    if args.only in (None, "tiny"):
        bench_fit("tiny MLP 32-32-1", [32, 32, 1], 20000 // scale, 32, "sgd", "mse",
                  args.repeats, with_keras, args.jit, args.torch_compile, **fit_options)
    if args.only in (None, "predict"):
        bench_predict([784, 512, 256, 10], 60000 // scale, 1024, args.repeats, with_keras)


if __name__ == "__main__":
    main()
