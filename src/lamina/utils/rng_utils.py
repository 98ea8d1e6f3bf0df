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


def get_rng_state():
    """The state of every global generator lamina may draw from: Python's `random`,
    numpy's legacy global generator, torch's CPU generator and (once CUDA is in use)
    every CUDA device's. Tensors and plain Python values only, so the state can be
    saved with `torch.save` and read back with `torch.load(..., weights_only=True)`.

    >>> import torch
    >>> from lamina.utils.rng_utils import get_rng_state, set_rng_state
    >>> state = get_rng_state(); a = torch.rand(2)
    >>> set_rng_state(state); bool(torch.equal(a, torch.rand(2)))
    True
    """
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state = {
        "python": random.getstate(),
        "numpy": [kind, torch.from_numpy(keys.astype(np.int64)), int(pos), int(has_gauss),
                  float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state):
    """Put back the generators' state from `get_rng_state`."""
    random.setstate(_as_tuples(state["python"]))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _as_tuples(value):
    # NOTE: `random.setstate` wants tuples; a round trip through a file may give lists.
    if isinstance(value, list):
        return tuple(_as_tuples(v) for v in value)
    if isinstance(value, tuple):
        return tuple(_as_tuples(v) for v in value)
    return value
