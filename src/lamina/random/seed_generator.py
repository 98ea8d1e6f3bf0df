"""`SeedGenerator`: a seed plus a draw counter, turned into `torch.Generator`s.

Draws follow Keras' scheme: draw number `k` of a generator seeded with `s` samples from
a torch generator seeded with `s + k`. So `SeedGenerator(1)` and Keras'
`keras.random.SeedGenerator(1)` produce the same numbers on the same device.

The `[seed, counter]` pair is Keras' `seed_generator_state` Variable (int32), which a
layer holding the generator lists in `variables`. It stays on the host whatever the
device: torch generators take Python ints, so a device copy would cost a sync per draw.
"""

import random as python_random

import torch

from lamina.backend import config, naming
from lamina.backend.symbolic import in_symbolic_run
from lamina.variables import Variable


def make_default_seed():
    """A fresh seed for an unseeded object (reproducible under `set_random_seed`)."""
    return python_random.randint(1, int(1e9))


def _check_int_seed(seed, what):
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"{what} must be an integer. Received: seed={seed!r}")
    return seed


class SeedGenerator:
    """Seed state for reproducible random draws: every draw advances it.

    Args:
        seed: integer, or None for a random starting seed.
        name: optional name (automatic: `seed_generator`, `seed_generator_1`, ...).

    >>> import lamina
    >>> gen = lamina.random.SeedGenerator(42)
    >>> a = lamina.random.uniform((2,), seed=gen)
    >>> b = lamina.random.uniform((2,), seed=gen)
    >>> bool((a != b).any())
    True
    >>> again = lamina.random.SeedGenerator(42)
    >>> bool((lamina.random.uniform((2,), seed=again) == a).all())
    True
    """

    def __init__(self, seed=None, name=None, **kwargs):
        if kwargs.pop("backend", None) not in (None, "torch"):
            raise ValueError("lamina's SeedGenerator only supports backend='torch'.")
        if kwargs:
            raise ValueError(f"Unrecognized keyword arguments for SeedGenerator: {kwargs}")
        if seed is not None:
            _check_int_seed(seed, "Argument `seed`")
        self._initial_seed = seed
        seed = make_default_seed() if seed is None else int(seed)
        self.name = name if name is not None else naming.unique_name("seed_generator")
        with naming.name_scope(self.name):
            state = Variable(torch.tensor([seed, 0], dtype=torch.int32), dtype="int32",
                             trainable=False, name="seed_generator_state")
        self.state = state
        self._attach_host_view()
        self._generators = {}

    def _attach_host_view(self):
        # NOTE: a NumPy view of the state's memory: reading and bumping it per draw costs
        # no tensor op, and `state.assign(...)` (or loading) shows through.
        if self.state.device.type != "cpu":
            self.state.data = self.state.data.cpu()
        self._host = self.state.data.numpy()

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_host", None)
        state["_generators"] = {}
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._attach_host_view()

    @property
    def seed(self):
        """The seed of draw number 0."""
        return int(self._host[0])

    @property
    def counter(self):
        """How many draws the generator has made."""
        return int(self._host[1])

    @counter.setter
    def counter(self, value):
        self._host[1] = int(value)

    def next(self, ordered=True):
        """Return (a copy of) the current `[seed, counter]` state and advance the
        counter."""
        state = self.state.detach().clone()
        self._host[1] = int(self._host[1]) + 1
        return state

    def torch_generator(self, device=None):
        """A `torch.Generator` on `device` for the next draw; advances the state."""
        device = torch.device(device) if device is not None else config.get_device()
        generator = self._generators.get(device)
        if generator is None:
            generator = self._generators[device] = torch.Generator(device=device)
        generator.manual_seed(self._draw())
        return generator

    def _draw(self):
        """The seed of the next draw; advances the counter, except in a symbolic run (shape
        inference draws nothing real, and Keras' symbolic runs leave the state alone)."""
        seed, counter = self._host.tolist()
        if not in_symbolic_run():
            self._host[1] = counter + 1
        return seed + counter

    def get_config(self):
        return {"seed": self._initial_seed, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<SeedGenerator name={self.name!r} seed={self.seed} counter={self.counter}>"


def torch_generator(seed, device=None):
    """The `torch.Generator` for one draw with `seed` (int, `SeedGenerator` or None).

    None means the global torch RNG (returns None), so unseeded draws cost nothing extra
    and follow `torch.manual_seed` / `set_random_seed`.
    """
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed.torch_generator(device)
    if isinstance(seed, int) and not isinstance(seed, bool):
        device = torch.device(device) if device is not None else config.get_device()
        generator = torch.Generator(device=device)
        generator.manual_seed(seed)
        return generator
    raise ValueError(
        "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
        f"Received: seed={seed!r} (of type {type(seed)})"
    )


def integer_seed(seed):
    """An int seed for one draw from APIs that take no generator (None stays None)."""
    if seed is None:
        return None
    if isinstance(seed, SeedGenerator):
        return seed._draw()
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    raise ValueError(
        "Argument `seed` must be either an integer or an instance of `SeedGenerator`. "
        f"Received: seed={seed!r} (of type {type(seed)})"
    )
