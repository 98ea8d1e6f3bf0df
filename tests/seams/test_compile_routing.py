"""Seam: compile() and the loss/metric routing to a model's outputs.

`compile` takes losses, metrics and loss weights as one value, a list in output
order or a dict keyed by output name; fit/evaluate route targets and sample
weights the same way and log one key per loss and metric. Each test runs one
program on lamina and on Keras 3 and compares the logged names and values.
"""

import functools

import numpy as np
import pytest
from seam_support import assert_same, run_both

RNG = np.random.default_rng(1)
N = 24
X = RNG.normal(size=(N, 4)).astype("float32")
Y_REG = RNG.normal(size=(N, 2)).astype("float32")
Y_CLS = RNG.integers(0, 3, N)
Y_BIN = RNG.integers(0, 2, (N, 1)).astype("float32")
SW_REG = RNG.random(N).astype("float32")
SW_CLS = RNG.random(N).astype("float32")


def _two_outputs(api):
    inputs = api.Input((4,))
    h = api.layers.Dense(5, activation="tanh", name="hidden")(inputs)
    reg = api.layers.Dense(2, name="reg")(h)
    cls = api.layers.Dense(3, activation="softmax", name="cls")(h)
    return api.Model(inputs, [reg, cls])


def _dict_outputs(api):
    inputs = api.Input((4,))
    h = api.layers.Dense(5, activation="tanh", name="hidden")(inputs)
    return api.Model(inputs, {"reg": api.layers.Dense(2, name="reg")(h),
                              "cls": api.layers.Dense(3, activation="softmax",
                                                      name="cls")(h)})


def _fit_and_evaluate(api, model, y, sample_weight=None, **compile_kwargs):
    model.compile(optimizer=api.optimizers.SGD(0.05), **compile_kwargs)
    history = model.fit(X, y, sample_weight=sample_weight, batch_size=8, epochs=2,
                        shuffle=False, verbose=0)
    result = model.evaluate(X, y, sample_weight=sample_weight, batch_size=8, verbose=0,
                            return_dict=True)
    return {"history": history.history, "evaluate": result, "weights": model.get_weights()}


COMPILES = {
    "lists_of_strings": lambda api: dict(
        loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[0.3, 2.0],
        metrics=[["mae"], ["accuracy"]]),
    "dicts_of_objects": lambda api: dict(
        loss={"reg": api.losses.Huber(delta=0.5),
              "cls": api.losses.SparseCategoricalCrossentropy()},
        loss_weights={"reg": 0.5, "cls": 1.5},
        metrics={"reg": [api.metrics.MeanSquaredError(name="reg_mse")],
                 "cls": [api.metrics.SparseCategoricalAccuracy(),
                         api.metrics.SparseTopKCategoricalAccuracy(k=2)]}),
    "one_loss_for_all_outputs_with_dict_of_metrics": lambda api: dict(
        loss=["mse", "sparse_categorical_crossentropy"],
        metrics={"cls": "accuracy"}),
}


@pytest.mark.parametrize("name", sorted(COMPILES))
def test_list_output_model_routes_losses_and_metrics_like_keras(name):
    def program(api, model):
        return _fit_and_evaluate(api, model, [Y_REG, Y_CLS], **COMPILES[name](api))

    mine, theirs = run_both(_two_outputs, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_output_without_a_loss_gets_metrics_only():
    def build(api):
        inputs = api.Input((4,))
        h = api.layers.Dense(3, name="hidden")(inputs)
        # The loss-free output has no weights of its own, so every weight gets a gradient.
        reg = api.layers.Activation("tanh", name="reg")(h)
        cls = api.layers.Activation("softmax", name="cls")(h)
        return api.Model(inputs, [reg, cls])

    def program(api, model):
        return _fit_and_evaluate(api, model, [Y_REG[:, :1].repeat(3, 1), Y_CLS],
                                 loss=[None, "sparse_categorical_crossentropy"],
                                 metrics=[["mae"], ["acc"]])

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_dict_output_model_takes_dicts_keyed_by_output_name():
    def program(api, model):
        return _fit_and_evaluate(
            api, model, {"reg": Y_REG, "cls": Y_CLS},
            loss={"cls": "sparse_categorical_crossentropy", "reg": "mae"},
            loss_weights={"cls": 0.7, "reg": 1.3},
            metrics={"reg": ["mse"], "cls": ["accuracy"]})

    mine, theirs = run_both(_dict_outputs, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("form", ["list", "dict"])
def test_per_output_sample_weights_and_weighted_metrics(form):
    if form == "list":
        build, y, weights = _two_outputs, [Y_REG, Y_CLS], [SW_REG, SW_CLS]
        metrics = [["mae"], ["accuracy"]]
    else:
        build, y, weights = _dict_outputs, {"reg": Y_REG, "cls": Y_CLS}, {
            "reg": SW_REG, "cls": SW_CLS}
        metrics = {"reg": ["mae"], "cls": ["accuracy"]}

    def program(api, model):
        return _fit_and_evaluate(
            api, model, y, sample_weight=weights,
            loss=["mse", "sparse_categorical_crossentropy"] if form == "list" else {
                "reg": "mse", "cls": "sparse_categorical_crossentropy"},
            metrics=metrics, weighted_metrics=metrics)

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_one_sample_weight_array_applies_to_every_output():
    def program(api, model):
        return _fit_and_evaluate(
            api, model, [Y_REG, Y_CLS], sample_weight=SW_REG,
            loss=["mse", "sparse_categorical_crossentropy"],
            weighted_metrics=[["mae"], ["accuracy"]])

    mine, theirs = run_both(_two_outputs, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


ACCURACY_CASES = {
    # "accuracy" resolves from the loss and the target/output shapes.
    "binary": (lambda api: api.layers.Dense(1, activation="sigmoid"), "binary_crossentropy",
               Y_BIN),
    "sparse": (lambda api: api.layers.Dense(3, activation="softmax"),
               "sparse_categorical_crossentropy", Y_CLS),
    "categorical": (lambda api: api.layers.Dense(3, activation="softmax"),
                    "categorical_crossentropy", np.eye(3, dtype="float32")[Y_CLS]),
}


@pytest.mark.parametrize("case", sorted(ACCURACY_CASES))
def test_string_accuracy_resolves_to_the_loss_kind(case):
    head, loss, y = ACCURACY_CASES[case]

    def build(api):
        return api.Sequential([api.Input((4,)), head(api)])

    def program(api, model):
        return _fit_and_evaluate(api, model, y, loss=loss,
                                 metrics=["accuracy", "acc"])

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_function_and_object_losses_and_metrics_on_one_output():
    def build(api):
        return api.Sequential([api.Input((4,)), api.layers.Dense(2)])

    def program(api, model):
        return _fit_and_evaluate(
            api, model, Y_REG, sample_weight=SW_REG,
            loss=api.losses.mean_absolute_error,
            metrics=[api.metrics.mean_squared_error, api.metrics.RootMeanSquaredError(),
                     api.metrics.MeanAbsoluteError(name="mae_obj")],
            weighted_metrics=["mse"])

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


@functools.cache
def _ordering_run(build):
    def program(api, model):
        model.compile(optimizer="sgd",
                      loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
                      metrics={"cls": ["accuracy"], "reg": ["mae", "mse"]},
                      weighted_metrics={"reg": ["mae"]})
        y = {"reg": Y_REG, "cls": Y_CLS}
        before = [m.name for m in model.metrics]
        values = model.evaluate(X, y, batch_size=8, verbose=0)
        logs = model.evaluate(X, y, batch_size=8, verbose=0, return_dict=True)
        return {"values": values, "return_dict_keys": list(logs),
                "metrics_before": before, "metrics_after": [m.name for m in model.metrics]}

    return run_both(_two_outputs if build == "list" else _dict_outputs, program)


@pytest.mark.parametrize("build", ["list", "dict"])
def test_evaluate_list_follows_keras_order(build):
    """Loss, per-output losses (in the `loss` dict's order), then the rest by name."""
    mine, theirs = _ordering_run(build)
    assert_same(mine["values"], theirs["values"], rtol=1e-5)


@pytest.mark.parametrize("build", ["list", "dict"])
def test_metrics_list_the_loss_the_compiled_metrics_then_output_losses(build):
    mine, theirs = _ordering_run(build)
    assert (mine["metrics_before"], mine["metrics_after"]) == (
        theirs["metrics_before"], theirs["metrics_after"])


@pytest.mark.parametrize("build", ["list", "dict"])
def test_evaluate_return_dict_keys_come_sorted_like_keras(build):
    mine, theirs = _ordering_run(build)
    assert mine["return_dict_keys"] == theirs["return_dict_keys"]
