import lamina
from lamina import layers


def _lines(model, **kwargs):
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1 and calls[0].endswith("\n")  # one string, as Keras passes it
    return calls[0].splitlines()


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


def test_unbuilt_sequential_lists_layers_with_unknown_shapes():
    model = lamina.Sequential([layers.Embedding(1000, 64), layers.LSTM(128), layers.Dense(10)])
    rows = [line.split("│")[1:4] for line in _lines(model) if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["embedding (Embedding)", "?", "0 (unbuilt)"], ["lstm (LSTM)", "?", "0 (unbuilt)"],
        ["dense (Dense)", "?", "0 (unbuilt)"]]
    assert " Total params: 0 (0.00 B)" in _lines(model)


def test_cells_wrap_at_spaces_and_cut_words_too_long_with_an_ellipsis(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    a = lamina.Input((4,), name="a_very_long_input_name")
    b = lamina.Input((4,), name="b")
    merged = layers.Concatenate(name="merge")([a, b, a])
    model = lamina.Model([a, b], merged)
    lines = _lines(model)
    assert all(len(line) == 76 for line in lines[1:-3])  # 80 columns less Keras' margin
    last_rule = max(i for i, line in enumerate(lines) if line.startswith("├"))
    merge_row = [line.split("│")[4].strip() for line in lines[last_rule + 1:-4]]
    assert merge_row == ["a_very_long_inpu…", "b[0][0],", "a_very_long_inpu…"]
