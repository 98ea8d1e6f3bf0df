"""A local origin for Keras' published files: served from 127.0.0.1, fresh KERAS_HOME."""

import http.server
import threading

import pytest

from lamina.applications import _builder


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
    """`publish(name, body)` serves `body` as the published file `name`."""

    def __init__(self, home):
        self.home, self.hits = home, _Handler.hits

    def publish(self, name, body):
        _Handler.files[f"/w/{name}"] = body


@pytest.fixture
def origin(tmp_path, monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.setenv(_builder.ORIGIN_ENV, f"http://127.0.0.1:{server.server_address[1]}/w")
    _Handler.files.clear()
    _Handler.hits.clear()
    try:
        yield Origin(home)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
