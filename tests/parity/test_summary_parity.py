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
