import torch

import lamina
from lamina import layers


class TwoLayer(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="relu")
        self.drop = layers.Dropout(0.5)
        self.out = layers.Dense(1)

    def call(self, inputs, training=None):
        return self.out(self.drop(self.hidden(inputs), training=training))


def test_subclassed_model_builds_and_trains_with_torch():
    model = TwoLayer()
    y = model(torch.ones(3, 4))
    assert y.shape == (3, 1)
    assert len(model.trainable_weights) == 4
    assert list(model.state_dict()) == ["hidden.kernel", "hidden.bias", "out.kernel",
                                        "out.bias"]
    assert [w.path for w in model.weights][0] == "two_layer/dense/kernel"


def test_subclass_calling_super_with_inputs_outputs_becomes_functional():
    class Wrapped(lamina.Model):
        def __init__(self, units):
            inputs = lamina.Input((3,))
            outputs = layers.Dense(units)(inputs)
            super().__init__(inputs, outputs, name="wrapped")
            self.units = units

        def describe(self):
            return f"{self.units} units"

    model = Wrapped(2)
    assert model.name == "wrapped" and model.describe() == "2 units"
    assert model.output_shape == (None, 2)
    assert model(torch.ones(4, 3)).shape == (4, 2)
    assert isinstance(model, Wrapped)


def test_model_kwargs_dispatch_to_functional():
    x = lamina.Input((2,))
    model = lamina.Model(inputs=x, outputs=layers.Dense(1)(x))
    assert type(model).__name__ == "Functional"


def test_summary_of_unbuilt_subclassed_model_lists_unbuilt_layers_like_keras():
    lines = []
    TwoLayer().summary(print_fn=lines.append)
    rows = [line.split("│")[1:4] for line in "".join(lines).splitlines()
            if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["dense (Dense)", "?", "0 (unbuilt)"],
        ["dropout (Dropout)", "?", "0"],  # no weights to build: built from the start
        ["dense_1 (Dense)", "?", "0 (unbuilt)"]]
    assert " Total params: 0 (0.00 B)" in "".join(lines)
