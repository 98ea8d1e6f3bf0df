"""lamina Adam/AdamW/Adagrad/Lion `apply` vs torch's multi-tensor steps, ~10M parameters.

Lion has no `torch.optim` counterpart: its baseline is a hand-written `_foreach_` loop.

Run: python benchmarks/optimizer_step.py [--repeats 7] [--steps 20] [--device cpu|cuda]
Each timed call runs `--steps` optimizer steps (and synchronizes once on CUDA). Prints
median times and ratios; never asserts.
"""

import argparse

import torch
from _common import interleaved, report

import lamina

SHAPES = [(1024, 1024)] * 9 + [(1024,)] * 9 + [(1024, 512), (512,)]  # ~10.0M parameters


def make_weights(device):
    gen = torch.Generator().manual_seed(0)
    values = [torch.randn(s, generator=gen) * 0.02 for s in SHAPES]
    grads = [torch.randn(s, generator=gen).to(device) for s in SHAPES]
    return values, grads


def lamina_stepper(cls, values, grads, device, **kwargs):
    variables = [lamina.Variable(v.clone().to(device), name=f"w{i}")
                 for i, v in enumerate(values)]
    opt = cls(learning_rate=1e-3, **kwargs)
    opt.build(variables)
    return lambda: opt.apply(grads, variables)


def torch_stepper(cls, values, grads, device, **kwargs):
    params = [torch.nn.Parameter(v.clone().to(device)) for v in values]
    for p, g in zip(params, grads):
        p.grad = g
    opt = cls(params, lr=1e-3, foreach=True, **kwargs)
    return opt.step


def torch_lion_stepper(values, grads, device, lr=1e-3, beta_1=0.9, beta_2=0.99):
    """Hand-written multi-tensor Lion (torch.optim has none)."""
    params = [v.clone().to(device) for v in values]
    momentums = [torch.zeros_like(p) for p in params]

    def step():
        directions = torch._foreach_lerp(momentums, grads, 1 - beta_1)
        torch._foreach_sign_(directions)
        torch._foreach_add_(params, directions, alpha=-lr)
        torch._foreach_lerp_(momentums, grads, 1 - beta_2)
    return step


def repeat(step, steps, device):
    def run():
        for _ in range(steps):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    lamina.backend.set_device(device)  # so Variables are created where the weights live
    values, grads = make_weights(device)
    n_params = sum(v.numel() for v in values)
    print(f"{n_params / 1e6:.1f}M parameters in {len(values)} tensors on {device}, "
          f"{args.steps} steps per timing, median of {args.repeats}")
    with torch.no_grad():
        cases = {
            "Adam": (lamina.optimizers.Adam, torch.optim.Adam, {}, {}),
            "AdamW": (lamina.optimizers.AdamW, torch.optim.AdamW,
                      {"weight_decay": 0.004}, {"weight_decay": 0.004}),
            "Adagrad": (lamina.optimizers.Adagrad, torch.optim.Adagrad, {},
                        {"initial_accumulator_value": 0.1, "eps": 1e-7}),
            "Lion": (lamina.optimizers.Lion, None, {}, {}),
        }
        for name, (lamina_cls, torch_cls, l_kwargs, t_kwargs) in cases.items():
            torch_step = (torch_lion_stepper(values, grads, device) if torch_cls is None
                          else torch_stepper(torch_cls, values, grads, device, **t_kwargs))
            baseline = (f"torch.optim.{name}(foreach)" if torch_cls is not None
                        else f"hand-written foreach {name}")
            candidates = {
                baseline: repeat(torch_step, args.steps, device),
                f"lamina {name}.apply": repeat(
                    lamina_stepper(lamina_cls, values, grads, device, **l_kwargs),
                    args.steps, device),
            }
            medians = interleaved(candidates, repeats=args.repeats)
            report(f"{name} step", medians, baseline=baseline)


if __name__ == "__main__":
    main()
