import numpy as np
import pytest
from summary_support import block_rich, nested_model

import lamina


def _capture(model):
    lines = []
    model.summary(print_fn=lambda line, **kwargs: lines.append(line))
    return "\n".join(lines)


def _totals(text):
    return [line.strip() for line in text.splitlines() if "params:" in line]


def test_sequential_summary_matches_keras(K):
    kmodel = K.Sequential([K.Input((8,)), K.layers.Dense(4, name="d1"),
                           K.layers.Dropout(0.1), K.layers.Dense(2)])
    lmodel = lamina.Sequential([lamina.Input((8,)), lamina.layers.Dense(4, name="d1"),
                                lamina.layers.Dropout(0.1), lamina.layers.Dense(2)])
    ktext, ltext = _capture(kmodel), _capture(lmodel)
    assert _totals(ltext) == _totals(ktext)
    assert kmodel.count_params() == lmodel.count_params()
    for layer in ("d1 (Dense)", "dropout (Dropout)", "dense (Dense)"):
        assert layer in ltext
    assert "(None, 4)" in ltext and "36" in ltext


def test_functional_summary_has_connected_to_and_same_counts(K):
    def build(api):
        x = api.Input((8,), name="x")
        a = api.layers.Dense(3)(x)
        b = api.layers.Dense(3)(x)
        return api.Model(x, api.layers.Add()([a, b]))

    ktext, ltext = _capture(build(K)), _capture(build(lamina))
    assert _totals(ltext) == _totals(ktext)
    assert "Connected to" in ktext and "Connected to" in ltext and "x[0][0]" in ltext


def test_chain_functional_summary_has_no_connected_to_column_like_keras(K):
    def build(api):
        x = api.Input((8,), name="x")
        return api.Model(x, api.layers.Dense(5)(api.layers.Dense(3)(x)))

    ktext, ltext = _capture(build(K)), _capture(build(lamina))
    assert _totals(ltext) == _totals(ktext)
    assert "Connected to" not in ktext and "Connected to" not in ltext
    assert "dense_1 (Dense)" in ltext


def test_frozen_layers_count_as_non_trainable_like_keras(K):
    kmodel = K.Sequential([K.Input((4,)), K.layers.Dense(3), K.layers.Dense(1)])
    lmodel = lamina.Sequential([lamina.Input((4,)), lamina.layers.Dense(3),
                                lamina.layers.Dense(1)])
    kmodel.layers[0].trainable = False
    lmodel.layers[0].trainable = False
    assert _totals(_capture(lmodel)) == _totals(_capture(kmodel))


def _text(model, **kwargs):
    calls = []
    model.summary(print_fn=calls.append, **kwargs)
    assert len(calls) == 1  # Keras hands print_fn the whole summary at once
    return calls[0]


def _assert_same_text(build, **kwargs):
    """Both libraries' summaries of `build(api)`, compared line by line: lamina's drawn
    by rich, then by its own fallback with rich made unimportable."""
    theirs = _text(build(_keras()), **kwargs).splitlines()
    model = build(lamina)
    ours = _text(model, **kwargs).splitlines()
    assert ours == theirs, "\n".join(["lamina (rich):", *ours, "keras:", *theirs])
    with pytest.MonkeyPatch.context() as patch:
        block_rich(patch)
        plain = _text(model, **kwargs).splitlines()
    assert plain == theirs, "\n".join(["lamina (no rich):", *plain, "keras:", *theirs])
    return "\n".join(ours)


def _keras():
    import keras

    return keras


def _rnn_sequential(api):
    model = api.Sequential(name="rnn")
    model.add(api.layers.Embedding(input_dim=1000, output_dim=64))
    model.add(api.layers.LSTM(128))
    model.add(api.layers.Dense(10))
    return model


def test_unbuilt_sequential_lists_unbuilt_layers_like_keras(K):
    _assert_same_text(_rnn_sequential)


def test_partly_built_sequential_shows_built_layers_like_keras(K):
    def build(api):
        model = api.Sequential([api.layers.Dense(4), api.layers.Dense(2)], name="partly")
        model.layers[0].build((None, 3))
        return model

    _assert_same_text(build)


def test_empty_sequential_prints_an_empty_table_like_keras(K):
    _assert_same_text(lambda api: api.Sequential(name="empty"))


def _subclassed(api):
    class Net(api.Model):
        def __init__(self):
            super().__init__(name="net")
            self.hidden = api.layers.Dense(8, activation="relu")
            self.drop = api.layers.Dropout(0.5)
            self.out = api.layers.Dense(1)

        def call(self, x):
            return self.out(self.drop(self.hidden(x)))

    return Net()


def test_unbuilt_subclassed_model_summary_matches_keras(K):
    _assert_same_text(_subclassed)


def test_called_subclassed_model_shows_build_shapes_like_keras(K):
    def build(api):
        model = _subclassed(api)
        model(np.ones((2, 5), "float32"))
        return model

    _assert_same_text(build)
    _assert_same_text(build, expand_nested=True, show_trainable=True)


def _seq2seq(api):
    layers = api.layers
    encoder_input = layers.Input(shape=(None,))
    encoded = layers.Embedding(input_dim=1000, output_dim=64)(encoder_input)
    _, state_h, state_c = layers.LSTM(64, return_state=True, name="encoder")(encoded)
    decoder_input = layers.Input(shape=(None,))
    decoded = layers.Embedding(input_dim=2000, output_dim=64)(decoder_input)
    decoded = layers.LSTM(64, name="decoder")(decoded, initial_state=[state_h, state_c])
    return api.Model([encoder_input, decoder_input], layers.Dense(10)(decoded), name="s2s")


def test_connected_to_cells_are_cut_short_like_keras(K, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # the table's width follows the terminal's
    text = _assert_same_text(_seq2seq)
    assert "input_layer_1[0]… │" in text and "embedding_1[0][0… │" in text


def _long_names(api):
    layers = api.layers
    a = api.Input((4,), name="a_very_long_input_name_for_testing")
    b = api.Input((4,), name="b")
    c = api.Input((4,), name="c")
    x = layers.Concatenate(name="concatenate_with_a_long_name")([a, b, c, a, b])
    y = layers.Dense(3, name="a_dense_layer_with_an_extremely_long_name_that_wraps")(x)
    first = layers.Lambda(lambda t: t[:, 0], name="first")(y)  # rank 1: Keras shows "(None)"
    return api.Model([a, b, c], [y, first, api.ops.add(y, y)], name="long")


@pytest.mark.parametrize("options", [
    {}, {"line_length": 50, "show_trainable": True}, {"line_length": 120},
    {"line_length": 100, "positions": [0.4, 0.6, 0.7, 1.0]},
    {"layer_range": ["b", "concat"]}])
def test_long_names_wrap_and_cut_like_keras(K, options):
    _assert_same_text(_long_names, **options)


def test_nested_models_expand_like_keras(K):
    _assert_same_text(nested_model, expand_nested=True, show_trainable=True)


def test_multi_output_layer_in_a_chain_has_no_connected_to_like_keras(K):
    def build(api):
        tokens = api.Input((None,), name="tokens")
        embedded = api.layers.Embedding(10, 4)(tokens)
        outputs = api.layers.LSTM(8, return_state=True)(embedded)
        return api.Model(tokens, outputs, name="states")

    _assert_same_text(build)


def test_shared_layer_summary_matches_keras(K):
    def build(api):
        x = api.Input((4,), name="inp")
        shared = api.layers.Dense(4, name="shared")
        return api.Model(x, shared(shared(x)), name="twice")

    _assert_same_text(build)


def test_fitted_model_counts_optimizer_params_like_keras(K):
    def build(api):
        model = api.Sequential([api.Input((5,)), api.layers.Dense(3)], name="fitted")
        model.compile("adam", "mse")
        model.fit(np.ones((4, 5), "float32"), np.ones((4, 3), "float32"), verbose=0)
        return model

    _assert_same_text(build)
