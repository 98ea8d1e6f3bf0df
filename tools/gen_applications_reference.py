"""Record the architecture of every Keras 3 application, for tests/applications.

Builds each `keras.applications` model with `weights=None` (fresh automatic names each
time) and writes, per model, its parameter counts, its layer count and a digest of its
ordered `(layer name, class name, weight shapes)` list to
tests/applications/keras_reference.json. The weight shapes are listed in the legacy h5
order (trainable first), the order Keras' published weight files are loaded in, so equal
digests mean a published file loads layer for layer.

    KERAS_BACKEND=torch python tools/gen_applications_reference.py [--full out.json]

`--full` also writes every model's whole list, for finding where a build differs.
`--check` instead builds each lamina application and compares it with the reference
(what tests/applications/test_architectures.py does for one model per family), printing
each build time.
"""

import argparse
import hashlib
import json
import math
import os
import pathlib

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/applications/keras_reference.json"

# Every architecture `keras.applications` exports, by its public name.
NAMES = (
    "ConvNeXtBase", "ConvNeXtLarge", "ConvNeXtSmall", "ConvNeXtTiny", "ConvNeXtXLarge",
    "DenseNet121", "DenseNet169", "DenseNet201",
    "EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3",
    "EfficientNetB4", "EfficientNetB5", "EfficientNetB6", "EfficientNetB7",
    "EfficientNetV2B0", "EfficientNetV2B1", "EfficientNetV2B2", "EfficientNetV2B3",
    "EfficientNetV2L", "EfficientNetV2M", "EfficientNetV2S",
    "InceptionResNetV2", "InceptionV3",
    "MobileNet", "MobileNetV2", "MobileNetV3Large", "MobileNetV3Small",
    "NASNetLarge", "NASNetMobile",
    "ResNet101", "ResNet101V2", "ResNet152", "ResNet152V2", "ResNet50", "ResNet50V2",
    "VGG16", "VGG19", "Xception",
)


def layer_records(model):
    """`[name, class name, [weight shapes]]` per layer, in the model's layer order."""
    records = []
    for layer in model.layers:
        weights = list(layer.trainable_weights) + list(layer.non_trainable_weights)
        records.append([layer.name, type(layer).__name__,
                        [list(map(int, w.shape)) for w in weights]])
    return records


def summarize(model):
    """What the reference stores for one built model."""
    records = layer_records(model)
    digest = hashlib.sha256(json.dumps(records).encode()).hexdigest()
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    total = sum(math.prod(w.shape) for w in model.weights)
    return {"params": total, "trainable_params": trainable, "layers": len(records),
            "digest": digest}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", help="also write every model's whole layer list here")
    parser.add_argument("--check", action="store_true",
                        help="compare lamina's applications with the reference")
    parser.add_argument("names", nargs="*", default=NAMES)
    args = parser.parse_args()
    if args.check:
        return check(args.names)
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    _allow_nasnet_on_torch(keras)
    reference = json.loads(OUT.read_text()) if OUT.exists() else {}
    full = json.loads(pathlib.Path(args.full).read_text()) if args.full and pathlib.Path(
        args.full).exists() else {}
    for name in args.names:
        keras.backend.clear_session()
        model = getattr(keras.applications, name)(weights=None)
        reference[name] = summarize(model)
        full[name] = layer_records(model)
        print(name, reference[name]["params"], flush=True)
        del model
        OUT.write_text(json.dumps(dict(sorted(reference.items())), indent=1) + "\n")
        if args.full:
            pathlib.Path(args.full).write_text(json.dumps(full))


def check(names):
    """Build each lamina application; print its build time and whether it matches."""
    import time

    import lamina
    from lamina.backend import naming

    reference = json.loads(OUT.read_text())
    failures = 0
    for name in names:
        naming.reset_uids()
        start = time.perf_counter()
        model = getattr(lamina.applications, name)(weights=None)
        seconds = time.perf_counter() - start
        same = summarize(model) == reference[name]
        failures += not same
        print(f"{name:20s} {'ok' if same else 'DIFFERS':8s} {seconds:6.1f} s", flush=True)
        del model
    return 1 if failures else 0


def _allow_nasnet_on_torch(keras):
    """Keras refuses to build NASNet on its torch backend (a numerics bug it has not
    fixed); the architecture itself does not depend on the backend, so the check is
    skipped while recording it."""
    from keras.src.applications import nasnet

    class _Backend:
        def __getattr__(self, name):
            return getattr(keras.src.backend, name)

        @staticmethod
        def backend():
            return "tensorflow"

    nasnet.backend = _Backend()


if __name__ == "__main__":
    raise SystemExit(main())
