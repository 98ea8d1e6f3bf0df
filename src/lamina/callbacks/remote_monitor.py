"""`RemoteMonitor`: posts each epoch's logs to an HTTP server (standard library only)."""

import json
import urllib.error
import urllib.parse
import urllib.request
import warnings

import numpy as np
import torch

from lamina.callbacks.callback import Callback


def _plain(value):
    """A JSON-ready Python value for a log entry (numpy and torch scalars unwrapped)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (np.ndarray, np.generic)):
        return value.item() if value.size == 1 else value.tolist()
    return value


class RemoteMonitor(Callback):
    """Streams each epoch's logs to a server as an HTTP POST to `root + path`.

    The payload is a JSON object: `{"epoch": epoch, **logs}`. With `send_as_json=True`
    it is the request body (`Content-Type: application/json`); otherwise it is sent as a
    form (`application/x-www-form-urlencoded`) whose field `field` holds the JSON text.
    An unreachable server gives a warning, and training goes on.

    Args:
        root: root URL of the server.
        path: path relative to `root` the events are posted to.
        field: the form field holding the JSON payload (when `send_as_json=False`).
        headers: a dict of extra HTTP headers.
        send_as_json: send the payload as a JSON body instead of a form.

    >>> monitor = RemoteMonitor(root="http://127.0.0.1:9000", send_as_json=True)
    >>> monitor.root + monitor.path
    'http://127.0.0.1:9000/publish/epoch/end/'
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        payload = {"epoch": epoch}
        payload.update((key, _plain(value)) for key, value in (logs or {}).items())
        text = json.dumps(payload)
        if self.send_as_json:
            body, content_type = text.encode(), "application/json"
        else:
            body = urllib.parse.urlencode({self.field: text}).encode()
            content_type = "application/x-www-form-urlencoded"
        request = urllib.request.Request(
            self.root + self.path, data=body, method="POST",
            headers={"Content-Type": content_type, **(self.headers or {})})
        try:
            with urllib.request.urlopen(request) as response:
                response.read()
        except urllib.error.HTTPError:
            # NOTE: as Keras (requests does not raise on a status): the server was reached.
            pass
        except (urllib.error.URLError, OSError) as error:
            warnings.warn(
                f"Could not reach RemoteMonitor root server at {self.root} ({error}); "
                "epoch logs are not being sent. Check that the server runs and that "
                "`root` and `path` are right.",
                stacklevel=2,
            )
