"""`weights="imagenet"` downloads Keras' published file (local origin here), checks its
hash and loads it; bad arguments fail before anything is built, as in Keras."""

import hashlib
import io
import json

import h5py
import numpy as np
import pytest
import torch

import lamina
from lamina.applications import imagenet_utils, mobilenet_v3
from lamina.backend import config as backend_config
from lamina.saving.legacy_h5 import legacy_weights

V3_NOTOP = "weights_mobilenet_v3_small_minimalistic_224_1.0_float_no_top_v2.h5"
V3_KEY = "small_minimalistic_224_1.0_float"


def legacy_h5_bytes(model):
    """`model`'s weights as a Keras 2 `.h5` weights file (the published files' layout)."""
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        with_weights = [layer for layer in model.layers if legacy_weights(layer)]
        f.attrs["layer_names"] = [layer.name.encode() for layer in with_weights]
        f.attrs["keras_version"] = b"2.4.0"
        for layer in with_weights:
            group = f.create_group(layer.name)
            names = [f"{layer.name}/{w.name}:0" for w in legacy_weights(layer)]
            group.attrs["weight_names"] = [n.encode() for n in names]
            for name, weight in zip(names, legacy_weights(layer)):
                group[name] = weight.detach().numpy()
    return buffer.getvalue()


@pytest.fixture(scope="module")
def published_v3_small():
    """A minimalistic MobileNetV3Small without top, with random weights, and its file in
    the published files' layout."""
    model = lamina.applications.MobileNetV3Small(weights=None, include_top=False,
                                                 input_shape=(224, 224, 3), minimalistic=True)
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for weight in model.weights:
            weight.copy_(torch.rand(weight.shape, generator=generator) + 0.5)
    return model, legacy_h5_bytes(model)


def _publish(origin, monkeypatch, body, served=None):
    origin.publish(V3_NOTOP, body if served is None else served)
    top_hash = mobilenet_v3.WEIGHTS_HASHES[V3_KEY][0]
    monkeypatch.setitem(mobilenet_v3.WEIGHTS_HASHES, V3_KEY,
                        (top_hash, hashlib.md5(body).hexdigest()))


def test_imagenet_weights_download_once_and_load(origin, monkeypatch, published_v3_small):
    source, body = published_v3_small
    _publish(origin, monkeypatch, body)
    model = lamina.applications.MobileNetV3Small(weights="imagenet", include_top=False,
                                                 input_shape=(224, 224, 3), minimalistic=True)
    assert origin.hits == [f"/w/{V3_NOTOP}"]
    assert (origin.home / "models" / V3_NOTOP).read_bytes() == body
    for ours, theirs in zip(model.weights, source.weights, strict=True):
        torch.testing.assert_close(ours.detach(), theirs.detach(), rtol=0, atol=0)
    lamina.applications.MobileNetV3Small(weights="imagenet", include_top=False,
                                         input_shape=(224, 224, 3), minimalistic=True)
    assert len(origin.hits) == 1  # the second model reads the cached file


def test_imagenet_weights_with_the_wrong_hash_are_refused(origin, monkeypatch,
                                                          published_v3_small):
    _, body = published_v3_small
    _publish(origin, monkeypatch, body, served=body[:-1] + b"!")
    with pytest.raises(ValueError, match="file hash does not match"):
        lamina.applications.MobileNetV3Small(weights="imagenet", include_top=False,
                                             input_shape=(224, 224, 3), minimalistic=True)
    assert not (origin.home / "models" / V3_NOTOP).exists()


def test_decode_predictions_downloads_keras_class_index(origin, monkeypatch):
    index = {str(i): [f"n{i:08d}", f"class_{i}"] for i in range(1000)}
    body = json.dumps(index).encode()
    origin.publish("imagenet_class_index.json", body)
    monkeypatch.setattr(imagenet_utils, "CLASS_INDEX_HASH", hashlib.md5(body).hexdigest())
    monkeypatch.setattr(imagenet_utils, "_class_index", None)
    preds = np.zeros((2, 1000), "float32")
    preds[0, [7, 3, 500]] = [0.5, 0.3, 0.2]
    preds[1, 999] = 1.0
    decoded = lamina.applications.resnet50.decode_predictions(preds, top=2)
    assert decoded == [[("n00000007", "class_7", 0.5), ("n00000003", "class_3", 0.3)],
                       [("n00000999", "class_999", 1.0), ("n00000998", "class_998", 0.0)]]
    assert origin.hits == ["/w/imagenet_class_index.json"]


def test_decode_predictions_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"shape \(samples, 1000\)"):
        imagenet_utils.decode_predictions(np.zeros((2, 10)))


@pytest.mark.parametrize(("build", "kwargs", "match"), [
    ("ResNet50", {"weights": "no/such/file.h5"}, "`weights` argument should be either"),
    ("VGG16", {"weights": "imagenet", "classes": 10}, "`classes` should be 1000"),
    ("EfficientNetB0", {"weights": None, "input_shape": (16, 16, 3)},
     "Input size must be at least 32x32"),
    ("InceptionV3", {"weights": None, "input_shape": (64, 64, 3)},
     "Input size must be at least 75x75"),
    ("ResNet50", {"weights": "imagenet", "include_top": False, "input_shape": (64, 64, 1)},
     "must have 3 channels"),
    ("VGG16", {"weights": "imagenet", "input_shape": (64, 64, 3)},
     r"`input_shape` should be \(224, 224, 3\)"),
    ("Xception", {"weights": None, "input_shape": (None, None, 3)},
     "specify a static `input_shape`"),
    ("DenseNet121", {"weights": None, "input_shape": (64, 64)},
     "`input_shape` must be a tuple of three integers"),
    ("MobileNet", {"weights": "imagenet", "alpha": 0.3}, "alpha can be one of"),
    ("MobileNetV2", {"weights": "imagenet", "alpha": 0.3}, "alpha must be one of"),
    ("MobileNetV3Large", {"weights": None, "input_shape": (16, 16, 3)},
     "at least 32x32"),
])
def test_bad_arguments_raise_before_building(build, kwargs, match):
    with pytest.raises(ValueError, match=match):
        getattr(lamina.applications, build)(**kwargs)


def test_channels_first_is_refused_where_keras_refuses(monkeypatch):
    monkeypatch.setattr(backend_config, "_IMAGE_DATA_FORMAT", "channels_first")
    for build in ("DenseNet121", "ConvNeXtTiny", "NASNetMobile"):
        with pytest.raises(ValueError, match="does not support the `channels_first`"):
            getattr(lamina.applications, build)(weights=None)


def test_input_tensor_pooling_and_classifier_activation():
    image = lamina.Input((32, 32, 3))
    model = lamina.applications.MobileNet(alpha=0.25, include_top=False, weights=None,
                                          input_tensor=image, pooling="max")
    assert model.inputs[0] is image
    assert model.output_shape == (None, 256)
    assert model.name == "mobilenet_0.25_None"  # as Keras names it
    with pytest.raises(ValueError, match="Only `None` and `softmax` activations"):
        lamina.applications.MobileNet(alpha=0.25, weights="imagenet",
                                      input_shape=(128, 128, 3), classifier_activation="relu")


def test_each_family_module_has_keras_helpers():
    for module in ("convnext", "densenet", "efficientnet", "efficientnet_v2",
                   "inception_resnet_v2", "inception_v3", "mobilenet", "mobilenet_v2",
                   "mobilenet_v3", "nasnet", "resnet", "resnet50", "resnet_v2", "vgg16",
                   "vgg19", "xception"):
        family = getattr(lamina.applications, module)
        assert callable(family.preprocess_input) and callable(family.decode_predictions)
    assert lamina.applications.resnet50.ResNet50 is lamina.applications.ResNet50
    with pytest.raises(AttributeError):
        lamina.applications.ResNet9  # noqa: B018 (the lookup is the test)


def test_preprocess_input_does_not_change_a_tensor_in_place():
    images = torch.full((1, 2, 2, 3), 255, dtype=torch.uint8)
    out = lamina.applications.mobilenet.preprocess_input(images)
    assert out.dtype == torch.float32 and out.eq(1.0).all()
    assert images.eq(255).all()
    floats = torch.full((1, 2, 2, 3), 255.0)
    lamina.applications.densenet.preprocess_input(floats)
    assert floats.eq(255.0).all()
