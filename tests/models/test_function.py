"""`lamina.Function` replays a symbolic graph like `keras.Function`."""

import numpy as np

import lamina


def test_function_matches_keras_on_ops_and_layers():
    import keras

    data = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
    results = []
    for lib in (keras, lamina):
        a, b = lib.Input((3,)), lib.Input((3,))
        out = lib.ops.relu(a) * 2 + lib.ops.tanh(b)
        fn = lib.Function([a, b], out)
        results.append((lib.ops.convert_to_numpy(fn([data, -data])),
                        fn.compute_output_shape([(None, 3), (None, 3)]),
                        len(fn.operations)))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-6)
    assert results[1][1:] == results[0][1:]


def test_function_records_a_node_on_symbolic_inputs():
    x = lamina.Input((4,))
    fn = lamina.Function(x, lamina.layers.Dense(2)(x), name="head")
    y = fn(lamina.Input((4,)))
    assert tuple(y.shape) == (None, 2)
    assert fn.name == "head"
