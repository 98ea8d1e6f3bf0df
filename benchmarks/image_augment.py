"""Geometric augmentation layers on a batch of 224x224 RGB images: lamina vs Keras 3.

Run: OMP_NUM_THREADS=1 python benchmarks/image_augment.py [--batch 128] [--repeats 3]
     [--layers RandomZoom,RandomFlip] [--device cpu|cuda]
Each layer is called with `training=True` on the same float32 channels-last batch, in
lamina and (when installed) Keras 3 on its torch backend, next to a hand-written PyTorch
warp of the same size (`affine_grid` + `grid_sample`, or `flip` for RandomFlip). Runs
are interleaved and the median reported. Prints ratios; never asserts.
"""

import argparse

import torch
import torch.nn.functional as F
from _common import interleaved, keras_or_none, report

import lamina

# name -> constructor arguments, shared by lamina and Keras.
LAYERS = {
    "RandomZoom": {"height_factor": 0.2, "width_factor": 0.2},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomShear": {"x_factor": 0.2, "y_factor": 0.2},
    "RandomPerspective": {"factor": 1.0, "scale": 0.5},
    "RandomRotation": {"factor": 0.1},
    "RandomFlip": {"mode": "horizontal_and_vertical"},
}


def torch_reference(name, images):
    """The same amount of work written directly in PyTorch: one random warp per image
    (or a random flip), channels-last in and out."""
    n = images.shape[0]

    def warp():
        x = images.permute(0, 3, 1, 2)
        theta = torch.eye(2, 3, device=images.device).repeat(n, 1, 1)
        theta[:, :, :2] += 0.1 * torch.rand(n, 2, 2, device=images.device)
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, align_corners=False).permute(0, 2, 3, 1)

    def flip():
        mask = torch.rand(n, 1, 1, 1, device=images.device) < 0.5
        return torch.where(mask, images.flip(2), images)

    return flip if name == "RandomFlip" else warp


def call(layer, images, device):
    def run():
        layer(images, training=True)
        if device == "cuda":
            torch.cuda.synchronize()
    return run


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    keras = keras_or_none()
    images = torch.rand(args.batch, 224, 224, 3, device=args.device)
    ratios = {}
    for name in args.layers.split(","):
        kwargs = LAYERS[name]
        candidates = {"torch": torch_reference(name, images),
                      "lamina": call(getattr(lamina.layers, name)(**kwargs, seed=1), images,
                                     args.device)}
        if keras is not None:
            candidates["keras"] = call(getattr(keras.layers, name)(**kwargs, seed=1), images,
                                       args.device)
        medians = interleaved(candidates, repeats=args.repeats)
        report(f"{name} on {tuple(images.shape)} ({args.device})", medians, "torch")
        if "keras" in medians:
            ratios[name] = medians["keras"] / medians["lamina"]
    if ratios:
        print("\nKeras time / lamina time (above 1: lamina is faster)")
        for name, ratio in ratios.items():
            print(f"  {name:<20} {ratio:5.2f}")


if __name__ == "__main__":
    main()
