"""ResNet-style stack (Conv2D + BatchNormalization + ReLU + Add) in inference: lamina
(channels_last, Keras layout) vs the same network hand-written in torch (NCHW).

Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/resnet_block.py
Prints median times (interleaved runs) and the lamina / torch ratio; asserts nothing.
"""

import statistics
import time

import torch
import torch.nn.functional as F

from lamina.layers.layer import Layer
from lamina.layers.normalization.batch_normalization import BatchNormalization

BATCH, SIZE, CHANNELS, BLOCKS = 64, 32, 64, 3

try:
    from lamina.layers.convolutional.conv import Conv2D
    STAND_IN = []
except ImportError:  # written by another helper; a minimal stand-in until it lands
    STAND_IN = ["Conv2D"]

    class Conv2D(Layer):
        """Stand-in: 3x3 'same' convolution, channels-last, Keras kernel layout (HWIO)."""

        def __init__(self, filters, kernel_size, padding="same", **kwargs):
            super().__init__(**kwargs)
            self.filters, self.kernel_size = filters, kernel_size

        def build(self, input_shape):
            k = self.kernel_size
            self.kernel = self.add_weight(shape=(k, k, input_shape[-1], self.filters),
                                          name="kernel")
            self.bias = self.add_weight(shape=(self.filters,), name="bias",
                                        initializer="zeros")
            # torch layout (OIHW) in channels_last memory, made once
            self._torch_kernel = self.kernel.detach().permute(3, 2, 0, 1).contiguous(
                memory_format=torch.channels_last)

        def call(self, x):
            y = F.conv2d(x.permute(0, 3, 1, 2), self._torch_kernel, self.bias, padding="same")
            return y.permute(0, 2, 3, 1)

try:
    from lamina.layers.merging import Add
except ImportError:
    STAND_IN.append("Add")

    class Add(Layer):
        """Stand-in: elementwise sum of a list of tensors."""

        def call(self, inputs):
            return inputs[0] + inputs[1]


class LaminaResNet(Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.convs = [Conv2D(CHANNELS, 3, padding="same") for _ in range(2 * BLOCKS)]
        self.norms = [BatchNormalization() for _ in range(2 * BLOCKS)]
        self.adds = [Add() for _ in range(BLOCKS)]

    def call(self, x):
        for b in range(BLOCKS):
            y = torch.relu(self.norms[2 * b](self.convs[2 * b](x)))
            y = self.norms[2 * b + 1](self.convs[2 * b + 1](y))
            x = torch.relu(self.adds[b]([x, y]))
        return x


class TorchResNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv2d(CHANNELS, CHANNELS, 3, padding=1) for _ in range(2 * BLOCKS))
        self.norms = torch.nn.ModuleList(
            torch.nn.BatchNorm2d(CHANNELS, eps=1e-3) for _ in range(2 * BLOCKS))

    def forward(self, x):
        for b in range(BLOCKS):
            y = torch.relu(self.norms[2 * b](self.convs[2 * b](x)))
            y = self.norms[2 * b + 1](self.convs[2 * b + 1](y))
            x = torch.relu(x + y)
        return x


def copy_weights(ours, theirs):
    """Give the torch network lamina's weights (so both compute the same function)."""
    with torch.no_grad():
        for conv, tconv in zip(ours.convs, theirs.convs):
            tconv.weight.copy_(conv.kernel.permute(3, 2, 0, 1))
            tconv.bias.copy_(conv.bias)
        for bn, tbn in zip(ours.norms, theirs.norms):
            bn.moving_mean.copy_(torch.randn(CHANNELS) * 0.1)
            bn.moving_variance.copy_(torch.rand(CHANNELS) + 0.5)
            tbn.weight.copy_(bn.gamma)
            tbn.bias.copy_(bn.beta)
            tbn.running_mean.copy_(bn.moving_mean)
            tbn.running_var.copy_(bn.moving_variance)


def main(repeats=15):
    torch.manual_seed(0)
    x_nhwc = torch.randn(BATCH, SIZE, SIZE, CHANNELS)
    x_nchw = x_nhwc.permute(0, 3, 1, 2).contiguous()
    ours = LaminaResNet()
    with torch.no_grad():
        ours(x_nhwc)
        if STAND_IN and "Conv2D" in STAND_IN:
            for conv in ours.convs:
                conv._torch_kernel = conv.kernel.detach().permute(3, 2, 0, 1).contiguous(
                    memory_format=torch.channels_last)
    theirs = TorchResNet().eval()
    copy_weights(ours, theirs)
    with torch.no_grad():
        got = ours(x_nhwc)
        want = theirs(x_nchw).permute(0, 2, 3, 1)
        error = (got - want).abs().max().item()
        runs = {"lamina": (ours, x_nhwc), "torch": (theirs, x_nchw)}
        for model, x in runs.values():  # warm up
            model(x)
        times = {name: [] for name in runs}
        for _ in range(repeats):
            for name, (model, x) in runs.items():
                start = time.perf_counter()
                model(x)
                times[name].append(time.perf_counter() - start)
    lamina_ms = statistics.median(times["lamina"]) * 1e3
    torch_ms = statistics.median(times["torch"]) * 1e3
    print(f"ResNet stack: {BLOCKS} blocks, {CHANNELS} channels, {SIZE}x{SIZE}, batch {BATCH}, "
          f"inference, threads={torch.get_num_threads()}")
    if STAND_IN:
        print(f"(stand-ins used for not-yet-available layers: {', '.join(STAND_IN)})")
    print(f"max |lamina - torch| = {error:.2e}")
    print(f"lamina (channels_last): {lamina_ms:.2f} ms   torch (NCHW): {torch_ms:.2f} ms   "
          f"ratio {lamina_ms / torch_ms:.3f}x")


if __name__ == "__main__":
    main()
