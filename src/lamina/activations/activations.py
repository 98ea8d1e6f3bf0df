"""Keras' activation functions: each is the `lamina.ops` op of the same meaning.

An activation adds only what the op lacks (`relu`'s leak, cap and threshold; `gelu`'s
exact default; `mish`, composed as in Keras). The ops decide everything else: array-likes
are converted, integer input computes in `floatx()` (where Keras' torch backend raises or
wraps around in `uint8`), and `KerasTensor`s record the ops' graph nodes.
"""

from lamina import ops
from lamina.backend.dtypes import is_int_dtype
from lamina.ops.operation import FLOAT_DTYPES


def relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit: `x` above `threshold`, `negative_slope * (x - threshold)`
    below it, capped at `max_value` when given.

    >>> import torch, lamina
    >>> lamina.activations.relu(torch.tensor([-1.0, 0.5, 9.0]), max_value=6.0).tolist()
    [0.0, 0.5, 6.0]
    """
    if threshold == 0.0 and max_value is None:
        return ops.relu(x) if negative_slope == 0.0 else ops.leaky_relu(x, negative_slope)
    # NOTE: Keras' order, which matters for a negative threshold with a cap: keep `x` above
    # the threshold, clip that to [0, max_value], then subtract the leak below the
    # threshold. The cap takes `x`'s dtype (integers stay integers), as a Python number so
    # that a symbolic call records no tensor constant. relu then clip, not one clamp: the
    # gradient at x == 0 is relu's 0 in Keras, clamp's would be 1.
    if threshold != 0.0:
        out = ops.where(ops.greater(x, threshold), x, 0)
    elif max_value == 6:
        out, max_value = ops.relu6(x), None
    else:
        out = ops.relu(x)
    if max_value is not None:
        # A set test first: is_int_dtype costs ~0.3 us, a tenth of this path on floats.
        if out.dtype not in FLOAT_DTYPES and is_int_dtype(out.dtype):
            max_value = int(max_value)
        out = ops.clip(out, 0, max_value)
    if negative_slope != 0.0:
        leak = ops.relu(ops.subtract(threshold, x))
        out = ops.subtract(out, ops.multiply(negative_slope, leak))
    return out


def relu6(x):
    """`min(max(x, 0), 6)`."""
    return ops.relu6(x)


def leaky_relu(x, negative_slope=0.2):
    """`x` for positive `x`, `negative_slope * x` otherwise."""
    return ops.leaky_relu(x, negative_slope=negative_slope)


def elu(x, alpha=1.0):
    """Exponential linear unit: `x` for positive `x`, `alpha * (exp(x) - 1)` otherwise."""
    return ops.elu(x, alpha=alpha)


def selu(x):
    """Scaled ELU with the self-normalizing constants of Klambauer et al. (2017)."""
    return ops.selu(x)


def celu(x, alpha=1.0):
    """Continuously differentiable ELU: `max(x, 0) + min(0, alpha * (exp(x / alpha) - 1))`."""
    return ops.celu(x, alpha=alpha)


def softplus(x):
    """`log(exp(x) + 1)`."""
    return ops.softplus(x)


def softsign(x):
    """`x / (abs(x) + 1)`."""
    return ops.softsign(x)


def soft_shrink(x, threshold=0.5):
    """Shrink `x` towards zero by `threshold`; zero inside `[-threshold, threshold]`."""
    return ops.soft_shrink(x, threshold=threshold)


def hard_shrink(x, threshold=0.5):
    """`x` where `abs(x) > threshold`, else 0."""
    return ops.hard_shrink(x, threshold=threshold)


def tanh_shrink(x):
    """`x - tanh(x)`."""
    return ops.tanh_shrink(x)


def silu(x):
    """Sigmoid linear unit (swish): `x * sigmoid(x)`."""
    return ops.silu(x)


swish = silu


def gelu(x, approximate=False):
    """Gaussian error linear unit; `approximate=True` uses the tanh approximation (the
    activation defaults to the exact form, `ops.gelu` to the approximation)."""
    return ops.gelu(x, approximate=approximate)


def glu(x, axis=-1):
    """Gated linear unit: split `x` in two halves `a, b` along `axis`, return
    `a * sigmoid(b)`."""
    return ops.glu(x, axis=axis)


def sigmoid(x):
    """`1 / (1 + exp(-x))`."""
    return ops.sigmoid(x)


def hard_sigmoid(x):
    """Piecewise linear sigmoid: `relu6(x + 3) / 6`."""
    return ops.hard_sigmoid(x)


def hard_silu(x):
    """Hard swish: `x * relu6(x + 3) / 6`."""
    return ops.hard_silu(x)


hard_swish = hard_silu


def hard_tanh(x):
    """`x` clipped to `[-1, 1]`."""
    return ops.hard_tanh(x)


def linear(x):
    """The identity: returns a tensor `x` unchanged (array-likes become tensors)."""
    return ops.convert_to_tensor(x)


def exponential(x):
    """`exp(x)`."""
    return ops.exp(x)


def log_sigmoid(x):
    """`log(sigmoid(x))`, computed stably."""
    return ops.log_sigmoid(x)


def tanh(x):
    """Hyperbolic tangent."""
    return ops.tanh(x)


def mish(x):
    """`x * tanh(softplus(x))` (Misra, 2019); no op of its own, as in Keras."""
    return ops.multiply(x, ops.tanh(ops.softplus(x)))


def squareplus(x, b=4):
    """Smooth ReLU-like `(x + sqrt(x**2 + b)) / 2`."""
    return ops.squareplus(x, b=b)


def sparse_plus(x):
    """0 below -1, `x` above 1, `(x + 1)**2 / 4` in between."""
    return ops.sparse_plus(x)


def sparse_sigmoid(x):
    """0 below -1, 1 above 1, `(x + 1) / 2` in between."""
    return ops.sparse_sigmoid(x)


def threshold(x, threshold, default_value):
    """`x` where `x > threshold`, else `default_value`."""
    return ops.threshold(x, threshold, default_value)


def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis` (an int or a tuple of ints).

    >>> import torch, lamina
    >>> lamina.activations.softmax(torch.zeros(1, 4)).tolist()
    [[0.25, 0.25, 0.25, 0.25]]
    """
    return ops.softmax(x, axis=axis)


def log_softmax(x, axis=-1):
    """`log(softmax(x))` along `axis`, computed stably."""
    return ops.log_softmax(x, axis=axis)


def sparsemax(x, axis=-1):
    """Euclidean projection of `x` onto the probability simplex along `axis`
    (Martins & Astudillo, 2016): like softmax, but with exact zeros."""
    return ops.sparsemax(x, axis=axis)
