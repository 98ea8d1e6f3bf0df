"""The Layer base's contracts with its subclasses: building children, first inputs,
adopted torch modules, declared bookkeeping."""

import lamina
from lamina.layers.layer import Layer


class _Pair(Layer):
    """A composite layer that builds its two Dense children by hand."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.first = lamina.layers.Dense(4, name="first")
        self.second = lamina.layers.Dense(2, name="second")

    def build(self, input_shape):
        self._build_child(self.first, input_shape)
        self._build_child(self.second, (*input_shape[:-1], 4))

    def call(self, x):
        return self.second(self.first(x))


def test_build_child_scopes_paths_and_records_build_config():
    pair = _Pair(name="pair")
    pair.build((None, 3))
    assert [w.path for w in pair.weights] == [
        "pair/first/kernel", "pair/first/bias", "pair/second/kernel", "pair/second/bias"]
    assert pair.first.built and pair.second.built
    assert pair.second.get_build_config() == {"input_shape": (None, 4)}
    assert tuple(pair(lamina.ops.ones((5, 3))).shape) == (5, 2)


def test_build_child_outside_build_opens_the_parent_scope_and_skips_built_layers():
    pair = _Pair(name="outer")
    pair._build_child(pair.first, (None, 3))
    assert [w.path for w in pair.first.weights] == ["outer/first/kernel", "outer/first/bias"]
    kernel = pair.first.kernel
    pair._build_child(pair.first, (None, 7))  # already built: left alone
    assert pair.first.kernel is kernel
