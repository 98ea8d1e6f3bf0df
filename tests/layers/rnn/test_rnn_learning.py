"""Each recurrent layer learns a small sequence task with `fit`."""

import numpy as np
import pytest
import torch

import lamina
from lamina.layers.rnn import GRU, LSTM, SimpleRNN


@pytest.fixture
def one_thread():
    # NOTE: these models are tiny; one thread avoids oversubscription on busy CI hosts.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.mark.parametrize("make", [
    lambda: LSTM(8), lambda: GRU(8), lambda: SimpleRNN(8),
], ids=["lstm", "gru", "simple_rnn"])
def test_learns_sign_of_sequence_sum(make, one_thread):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((384, 6, 1)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")[:, None]
    model = lamina.Sequential([lamina.Input((6, 1)), make(),
                               lamina.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=lamina.optimizers.Adam(0.03), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=6, batch_size=32, verbose=0)
    _, accuracy = model.evaluate(x, y, verbose=0)
    assert accuracy >= 0.9
