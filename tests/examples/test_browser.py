"""lamina models exported to ONNX give lamina's numbers in a real browser (onnxruntime-web).

One headless Chromium runs every model of the module on one page; the digits demo
(`python -m lamina.examples.browser --check`) runs in a second one. Both need Chromium and
`npm ci --prefix js` (`.ci/run` installs them): without them the tests fail and say so.
"""

import json
import sys
import urllib.error
import urllib.request

import numpy as np
import pytest

import lamina as keras
from lamina import layers
from lamina.examples import browser, quickstart

RUNNER = """<!doctype html>
<script>
"use strict";
async function main() {
  const ort = await import("./ort/ort.wasm.min.mjs");
  ort.env.wasm.wasmPaths = new URL("./ort/", location.href).href;
  ort.env.wasm.numThreads = 1;
  const cases = await (await fetch("cases.json")).json();
  const outputs = {};
  for (const c of cases) {
    const session = await ort.InferenceSession.create(c.model, {executionProviders: ["wasm"]});
    const input = new ort.Tensor("float32", Float32Array.from(c.data), c.dims);
    const output = (await session.run({[session.inputNames[0]]: input}))[session.outputNames[0]];
    outputs[c.name] = {dims: output.dims, data: Array.from(output.data)};
  }
  return outputs;
}
const post = (body) => fetch("/result", {method: "POST", body: JSON.stringify(body)});
main().then(post, (error) => post({error: String(error.stack || error)}));
</script>
"""


def build_cnn():
    model = keras.Sequential([
        keras.Input(shape=(8, 8, 1)),
        layers.Conv2D(8, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"),
        layers.GlobalAveragePooling2D(),
        layers.Dense(10, activation="softmax"),
    ], name="digits_cnn")
    # Moving statistics away from (0, 1), so the exported inference BatchNorm does something.
    norm = model.layers[1]
    rng = np.random.default_rng(1)
    norm.moving_mean.assign(rng.normal(size=8).astype("float32"))
    norm.moving_variance.assign(rng.uniform(0.5, 2.0, size=8).astype("float32"))
    return model


MODELS = {
    "mlp": (quickstart.build_model, (8, 8)),
    "cnn": (build_cnn, (8, 8, 1)),
}


@pytest.fixture(scope="module")
def ort_dir():
    return browser.find_onnxruntime_web()


@pytest.fixture(scope="module")
def chromium():
    return browser.find_chromium()


@pytest.fixture(scope="module")
def browser_runs(tmp_path_factory, ort_dir, chromium):
    """`{name: (lamina's output, the browser's output)}` for every model in MODELS."""
    root = tmp_path_factory.mktemp("browser")
    rng = np.random.default_rng(0)
    cases, expected = [], {}
    for name, (build, shape) in MODELS.items():
        keras.utils.set_random_seed(0)
        model = build()
        # The export has no batch size of ours: batch 5 in the browser needs a dynamic axis.
        model.export(root / f"{name}.onnx", format="onnx", verbose=False)
        x = rng.uniform(0, 1, size=(5, *shape)).astype("float32")
        expected[name] = np.asarray(model.predict(x, verbose=0))
        cases.append({"name": name, "model": f"{name}.onnx", "dims": list(x.shape),
                      "data": x.ravel().tolist()})
    (root / "cases.json").write_text(json.dumps(cases))
    (root / "runner.html").write_text(RUNNER)
    with browser.PageServer(root, ort_dir) as server:
        result = browser.run_page(server, "runner.html", chromium=chromium)
    return {name: (expected[name], np.asarray(result[name]["data"], "float32").reshape(
        result[name]["dims"])) for name in MODELS}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_onnx_export_runs_in_chromium_with_lamina_outputs(browser_runs, name):
    expected, actual = browser_runs[name]
    assert actual.shape == expected.shape == (5, 10)
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)


def test_browser_example_check_mode_matches_lamina(tmp_path, capsys, ort_dir, chromium):
    assert browser.main(["--epochs", "2", "--check", "--out", str(tmp_path)]) == 0
    assert "the browser's predictions match lamina's on 24 test digits" in capsys.readouterr().out
    # The page's own numbers against the saved model, read back independently.
    page = json.loads((tmp_path / "check.json").read_text())
    actual = np.asarray(page["probabilities"], "float32").reshape(page["dims"])
    _, (x_test, _) = keras.datasets.digits.load_data()
    model = keras.saving.load_model(tmp_path / "digits.keras")
    expected = model.predict(x_test[:24].astype("float32") / 16.0, verbose=0)
    np.testing.assert_allclose(actual, expected, atol=1e-5, rtol=0)
    assert {"index.html", "demo.js", "model.onnx", "digits.json"} <= {
        p.name for p in tmp_path.iterdir()}


def test_browser_example_without_onnxruntime_web_names_the_npm_command(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"onnxruntime-web not found.*npm ci --prefix js"):
        browser.main(["--ort-dir", str(tmp_path), "--no-serve"])


def test_missing_chromium_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"Chromium not found.*apt-get install"):
        browser.find_chromium()


def test_page_server_serves_wasm_as_wasm_and_only_inside_its_folders(tmp_path, ort_dir):
    (tmp_path / "page.html").write_text("<p>hi</p>")
    with browser.PageServer(tmp_path, ort_dir) as server:
        with urllib.request.urlopen(server.url + "ort/ort-wasm-simd-threaded.wasm") as reply:
            assert reply.headers["Content-Type"] == "application/wasm"
        with urllib.request.urlopen(server.url + "ort/ort.wasm.min.mjs") as reply:
            assert reply.headers["Content-Type"] == "text/javascript"
        assert (server.ort_dir.parent / "package.json").is_file()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(server.url + "ort/..%2fpackage.json")
        request = urllib.request.Request(server.url + "result", data=b'{"x": [1, 2]}')
        with urllib.request.urlopen(request) as reply:
            assert reply.status == 204
        assert server.results.get(timeout=5) == {"x": [1, 2]}


# Stand-ins for Chromium: they get the page's URL as their last argument.
PAGE_ERROR = """import json, sys, urllib.request
url = sys.argv[-1].rsplit("/", 1)[0] + "/result"
urllib.request.urlopen(url, data=json.dumps({"error": "TypeError: no model"}).encode())
"""


@pytest.mark.parametrize("script, timeout, message", [
    (PAGE_ERROR, 30, r"page\.html in headless Chromium failed: the page reported: TypeError: "
                     r"no model\nFiles it could not load: none"),
    ("import sys; sys.exit(3)", 30, r"Chromium exited with code 3 before the page answered"),
    ("import time; time.sleep(60)", 0.5, r"no answer from the page within 0\.5 s"),
], ids=["page_error", "chromium_exits", "page_silent"])
def test_run_page_failures_say_what_the_page_or_chromium_did(tmp_path, script, timeout, message):
    fake = tmp_path / "fake-chromium"
    fake.write_text(f"#!{sys.executable}\n{script}")
    fake.chmod(0o755)
    with browser.PageServer(tmp_path, tmp_path) as server:
        with pytest.raises(RuntimeError, match=message):
            browser.run_page(server, "page.html", chromium=str(fake), timeout=timeout)
