import lamina
from lamina import layers


def _lines(model, **kwargs):
    lines = []
    model.summary(print_fn=lambda line, **kw: lines.append(line), **kwargs)
    return lines


def test_sequential_summary_table_and_totals():
    model = lamina.Sequential([lamina.Input((8,)), layers.Dense(4, name="d1"),
                               layers.Dense(2, name="d2")], name="seq")
    lines = _lines(model)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "seq"'
    assert "Layer (type)" in text and "Output Shape" in text and "Param #" in text
    assert "d1 (Dense)" in text and "(None, 4)" in text
    assert " Total params: 46 (184.00 B)" in lines
    assert " Trainable params: 46 (184.00 B)" in lines
    assert " Non-trainable params: 0 (0.00 B)" in lines


def test_functional_summary_shows_connections():
    x = lamina.Input((3,), name="x")
    a = layers.Dense(2, name="a")(x)
    b = layers.Dense(2, name="b")(x)
    model = lamina.Model(x, [a, b])
    text = "\n".join(_lines(model))
    assert "Connected to" in text
    assert text.count("x[0][0]") == 2


def test_expand_nested_and_show_trainable():
    inner = lamina.Sequential([lamina.Input((3,)), layers.Dense(2, name="inner_dense")],
                              name="inner")
    x = lamina.Input((3,))
    outer = lamina.Model(x, layers.Dense(1, name="head")(inner(x)))
    inner.trainable = False
    collapsed = "\n".join(_lines(outer))
    expanded = "\n".join(_lines(outer, expand_nested=True, show_trainable=True))
    assert "inner_dense" not in collapsed
    assert "inner_dense" in expanded and "Trainable" in expanded
    assert " Non-trainable params: 8 (32.00 B)" in expanded


def test_summary_of_built_subclassed_model():
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(3)

        def call(self, x):
            return self.d(x)

    net = Net()
    net.build((None, 5))
    assert len(net.weights) == 2
    text = "\n".join(_lines(net))
    assert "dense (Dense)" in text and "Total params: 18" in text
