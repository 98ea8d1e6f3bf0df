"""A local dataset origin: files served from 127.0.0.1, a fresh KERAS_HOME per test."""

import hashlib
import http.server
import threading

import pytest

from lamina.datasets import _remote


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}
    hits = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Origin:
    """`publish(name, body)` serves `body` as Keras' file `name`, under its real hash."""

    def __init__(self, base, home, monkeypatch):
        self.base, self.home, self._monkeypatch = base, home, monkeypatch
        self.hits = _Handler.hits

    def publish(self, name, body, file_hash=None):
        _Handler.files[f"/data/{name}"] = body
        self._monkeypatch.setitem(_remote.HASHES, name,
                                  file_hash or hashlib.sha256(body).hexdigest())


@pytest.fixture
def origin(tmp_path, monkeypatch):
    _Handler.files, _Handler.hits = {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv(_remote.ORIGIN_ENV, base + "/data/")
    yield Origin(base, home, monkeypatch)
    httpd.shutdown()
    httpd.server_close()
