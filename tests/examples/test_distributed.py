"""`python -m lamina.examples.distributed` trains in 1 and 2 processes and agrees."""

import numpy as np

from lamina.examples import distributed


def test_distributed_example_matches_one_process_and_prints_the_speedup(capsys):
    result = distributed.main(["--samples", "1024", "--width", "32", "--batch-size", "128",
                               "--epochs", "2"])
    np.testing.assert_allclose(result["many"]["loss"], result["one"]["loss"], rtol=1e-5)
    np.testing.assert_allclose(result["many"]["accuracy"], result["one"]["accuracy"])
    out = capsys.readouterr().out
    assert "speed-up:" in out and "2 processes: fit" in out
