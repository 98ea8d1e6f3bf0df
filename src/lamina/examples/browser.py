"""Run the quickstart digits classifier in a web browser, with onnxruntime-web.

`python -m lamina.examples.browser` trains the quickstart model on the bundled 8x8 digits (a
few seconds; `--model digits.keras` loads a saved one instead), exports it to ONNX, writes a
demo page next to it and serves it on http://127.0.0.1:8000: pick a test digit or draw one,
and the page predicts it in the browser with onnxruntime-web (WebAssembly).

`--check` opens the page in headless Chromium instead and exits non-zero unless the
browser's probabilities match lamina's; `--no-serve` only writes the files. onnxruntime-web
comes from npm: `npm ci --prefix js` in a lamina checkout, or `npm install onnxruntime-web`
in the working directory.
"""

import argparse
import functools
import http.server
import json
import os
import pathlib
import posixpath
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import numpy as np

import lamina as keras
from lamina.examples import quickstart

PAGE_DIR = pathlib.Path(__file__).with_name("browser_page")
# The checkout's pinned copy (js/package.json), then the working directory's.
ORT_SEARCH = (
    pathlib.Path(__file__).resolve().parents[3] / "js" / "node_modules",
    pathlib.Path("node_modules"),
)
ORT_INSTALL_HINT = (
    "install it with npm: `npm ci --prefix js` in a lamina checkout, or "
    "`npm install onnxruntime-web` in the working directory (or pass --ort-dir)"
)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TOLERANCE = 1e-5
DEMO_DIGITS = 24


def find_onnxruntime_web(ort_dir=None):
    """The folder that holds onnxruntime-web's `ort.wasm.min.mjs` and its `.wasm` files.

    Args:
        ort_dir: an explicit `dist` folder (or the `node_modules` holding the package);
            by default the checkout's `js/node_modules`, then `./node_modules`.

    Returns:
        A `pathlib.Path`. Raises `FileNotFoundError` naming the npm command when missing.
    """
    candidates = [pathlib.Path(ort_dir)] if ort_dir else list(ORT_SEARCH)
    for base in candidates:
        for folder in (base, base / "dist", base / "onnxruntime-web" / "dist"):
            if (folder / "ort.wasm.min.mjs").is_file():
                return folder
    searched = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"onnxruntime-web not found (looked in {searched}): "
                            f"{ORT_INSTALL_HINT}.")


def find_chromium():
    """The path of a Chromium (or Chrome) executable; `FileNotFoundError` says how to get one."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    raise FileNotFoundError(
        "Chromium not found on PATH (tried " + ", ".join(CHROMIUM_NAMES) + "): install it, "
        "e.g. `apt-get install -y --no-install-recommends chromium` on Debian/Ubuntu."
    )


class _PageHandler(http.server.SimpleHTTPRequestHandler):
    """Static files from the page folder, onnxruntime-web under `/ort/`, results by POST."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".mjs": "text/javascript",
        ".js": "text/javascript",
        ".wasm": "application/wasm",
        ".json": "application/json",
        ".onnx": "application/octet-stream",
    }

    def __init__(self, *args, server_state, **kwargs):
        self.state = server_state
        super().__init__(*args, directory=str(server_state.root), **kwargs)

    def translate_path(self, path):
        path = urllib.parse.unquote(path.split("?", 1)[0].split("#", 1)[0])
        if path.startswith("/ort/"):
            # onnxruntime-web's dist folder is flat: a base name cannot leave it.
            return str(self.state.ort_dir / posixpath.basename(path))
        return super().translate_path(path)

    def end_headers(self):
        # A rerun writes a new model.onnx under the same name: never serve a stale one.
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def send_error(self, code, message=None, explain=None):
        self.state.missing.append(f"{code} {self.path}")
        super().send_error(code, message, explain)

    def do_POST(self):
        if self.path != "/result":
            self.send_error(404)
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.state.results.put(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format, *args):
        pass


class PageServer:
    """A static-file server on 127.0.0.1 for a page that runs ONNX models in the browser.

    The page's folder is served at `/`, onnxruntime-web's `dist` folder at `/ort/`, and a
    JSON body POSTed to `/result` lands in `results` (a `queue.Queue`).

    Args:
        root: the folder to serve.
        ort_dir: onnxruntime-web's `dist` folder (see `find_onnxruntime_web`).
        port: the port; 0 picks a free one.

    >>> import tempfile
    >>> with PageServer(tempfile.mkdtemp(), tempfile.mkdtemp()) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
    """

    def __init__(self, root, ort_dir, port=0):
        self.root = pathlib.Path(root)
        self.ort_dir = pathlib.Path(ort_dir)
        self.results = queue.Queue()
        self.missing = []
        handler = functools.partial(_PageHandler, server_state=self)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        # A short poll interval: `close()` waits for one.
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def run_page(server, page, chromium=None, timeout=120):
    """Opens `server.url + page` in headless Chromium and returns the JSON it POSTs back.

    One Chromium runs per call, in a fresh profile, and is closed before returning. A page
    that POSTs `{"error": ...}`, a Chromium that exits early, or no answer within `timeout`
    seconds raises `RuntimeError` with the page's error, the files it could not load and the
    end of Chromium's log.
    """
    chromium = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="lamina-chromium-") as profile:
        log_path = pathlib.Path(profile) / "chromium.log"
        command = [chromium, "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                   "--enable-logging=stderr", f"--user-data-dir={profile}/data",
                   server.url + page]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise.
        with open(log_path, "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
            try:
                result = _wait_for_result(server, process, timeout)
                exit_code = process.poll()
            finally:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if result is None or "error" in result:
            log_tail = log_path.read_text(errors="replace")[-3000:]
            if result:
                what = f"the page reported: {result['error']}"
            elif exit_code is not None:
                what = f"Chromium exited with code {exit_code} before the page answered"
            else:
                what = f"no answer from the page within {timeout} s"
            raise RuntimeError(f"{page} in headless Chromium failed: {what}\nFiles it could not "
                               f"load: {server.missing or 'none'}\nChromium log:\n{log_tail}")
    return result


def _wait_for_result(server, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return server.results.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                return None
    return None


def train_digits_model(epochs, verbose=0):
    """The quickstart's MLP, trained on the bundled digits for `epochs` epochs."""
    keras.utils.set_random_seed(0)
    (x_train, y_train), _ = keras.datasets.digits.load_data()
    model = quickstart.build_model()
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train.astype("float32") / 16.0, y_train, batch_size=32, epochs=epochs,
              verbose=verbose)
    return model


def write_demo(model, out_dir, count=DEMO_DIGITS):
    """Writes the demo page, `model.onnx` and `digits.json` (test digits) to `out_dir`.

    Returns:
        The digits as the page feeds them to the model: float32 `(count, 8, 8)` in [0, 1].
    """
    out_dir = pathlib.Path(out_dir)
    for name in ("index.html", "demo.js"):
        shutil.copyfile(PAGE_DIR / name, out_dir / name)
    _, (x_test, y_test) = keras.datasets.digits.load_data()
    images, labels = x_test[:count], y_test[:count]
    (out_dir / "digits.json").write_text(json.dumps(
        {"images": images.reshape(count, 64).tolist(), "labels": labels.tolist()}))
    model.export(out_dir / "model.onnx", format="onnx", verbose=False)
    return images.astype("float32") / 16.0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="a saved .keras digits classifier (default: train one)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs without --model")
    parser.add_argument("--out", help="folder for the page and model.onnx (default: a temp one)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--ort-dir", help="onnxruntime-web's dist folder (default: npm's)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="run the page in headless Chromium and compare with lamina")
    mode.add_argument("--no-serve", action="store_true", help="write the files and exit")
    args = parser.parse_args(argv)

    # Fail on a missing runtime before spending time on training.
    ort_dir = find_onnxruntime_web(args.ort_dir)
    chromium = find_chromium() if args.check else None
    out_dir = pathlib.Path(args.out or tempfile.mkdtemp(prefix="lamina-browser-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.model:
        model = keras.saving.load_model(args.model)
    else:
        print(f"training the quickstart digits classifier for {args.epochs} epochs...",
              flush=True)
        model = train_digits_model(args.epochs)
        model.save(out_dir / "digits.keras")
    inputs = write_demo(model, out_dir)
    print(f"wrote the demo page and model.onnx to {out_dir}")
    if args.no_serve:
        return 0

    with PageServer(out_dir, ort_dir, port=0 if args.check else args.port) as server:
        if args.check:
            return _check(server, chromium, model, inputs, out_dir)
        print(f"serving the digits demo at {server.url}  (Ctrl-C stops)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


def _check(server, chromium, model, inputs, out_dir):
    result = run_page(server, "index.html?check", chromium=chromium)
    browser = np.asarray(result["probabilities"], dtype="float32").reshape(result["dims"])
    (out_dir / "check.json").write_text(json.dumps(result))
    expected = np.asarray(model.predict(inputs, verbose=0))
    difference = float(np.abs(browser - expected).max()) if browser.shape == expected.shape \
        else float("inf")
    same_labels = bool(np.array_equal(browser.argmax(-1), expected.argmax(-1)))
    if difference <= TOLERANCE and same_labels:
        print(f"the browser's predictions match lamina's on {len(inputs)} test digits "
              f"(max |difference| {difference:.1e})")
        return 0
    print(f"the browser's predictions differ from lamina's: shape {browser.shape} vs "
          f"{expected.shape}, max |difference| {difference:.1e} (tolerance {TOLERANCE}), "
          f"labels {browser.argmax(-1).tolist()} vs {expected.argmax(-1).tolist()}",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except FileNotFoundError as error:  # no Chromium or onnxruntime-web: the message says how
        raise SystemExit(f"error: {error}") from None
