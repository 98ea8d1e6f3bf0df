"""A zoo of small models, one per built-in layer family: `.keras` files written by Keras 3
load in lamina, and files written by lamina load in Keras 3, with identical predictions."""

import numpy as np
import pytest

import lamina

rng = np.random.default_rng(7)


def _x(*shape):
    return rng.random(shape, dtype=np.float32)


def dense(ns):
    x = ns.Input((6,))
    h = ns.layers.Dense(5, activation="tanh")(x)
    h = ns.layers.EinsumDense("ab,bc->ac", output_shape=4, bias_axes="c")(h)
    h = ns.layers.PReLU()(ns.layers.Activation("relu")(h))
    h = ns.layers.Softmax()(ns.layers.ELU()(ns.layers.LeakyReLU(0.2)(h)))
    return ns.Model(x, h), _x(3, 6)


def conv1d(ns):
    x = ns.Input((12, 3))
    h = ns.layers.Conv1D(4, 3, padding="same")(x)
    h = ns.layers.Conv1DTranspose(3, 3, strides=2)(h)
    h = ns.layers.SeparableConv1D(4, 3, depth_multiplier=2)(h)
    h = ns.layers.DepthwiseConv1D(3, depth_multiplier=2)(h)
    h = ns.layers.AveragePooling1D(2)(ns.layers.MaxPooling1D(2)(h))
    return ns.Model(x, ns.layers.GlobalAveragePooling1D()(h)), _x(2, 12, 3)


def conv2d(ns):
    x = ns.Input((9, 9, 2))
    h = ns.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(x)
    h = ns.layers.Conv2DTranspose(3, 2, strides=2)(h)
    h = ns.layers.DepthwiseConv2D(3)(h)
    h = ns.layers.SeparableConv2D(4, 2)(h)
    h = ns.layers.AveragePooling2D(2, padding="same")(ns.layers.MaxPooling2D(2)(h))
    return ns.Model(x, ns.layers.GlobalMaxPooling2D()(h)), _x(2, 9, 9, 2)


def conv3d(ns):
    x = ns.Input((6, 6, 6, 2))
    h = ns.layers.Conv3D(3, 2)(x)
    h = ns.layers.Conv3DTranspose(2, 2, strides=2)(h)
    h = ns.layers.AveragePooling3D(2)(ns.layers.MaxPooling3D(2)(h))
    h = ns.layers.GlobalMaxPooling3D()(ns.layers.UpSampling3D(2)(h))
    return ns.Model(x, h), _x(2, 6, 6, 6, 2)


def normalization_and_noise(ns):
    x = ns.Input((6, 4))
    h = ns.layers.BatchNormalization()(x)
    h = ns.layers.LayerNormalization()(ns.layers.Dropout(0.5)(h))
    h = ns.layers.GroupNormalization(groups=2)(ns.layers.GaussianNoise(0.3)(h))
    h = ns.layers.SpatialDropout1D(0.3)(ns.layers.GaussianDropout(0.3)(h))
    h = ns.layers.AlphaDropout(0.3)(ns.layers.UnitNormalization()(h))
    return ns.Model(x, ns.layers.GlobalAveragePooling1D()(h)), _x(3, 6, 4)


def reshaping(ns):
    x = ns.Input((4, 6))
    h = ns.layers.Permute((2, 1))(ns.layers.Reshape((4, 6))(x))
    h = ns.layers.Cropping1D((1, 2))(ns.layers.ZeroPadding1D(1)(h))
    h = ns.layers.UpSampling1D(2)(h)
    h = ns.layers.Reshape((5, 4, 2))(h)
    h = ns.layers.Cropping2D(((1, 0), (0, 1)))(ns.layers.ZeroPadding2D((1, 2))(h))
    h = ns.layers.UpSampling2D(2)(h)
    h = ns.layers.Reshape((2, 6, 14, 2))(h)
    h = ns.layers.Cropping3D(1)(ns.layers.ZeroPadding3D(1)(h))
    h = ns.layers.Dense(3)(ns.layers.Flatten()(h))
    return ns.Model(x, ns.layers.Flatten()(ns.layers.RepeatVector(2)(h))), _x(2, 4, 6)


def merging(ns):
    a, b = ns.Input((5,)), ns.Input((5,))
    da, db = ns.layers.Dense(5)(a), ns.layers.Dense(5)(b)
    outs = [layer()([da, db]) for layer in (
        ns.layers.Add, ns.layers.Subtract, ns.layers.Multiply, ns.layers.Average,
        ns.layers.Maximum, ns.layers.Minimum)]
    outs.append(ns.layers.Dot(axes=1, normalize=True)([da, db]))
    return ns.Model([a, b], ns.layers.Concatenate()(outs)), [_x(3, 5), _x(3, 5)]


def recurrent(ns):
    tokens = ns.Input((7,), dtype="int32")
    h = ns.layers.Embedding(10, 4, mask_zero=True)(tokens)
    h = ns.layers.LSTM(5, return_sequences=True)(h)
    h = ns.layers.Bidirectional(ns.layers.GRU(3, return_sequences=True))(h)
    h = ns.layers.SimpleRNN(4, return_sequences=True)(h)
    h = ns.layers.TimeDistributed(ns.layers.Dense(2))(h)
    h = ns.layers.Bidirectional(ns.layers.LSTM(2), merge_mode="sum")(h)
    ids = rng.integers(1, 10, (3, 7)).astype("int32")
    ids[0, 4:] = 0  # padding exercises the mask
    return ns.Model(tokens, h), ids


def attention(ns):
    q, v = ns.Input((4, 6)), ns.Input((5, 6))
    h = ns.layers.MultiHeadAttention(2, 3, value_dim=2)(q, v)
    h = ns.layers.Attention(use_scale=True)([h, v])
    h = ns.layers.AdditiveAttention()([h, v])
    return ns.Model([q, v], h), [_x(2, 4, 6), _x(2, 5, 6)]


def nested_shared(ns):
    inner_in = ns.Input((4,))
    inner = ns.Model(inner_in, ns.layers.BatchNormalization()(ns.layers.Dense(4)(inner_in)),
                     name="inner")
    shared = ns.layers.Dense(3, name="shared")
    x, y = ns.Input((4,)), ns.Input((4,))
    h = ns.layers.Concatenate()([shared(inner(x)), shared(inner(y)), shared(x)])
    seq = ns.Sequential([ns.Input((9,)), ns.layers.Dense(2), ns.layers.Dropout(0.1)],
                        name="tail")
    return ns.Model([x, y], seq(h)), [_x(3, 4), _x(3, 4)]


ZOO = [dense, conv1d, conv2d, conv3d, normalization_and_noise, reshaping, merging, recurrent,
       attention, nested_shared]


def _randomize(model):
    """Small positive weights everywhere (BatchNorm statistics and variances included)."""
    model.set_weights([rng.uniform(0.1, 0.6, w.shape).astype(w.dtype)
                       for w in model.get_weights()])


def _predict(model, x):
    return np.asarray(model.predict(x, verbose=0))


@pytest.mark.parametrize("build", ZOO, ids=lambda f: f.__name__)
def test_keras_written_model_loads_in_lamina(K, tmp_path, build):
    source, x = build(K)
    _randomize(source)
    path = tmp_path / "keras.keras"
    source.save(path)
    loaded = lamina.saving.load_model(path)
    np.testing.assert_allclose(_predict(loaded, x), _predict(source, x), atol=1e-5)


@pytest.mark.parametrize("build", ZOO, ids=lambda f: f.__name__)
def test_lamina_written_model_loads_in_keras(K, tmp_path, build):
    source, x = build(lamina)
    _randomize(source)
    path = tmp_path / "lamina.keras"
    lamina.saving.save_model(source, path)
    loaded = K.saving.load_model(path)
    np.testing.assert_allclose(_predict(loaded, x), _predict(source, x), atol=1e-5)


def _optimizer_state(model):
    return [np.asarray(v.detach().cpu() if hasattr(v, "detach") else v)
            for v in model.optimizer.variables]


def test_compiled_model_optimizer_state_round_trips(K, tmp_path):
    """Keras trains and saves; lamina loads, saves again; Keras loads: the optimizer state
    (iterations, moments) and the predictions survive both hops."""
    source, x = conv2d(K)
    y = rng.random((2, 4), dtype=np.float32)
    source.compile(optimizer=K.optimizers.Adam(0.01), loss="mse")
    source.fit(x, y, epochs=2, batch_size=1, shuffle=False, verbose=0)
    source.save(tmp_path / "k.keras")
    ours = lamina.saving.load_model(tmp_path / "k.keras")
    expected = [np.asarray(v) for v in _optimizer_state(source)]
    for got, want in zip(_optimizer_state(ours), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    lamina.saving.save_model(ours, tmp_path / "l.keras")
    back = K.saving.load_model(tmp_path / "l.keras")
    for got, want in zip(_optimizer_state(back), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    np.testing.assert_allclose(_predict(back, x), _predict(source, x), atol=1e-5)
    np.testing.assert_allclose(_predict(ours, x), _predict(source, x), atol=1e-5)


@pytest.mark.parametrize("build", ZOO, ids=lambda f: f.__name__)
def test_keras_legacy_h5_weights_load_in_lamina(K, tmp_path, build):
    """The legacy `.h5` layout (layer names, trainable-first weight lists) fits every family:
    Keras writes it, lamina reads it by layer order into the same architecture."""
    source, x = build(K)
    _randomize(source)
    path = str(tmp_path / "legacy.h5")
    source.save(path)
    target, _ = build(lamina)
    target.load_weights(path)
    np.testing.assert_allclose(_predict(target, x), _predict(source, x), atol=1e-5)
