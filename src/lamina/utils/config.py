"""`Config`: a dict of named values with attribute access, freezing and JSON, as Keras'."""

import json
from collections.abc import MutableMapping


class Config(MutableMapping):
    """Named values read and set as attributes or items; `freeze()` makes it read-only.

    >>> config = Config(learning_rate=0.1)
    >>> config.seed = 123
    >>> config["learning_rate"], config.seed, config.to_json()
    (0.1, 123, '{"learning_rate": 0.1, "seed": 123}')
    >>> config.freeze()
    >>> config.seed = 1
    Traceback (most recent call last):
    ...
    ValueError: Cannot mutate attribute(s) because the config is frozen.
    """

    __slots__ = ("_config", "_frozen")

    def __init__(self, **kwargs):
        object.__setattr__(self, "_config", dict(kwargs))
        object.__setattr__(self, "_frozen", False)

    @property
    def frozen(self):
        return self._frozen

    def freeze(self):
        object.__setattr__(self, "_frozen", True)

    def unfreeze(self):
        object.__setattr__(self, "_frozen", False)

    def _check_mutable(self):
        if self._frozen:
            raise ValueError("Cannot mutate attribute(s) because the config is frozen.")

    def __getattr__(self, name):
        try:
            return self._config[name]
        except KeyError as error:
            raise AttributeError(f"Unknown attribute: '{name}'.") from error

    def __setattr__(self, name, value):
        self._check_mutable()
        self._config[name] = value

    def __getitem__(self, key):
        return self._config[key]

    def __setitem__(self, key, value):
        self._check_mutable()
        self._config[key] = value

    def __delitem__(self, key):
        self._check_mutable()
        del self._config[key]

    def __iter__(self):
        return iter(self._config)

    def __len__(self):
        return len(self._config)

    def __contains__(self, key):
        return key in self._config

    def update(self, *args, **kwargs):
        self._check_mutable()
        self._config.update(*args, **kwargs)

    def pop(self, *args):
        self._check_mutable()
        return self._config.pop(*args)

    def as_dict(self):
        return dict(self._config)

    def to_json(self):
        return json.dumps(self._config)

    def __repr__(self):
        return f"<Config {self._config}>"
