"""fit/evaluate against Keras 3 (torch backend): same weights, same data, same numbers."""

import numpy as np
import pytest

import lamina


def _models(K, units=(8, 3)):
    kmodel = K.Sequential([K.Input((5,)), K.layers.Dense(units[0], activation="relu"),
                           K.layers.Dense(units[1])])
    lmodel = lamina.Sequential([lamina.Input((5,)),
                                lamina.layers.Dense(units[0], activation="relu"),
                                lamina.layers.Dense(units[1])])
    lmodel.set_weights(kmodel.get_weights())
    return kmodel, lmodel


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 5)).astype("float32")
    y = rng.integers(0, 3, 96)
    return x, y


OPTIMIZERS = {
    "sgd_momentum_nesterov": lambda m: m.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
    "adam": lambda m: m.optimizers.Adam(0.01),
    "adamw": lambda m: m.optimizers.AdamW(0.01, weight_decay=0.05),
    "rmsprop": lambda m: m.optimizers.RMSprop(0.01, momentum=0.5),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fit_two_epochs_matches_keras(K, name):
    x, y = _data()
    kmodel, lmodel = _models(K)
    for api, model in ((K, kmodel), (lamina, lmodel)):
        model.compile(optimizer=OPTIMIZERS[name](api),
                      loss=api.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    khist = kmodel.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    lhist = lmodel.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert set(khist.history) == set(lhist.history)
    for kw, lw in zip(kmodel.get_weights(), lmodel.get_weights()):
        np.testing.assert_allclose(lw, kw, rtol=1e-4, atol=1e-6)
    for key in khist.history:
        np.testing.assert_allclose(lhist.history[key], khist.history[key], rtol=1e-4)
    kres = kmodel.evaluate(x, y, verbose=0, return_dict=True)
    lres = lmodel.evaluate(x, y, verbose=0, return_dict=True)
    assert kres.keys() == lres.keys()
    for key in kres:
        np.testing.assert_allclose(lres[key], kres[key], rtol=1e-5)


def test_validation_and_sample_weights_match_keras(K):
    x, y = _data()
    sw = np.random.default_rng(1).random(96).astype("float32")
    kmodel, lmodel = _models(K)
    for api, model in ((K, kmodel), (lamina, lmodel)):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss=api.losses.
                      SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"], weighted_metrics=["accuracy"])
    kh = kmodel.fit(x, y, sample_weight=sw, batch_size=32, epochs=2, shuffle=False,
                    validation_split=0.25, verbose=0).history
    lh = lmodel.fit(x, y, sample_weight=sw, batch_size=32, epochs=2, shuffle=False,
                    validation_split=0.25, verbose=0).history
    assert set(kh) == set(lh)
    for key in kh:
        np.testing.assert_allclose(lh[key], kh[key], rtol=1e-4, err_msg=key)


def test_multi_output_history_keys_and_values_match_keras(K):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 4)).astype("float32")
    ys = [rng.normal(size=(64, 1)).astype("float32"), rng.integers(0, 3, 64)]

    def build(api):
        inputs = api.Input((4,))
        a = api.layers.Dense(1, name="a")(inputs)
        b = api.layers.Dense(3, name="b")(inputs)
        model = api.Model(inputs, [a, b])
        model.compile(api.optimizers.SGD(0.05), ["mse", "sparse_categorical_crossentropy"],
                      metrics=[["mae"], ["accuracy"]], loss_weights=[1.0, 0.5])
        return model

    kmodel, lmodel = build(K), build(lamina)
    lmodel.set_weights(kmodel.get_weights())
    kh = kmodel.fit(x, ys, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    lh = lmodel.fit(x, ys, batch_size=16, epochs=2, shuffle=False, verbose=0).history
    assert set(kh) == set(lh)
    for key in kh:
        np.testing.assert_allclose(lh[key], kh[key], rtol=1e-4, err_msg=key)
    np.testing.assert_allclose(lmodel.evaluate(x, ys, verbose=0),
                               kmodel.evaluate(x, ys, verbose=0), rtol=1e-4)


def test_train_on_batch_return_values_match_keras(K):
    x, y = _data()
    kmodel, lmodel = _models(K)
    for api, model in ((K, kmodel), (lamina, lmodel)):
        model.compile(optimizer=api.optimizers.SGD(0.1),
                      loss=api.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
    for _ in range(2):
        np.testing.assert_allclose(lmodel.train_on_batch(x, y), kmodel.train_on_batch(x, y),
                                   rtol=1e-5)
    np.testing.assert_allclose(lmodel.test_on_batch(x, y), kmodel.test_on_batch(x, y),
                               rtol=1e-5)
    np.testing.assert_allclose(lmodel.predict_on_batch(x), kmodel.predict_on_batch(x),
                               rtol=1e-5, atol=1e-6)
