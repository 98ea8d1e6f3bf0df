"""Reading functional configs: `training` flags recorded in Keras-written nodes."""

import numpy as np

import lamina


def _config(flip_kwargs, dropout_kwargs):
    def node(source, kwargs):
        return [{"args": [{"class_name": "__keras_tensor__", "config": {
            "shape": [None, 4, 4, 1], "dtype": "float32", "keras_history": [source, 0, 0]}}],
            "kwargs": kwargs}]

    def layer(class_name, name, config, nodes):
        return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
                "name": name, "config": {"name": name, **config}, "inbound_nodes": nodes}

    return {"name": "model", "trainable": True, "layers": [
        layer("InputLayer", "x", {"batch_shape": [None, 4, 4, 1], "dtype": "float32"}, []),
        layer("RandomFlip", "flip", {"mode": "horizontal", "seed": 1},
              node("x", flip_kwargs)),
        layer("Dropout", "drop", {"rate": 0.5, "seed": 1}, node("flip", dropout_kwargs)),
    ], "input_layers": ["x", 0, 0], "output_layers": ["drop", 0, 0]}


def test_recorded_default_training_flags_follow_the_model():
    # What Keras writes: each layer's resolved default (RandomFlip True, Dropout False).
    model = lamina.Model.from_config(_config({"training": True}, {"training": False}))
    flip = model.get_layer("flip")
    data = np.random.default_rng(0).uniform(1, 2, (16, 4, 4, 1)).astype("float32")
    np.testing.assert_array_equal(model.predict(data, verbose=0), data)
    assert flip.generator.counter == 0
    out = model(data, training=True).numpy()
    assert flip.generator.counter == 1 and (out == 0).any()


def test_a_recorded_flag_other_than_the_default_is_kept():
    model = lamina.Model.from_config(_config({"training": False}, {"training": True}))
    data = np.ones((16, 4, 4, 1), "float32")
    out = model.predict(data, verbose=0)  # dropout forced on, the flip forced off
    assert (out == 0).any() and model.get_layer("flip").generator.counter == 0
