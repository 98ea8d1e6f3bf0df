"""Every image preprocessing layer on one batch of 224x224 RGB images (values 0..255):
lamina against Keras 3 on its torch backend and, in a child process, on TensorFlow.

Run: OMP_NUM_THREADS=1 python benchmarks/preprocessing_layers.py [--batch 128]
     [--repeats 3] [--layers RandomHue,AugMix] [--no-tensorflow]
Each layer is called with `training=True` on the same float32 channels-last batch, as
data outside a model (a DataLoader worker's job). lamina and Keras-on-torch runs are
interleaved in this process; Keras on TensorFlow runs the same layers on the same
seeded batch in a child process (`KERAS_BACKEND` is fixed at import), with TensorFlow's
thread pools set to OMP_NUM_THREADS when that is set. Prints the median
of each and the ratios "Keras time / lamina time" (above 1: lamina is faster); never
asserts.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from _common import limit_tensorflow_threads

RANGE = {"value_range": (0, 255)}
# name -> constructor arguments, shared by lamina and Keras.
LAYERS = {
    "Resizing": {"height": 160, "width": 160},
    "CenterCrop": {"height": 160, "width": 160},
    "RandomCrop": {"height": 160, "width": 160},
    "RandomFlip": {"mode": "horizontal_and_vertical"},
    "RandomRotation": {"factor": 0.1},
    "RandomZoom": {"height_factor": 0.2},
    "RandomTranslation": {"height_factor": 0.1, "width_factor": 0.1},
    "RandomShear": {"x_factor": 0.2, "y_factor": 0.2},
    "RandomPerspective": {"factor": 1.0, "scale": 0.5},
    "RandomContrast": {"factor": 0.3},
    "RandomBrightness": {"factor": 0.2},
    "RandomGrayscale": {"factor": 0.5},
    "RandomHue": {"factor": 0.3, **RANGE},
    "RandomSaturation": {"factor": 0.3, **RANGE},
    "RandomColorJitter": {"brightness_factor": 0.2, "contrast_factor": 0.2,
                          "saturation_factor": 0.2, "hue_factor": 0.2, **RANGE},
    "RandomColorDegeneration": {"factor": 0.5, **RANGE},
    "RandomSharpness": {"factor": 0.5, **RANGE},
    "RandomPosterization": {"factor": (1, 6), **RANGE},
    "RandomInvert": {"factor": 0.5, **RANGE},
    "Solarization": {"addition_factor": 0.2, "threshold_factor": 0.5, **RANGE},
    "Equalization": {**RANGE},
    "AutoContrast": {**RANGE},
    "RandomErasing": {"factor": 1.0, **RANGE},
    "RandomGaussianBlur": {"factor": 1.0, **RANGE},
    "RandomElasticTransform": {"factor": 1.0, **RANGE},
    "MixUp": {},
    "CutMix": {},
    "RandAugment": {**RANGE},
    "AugMix": {**RANGE},
}


SEEDED = {"Resizing": {}, "CenterCrop": {}, "Equalization": {}, "AutoContrast": {}}


def batch(size):
    return np.random.default_rng(0).uniform(0, 255, (size, 224, 224, 3)).astype("float32")


def time_layers(namespaces, names, images, repeats, to_native=lambda x: x):
    """{candidate: {name: [seconds] * repeats}} for one call of each layer; for each
    layer the candidates (`namespaces`: candidate -> module holding the layers) take
    turns, so a change in machine load hits them alike."""
    x = to_native(images)
    times = {candidate: {} for candidate in namespaces}
    for name in names:
        layers = {candidate: getattr(module, name)(**LAYERS[name],
                                                   **SEEDED.get(name, {"seed": 1}))
                  for candidate, module in namespaces.items()}
        for layer in layers.values():  # warm-up (builds, first-call planning)
            layer(x, training=True)
        for candidate in layers:
            times[candidate][name] = []
        for _ in range(repeats):
            for candidate, layer in layers.items():
                start = time.perf_counter()
                layer(x, training=True)
                times[candidate][name].append(time.perf_counter() - start)
    return times


def child_tensorflow(names, size, repeats):
    """Run in a fresh interpreter with KERAS_BACKEND=tensorflow; prints JSON times."""
    import tensorflow as tf

    limit_tensorflow_threads(tf)
    import keras

    times = time_layers({"keras": keras.layers}, names, batch(size), repeats,
                        tf.constant)["keras"]
    print("RESULT " + json.dumps({"version": keras.__version__, "times": times}))


def tensorflow_times(names, size, repeats):
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, __file__, "--child", "--batch", str(size),
               "--repeats", str(repeats), "--layers", ",".join(names)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])["times"]
    print("(Keras on TensorFlow did not run:", done.stderr.strip()[-300:], ")")
    return {}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--no-tensorflow", action="store_true")
    parser.add_argument("--child", action="store_true")
    args = parser.parse_args()
    names = args.layers.split(",")
    if args.child:
        return child_tensorflow(names, args.batch, args.repeats)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
    import torch

    import lamina

    keras = None
    try:
        import keras
    except ImportError:
        print("(keras not importable: only lamina timed)")
    candidates = {"lamina": lamina.layers}
    if keras is not None:
        candidates["keras"] = keras.layers
    times = time_layers(candidates, names, batch(args.batch), args.repeats, torch.from_numpy)
    ours, theirs = times["lamina"], times.get("keras", {})
    tf_times = {} if args.no_tensorflow else tensorflow_times(names, args.batch, args.repeats)
    print(f"{args.batch}x224x224x3 float32, training=True, median of {args.repeats} (ms); "
          "ratio = Keras / lamina (above 1: lamina faster)")
    print(f"  {'layer':<24} {'lamina':>9} {'keras-torch':>12} {'ratio':>6} "
          f"{'keras-tf':>9} {'ratio':>6} {'vs fastest':>10}")
    worst = []
    for name in names:
        mine = float(np.median(ours[name]))
        cells, fastest = [], None
        for table in (theirs, tf_times):
            if name in table:
                value = float(np.median(table[name]))
                cells += [f"{value * 1e3:9.1f}", f"{value / mine:6.2f}"]
                fastest = value if fastest is None else min(fastest, value)
            else:
                cells += [f"{'-':>9}", f"{'-':>6}"]
        ratio = "" if fastest is None else f"{fastest / mine:10.2f}"
        if fastest is not None:
            worst.append((fastest / mine, name))
        print(f"  {name:<24} {mine * 1e3:9.1f} {cells[0]:>12} {cells[1]} {cells[2]} "
              f"{cells[3]} {ratio}")
    if worst:
        ratios = np.array([r for r, _ in worst])
        print(f"geometric mean vs Keras' fastest backend: {np.exp(np.log(ratios).mean()):.2f}; "
              f"slowest relative to Keras: {min(worst)[1]} ({min(worst)[0]:.2f})")


if __name__ == "__main__":
    main()
