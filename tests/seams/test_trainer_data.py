"""Seam: the trainer and its data adapters.

fit/evaluate/predict read a PyDataset batch by batch; the order follows `shuffle`
in fit and is fixed in evaluate and predict. Keras draws the order with its own
random generator, so the tests compare the properties of the order, on both.
"""

import numpy as np
import pytest
from seam_support import keras_module

import lamina

N_BATCHES = 6


def _visits(api, shuffle):
    """The batch indices a PyDataset serves to fit (2 epochs), evaluate and predict."""
    seen = []

    class Batches(api.utils.PyDataset):
        def __len__(self):
            return N_BATCHES

        def __getitem__(self, index):
            seen.append(index)
            return np.full((2, 3), index, "float32"), np.ones((2, 1), "float32")

    model = api.Sequential([api.Input((3,)), api.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    visits = {}
    for name, run in (("fit", lambda: model.fit(Batches(), epochs=2, shuffle=shuffle,
                                                verbose=0)),
                      ("evaluate", lambda: model.evaluate(Batches(), verbose=0)),
                      ("predict", lambda: model.predict(Batches(), verbose=0))):
        seen.clear()
        run()
        # Keras peeks at one batch before the pass to learn its structure.
        visits[name] = seen[-2 * N_BATCHES:] if name == "fit" else seen[-N_BATCHES:]
    return visits


@pytest.mark.parametrize("api_name", ["lamina", "keras"])
@pytest.mark.parametrize("shuffle", [True, False])
def test_pydataset_batch_order_follows_shuffle_in_fit_only(api_name, shuffle):
    api = lamina if api_name == "lamina" else keras_module()
    visits = _visits(api, shuffle)
    in_order = list(range(N_BATCHES))
    epochs = [visits["fit"][:N_BATCHES], visits["fit"][N_BATCHES:]]
    assert all(sorted(epoch) == in_order for epoch in epochs), "each epoch sees every batch"
    if shuffle:
        assert any(epoch != in_order for epoch in epochs), "fit(shuffle=True) kept the order"
    else:
        assert epochs == [in_order, in_order]
    assert visits["evaluate"] == in_order
    assert visits["predict"] == in_order
