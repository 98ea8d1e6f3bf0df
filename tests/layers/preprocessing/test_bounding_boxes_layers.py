"""Bounding boxes through the image augmentation layers, against Keras 3 (torch backend):
one transformation fed to both libraries' `transform_bounding_boxes`, and whole calls on
`{"images", "bounding_boxes"}` dicts, batched and single."""

import numpy as np
import pytest
import torch

import lamina

keras = pytest.importorskip("keras")

FORMATS = ["xyxy", "rel_xyxy", "center_yxhw", "xywh"]
BATCH, HEIGHT, WIDTH, N = 3, 20, 30, 5


def _boxes(fmt, seed=0, batch=BATCH, height=HEIGHT, width=WIDTH):
    rng = np.random.default_rng(seed)
    low = rng.uniform(-0.1, 0.7, (batch, N, 2))
    high = low + rng.uniform(0.05, 0.5, (batch, N, 2))
    xyxy = np.concatenate([low, high], -1) * np.array([width, height, width, height])
    xyxy[:, -1] = -1  # a padding row
    boxes = keras.utils.bounding_boxes.convert_format(
        torch.tensor(xyxy, dtype=torch.float32), "xyxy", fmt, height=height, width=width)
    labels = np.tile(np.arange(N, dtype="int32"), (batch, 1))
    labels[:, -1] = -1
    return boxes.numpy(), labels


def _box_dict(boxes, labels):
    return {"boxes": torch.tensor(boxes), "labels": torch.tensor(labels)}


def _assert_same(ours, theirs):
    np.testing.assert_allclose(ours["boxes"].cpu().numpy(), theirs["boxes"].cpu().numpy(),
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(np.asarray(ours["labels"].cpu()),
                                  np.asarray(theirs["labels"].cpu()))


def _both(name, kwargs, transformation, fmt, seed=0, training=True):
    boxes, labels = _boxes(fmt, seed)
    ours = getattr(lamina.layers, name)(bounding_box_format=fmt, **kwargs)
    theirs = getattr(keras.layers, name)(bounding_box_format=fmt, **kwargs)
    out = ours.transform_bounding_boxes(_box_dict(boxes, labels), transformation,
                                        training=training)
    expected = theirs.transform_bounding_boxes(_box_dict(boxes, labels), transformation,
                                               training=training)
    _assert_same(out, expected)
    return out


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["horizontal", "vertical", "horizontal_and_vertical"])
def test_random_flip_boxes_match_keras(mode, fmt):
    flips = torch.tensor([True, False, True]).reshape(BATCH, 1, 1, 1)
    transformation = {"flips": flips, "input_shape": (BATCH, HEIGHT, WIDTH, 3)}
    out = _both("RandomFlip", {"mode": mode}, transformation, fmt)
    if fmt == "xyxy":
        # The unflipped image keeps its boxes, clipped at the image's top-left edge.
        boxes, _ = _boxes(fmt)
        np.testing.assert_allclose(out["boxes"][1].numpy(), np.clip(boxes[1], 0, None),
                                   atol=1e-5)


def test_random_flip_boxes_channels_first_and_inference():
    transformation = {"flips": torch.ones(BATCH, 1, 1, 1, dtype=torch.bool),
                      "input_shape": (BATCH, 3, HEIGHT, WIDTH)}
    _both("RandomFlip", {"data_format": "channels_first"}, transformation, "xyxy")
    boxes, labels = _boxes("xyxy")
    out = lamina.layers.RandomFlip(bounding_box_format="xyxy").transform_bounding_boxes(
        _box_dict(boxes, labels), None, training=False)
    np.testing.assert_array_equal(out["boxes"].numpy(), boxes)


def test_random_flip_call_flips_the_boxes_with_the_images():
    layer = lamina.layers.RandomFlip("horizontal", bounding_box_format="xyxy", seed=1)
    images = torch.zeros(4, HEIGHT, WIDTH, 1)
    images[:, :, :5] = 1.0  # a bright strip at the left
    boxes = torch.tensor([[[0.0, 0.0, 5.0, float(HEIGHT)]]]).repeat(4, 1, 1)
    out = layer({"images": images, "bounding_boxes": {"boxes": boxes,
                                                      "labels": torch.zeros(4, 1)}})
    for image, box in zip(out["images"], out["bounding_boxes"]["boxes"]):
        x1, _, x2, _ = (int(v) for v in box[0])
        assert image[0, x1:x2, 0].eq(1.0).all() and image[0, :, 0].sum() == 5


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("options", [{}, {"crop_to_aspect_ratio": True},
                                     {"pad_to_aspect_ratio": True}])
@pytest.mark.parametrize("size", [(12, 40), (32, 16)])
def test_resizing_boxes_match_keras(size, options, fmt):
    _both("Resizing", {"height": size[0], "width": size[1], **options}, (HEIGHT, WIDTH), fmt)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("size", [(12, 16), (32, 16), (10, 40)])
def test_center_crop_boxes_match_keras(size, fmt):
    _both("CenterCrop", {"height": size[0], "width": size[1]},
          {"input_shape": (BATCH, HEIGHT, WIDTH, 3)}, fmt)


@pytest.mark.parametrize("name, kwargs", [
    ("Resizing", {"height": 12, "width": 40, "pad_to_aspect_ratio": True}),
    ("CenterCrop", {"height": 12, "width": 16}),
    ("CenterCrop", {"height": 32, "width": 16, "data_format": "channels_first"}),
])
@pytest.mark.parametrize("single", [False, True])
def test_deterministic_layer_calls_match_keras(name, kwargs, single):
    boxes, labels = _boxes("center_xywh", seed=3)
    shape = ((BATCH, 3, HEIGHT, WIDTH) if kwargs.get("data_format") == "channels_first"
             else (BATCH, HEIGHT, WIDTH, 3))
    images = np.random.default_rng(4).uniform(size=shape).astype("float32")
    if single:
        images, boxes, labels = images[0], boxes[0], labels[0]

    def data():
        return {"images": torch.tensor(images), "bounding_boxes": _box_dict(boxes, labels)}

    ours = getattr(lamina.layers, name)(bounding_box_format="center_xywh", **kwargs)(data())
    theirs = getattr(keras.layers, name)(bounding_box_format="center_xywh", **kwargs)(data())
    assert ours["bounding_boxes"]["boxes"].shape == boxes.shape
    _assert_same(ours["bounding_boxes"], theirs["bounding_boxes"])


def test_boxes_without_a_format_are_refused():
    layer = lamina.layers.RandomFlip()
    data = {"images": torch.zeros(1, 4, 4, 1),
            "bounding_boxes": {"boxes": torch.zeros(1, 1, 4), "labels": torch.zeros(1, 1)}}
    with pytest.raises(ValueError, match="bounding_box_format='xyxy'"):
        layer(data)


def test_boxes_need_boxes_and_labels():
    layer = lamina.layers.CenterCrop(2, 2, bounding_box_format="xyxy")
    with pytest.raises(ValueError, match="keys 'boxes' and 'labels'"):
        layer({"images": torch.zeros(1, 4, 4, 1),
               "bounding_boxes": {"boxes": torch.zeros(1, 1, 4)}})


def test_random_crop_shifts_x_by_left_and_y_by_top():
    layer = lamina.layers.RandomCrop(2, 4, bounding_box_format="xyxy")
    out = layer.transform_bounding_boxes(
        {"boxes": torch.tensor([[3.0, 4.0, 5.0, 5.0]]), "labels": torch.tensor([1])}, (3, 1))
    assert out["boxes"].tolist() == [[2.0, 1.0, 4.0, 2.0]]
    assert out["labels"].tolist() == [1]


@pytest.mark.parametrize("fmt", FORMATS)
def test_random_crop_boxes_match_keras_with_its_axis_fix(fmt):
    # Keras 3.15 shifts x by the top offset (keras-team/keras#23518); handing it the
    # offsets swapped gives the fixed shift, then the fix clips to the crop.
    size, (top, left) = (12, 16), (3, 7)
    boxes, labels = _boxes(fmt, seed=5)
    ours = lamina.layers.RandomCrop(*size, bounding_box_format=fmt).transform_bounding_boxes(
        _box_dict(boxes, labels), (top, left))
    theirs = keras.layers.RandomCrop(*size, bounding_box_format=fmt).transform_bounding_boxes(
        _box_dict(boxes, labels), (left, top))
    xyxy = keras.utils.bounding_boxes.convert_format(
        theirs["boxes"], fmt, "xyxy", height=size[0], width=size[1])
    xyxy = torch.minimum(xyxy, torch.tensor([size[1], size[0]] * 2, dtype=torch.float32))
    theirs["boxes"] = keras.utils.bounding_boxes.convert_format(
        xyxy, "xyxy", fmt, height=size[0], width=size[1])
    _assert_same(ours, theirs)
    # Inference leaves the boxes alone, as Keras does.
    kept = lamina.layers.RandomCrop(*size, bounding_box_format=fmt).transform_bounding_boxes(
        _box_dict(boxes, labels), (top, left), training=False)
    np.testing.assert_array_equal(kept["boxes"].numpy(), boxes)


def _drawn(name, kwargs, shape=(BATCH, HEIGHT, WIDTH, 3)):
    """A transformation drawn by the lamina layer, to feed to both libraries."""
    layer = getattr(lamina.layers, name)(seed=7, **kwargs)
    return layer.get_random_transformation(torch.zeros(shape), training=True)


AFFINE_CASES = [
    ("RandomTranslation", {"height_factor": 0.3, "width_factor": (-0.4, 0.2)}),
    ("RandomZoom", {"height_factor": (-0.4, 0.3)}),
    ("RandomZoom", {"height_factor": 0.3, "width_factor": (-0.5, 0.1)}),
]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name, kwargs", AFFINE_CASES)
def test_affine_layer_boxes_match_keras(name, kwargs, fmt):
    out = _both(name, kwargs, _drawn(name, kwargs), fmt)
    assert out["boxes"].shape == (BATCH, N, 4)


@pytest.mark.parametrize("name, kwargs", AFFINE_CASES)
def test_affine_layer_boxes_channels_first_single_and_inference(name, kwargs):
    kwargs = dict(kwargs, data_format="channels_first")
    _both(name, kwargs, _drawn(name, kwargs, (BATCH, 3, HEIGHT, WIDTH)), "xyxy")
    layer = getattr(lamina.layers, name)(bounding_box_format="xyxy", seed=3, **kwargs)
    boxes, labels = _boxes("xyxy")
    images = torch.zeros(3, HEIGHT, WIDTH)
    out = layer({"images": images, "bounding_boxes": _box_dict(boxes[0], labels[0])})
    assert out["bounding_boxes"]["boxes"].shape == (N, 4)
    kept = layer({"images": images, "bounding_boxes": _box_dict(boxes[0], labels[0])},
                 training=False)
    np.testing.assert_array_equal(kept["bounding_boxes"]["boxes"].numpy(), boxes[0])


def test_translation_moves_boxes_by_the_drawn_shift():
    layer = lamina.layers.RandomTranslation(0.0, 0.0, bounding_box_format="xyxy")
    transformation = {"translations": torch.tensor([[3.0, -2.0]]),
                      "input_shape": (1, HEIGHT, WIDTH, 3)}
    out = layer.transform_bounding_boxes(
        {"boxes": torch.tensor([[[4.0, 5.0, 10.0, 12.0]]]), "labels": torch.tensor([[0]])},
        transformation)
    assert out["boxes"].tolist() == [[[7.0, 3.0, 13.0, 10.0]]]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kwargs", [{"x_factor": 0.4, "y_factor": (0.1, 0.5)},
                                    {"x_factor": (0.2, 0.6), "y_factor": 0.0}])
def test_random_shear_boxes_match_keras(kwargs, fmt):
    transformation = _drawn("RandomShear", kwargs)
    # Both signs of both amounts appear across the cases.
    transformation["shear_factor"] = transformation["shear_factor"] * torch.tensor(
        [[1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    _both("RandomShear", kwargs, transformation, fmt)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_random_rotation_boxes_match_keras(data_format):
    shape = (BATCH, HEIGHT, WIDTH, 3) if data_format == "channels_last" else (
        BATCH, 3, HEIGHT, WIDTH)
    kwargs = {"factor": 0.3, "data_format": data_format}
    out = _both("RandomRotation", kwargs, _drawn("RandomRotation", kwargs, shape), "xyxy")
    assert out["boxes"].shape == (BATCH, N, 4)


@pytest.mark.parametrize("fmt", ["rel_xyxy", "center_yxhw"])
def test_random_rotation_reads_boxes_in_the_layer_format(fmt):
    # Keras 3.15 skips the conversion into xyxy; fed xyxy boxes it gives the reference.
    transformation = _drawn("RandomRotation", {"factor": 0.2})
    boxes, labels = _boxes(fmt, seed=6)
    ours = lamina.layers.RandomRotation(0.2, bounding_box_format=fmt).transform_bounding_boxes(
        _box_dict(boxes, labels), transformation)
    xyxy = keras.utils.bounding_boxes.convert_format(
        torch.tensor(boxes), fmt, "xyxy", height=HEIGHT, width=WIDTH)
    theirs = keras.layers.RandomRotation(0.2, bounding_box_format=fmt).transform_bounding_boxes(
        {"boxes": xyxy, "labels": torch.tensor(labels)}, transformation)
    _assert_same(ours, theirs)


def test_rotation_by_half_a_turn_mirrors_boxes_through_the_centre():
    layer = lamina.layers.RandomRotation(0.5, bounding_box_format="xyxy")
    transformation = {"angle": torch.tensor([180.0]), "image_height": 11, "image_width": 21,
                      "batch_size": 1}
    out = layer.transform_bounding_boxes(
        {"boxes": torch.tensor([[[2.0, 1.0, 6.0, 4.0]]]), "labels": torch.tensor([[0]])},
        transformation)
    torch.testing.assert_close(out["boxes"], torch.tensor([[[14.0, 6.0, 18.0, 9.0]]]),
                               atol=1e-4, rtol=0)


@pytest.mark.parametrize("name, kwargs", [("RandomErasing", {"factor": 1.0}),
                                          ("RandomGaussianBlur", {"factor": 1.0})])
@pytest.mark.parametrize("single", [False, True])
def test_pixel_layers_pass_boxes_through_as_keras(name, kwargs, single):
    boxes, labels = _boxes("xywh", seed=8)
    images = np.random.default_rng(9).uniform(size=(BATCH, HEIGHT, WIDTH, 3)).astype("float32")
    if single:
        images, boxes, labels = images[0], boxes[0], labels[0]

    def data():
        return {"images": torch.tensor(images), "bounding_boxes": _box_dict(boxes, labels)}

    ours = getattr(lamina.layers, name)(bounding_box_format="xywh", seed=1, **kwargs)(data())
    theirs = getattr(keras.layers, name)(bounding_box_format="xywh", seed=1, **kwargs)(data())
    _assert_same(ours["bounding_boxes"], theirs["bounding_boxes"])
    np.testing.assert_array_equal(ours["bounding_boxes"]["boxes"].numpy(), boxes)


@pytest.mark.parametrize("name, kwargs", [
    ("RandomFlip", {}),
    ("RandomTranslation", {"height_factor": 0.3, "width_factor": 0.3}),
    ("RandomZoom", {"height_factor": 0.4}),
    ("RandomRotation", {"factor": 0.2}),
    ("RandomShear", {"x_factor": 0.3, "y_factor": 0.3}),
    ("RandomPerspective", {"factor": 1.0, "scale": 0.5}),
])
def test_seeded_random_layer_calls_match_keras(name, kwargs):
    # Seeded as their Keras twins, the layers draw the same transformation on the CPU,
    # so whole calls on {"images", "bounding_boxes"} agree.
    boxes, labels = _boxes("xyxy", seed=10)
    images = np.random.default_rng(11).uniform(size=(BATCH, HEIGHT, WIDTH, 3)).astype("float32")

    def data():
        return {"images": torch.tensor(images), "bounding_boxes": _box_dict(boxes, labels)}

    ours = getattr(lamina.layers, name)(bounding_box_format="xyxy", seed=5, **kwargs)(data())
    theirs = getattr(keras.layers, name)(bounding_box_format="xyxy", seed=5, **kwargs)(data())
    np.testing.assert_allclose(ours["images"].numpy(), theirs["images"].numpy(), atol=1e-4)
    _assert_same(ours["bounding_boxes"], theirs["bounding_boxes"])


def test_mix_up_adds_the_partner_boxes_as_keras():
    boxes, labels = _boxes("xyxy", seed=12)
    transformation = {"mix_weight": torch.tensor([0.3, 0.6, 0.9]),
                      "permutation_order": torch.tensor([2, 0, 1])}
    ours = lamina.layers.MixUp(bounding_box_format="xyxy").transform_bounding_boxes(
        _box_dict(boxes, labels), transformation)
    theirs = keras.layers.MixUp(bounding_box_format="xyxy").transform_bounding_boxes(
        _box_dict(boxes, labels), transformation)
    np.testing.assert_array_equal(ours["boxes"].numpy(), theirs["boxes"].numpy())
    # Labels stay in step with the boxes (Keras 3.15 joins them along the batch axis).
    assert ours["labels"].shape == (BATCH, 2 * N)
    np.testing.assert_array_equal(ours["labels"][0].numpy(),
                                  np.concatenate([labels[0], labels[2]]))
    single = lamina.layers.MixUp(bounding_box_format="xyxy", seed=1)(
        {"images": torch.rand(HEIGHT, WIDTH, 3), "bounding_boxes": _box_dict(boxes[0],
                                                                               labels[0])})
    assert single["bounding_boxes"]["boxes"].shape == (2 * N, 4)
    assert single["bounding_boxes"]["labels"].shape == (2 * N,)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_random_perspective_boxes_match_keras(data_format):
    shape = (BATCH, HEIGHT, WIDTH, 3) if data_format == "channels_last" else (
        BATCH, 3, HEIGHT, WIDTH)
    kwargs = {"factor": 1.0, "scale": 0.6, "data_format": data_format}
    transformation = _drawn("RandomPerspective", kwargs, shape)
    transformation["apply_perspective"] = torch.tensor([True, False, True])
    out = _both("RandomPerspective", kwargs, transformation, "xyxy")
    boxes, _ = _boxes("xyxy")
    np.testing.assert_allclose(out["boxes"][1].numpy(), np.clip(boxes[1], 0, None), atol=1e-5)


def test_random_perspective_returns_boxes_in_the_layer_format():
    # Keras 3.15 leaves them in xyxy; converted, they are the same boxes.
    transformation = _drawn("RandomPerspective", {"factor": 1.0})
    boxes, labels = _boxes("center_xywh", seed=13)
    ours = lamina.layers.RandomPerspective(bounding_box_format="center_xywh")
    theirs = keras.layers.RandomPerspective(bounding_box_format="center_xywh")
    out = ours.transform_bounding_boxes(_box_dict(boxes, labels), transformation)
    expected = theirs.transform_bounding_boxes(_box_dict(boxes, labels), transformation)
    expected["boxes"] = keras.utils.bounding_boxes.convert_format(
        expected["boxes"], "xyxy", "center_xywh")
    _assert_same(out, expected)


def test_pipeline_carries_boxes_through_its_layers_as_keras():
    boxes, labels = _boxes("xyxy", seed=14)
    images = np.random.default_rng(15).uniform(size=(BATCH, HEIGHT, WIDTH, 3)).astype("float32")

    def pipeline(lib):
        return lib.layers.Pipeline([
            lib.layers.RandomFlip(bounding_box_format="xyxy", seed=2),
            lib.layers.Resizing(16, 24, bounding_box_format="xyxy"),
            lib.layers.RandomTranslation(0.2, 0.2, bounding_box_format="xyxy", seed=3)])

    def data():
        return {"images": torch.tensor(images), "bounding_boxes": _box_dict(boxes, labels)}

    ours, theirs = pipeline(lamina)(data()), pipeline(keras)(data())
    assert ours["images"].shape == (BATCH, 16, 24, 3)
    _assert_same(ours["bounding_boxes"], theirs["bounding_boxes"])
