"""The README's example and the main job run, and the main job reaches its target."""

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_example_runs():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    namespace = {}
    exec(compile(block, "README.md", "exec"), namespace)
    model = namespace["model"]
    assert model.history.history["loss"]
    assert namespace["functional"].output_shape == (None, 10)
    assert namespace["MLP"]()(namespace["np"].ones((2, 784), "float32")).shape == (2, 10)


def test_readme_ops_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    namespace = {}
    exec(compile(blocks[1], "README.md", "exec"), namespace)
    model = namespace["model"]
    assert model.output_shape == (None, 32)
    out = model(namespace["np"].ones((2, 16), "float32"))
    # RMS-normalising ones gives ones (scale starts at 1): halves equal, relu keeps them.
    assert out.shape == (2, 32) and abs(float(out.detach().mean()) - 1.0) < 1e-5


def test_quickstart_reaches_target_accuracy(capsys):
    from lamina.examples import quickstart

    accuracy = quickstart.main(["--epochs", "30", "--verbose", "0"])
    assert accuracy > 0.95
    out = capsys.readouterr().out
    assert "test accuracy" in out and "Total params" in out
