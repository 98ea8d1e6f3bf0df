"""`train_step`/`test_step`/`predict_step` receive the same `data` structure as in Keras 3,
for arrays, generators, PyDataset and DataLoader inputs, with and without sample weights."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

import lamina

keras = pytest.importorskip("keras")


def describe(data):
    """The structure of a step's `data`: container types and leaf shapes."""
    if isinstance(data, (tuple, list)):
        return (type(data).__name__, *[describe(d) for d in data])
    if isinstance(data, dict):
        return {k: describe(v) for k, v in data.items()}
    if data is None:
        return None
    return tuple(data.shape)


def recording_model(api, seen):
    class Recorder(api.Model):
        def __init__(self):
            super().__init__()
            self.dense = api.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            seen.setdefault("train", describe(data))
            return super().train_step(data)

        def test_step(self, data):
            seen.setdefault("test", describe(data))
            return super().test_step(data)

        def predict_step(self, data):
            seen.setdefault("predict", describe(data))
            return super().predict_step(data)

    return Recorder()


X = np.ones((8, 3), "float32")
Y = np.ones((8, 1), "float32")
SW = np.linspace(0.5, 1.0, 8).astype("float32")


def repeat(item):
    while True:
        yield item


def py_dataset(api, item):
    class Batches(api.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return item

    return Batches()


def loader(*tensors):
    return DataLoader(TensorDataset(*[torch.as_tensor(t) for t in tensors]), batch_size=4)


# name -> (fit kwargs, predict kwargs), built per api (PyDataset subclasses each api's base)
CASES = {
    "arrays x, y": lambda api: ({"x": X, "y": Y}, {"x": X}),
    "arrays x, y, sample_weight": lambda api: ({"x": X, "y": Y, "sample_weight": SW}, {"x": X}),
    "generator (x, y)": lambda api: ({"x": repeat((X, Y)), "steps_per_epoch": 2},
                                     {"x": repeat((X,)), "steps": 2}),
    "generator (x, y, sw)": lambda api: ({"x": repeat((X, Y, SW)), "steps_per_epoch": 2},
                                         {"x": repeat((X,)), "steps": 2}),
    "PyDataset (x, y)": lambda api: ({"x": py_dataset(api, (X, Y))},
                                     {"x": py_dataset(api, X)}),
    "PyDataset (x, y, sw)": lambda api: ({"x": py_dataset(api, (X, Y, SW))},
                                         {"x": py_dataset(api, (X,))}),
    "DataLoader (x, y)": lambda api: ({"x": loader(X, Y)},
                                      {"x": DataLoader(torch.as_tensor(X), batch_size=4)}),
    "DataLoader (x, y, sw)": lambda api: ({"x": loader(X, Y, SW)}, {"x": loader(X)}),
}


def run(api, case):
    seen = {}
    model = recording_model(api, seen)
    model.compile(optimizer="sgd", loss="mse")
    fit_kwargs, predict_kwargs = CASES[case](api)
    model.fit(epochs=1, verbose=0, **fit_kwargs)
    eval_kwargs = dict(CASES[case](api)[0])
    if "steps_per_epoch" in eval_kwargs:
        eval_kwargs["steps"] = eval_kwargs.pop("steps_per_epoch")
    model.evaluate(verbose=0, **eval_kwargs)
    model.predict(verbose=0, **predict_kwargs)
    return seen


@pytest.mark.parametrize("case", list(CASES))
def test_step_data_matches_keras(case):
    ours = run(lamina, case)
    theirs = run(keras, case)
    assert ours == theirs
    # what every Keras guide writes works: `x, y = data` without sample weights
    if "sw" not in case and "sample_weight" not in case:
        assert len(ours["train"]) == 3 and ours["train"][0] in ("tuple", "list")


def test_guide_style_unpacking_in_train_step():
    class Custom(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = lamina.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            x, y = data  # as in "Customizing what happens in fit()"
            return super().train_step((x, y))

    model = Custom()
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(X, Y, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_generator_of_bare_x_predicts_where_keras_refuses():
    # Keras' generator adapter refuses a bare `x`; lamina passes it to predict_step as is.
    seen = {}
    model = recording_model(lamina, seen)
    out = model.predict(repeat(X), steps=2, verbose=0)
    assert seen["predict"] == (8, 3) and out.shape == (16, 1)
