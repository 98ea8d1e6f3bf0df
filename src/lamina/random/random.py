"""Random samplers with Keras' signatures: `seed` is an int, a `SeedGenerator` or None.

With a seed, each draw uses its own `torch.Generator` and leaves the global torch RNG
alone; with None it uses the global RNG (seed it with `lamina.utils.set_random_seed`).
Values equal Keras 3's (torch backend) for the same seed and device.
"""

import torch

from lamina.backend import config
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.random.seed_generator import integer_seed, torch_generator

# NOTE: truncated normal draws this many candidates per value and keeps the first one
# inside two standard deviations (Keras' torch scheme, so seeded values agree with it).
_TRUNCATION_CANDIDATES = 4


def _shape(shape):
    if isinstance(shape, int):
        return (shape,)
    return tuple(int(d) for d in shape)


def _float_dtype(dtype):
    return to_torch_dtype(config.floatx() if dtype is None else dtype)


def normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution.

    >>> import lamina
    >>> lamina.random.normal((2, 3), seed=1).shape
    torch.Size([2, 3])
    """
    device = config.get_device()
    generator = torch_generator(seed, device)
    out = torch.randn(_shape(shape), generator=generator, dtype=_float_dtype(dtype), device=device)
    return out * stddev + mean


def uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    """Samples from a uniform distribution on `[minval, maxval)`."""
    dtype = _float_dtype(dtype)
    if not dtype.is_floating_point:
        raise ValueError(
            "`keras.random.uniform` requires a floating point `dtype`. "
            f"Received: dtype={dtype}. Use `randint` for integers."
        )
    device = config.get_device()
    generator = torch_generator(seed, device)
    out = torch.rand(_shape(shape), generator=generator, dtype=dtype, device=device)
    return out * (maxval - minval) + minval


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Samples from a normal distribution truncated to two standard deviations."""
    device = config.get_device()
    generator = torch_generator(seed, device)
    candidates = torch.randn(
        (*_shape(shape), _TRUNCATION_CANDIDATES),
        generator=generator, dtype=_float_dtype(dtype), device=device,
    )
    first_valid = (candidates.abs() < 2.0).to(torch.uint8).argmax(-1, keepdim=True)
    return candidates.gather(-1, first_valid).squeeze(-1) * stddev + mean


def randint(shape, minval, maxval, dtype="int32", seed=None):
    """Samples integers uniformly from `[minval, maxval)`."""
    device = config.get_device()
    generator = torch_generator(seed, device)
    return torch.randint(
        int(minval), int(maxval), _shape(shape),
        generator=generator, dtype=to_torch_dtype(dtype), device=device,
    )


def dropout(inputs, rate, noise_shape=None, seed=None):
    """Zero entries of `inputs` with probability `rate`, scale the rest by `1 / (1 - rate)`.

    `noise_shape` (entries may be None: taken from `inputs`) broadcasts one mask value
    over the axes where it is 1.
    """
    inputs = convert_to_tensor(inputs)
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {rate}")
    if noise_shape is None:
        noise_shape = inputs.shape
    else:
        noise_shape = tuple(
            s if d is None else int(d) for d, s in zip(noise_shape, inputs.shape)
        )
    keep = 1.0 - rate
    generator = torch_generator(seed, inputs.device)
    noise = torch.rand(noise_shape, generator=generator, dtype=inputs.dtype, device=inputs.device)
    if keep == 0.0:
        return torch.zeros_like(inputs)
    return torch.where(noise < keep, inputs / keep, 0.0)


def shuffle(x, axis=0, seed=None):
    """Permute the slices of `x` along `axis` (one random permutation)."""
    x = convert_to_tensor(x)
    axis = axis + x.ndim if axis < 0 else axis
    generator = torch_generator(seed, x.device)
    order = torch.rand(x.shape[axis], generator=generator, device=x.device).argsort()
    return x.index_select(axis, order)


def categorical(logits, num_samples, dtype="int32", seed=None):
    """Draw `num_samples` class indices per row of the 2D `logits` (with replacement)."""
    logits = convert_to_tensor(logits)
    if logits.ndim != 2:
        raise ValueError(
            "`logits` should be a 2-D tensor with shape [batch_size, num_classes]. "
            f"Received: logits.shape={tuple(logits.shape)}"
        )
    generator = torch_generator(seed, logits.device)
    probs = torch.softmax(logits, dim=-1)
    samples = torch.multinomial(probs, int(num_samples), replacement=True, generator=generator)
    return samples.to(to_torch_dtype(dtype))


def _with_seeded_global_rng(seed, device, sample):
    """Run `sample()` on a forked global RNG seeded from `seed` (for samplers that accept
    no generator); unseeded calls use the global RNG as is."""
    value = integer_seed(seed)
    if value is None:
        return sample()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type):
        torch.manual_seed(value)
        return sample()


def gamma(shape, alpha, dtype=None, seed=None):
    """Samples from a gamma distribution with concentration `alpha` (rate 1)."""
    device = config.get_device()
    dtype = _float_dtype(dtype)
    alpha = torch.broadcast_to(
        torch.as_tensor(alpha, dtype=dtype, device=device), _shape(shape)
    ).contiguous()
    return _with_seeded_global_rng(seed, device, lambda: torch._standard_gamma(alpha))


def beta(shape, alpha, beta, dtype=None, seed=None):
    """Samples from a beta distribution with concentrations `alpha` and `beta`."""
    device = config.get_device()
    dtype = _float_dtype(dtype)
    alpha = torch.broadcast_to(torch.as_tensor(alpha, dtype=dtype, device=device), _shape(shape))
    beta = torch.broadcast_to(torch.as_tensor(beta, dtype=dtype, device=device), _shape(shape))
    concentration = torch.stack([alpha, beta], dim=-1)
    return _with_seeded_global_rng(
        seed, device, lambda: torch._sample_dirichlet(concentration)[..., 0]
    )


def binomial(shape, counts, probabilities, dtype=None, seed=None):
    """Samples the number of successes of `counts` trials with success `probabilities`."""
    device = config.get_device()
    dtype = _float_dtype(dtype)
    counts = torch.broadcast_to(torch.as_tensor(counts, dtype=dtype, device=device),
                                _shape(shape)).contiguous()
    probabilities = torch.broadcast_to(
        torch.as_tensor(probabilities, dtype=dtype, device=device), _shape(shape)
    ).contiguous()
    generator = torch_generator(seed, device)
    return torch.binomial(counts, probabilities, generator=generator)
