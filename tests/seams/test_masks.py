"""Seam: masks, from the layers that make them to every layer and loss that reads them.

Embedding(mask_zero=True) and Masking attach a mask; recurrent layers skip the
masked steps, pooling and attention leave them out, wrappers and merges carry
them on, and compiled losses and metrics drop masked timesteps. Each test runs
one small model on lamina and on Keras 3 with the same weights and compares
outputs, output masks, losses and metrics.
"""

import warnings

import numpy as np
import pytest
from seam_support import assert_same, run_both, to_numpy

IDS = np.array([[3, 7, 1, 0, 0, 0],
                [5, 2, 9, 4, 8, 0],
                [6, 1, 0, 0, 0, 0],
                [2, 2, 3, 3, 4, 4]], dtype="int32")
OTHER_IDS = np.array([[1, 1, 0, 0, 0, 0],
                      [4, 3, 2, 1, 0, 0],
                      [8, 8, 8, 8, 8, 0],
                      [7, 0, 0, 0, 0, 0]], dtype="int32")
RNG = np.random.default_rng(4)
SEQ = RNG.normal(size=(4, 6, 3)).astype("float32")
SEQ[IDS == 0] = 0.0  # the padded steps, for Masking(0.0)
LABELS = RNG.integers(0, 3, (4, 6))


def _embedded(api, ids_input=None, name="emb"):
    ids = ids_input if ids_input is not None else api.Input((6,), dtype="int32")
    return ids, api.layers.Embedding(10, 4, mask_zero=True, name=name)(ids)


def _outputs_and_masks(api, model):
    outs = model(model._seam_inputs)
    flat = outs if isinstance(outs, (list, tuple)) else [outs]
    return {"outputs": [to_numpy(o) for o in flat],
            "masks": [None if getattr(o, "_keras_mask", None) is None
                      else to_numpy(o._keras_mask) for o in flat]}


CONSUMERS = {
    "lstm": lambda api, x: api.layers.LSTM(3)(x),
    "gru_sequences": lambda api, x: api.layers.GRU(3, return_sequences=True)(x),
    "simple_rnn_go_backwards": lambda api, x: api.layers.SimpleRNN(
        3, go_backwards=True, return_sequences=True)(x),
    "bidirectional_lstm": lambda api, x: api.layers.Bidirectional(
        api.layers.LSTM(2, return_sequences=True))(x),
    "bidirectional_gru_concat_states": lambda api, x: api.layers.Bidirectional(
        api.layers.GRU(2), merge_mode="sum")(x),
    "global_average_pooling": lambda api, x: api.layers.GlobalAveragePooling1D()(x),
    "dense_then_lstm": lambda api, x: api.layers.LSTM(2)(api.layers.Dense(3)(x)),
    "dense_passes_mask": lambda api, x: api.layers.Dense(3)(x),
    "time_distributed_then_gru": lambda api, x: api.layers.GRU(2)(
        api.layers.TimeDistributed(api.layers.Dense(3))(x)),
    "attention": lambda api, x: api.layers.Attention()([x, x]),
    "attention_pooled": lambda api, x: api.layers.GlobalAveragePooling1D()(
        api.layers.Attention(use_scale=True)([x, x])),
    "additive_attention": lambda api, x: api.layers.AdditiveAttention()([x, x]),
    "multi_head_attention": lambda api, x: api.layers.MultiHeadAttention(
        num_heads=2, key_dim=2)(x, x),
    "multi_head_attention_causal_pooled": lambda api, x: api.layers.GlobalAveragePooling1D()(
        api.layers.MultiHeadAttention(num_heads=2, key_dim=3)(x, x, use_causal_mask=True)),
    "layer_normalization_then_lstm": lambda api, x: api.layers.LSTM(2)(
        api.layers.LayerNormalization()(x)),
    "dropout_then_lstm": lambda api, x: api.layers.LSTM(2)(api.layers.Dropout(0.5)(x)),
    "nested_functional_gru": lambda api, x: _inner_rnn_model(api, x.shape[-1])(x),
    "lstm_return_state": lambda api, x: list(api.layers.LSTM(
        3, return_sequences=True, return_state=True)(x)),
    # Keras masks only the first output (compute_mask gives one mask), and MHA's
    # scores carry the (batch, 1, Tq, Tv) attention mask of its softmax.
    "attention_with_scores": lambda api, x: list(api.layers.Attention()(
        [x, x], return_attention_scores=True)),
    "multi_head_attention_with_scores": lambda api, x: list(api.layers.MultiHeadAttention(
        num_heads=2, key_dim=2)(x, x, return_attention_scores=True)),
}


def _inner_rnn_model(api, features):
    inputs = api.Input((6, features))
    return api.Model(inputs, api.layers.GRU(3, return_sequences=True)(inputs), name="inner")


@pytest.mark.parametrize("source", ["embedding", "masking"])
@pytest.mark.parametrize("consumer", sorted(CONSUMERS))
def test_mask_reaches_the_consumer_like_keras(source, consumer):
    def build(api):
        if source == "embedding":
            inputs, x = _embedded(api)
        else:
            inputs = api.Input((6, 3))
            x = api.layers.Masking(0.0)(inputs)
        model = api.Model(inputs, CONSUMERS[consumer](api, x))
        model._seam_inputs = IDS if source == "embedding" else SEQ
        return model

    mine, theirs = run_both(build, _outputs_and_masks)
    assert_same(mine, theirs, rtol=1e-5, atol=1e-6)


MERGES = {
    "concatenate": lambda api: api.layers.Concatenate(),
    "add": lambda api: api.layers.Add(),
    "multiply": lambda api: api.layers.Multiply(),
    "average": lambda api: api.layers.Average(),
}


@pytest.mark.parametrize("merge", sorted(MERGES))
@pytest.mark.parametrize("second", ["masked", "unmasked"])
def test_merges_combine_masks_like_keras(merge, second):
    def build(api):
        ids, a = _embedded(api, name="emb_a")
        if second == "masked":
            other, b = _embedded(api, name="emb_b")
        else:
            other = api.Input((6, 4))
            b = other
        merged = MERGES[merge](api)([a, b])
        model = api.Model([ids, other], [merged, api.layers.LSTM(2)(merged)])
        model._seam_inputs = [IDS, OTHER_IDS if second == "masked" else SEQ[..., :1].repeat(
            4, -1)]
        return model

    mine, theirs = run_both(build, _outputs_and_masks)
    assert_same(mine, theirs, rtol=1e-5, atol=1e-6)


def test_a_layer_without_mask_support_warns_and_drops_the_mask():
    def build(api):
        inputs, x = _embedded(api)
        with pytest.warns(UserWarning, match="does not support masking"):
            pooled = api.layers.GlobalMaxPooling1D()(x)
        model = api.Model(inputs, pooled)
        model._seam_inputs = IDS
        return model

    def program(api, model):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = _outputs_and_masks(api, model)
        result["warned"] = any("does not support masking" in str(w.message) for w in caught)
        return result

    mine, theirs = run_both(build, program)
    assert mine["masks"] == [None] and mine["warned"]
    assert_same(mine, theirs, rtol=1e-5, atol=1e-6)


def test_sequential_embedding_lstm_matches_keras():
    def build(api):
        model = api.Sequential([api.Input((6,), dtype="int32"),
                                api.layers.Embedding(10, 4, mask_zero=True),
                                api.layers.LSTM(3, return_sequences=True),
                                api.layers.LSTM(2)])
        model._seam_inputs = IDS
        return model

    mine, theirs = run_both(build, _outputs_and_masks)
    assert_same(mine, theirs, rtol=1e-5, atol=1e-6)


def _tagger(api):
    ids, x = _embedded(api)
    x = api.layers.GRU(4, return_sequences=True)(x)
    return api.Model(ids, api.layers.Dense(3, activation="softmax")(x))


@pytest.mark.parametrize("weighted", [False, True])
def test_losses_and_metrics_skip_masked_timesteps(weighted):
    # Per-timestep weights: Keras (and so lamina) cannot broadcast per-sample weights of
    # shape (batch,) against a (batch, steps) mask.
    sample_weight = RNG.random((4, 6)).astype("float32") if weighted else None

    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.5),
                      loss="sparse_categorical_crossentropy",
                      metrics=["accuracy", api.metrics.SparseCategoricalCrossentropy(
                          name="xent")],
                      weighted_metrics=["accuracy"])
        before = model.evaluate(IDS, LABELS, sample_weight=sample_weight, verbose=0,
                                return_dict=True)
        history = model.fit(IDS, LABELS, sample_weight=sample_weight, batch_size=2,
                            epochs=2, shuffle=False, verbose=0)
        return {"before": before, "history": history.history,
                "weights": model.get_weights()}

    mine, theirs = run_both(_tagger, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)


def test_masked_loss_differs_from_the_unmasked_loss():
    """A guard that the test above can fail: with every step counted the loss moves."""
    def build(api):
        ids = api.Input((6,), dtype="int32")
        x = api.layers.Embedding(10, 4, mask_zero=False)(ids)
        return api.Model(ids, head(api)(x))

    def masked_build(api):
        ids, x = _embedded(api)
        return api.Model(ids, head(api)(x))

    def head(api):  # confident predictions, so that dropping steps moves the loss
        return api.layers.Dense(3, activation="softmax", kernel_initializer=api.initializers.
                                RandomNormal(stddev=5.0, seed=1))

    def program(api, model):
        model.compile(loss="sparse_categorical_crossentropy")
        return model.evaluate(IDS, LABELS, verbose=0)

    plain, _ = run_both(build, program)
    masked, masked_keras = run_both(masked_build, program)
    assert_same(masked, masked_keras, rtol=1e-5)
    assert abs(plain - masked) > 1e-3


def test_batchnorm_statistics_skip_masked_timesteps_in_fit():
    def build(api):
        ids, x = _embedded(api)
        x = api.layers.BatchNormalization(momentum=0.5)(x)
        return api.Model(ids, api.layers.Dense(3, activation="softmax")(x))

    def program(api, model):
        model.compile(optimizer=api.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        history = model.fit(IDS, LABELS, batch_size=2, epochs=2, shuffle=False, verbose=0)
        return {"history": history.history, "weights": model.get_weights()}

    mine, theirs = run_both(build, program)
    assert_same(mine, theirs, rtol=1e-4, atol=1e-5)
