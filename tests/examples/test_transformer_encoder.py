"""The Transformer encoder example trains to a high accuracy in a few epochs."""

import numpy as np

from lamina.examples import transformer_encoder


def test_make_data_labels_mark_the_target_token():
    x, y = transformer_encoder.make_data(200, seed=3)
    np.testing.assert_array_equal((x == transformer_encoder.TARGET_TOKEN).any(axis=1), y == 1)
    assert 0.3 < y.mean() < 0.7


def test_transformer_encoder_learns_token_presence(capsys):
    accuracy = transformer_encoder.main(["--epochs", "3", "--samples", "448", "--verbose", "0"])
    assert accuracy > 0.9
    assert "test accuracy" in capsys.readouterr().out
