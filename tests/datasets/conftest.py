"""A local dataset origin: files served from 127.0.0.1, a fresh KERAS_HOME per test."""

import hashlib
import http.server
import threading

import pytest

from lamina.datasets import _remote


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}
    hits = []
    cut_short = set()  # paths whose connection drops halfway through the body
    ranges = []  # the Range header of each request (None without one)

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        self.ranges.append(self.headers.get("Range"))
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = int(self.ranges[-1][len("bytes="):].rstrip("-")) if self.ranges[-1] else 0
        if start:
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.path in self.cut_short:
            self.cut_short.discard(self.path)
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Origin:
    """`publish(name, body)` serves `body` as Keras' file `name`, under its real hash."""

    def __init__(self, base, home, monkeypatch):
        self.base, self.home, self._monkeypatch = base, home, monkeypatch
        self.hits, self.ranges = _Handler.hits, _Handler.ranges

    def publish(self, name, body, file_hash=None, cut_short=False):
        """With `cut_short`, the first request gets half of `body`, then a closed socket."""
        _Handler.files[f"/data/{name}"] = body
        if cut_short:
            _Handler.cut_short.add(f"/data/{name}")
        self._monkeypatch.setitem(_remote.HASHES, name,
                                  file_hash or hashlib.sha256(body).hexdigest())


@pytest.fixture
def origin(tmp_path, monkeypatch):
    _Handler.files, _Handler.hits, _Handler.ranges = {}, [], []
    _Handler.cut_short = set()
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
