"""Seam: the trainer and the layer call path.

fit/evaluate/predict decide the training flag, which weights move, and which
layer losses join the compiled loss; layers decide what they do with it. Each
test runs one small program on lamina and on Keras 3 and compares the results.
"""

import numpy as np
import pytest
from seam_support import assert_same, run_both, to_numpy

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 4)).astype("float32") * 2 + 1
Y = RNG.normal(size=(32, 2)).astype("float32")


def _bn_model(api, bn_trainable=True):
    return api.Sequential([
        api.Input((4,)),
        api.layers.Dense(3, name="d0"),
        api.layers.BatchNormalization(momentum=0.5, name="bn", trainable=bn_trainable),
        api.layers.Dense(2, name="d1"),
    ])


def _weights_by_name(model):
    return {w.path: to_numpy(w) for w in model.weights}


def test_batchnorm_statistics_move_in_fit_only():
    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss="mse")
        before = _weights_by_name(model)
        model.evaluate(X, Y, batch_size=8, verbose=0)
        model.predict(X, batch_size=8, verbose=0)
        after_inference = _weights_by_name(model)
        history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return {"unchanged_by_inference": [before, after_inference],
                "after_fit": _weights_by_name(model), "loss": history.history["loss"],
                "eval": model.evaluate(X, Y, batch_size=8, verbose=0, return_dict=True)}

    mine, theirs = run_both(_bn_model, program)
    assert_same(*mine["unchanged_by_inference"], where="inference moved weights")
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)
    moving = mine["after_fit"]["sequential/bn/moving_mean"]
    assert not np.allclose(moving, 0.0), "fit left the moving statistics at their init"


@pytest.mark.parametrize("when", ["constructor", "after_build"])
def test_frozen_batchnorm_runs_in_inference_mode_and_keeps_its_weights(when):
    def build(api):
        return _bn_model(api, bn_trainable=when != "constructor")

    def program(api, model):
        model.layers[1].trainable = False  # after build: Keras' fine-tuning recipe
        model.compile(optimizer=api.optimizers.SGD(0.01), loss="mse")
        bn_before = [to_numpy(w) for w in model.layers[1].weights]
        history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return {"bn_before": bn_before,
                "bn_after": [to_numpy(w) for w in model.layers[1].weights],
                "weights": model.get_weights(), "loss": history.history["loss"]}

    mine, theirs = run_both(build, program)
    assert_same(mine["bn_after"], mine["bn_before"], where="frozen BN moved")
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_non_trainable_layer_keeps_its_weights_through_fit():
    def build(api):
        return api.Sequential([api.Input((4,)), api.layers.Dense(3, trainable=False),
                               api.layers.Dense(2)])

    def program(api, model):
        model.compile(optimizer=api.optimizers.Adam(0.05), loss="mse")
        frozen = [to_numpy(w) for w in model.layers[0].weights]
        model.fit(X, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return {"frozen_before": frozen,
                "frozen_after": [to_numpy(w) for w in model.layers[0].weights],
                "counts": [len(model.trainable_weights), len(model.non_trainable_weights)],
                "weights": model.get_weights()}

    mine, theirs = run_both(build, program)
    assert_same(mine["frozen_after"], mine["frozen_before"])
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def _regularized_model(api):
    class Penalty(api.layers.Layer):
        """Adds 0.1 * mean(x^2) of its input as a loss on every call."""

        def call(self, x):
            self.add_loss(0.1 * api.ops.mean(api.ops.square(x)))
            return x

    inputs = api.Input((4,))
    h = api.layers.Dense(3, kernel_regularizer=api.regularizers.L2(0.01),
                         bias_regularizer=api.regularizers.L1(0.02), name="reg")(inputs)
    h = Penalty(name="penalty")(h)
    outputs = api.layers.Dense(2, activity_regularizer=api.regularizers.L1L2(0.01, 0.02),
                               name="act")(h)
    return api.Model(inputs, outputs)


def test_layer_losses_join_the_fit_loss_exactly():
    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.05), loss="mse", metrics=["mae"])
        history = model.fit(X, Y, batch_size=8, epochs=2, shuffle=False,
                            validation_data=(X[:8], Y[:8]), verbose=0)
        return {"history": history.history, "weights": model.get_weights(),
                "eval": model.evaluate(X, Y, batch_size=32, verbose=0, return_dict=True)}

    mine, theirs = run_both(_regularized_model, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_evaluate_loss_includes_layer_losses():
    def program(api, model):
        model.compile(loss="mse")
        mse = float(np.mean((to_numpy(model.predict(X, verbose=0)) - Y) ** 2))
        total = model.evaluate(X, Y, batch_size=32, verbose=0)
        return {"mse": mse, "total": total}

    mine, theirs = run_both(_regularized_model, program)
    assert mine["total"] > mine["mse"]
    assert_same(mine, theirs, rtol=1e-5)


def test_model_losses_after_a_call():
    def program(api, model):
        before = list(model.losses)
        model(X[:8])
        return {"before_call": [to_numpy(v) for v in before],
                "after_call": sorted(float(to_numpy(v)) for v in model.losses)}

    mine, theirs = run_both(_regularized_model, program)
    assert len(mine["after_call"]) == 4  # kernel, bias, activity, add_loss
    assert_same(mine["after_call"], theirs["after_call"], rtol=1e-5)
    # Before any call only the weight regularizers are known (Keras: 2 entries).
    assert len(mine["before_call"]) == len(theirs["before_call"])


def _scaler_model(api):
    class TrainingScale(api.layers.Layer):
        """Doubles its input in training, and counts its training calls in a variable."""

        def build(self, input_shape):
            self.count = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                         name="count")

        def call(self, x, training=False):
            if training:
                self.count.assign_add(1.0)
                return x * 2.0
            return x

    return api.Sequential([api.Input((4,)), api.layers.Dense(2), TrainingScale()])


def test_training_flag_and_state_updates_reach_a_custom_layer():
    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.01), loss="mse")
        history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        count_after_fit = to_numpy(model.layers[-1].count)
        evaluated = model.evaluate(X, Y, batch_size=32, verbose=0)
        predicted = model.predict(X, batch_size=32, verbose=0)
        return {"fit_loss": history.history["loss"], "count_fit": count_after_fit,
                "count_end": to_numpy(model.layers[-1].count), "eval": evaluated,
                "predict": predicted, "weights": model.get_weights()}

    mine, theirs = run_both(_scaler_model, program)
    assert float(mine["count_end"]) == 4.0  # four training batches, none in evaluate/predict
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_dropout_is_active_in_fit_and_idle_in_evaluate():
    def build(api):
        return api.Sequential([api.Input((4,)), api.layers.Dropout(0.999, seed=1),
                               api.layers.Dense(2, use_bias=False)])

    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.0), loss="mse")
        fit_loss = model.fit(X, Y, batch_size=32, epochs=1, verbose=0).history["loss"][0]
        eval_loss = model.evaluate(X, Y, batch_size=32, verbose=0)
        # Nearly every input is dropped in training, so the fit loss is ~mean(y^2).
        return {"fit_is_dropped": abs(fit_loss - float(np.mean(Y ** 2))) < 0.05,
                "eval": eval_loss}

    mine, theirs = run_both(build, program)
    assert mine["fit_is_dropped"] and theirs["fit_is_dropped"]
    assert_same(mine, theirs, rtol=1e-5)


def test_frozen_layer_regularizers_leave_the_loss():
    def build(api):
        return api.Sequential([
            api.Input((4,)),
            api.layers.Dense(3, kernel_regularizer=api.regularizers.L2(0.5),
                             activity_regularizer=api.regularizers.L2(0.1), name="frozen"),
            api.layers.Dense(2, kernel_regularizer=api.regularizers.L1(0.1), name="free"),
        ])

    def program(api, model):
        model.layers[0].trainable = False
        model.compile(optimizer=api.optimizers.SGD(0.05), loss="mse")
        history = model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        model(X[:4])
        return {"n_losses": len(model.losses), "loss": history.history["loss"],
                "eval": model.evaluate(X, Y, verbose=0), "weights": model.get_weights()}

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_batchnorm_inside_time_distributed_trains_per_step_like_keras():
    """Keras runs the wrapped layer once per time step, so a BatchNormalization inside
    TimeDistributed normalizes and updates its statistics step by step."""
    seq = X.reshape(32, 2, 2)

    def build(api):
        inputs = api.Input((2, 2))
        x = api.layers.TimeDistributed(api.layers.BatchNormalization(momentum=0.5))(inputs)
        return api.Model(inputs, api.layers.Dense(2)(api.layers.Flatten()(x)))

    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.05), loss="mse")
        history = model.fit(seq, Y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        return {"loss": history.history["loss"], "weights": model.get_weights(),
                "predict": model.predict(seq, verbose=0)}

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)
