"""`BaseImagePreprocessingLayer`: what the image preprocessing layers share.

A layer of this family takes one image (rank 3) or a batch (rank 4), channels where
`data_format` says, or a dict holding `"images"` plus optional `"labels"`,
`"segmentation_masks"` and `"bounding_boxes"` (`{"boxes", "labels"}` in the layer's
`bounding_box_format`, moved by the layers that define `transform_bounding_boxes`).
A call draws one transformation for the batch (`get_random_transformation`, None in
inference) and applies it to the images, masks and boxes alike, so they stay aligned.
Random members hold a `SeedGenerator` as `self.generator`; seeded draws follow Keras'
scheme, so on the same device a layer seeded like its Keras twin draws the same
transformation.

In a `torch.utils.data.DataLoader` worker a layer reseeds its generators (and its
sublayers') once per worker from the worker's seed (`get_worker_info().seed`, which the
DataLoader draws afresh for each epoch's workers from the main process' torch RNG), as
torch reseeds its own RNG there: forked workers would otherwise hold copies of one state
and repeat each other's (and each epoch's) augmentations. A seeded layer stays
reproducible under `torch.manual_seed`, like the DataLoader itself.
"""

import numbers
import os

import numpy as np
import torch
from torch.utils.data import get_worker_info

from lamina import ops
from lamina.backend.config import standardize_data_format
from lamina.backend.convert import convert_to_tensor
from lamina.layers.layer import Layer
from lamina.layers.layer_state import held_seed_generators
from lamina.random.seed_generator import SeedGenerator, torch_generator


class BaseImagePreprocessingLayer(Layer):
    """Base of the image preprocessing layers (see the module docstring).

    Subclasses override `get_random_transformation(images, training)` and
    `transform_images(images, transformation, training)`; the images they receive are
    always batched (rank 4).
    """

    # NOTE: the subclass decides when to cast (Keras casts images to the compute dtype
    # but leaves integer labels and masks alone), so inputs are not promoted on entry.
    _casts_integer_inputs = False
    # `factor` handling, for the layers that take one (as Keras' base does).
    _USE_BASE_FACTOR = True
    _FACTOR_BOUNDS = (-1, 1)

    def __init__(self, factor=None, bounding_box_format=None, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.data_format = standardize_data_format(data_format)
        # Axes of height and width in a batch.
        self._height_axis, self._width_axis = (
            (1, 2) if self.data_format == "channels_last" else (2, 3))
        if self._USE_BASE_FACTOR:
            self._set_factor(factor or 0.0)
        elif factor is not None:
            raise ValueError(f"Layer {type(self).__name__} does not take a `factor` argument. "
                             f"Received: factor={factor}")

    def _set_factor(self, factor):
        self.factor = self._bounded_range("factor", factor)

    def _bounded_range(self, arg, value):
        """`(lower, upper)` from `value` (a number `f`: `(max(-|f|, low), |f|)`, or a
        pair) as Keras reads `factor`, with `_FACTOR_BOUNDS` as `(low, high)`."""
        low, high = self._FACTOR_BOUNDS
        error = ValueError(
            f"The `{arg}` argument of {type(self).__name__} should be a number (or a list "
            f"of two numbers) in the range [{low}, {high}]. Received: {arg}={value!r}")
        if isinstance(value, (tuple, list)):
            if len(value) != 2 or not all(_is_number(f) for f in value):
                raise error
            # NOTE: as in Keras, a range is refused only when it lies wholly outside the
            # bounds, so every config Keras accepts loads here too.
            if value[0] > high or value[1] < low:
                raise error
            lower, upper = sorted(value)
        elif _is_number(value):
            if not low <= value <= high:
                raise error
            value = abs(value)
            lower, upper = max(-value, low), value
        else:
            raise error
        return lower, upper

    # -- hooks -----------------------------------------------------------------------------
    def get_random_transformation(self, images, training=True):
        """The transformation for this batch of `images` (None: leave them alone)."""
        return None

    def transform_images(self, images, transformation, training=True):
        raise NotImplementedError

    def transform_labels(self, labels, transformation, training=True):
        return labels

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self.transform_images(masks, transformation, training=training)

    def transform_bounding_boxes(self, bounding_boxes, transformation, training=True):
        """`{"boxes": (batch, N, 4), "labels": (batch, N)}` moved as the images are, in
        `self.bounding_box_format`."""
        raise NotImplementedError(
            f"Layer '{self.name}' ({type(self).__name__}): lamina does not transform "
            "'bounding_boxes' for this layer yet; pass 'images', 'labels' and "
            "'segmentation_masks' only.")

    def _input_size(self, transformation):
        """`(height, width)` of the images `transformation["input_shape"]` describes."""
        shape = transformation["input_shape"]
        # NOTE: axes counted from the end, so a Keras transformation of one image fits.
        return shape[self._height_axis - 4], shape[self._width_axis - 4]

    def _transform_box_dict(self, bounding_boxes, transformation, training, single):
        if not self.bounding_box_format:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) received 'bounding_boxes' but "
                "has no `bounding_box_format`. Pass one, e.g. `bounding_box_format='xyxy'`.")
        if not isinstance(bounding_boxes, dict) or not {"boxes", "labels"} <= set(bounding_boxes):
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expects 'bounding_boxes' to be a "
                f"dict with keys 'boxes' and 'labels'. Received: {bounding_boxes!r}")
        boxes = dict(bounding_boxes)
        boxes["boxes"] = convert_to_tensor(boxes["boxes"], "float32")
        boxes["labels"] = convert_to_tensor(boxes["labels"])
        if single:
            boxes["boxes"], boxes["labels"] = boxes["boxes"][None], boxes["labels"][None]
        boxes = self.transform_bounding_boxes(boxes, transformation, training=training)
        if single:
            boxes = dict(boxes, boxes=boxes["boxes"][0], labels=boxes["labels"][0])
        return boxes

    # -- call ------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        if get_worker_info() is not None:
            reseed_for_worker(self)
        return super().forward(*args, **kwargs)

    def call(self, data, training=True):
        if isinstance(data, dict):
            return self._call_on_dict(data, training)
        images, single = self._batched(data, "images")
        transformation = self.get_random_transformation(images, training=training)
        out = self.transform_images(images, transformation, training=training)
        return out[0] if single else out

    def _call_on_dict(self, data, training):
        if "images" not in data:
            raise ValueError(f"Layer '{self.name}' ({type(self).__name__}) takes a dict with "
                             f"an 'images' entry. Received keys: {sorted(data)}")
        images, single = self._batched(data["images"], "images")
        transformation = self.get_random_transformation(images, training=training)
        out = dict(data)
        result = self.transform_images(images, transformation, training=training)
        out["images"] = result[0] if single else result
        if "bounding_boxes" in data:
            out["bounding_boxes"] = self._transform_box_dict(
                data["bounding_boxes"], transformation, training, single)
        if "labels" in data:
            labels = data["labels"]
            labels = labels[None] if single else labels
            labels = self.transform_labels(labels, transformation, training=training)
            out["labels"] = labels[0] if single else labels
        if "segmentation_masks" in data:
            masks, _ = self._batched(data["segmentation_masks"], "segmentation_masks")
            masks = self.transform_segmentation_masks(masks, transformation, training=training)
            out["segmentation_masks"] = masks[0] if single else masks
        return out

    def _as_batch(self, data):
        """The batch of images in `data`: one image, a batch, or a dict holding
        `"images"`, as Keras' `get_random_transformation` takes them."""
        images = data["images"] if isinstance(data, dict) else data
        return self._batched(images, "images")[0]

    def _batched(self, images, what):
        """`(batch, single)`: rank-4 `images`, and whether a rank-3 image was given."""
        if not isinstance(images, torch.Tensor):
            images = torch.as_tensor(images)
        if images.ndim == 4:
            return images, False
        if images.ndim == 3:
            return images[None], True
        raise ValueError(
            f"Layer '{self.name}' ({type(self).__name__}) expects {what} of rank 3 (one "
            f"image) or 4 (a batch of images). Received shape {tuple(images.shape)}.")

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config["data_format"] = self.data_format
        if self.bounding_box_format is not None:
            config["bounding_box_format"] = self.bounding_box_format
        return config


def reseed_for_worker(layer):
    """In a DataLoader worker, give every `SeedGenerator` of `layer` and its sublayers a
    seed mixed from its own and the worker's, once per worker process (see the module
    docstring). The new state is a fresh tensor: a spawned worker may receive the
    parent's state in shared memory, which other workers would then race on."""
    info = get_worker_info()
    token = (os.getpid(), info.seed)
    if layer.__dict__.get("_worker_token") == token:
        return
    for module in layer.modules():
        for generator in held_seed_generators(module):
            mixed = np.random.SeedSequence([generator.seed & 0xFFFFFFFF,
                                            info.seed & 0xFFFFFFFFFFFFFFFF])
            seed = int(mixed.generate_state(1)[0] & 0x7FFFFFFF)
            generator.state.data = torch.tensor([seed, 0], dtype=torch.int32)
            generator._attach_host_view()
        module.__dict__["_worker_token"] = token


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


# -- shared by the geometric layers ----------------------------------------------------------
FILL_MODES = ("reflect", "wrap", "constant", "nearest")
INTERPOLATIONS = ("nearest", "bilinear")


def check_choice(layer, arg, value, choices):
    """Raise a ValueError naming `layer` and `arg` unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': `{arg}` must be one of "
            f"{', '.join(map(repr, choices))}. Received: {arg}={value!r}")


def check_size(layer, arg, value):
    """`value` as an int; a ValueError naming `layer` and `arg` unless it is positive."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"{type(layer).__name__} layer '{layer.name}': `{arg}` must be a "
                         f"positive integer. Received: {arg}={value!r}")
    return int(value)


def factor_range(layer, arg, factor, low, high, low_open=False, pair_low=None):
    """`(lower, upper)` from a number `f` (`(-|f|, |f|)`) or a pair; every number given
    must lie in `[low, high]` (`(low, high]` with `low_open`), as Keras checks per value.
    `pair_low` lowers the bound for the numbers of a pair."""
    def in_range(value, low):
        if not _is_number(value) or value > high:
            return False
        return low < value if low_open else low <= value

    if isinstance(factor, (tuple, list)):
        pair_low = low if pair_low is None else pair_low
        valid = len(factor) == 2 and all(in_range(v, pair_low) for v in factor)
        span = f"{'(' if low_open else '['}{pair_low}, {high}]"
    else:
        valid = in_range(factor, low)
        span = f"{'(' if low_open else '['}{low}, {high}]"
    if not valid:
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}': `{arg}` should be a number (or a "
            f"list of two numbers) in the range {span}. Received: {arg}={factor!r}")
    if isinstance(factor, (tuple, list)):
        lower, upper = sorted(factor)
        return lower, upper
    return -abs(factor), abs(factor)


def sized_output_shape(layer, input_shape):
    """`input_shape` (rank 3 or 4) with `layer.height` and `layer.width` as its spatial
    sizes."""
    shape = list(input_shape)
    if len(shape) not in (3, 4) or any(isinstance(d, (list, tuple)) for d in shape):
        raise ValueError(
            f"{type(layer).__name__} layer '{layer.name}' expects images of rank 3 (one image) "
            f"or 4 (a batch of images). Received input_shape={tuple(input_shape)}.")
    first = len(shape) - 3 + (layer.data_format == "channels_first")
    shape[first], shape[first + 1] = layer.height, layer.width
    return tuple(shape)


def draw_applied(generator, batch, factor, device):
    """Which of `batch` images a layer changes: per image a probability drawn from
    `factor`, then a uniform draw below it (Keras' two draws, in its order)."""
    low, high = factor
    probability = torch.rand((batch,), generator=torch_generator(generator, device),
                             device=device) * (high - low) + low
    threshold = torch.rand((batch,), generator=torch_generator(generator, device),
                           device=device)
    return threshold < probability


# -- shared by the box-cutting layers (RandomErasing, CutMix) --------------------------------
def crop_bounds(generator, batch, length, ratio, device, dtype):
    """`(start, end)` of a span of `ratio * length` at a uniformly drawn offset, one per
    image, in Keras' order of draws."""
    span = (ratio * length).to(dtype)
    draws = torch.rand((batch,), generator=torch_generator(generator, device), device=device,
                       dtype=dtype)
    start = draws * (length - span)
    return start, start + span


def box_masks(layer, shape, x0, x1, y0, y1, device, dtype):
    """Boolean masks of `shape` (a batch) true inside each image's box `[x0, x1) x [y0,
    y1)`, every channel alike."""
    height, width = shape[layer._height_axis], shape[layer._width_axis]
    rows = torch.arange(height, dtype=dtype, device=device)[:, None]
    cols = torch.arange(width, dtype=dtype, device=device)[None, :]
    x0, x1, y0, y1 = (v[:, None, None] for v in (x0, x1, y0, y1))
    masks = (cols >= x0) & (cols < x1) & (rows >= y0) & (rows < y1)
    masks = masks[..., None] if layer.data_format == "channels_last" else masks[:, None]
    return masks.expand(shape)


class BaseWarpLayer(BaseImagePreprocessingLayer):
    """Base of the random layers that resample each image at warped positions (zoom,
    translation, shear, perspective): images in the compute dtype, masks with nearest
    interpolation, the identity in inference. Subclasses draw the transformation and
    implement `_warp_batch(images, transformation, interpolation)`."""

    _USE_BASE_FACTOR = False

    def __init__(self, seed=None, data_format=None, **kwargs):
        super().__init__(data_format=data_format, **kwargs)
        self.seed = seed
        self.generator = SeedGenerator(seed)

    def _uniform(self, shape, low, high, device, dtype=torch.float32):
        """One seeded draw, as Keras' `random.uniform` makes it (so seeds reproduce)."""
        generator = torch_generator(self.generator, device)
        draws = torch.rand(shape, generator=generator, device=device, dtype=dtype)
        return (high - low) * draws + low

    def transform_images(self, images, transformation, training=True):
        images = images.to(self.dtype_policy.compute_torch_dtype)
        return self._warp(images, transformation, training, self.interpolation)

    def transform_segmentation_masks(self, masks, transformation, training=True):
        return self._warp(masks, transformation, training, "nearest")

    def _warp(self, images, transformation, training, interpolation):
        if not training or transformation is None:
            return images
        return self._warp_batch(images, transformation, interpolation)

    def _warp_batch(self, images, transformation, interpolation):
        raise NotImplementedError


class BaseAffineLayer(BaseWarpLayer):
    """Base of the warps with one `affine_transform` matrix per image; subclasses turn
    the transformation into matrix rows (`_matrix(transformation, height, width)`)."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, data_format=None, **kwargs):
        super().__init__(seed=seed, data_format=data_format, **kwargs)
        check_choice(self, "fill_mode", fill_mode, FILL_MODES)
        check_choice(self, "interpolation", interpolation, INTERPOLATIONS)
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.fill_value = fill_value

    def _matrix(self, transformation, height, width):
        raise NotImplementedError

    def _warp_batch(self, images, transformation, interpolation):
        matrix = self._matrix(transformation, images.shape[self._height_axis],
                              images.shape[self._width_axis])
        return ops.image.affine_transform(
            images, matrix, interpolation=interpolation, fill_mode=self.fill_mode,
            fill_value=self.fill_value, data_format=self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(fill_mode=self.fill_mode, interpolation=self.interpolation,
                      seed=self.seed, fill_value=self.fill_value)
        return config
