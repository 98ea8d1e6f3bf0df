"""`ContrastLimitedAdaptiveHistogramEqualization` (CLAHE): local, clipped histogram equalization."""

import math

import torch

from lamina.layers.preprocessing.color_base import BaseColorLayer, rescale_values

_PIXELS = (0, 255)


class ContrastLimitedAdaptiveHistogramEqualization(BaseColorLayer):
    """Equalize each tile's histogram (clipped at `clip_limit`) and blend tiles bilinearly.

    The image is cut into a `tile_grid_size` grid (padded symmetrically to whole
    tiles); each tile and channel gets a 256-level histogram whose counts above
    `clip_limit * tile_pixels / 256` are spread evenly over all levels; each pixel's
    new value interpolates the four nearest tiles' equalization maps. It runs in
    training and inference alike and returns the input dtype.

    Args:
        value_range: `(low, high)` of the input values, `(0, 255)` by default.
        clip_limit: contrast limit (0 or less: plain adaptive equalization).
        tile_grid_size: `(rows, columns)` of tiles.
        data_format: `"channels_last"` (default) or `"channels_first"`.

    >>> import torch
    >>> layer = ContrastLimitedAdaptiveHistogramEqualization(tile_grid_size=(2, 2))
    >>> tuple(layer(torch.rand(1, 8, 8, 3) * 255).shape)
    (1, 8, 8, 3)
    """

    _SORTS_VALUE_RANGE = False

    def __init__(self, value_range=(0, 255), clip_limit=4.0, tile_grid_size=(8, 8),
                 data_format=None, **kwargs):
        super().__init__(value_range=value_range, data_format=data_format, **kwargs)
        if not (isinstance(tile_grid_size, (tuple, list)) and len(tile_grid_size) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                        for n in tile_grid_size)):
            raise ValueError(
                f"ContrastLimitedAdaptiveHistogramEqualization layer '{self.name}': "
                "`tile_grid_size` must be two positive integers (rows, columns). "
                f"Received: tile_grid_size={tile_grid_size!r}")
        self.clip_limit = clip_limit
        self.tile_grid_size = tuple(tile_grid_size)

    def transform_images(self, images, transformation=None, training=True):
        dtype = images.dtype
        if self.data_format == "channels_first":
            images = images.permute(0, 2, 3, 1)
        images = rescale_values(images.to(torch.float32), self.value_range, _PIXELS)
        images = rescale_values(self._equalize(images), _PIXELS, self.value_range)
        if self.data_format == "channels_first":
            images = images.permute(0, 3, 1, 2)
        return images.to(dtype)

    def _equalize(self, images):
        batch, height, width, channels = images.shape
        rows, cols = self.tile_grid_size
        tile_h, tile_w = math.ceil(height / rows), math.ceil(width / cols)
        padded = _pad_symmetric(images, rows * tile_h, width=cols * tile_w)
        levels = padded.to(torch.int32).clamp(*_PIXELS)  # truncation, as Keras' cast
        tiles = levels.reshape(batch, rows, tile_h, cols, tile_w, channels)
        tiles = tiles.permute(0, 1, 3, 5, 2, 4).reshape(batch, rows, cols, channels, -1)
        hist = torch.zeros((*tiles.shape[:-1], 256), device=images.device)
        hist.scatter_add_(-1, tiles.long(), torch.ones_like(tiles, dtype=hist.dtype))
        area = tile_h * tile_w
        if self.clip_limit > 0:
            # NOTE: Keras on torch counts the histogram in integers, so the limit is
            # truncated to a whole count; done alike here so results equal Keras'.
            clipped = hist.clamp(0, int(self.clip_limit * area / 256.0))
            hist = clipped + (hist - clipped).sum(-1, keepdim=True) / 256.0
        cdf = hist.cumsum(-1)
        cdf_min = cdf.amin(-1, keepdim=True)
        denominator = area - cdf_min
        denominator = torch.where(denominator == 0, 1.0, denominator)
        maps = ((cdf - cdf_min) * 255.0 / denominator).clamp(*_PIXELS)
        # Border tiles repeated once around the grid, so edge pixels interpolate to them.
        maps = torch.cat([maps[:, :1], maps, maps[:, -1:]], dim=1)
        maps = torch.cat([maps[:, :, :1], maps, maps[:, :, -1:]], dim=2)
        y0, y1, wy = _neighbours(padded.shape[1], tile_h, rows, images.device)
        x0, x1, wx = _neighbours(padded.shape[2], tile_w, cols, images.device)
        b = torch.arange(batch, device=images.device)[:, None, None, None]
        c = torch.arange(channels, device=images.device)[None, None, None, :]
        pixels = padded.clamp(*_PIXELS).to(torch.int64)
        y0, y1, wy = y0[None, :, None, None], y1[None, :, None, None], wy[None, :, None, None]
        x0, x1, wx = x0[None, None, :, None], x1[None, None, :, None], wx[None, None, :, None]
        top = maps[b, y0, x0, c, pixels] * (1.0 - wx) + maps[b, y0, x1, c, pixels] * wx
        bottom = maps[b, y1, x0, c, pixels] * (1.0 - wx) + maps[b, y1, x1, c, pixels] * wx
        result = top * (1.0 - wy) + bottom * wy
        return result[:, :height, :width, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(value_range=self.value_range, clip_limit=self.clip_limit,
                      tile_grid_size=self.tile_grid_size)
        return config


def _pad_symmetric(images, height, width):
    """`images` (NHWC) grown to `height` x `width` by mirroring the last rows/columns."""
    def mirrored(size, target):
        index = torch.arange(target, device=images.device)
        return torch.where(index < size, index, 2 * size - 1 - index)
    if height != images.shape[1]:
        images = images.index_select(1, mirrored(images.shape[1], height))
    if width != images.shape[2]:
        images = images.index_select(2, mirrored(images.shape[2], width))
    return images


def _neighbours(size, tile, tiles, device):
    """For each of `size` positions: the two tile-centre indices around it in the
    border-padded grid, and the weight of the second."""
    grid = (torch.arange(size, dtype=torch.float32, device=device) - tile / 2.0) / tile + 1.0
    low = grid.floor()
    weight = grid - low
    return (low.clamp(0, tiles + 1).long(), (low + 1.0).clamp(0, tiles + 1).long(), weight)


__all__ = ["ContrastLimitedAdaptiveHistogramEqualization"]
