"""Acceptance test: the keras.io guide "Working with RNNs", on lamina and Keras 3."""

import numpy as np
import pytest
from guide_support import fresh, numpy_of
from guide_working_with_rnns import run

import lamina


@pytest.fixture(scope="module")
def facts():
    fresh(lamina)
    return run(lamina)


@pytest.fixture(scope="module")
def keras_facts():
    keras = pytest.importorskip("keras")
    fresh(keras)
    return run(keras)


def _lstm_params(inputs, units):
    return 4 * (inputs * units + units * units + units)


def test_summary_of_an_unbuilt_sequential_lists_its_layers(facts):
    # Keras prints each layer with an unknown output shape and "0 (unbuilt)" params.
    assert [row[0] for row in facts["simple_summary"][:3]] == [
        "embedding(Embedding)", "lstm(LSTM)", "dense(Dense)"]
    assert facts["simple_output_shape"] == (2, 10)


def test_return_sequences_gives_one_output_per_timestep(facts):
    assert facts["sequences_output_shape"] == (2, 10)
    assert facts["gru_output_shape"] == (2, 7, 256)  # built by a call on (2, 7) tokens
    gru = 3 * (64 * 256 + 256 * 256 + 2 * 256)  # reset_after: two bias vectors
    simple_rnn = 256 * 128 + 128 * 128 + 128
    assert facts["sequences_params"] == [64_000, gru, simple_rnn, 128 * 10 + 10]


def test_encoder_states_initialise_the_decoder(facts):
    assert facts["encoder_shapes"] == [(None, 64)] * 3
    model = facts["seq2seq_model"]
    assert model.count_params() == 64_000 + 128_000 + 2 * _lstm_params(64, 64) + 650
    encoder_tokens, decoder_tokens = facts["seq2seq_inputs"]
    out = numpy_of(model([encoder_tokens, decoder_tokens]))
    assert out.shape == (3, 10)
    # The decoder really starts from the encoder's states: other encoder inputs, other output.
    other = numpy_of(model([encoder_tokens[::-1], decoder_tokens]))
    assert not np.allclose(out, other)


def test_stateful_lstm_carries_state_across_batches_until_reset(facts):
    stateful = facts["stateful"]
    layer = stateful["layer"]
    for state in stateful["state_after_reset"]:
        np.testing.assert_array_equal(state, 0.0)
    # Three calls on consecutive chunks == one call on the whole sequence.
    whole = lamina.layers.LSTM(64)
    whole(np.concatenate(stateful["paragraphs"], axis=1))
    whole.set_weights(layer.get_weights())
    np.testing.assert_allclose(
        numpy_of(whole(np.concatenate(stateful["paragraphs"], axis=1))),
        stateful["output_3"], atol=1e-5)
    np.testing.assert_allclose(numpy_of(whole(stateful["paragraphs"][0])),
                               stateful["fresh_output_1"], atol=1e-5)


def test_states_of_one_layer_initialise_another(facts):
    reuse = facts["state_reuse"]
    assert reuse["state_shapes"] == [(20, 64), (20, 64)]
    assert reuse["output_shape"] == (20, 64)
    assert reuse["weights_in_layer"] == 3  # the recorded states are not weights


def test_bidirectional_concatenates_both_directions(facts):
    rows = facts["bidirectional_summary"][:3]
    assert [row[1] for row in rows] == ["(None,5,128)", "(None,64)", "(None,10)"]
    params = [2 * _lstm_params(10, 64), 2 * _lstm_params(128, 32), 650]
    assert [row[2] for row in rows] == [f"{p:,}" for p in params]
    assert facts["bidirectional_model"].output_shape == (None, 10)


def test_lstm_and_rnn_of_lstm_cell_are_interchangeable(facts):
    for name in ("lstm_history", "cell_history"):
        assert sorted(facts[name]) == ["accuracy", "loss", "val_accuracy", "val_loss"]
        assert all(len(values) == 1 for values in facts[name].values())
    assert facts["cell_model_matches_layer_model"]
    cpu_result, model_result = facts["cpu_model_result"]
    np.testing.assert_array_equal(cpu_result, model_result)


def test_nested_sequence_inputs_are_refused_as_in_keras_3(facts):
    # Keras 3's RNN takes one sequence tensor: the guide's last section (a cell with a
    # tuple of inputs) fails there too.
    assert facts["nested"]["raised"] == "ValueError"
    assert "not a nested structure of sequences" in facts["nested"]["message"]


def test_guide_shows_the_same_as_keras(facts, keras_facts):
    for key in ("simple_summary", "seq2seq_summary", "bidirectional_summary"):
        assert facts[key] == keras_facts[key], key
    for key in ("simple_output_shape", "sequences_output_shape", "gru_output_shape",
                "sequences_params", "encoder_shapes", "state_reuse",
                "cell_model_matches_layer_model"):
        assert facts[key] == keras_facts[key], key
    for key in ("lstm_history", "cell_history"):
        assert sorted(facts[key]) == sorted(keras_facts[key])
    assert "raised" in keras_facts["nested"]  # Keras 3 fails on it as well


@pytest.mark.parametrize("name,inputs", [
    ("seq2seq_model", "seq2seq_inputs"), ("mnist_model", "mnist_sample")])
def test_models_match_keras_with_the_same_weights(facts, keras_facts, name, inputs):
    ours, theirs = facts[name], keras_facts[name]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(numpy_of(ours.predict(facts[inputs], verbose=0)),
                               numpy_of(theirs.predict(facts[inputs], verbose=0)),
                               rtol=1e-4, atol=1e-5)


def test_bidirectional_and_stateful_match_keras_with_the_same_weights(facts, keras_facts):
    x = np.random.default_rng(1).random((3, 5, 10)).astype("float32")
    ours, theirs = facts["bidirectional_model"], keras_facts["bidirectional_model"]
    theirs.set_weights(ours.get_weights())
    np.testing.assert_allclose(numpy_of(ours(x)), numpy_of(theirs(x)), rtol=1e-4, atol=1e-5)

    ours, theirs = facts["stateful"]["layer"], keras_facts["stateful"]["layer"]
    theirs.set_weights(ours.get_weights())
    ours.reset_states()
    theirs.reset_states()
    for paragraph in facts["stateful"]["paragraphs"]:
        np.testing.assert_allclose(numpy_of(ours(paragraph)), numpy_of(theirs(paragraph)),
                                   rtol=1e-4, atol=1e-5)
