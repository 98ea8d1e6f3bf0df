"""RemoteMonitor posts each epoch's logs to a local HTTP server, in Keras' payload format."""

import http.server
import inspect
import json
import socket
import threading
import urllib.parse

import keras
import numpy as np
import pytest
import torch

import lamina
from lamina.callbacks import RemoteMonitor


class _Recorder(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, dict(self.headers), body))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):  # keep the test output quiet
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    httpd.received, httpd.status = [], 200
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.root = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_remote_monitor_posts_a_form_with_the_json_payload_in_field(server):
    monitor = RemoteMonitor(root=server.root, path="/events/", field="payload",
                            headers={"X-Run": "7"})
    monitor.on_epoch_end(3, {"loss": np.float32(0.5), "acc": torch.tensor(0.25), "lr": 1e-3})
    [(path, headers, body)] = server.received
    assert path == "/events/"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert headers["X-Run"] == "7"
    form = urllib.parse.parse_qs(body.decode())
    assert list(form) == ["payload"]
    assert json.loads(form["payload"][0]) == {"epoch": 3, "loss": 0.5, "acc": 0.25, "lr": 1e-3}


def test_remote_monitor_send_as_json_posts_a_json_body(server):
    RemoteMonitor(root=server.root, send_as_json=True).on_epoch_end(0, {"loss": 2.0})
    [(path, headers, body)] = server.received
    assert path == "/publish/epoch/end/"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"epoch": 0, "loss": 2.0}


def test_remote_monitor_posts_once_per_epoch_during_fit(server):
    model = lamina.Sequential([lamina.Input((3,)), lamina.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.ones((8, 3), "float32"), np.zeros((8, 1), "float32")
    history = model.fit(x, y, epochs=2, batch_size=4, verbose=0,
                        callbacks=[RemoteMonitor(root=server.root, send_as_json=True)])
    sent = [json.loads(body) for _, _, body in server.received]
    assert [event["epoch"] for event in sent] == [0, 1]
    assert [event["loss"] for event in sent] == pytest.approx(history.history["loss"])


def test_remote_monitor_ignores_an_error_status_as_keras(server):
    server.status = 500
    RemoteMonitor(root=server.root).on_epoch_end(0, {"loss": 1.0})
    assert len(server.received) == 1


def test_remote_monitor_warns_when_the_server_is_unreachable():
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    root = f"http://127.0.0.1:{port}"
    with pytest.warns(UserWarning, match=f"Could not reach RemoteMonitor root server at {root}"):
        RemoteMonitor(root=root).on_epoch_end(0, {"loss": 1.0})


def test_signature_equals_keras():
    assert inspect.signature(RemoteMonitor) == inspect.signature(keras.callbacks.RemoteMonitor)
