"""`python -m lamina.examples.serve`: JSON predictions over loopback HTTP, from a
`.keras` file and from exported `.onnx`/`.pt2` files, under concurrent requests."""

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.examples import serve


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    tokens = lamina.Input((3,), dtype="int32", name="tokens")
    features = lamina.Input((4,), name="features")
    embedded = layers.Flatten()(layers.Embedding(10, 2)(tokens))
    hidden = layers.Dense(5, activation="relu")(layers.Concatenate()([embedded, features]))
    model = lamina.Model({"tokens": tokens, "features": features},
                         layers.Dense(2, name="scores")(hidden))
    paths = {"keras": str(folder / "model.keras"), "onnx": str(folder / "model.onnx"),
             "pt2": str(folder / "model.pt2")}
    model.save(paths["keras"])
    model.export(paths["onnx"], format="onnx", verbose=False)
    model.export(paths["pt2"], format="torch", verbose=False)
    return model, paths


def _batch(seed, size=3):
    rng = np.random.default_rng(seed)
    return {"tokens": rng.integers(0, 10, (size, 3)).tolist(),
            "features": rng.standard_normal((size, 4)).astype("float32").tolist()}


def _expected(model, batch):
    return model({"tokens": np.array(batch["tokens"], "int32"),
                  "features": np.array(batch["features"], "float32")}).detach().numpy()


def _post(url, payload):
    request = urllib.request.Request(url + "/predict", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture(params=["keras", "onnx", "pt2"])
def server(request, files):
    _, paths = files
    server = serve.make_server(paths[request.param], port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_concurrent_predictions_match_the_model(server, files):
    model, _ = files
    batches = [_batch(seed, size=1 + seed % 4) for seed in range(16)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda b: _post(server, {"inputs": b}), batches))
    for batch, (status, body) in zip(batches, replies):
        assert status == 200, body
        np.testing.assert_allclose(np.array(body["outputs"]), _expected(model, batch),
                                   atol=1e-5, rtol=0)


def test_rows_in_tf_serving_style_answer_predictions(server, files):
    model, _ = files
    batch = _batch(1)
    rows = [{"tokens": t, "features": f} for t, f in zip(batch["tokens"], batch["features"])]
    status, body = _post(server, {"instances": rows})
    assert status == 200
    np.testing.assert_allclose(np.array(body["predictions"]), _expected(model, batch),
                               atol=1e-5, rtol=0)


def test_bad_requests_get_a_json_error(server):
    status, body = _post(server, {"inputs": {"tokens": [[1, 2]], "features": [[0.0] * 4]}})
    assert status == 400 and "should have shape" in body["error"]
    status, body = _post(server, {"data": 1})
    assert status == 400 and '{"inputs": ...}' in body["error"]
    with pytest.raises(urllib.error.HTTPError, match="404"):
        urllib.request.urlopen(server + "/nowhere", timeout=30)


def test_index_describes_the_inputs(files):
    _, paths = files
    description = serve.Predictor(paths["keras"]).describe()
    assert description["format"] == "keras"
    assert {(i["name"], tuple(i["shape"]), i["dtype"]) for i in description["inputs"]} == {
        ("tokens", (None, 3), "int32"), ("features", (None, 4), "float32")}


def test_unknown_file_types_are_refused_with_the_supported_ones(tmp_path):
    with pytest.raises(ValueError, match=r"Cannot serve .*`\.keras`.*`\.onnx`.*`\.pt2`"):
        serve.Predictor(tmp_path / "model.h5")


def test_command_line_serves_until_stopped(files):
    model, paths = files
    process = subprocess.Popen(
        [sys.executable, "-m", "lamina.examples.serve", paths["keras"], "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "Serving" in line, process.stderr.read() if process.poll() is not None else line
        url = line.split(" at ", 1)[1].split("/ ", 1)[0]
        batch = _batch(2)
        status, body = _post(url, {"inputs": batch})
        assert status == 200
        np.testing.assert_allclose(np.array(body["outputs"]), _expected(model, batch),
                                   atol=1e-5, rtol=0)
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stdout.close()
        process.stderr.close()
