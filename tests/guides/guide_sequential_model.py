"""keras.io guide "The Sequential model" (fchollet; Keras 3 edition), as an acceptance test.

The guide's code, run by `run(keras, workdir)` against either library. The guide
downloads nothing; its two transfer-learning blueprints (shown with `...` placeholders
and a pretrained Xception) are run here with small concrete stand-ins. Lines marked
`# fact` only record what the guide shows.
"""

import numpy as np
from guide_support import numpy_of, shape_of, summary_rows


def run(keras, workdir):
    layers = keras.layers
    ops = keras.ops
    facts = {}

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu", name="layer1"),
            layers.Dense(3, activation="relu", name="layer2"),
            layers.Dense(4, name="layer3"),
        ]
    )
    x = ops.ones((3, 3))
    y = model(x)
    sequential_y = numpy_of(y)  # fact

    layer1 = layers.Dense(2, activation="relu", name="layer1")
    layer2 = layers.Dense(3, activation="relu", name="layer2")
    layer3 = layers.Dense(4, name="layer3")

    x = ops.ones((3, 3))
    y = layer3(layer2(layer1(x)))
    facts["equivalent_function_shapes"] = (sequential_y.shape, shape_of(y))  # fact
    for source, target in zip(model.layers, (layer1, layer2, layer3)):  # fact
        target.set_weights(source.get_weights())
    facts["equivalent_function_equal"] = bool(np.allclose(  # fact
        numpy_of(layer3(layer2(layer1(x)))), sequential_y, atol=1e-6))

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )
    facts["layers"] = [layer.name for layer in model.layers]  # fact

    model = keras.Sequential()
    model.add(layers.Dense(2, activation="relu"))
    model.add(layers.Dense(3, activation="relu"))
    model.add(layers.Dense(4))

    model.pop()
    print(len(model.layers))  # 2
    facts["after_pop"] = len(model.layers)  # fact

    model = keras.Sequential(name="my_sequential")
    model.add(layers.Dense(2, activation="relu", name="layer1"))
    model.add(layers.Dense(3, activation="relu", name="layer2"))
    model.add(layers.Dense(4, name="layer3"))
    facts["named"] = (model.name, [layer.name for layer in model.layers])  # fact

    layer = layers.Dense(3)
    facts["weights_before_call"] = len(layer.weights)  # fact

    x = ops.ones((1, 4))
    y = layer(x)
    facts["weights_after_call"] = [tuple(w.shape) for w in layer.weights]  # fact

    model = keras.Sequential(
        [
            layers.Dense(2, activation="relu"),
            layers.Dense(3, activation="relu"),
            layers.Dense(4),
        ]
    )
    facts["unbuilt_weights_error"] = _raises(lambda: model.weights)  # fact
    facts["unbuilt_summary_error"] = _raises(model.summary)  # fact

    x = ops.ones((1, 4))
    y = model(x)
    print("Number of weights after calling the model:", len(model.weights))  # 6
    facts["weights_after_model_call"] = len(model.weights)  # fact

    model.summary()
    facts["built_summary"] = summary_rows(model)  # fact

    model = keras.Sequential()
    model.add(keras.Input(shape=(4,)))
    model.add(layers.Dense(2, activation="relu"))

    model.summary()
    facts["input_summary"] = summary_rows(model)  # fact
    facts["input_layers"] = [type(layer).__name__ for layer in model.layers]  # fact
    facts["input_weights"] = len(model.weights)  # fact

    model = keras.Sequential()
    model.add(keras.Input(shape=(250, 250, 3)))
    model.add(layers.Conv2D(32, 5, strides=2, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))

    model.summary()
    facts["debug_summary_1"] = summary_rows(model)  # fact
    facts["debug_shape_1"] = model.output_shape  # fact

    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(3))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.Conv2D(32, 3, activation="relu"))
    model.add(layers.MaxPooling2D(2))

    model.summary()
    facts["debug_summary_2"] = summary_rows(model)  # fact
    facts["debug_shape_2"] = model.output_shape  # fact

    model.add(layers.GlobalMaxPooling2D())
    model.add(layers.Dense(10))
    facts["debug_final"] = (model.output_shape, model.count_params())  # fact

    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=[layer.output for layer in initial_model.layers],
    )

    x = ops.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    facts["all_features"] = [shape_of(f) for f in features]  # fact
    facts["all_features_last_equal"] = bool(np.allclose(  # fact
        numpy_of(features[-1]), numpy_of(initial_model(x)), atol=1e-5))

    initial_model = keras.Sequential(
        [
            keras.Input(shape=(250, 250, 3)),
            layers.Conv2D(32, 5, strides=2, activation="relu"),
            layers.Conv2D(32, 3, activation="relu", name="my_intermediate_layer"),
            layers.Conv2D(32, 3, activation="relu"),
        ]
    )
    feature_extractor = keras.Model(
        inputs=initial_model.inputs,
        outputs=initial_model.get_layer(name="my_intermediate_layer").output,
    )
    x = ops.ones((1, 250, 250, 3))
    features = feature_extractor(x)
    facts["one_feature"] = shape_of(features)  # fact

    # Transfer learning, first blueprint. `keras.Input(shape=(784))` in the guide is an
    # int, which Keras 3 rejects; the tuple form is used. The pretrained weights come
    # from a model saved here.
    model = keras.Sequential([
        keras.Input(shape=(784,)),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(32, activation='relu'),
        layers.Dense(10),
    ])
    weights_path = f"{workdir}/pretrained.weights.h5"
    model.save_weights(weights_path)
    model.load_weights(weights_path)

    for layer in model.layers[:-1]:
        layer.trainable = False

    model.compile(optimizer="adam", loss="mse")
    frozen_before = [numpy_of(w).copy() for w in model.non_trainable_weights]  # fact
    head_before = [numpy_of(w).copy() for w in model.trainable_weights]  # fact
    rng = np.random.default_rng(0)
    model.fit(rng.random((64, 784)).astype("float32"),
              rng.random((64, 10)).astype("float32"), epochs=1, verbose=0)
    facts["freeze_counts"] = (len(model.trainable_weights),  # fact
                              len(model.non_trainable_weights))
    facts["frozen_unchanged"] = all(np.array_equal(a, numpy_of(b)) for a, b in  # fact
                                    zip(frozen_before, model.non_trainable_weights))
    facts["head_changed"] = any(not np.array_equal(a, numpy_of(b)) for a, b in  # fact
                                zip(head_before, model.trainable_weights))

    # Second blueprint: a small convolutional base stands in for the pretrained
    # `keras.applications.Xception(weights='imagenet', include_top=False, pooling='avg')`.
    base_model = keras.Sequential([
        keras.Input(shape=(32, 32, 3)),
        layers.Conv2D(8, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
    ], name="base")

    base_model.trainable = False

    model = keras.Sequential([
        base_model,
        layers.Dense(1000),
    ])

    model.compile(optimizer="adam", loss="mse")
    base_before = [numpy_of(w).copy() for w in base_model.weights]  # fact
    model.fit(rng.random((16, 32, 32, 3)).astype("float32"),
              rng.random((16, 1000)).astype("float32"), epochs=1, verbose=0)
    facts["stacked_counts"] = (len(model.trainable_weights),  # fact
                               len(model.non_trainable_weights))
    facts["base_unchanged"] = all(np.array_equal(a, numpy_of(b)) for a, b in  # fact
                                  zip(base_before, base_model.weights))
    facts["stacked_summary"] = summary_rows(model)  # fact
    return facts


def _raises(fn):
    """The exception class name `fn()` raises, or None."""
    try:
        fn()
    except Exception as error:  # noqa: BLE001 (any error the guide says happens)
        return type(error).__name__
    return None
