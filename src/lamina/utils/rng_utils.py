"""`set_random_seed`: one call makes Python, numpy and torch (CPU and CUDA) reproducible."""

import random

import numpy as np
import torch


def set_random_seed(seed):
    """Seed Python's `random`, numpy and torch (all devices) with `seed`.

    Unseeded lamina draws (initializers with `seed=None`, `SeedGenerator()`, dropout
    without a seed) then repeat from run to run.

    >>> import lamina, torch
    >>> from lamina.utils.rng_utils import set_random_seed
    >>> set_random_seed(7); a = torch.rand(2)
    >>> set_random_seed(7); bool(torch.equal(a, torch.rand(2)))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            "Expected `seed` argument to be an integer. "
            f"Received: seed={seed!r} (of type {type(seed)})"
        )
    seed = int(seed)
    if not 0 <= seed < 2**32:
        raise ValueError(f"Seed must be between 0 and 2**32 - 1. Received: seed={seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
