"""Serve a model's predictions over HTTP as JSON (Python's standard library server).

    python -m lamina.examples.serve model.keras          # or model.onnx / model.pt2
    curl -s localhost:8000/predict -d '{"inputs": [[0.1, 0.2, 0.3, 0.4]]}'

`POST /predict` takes `{"inputs": batch}` (a nested list for one input; a dict of them by
input name, or a list of them in order, for several) and answers `{"outputs": ...}` in the
model's output structure. `{"instances": [...]}` (rows) answers `{"predictions": [...]}`,
as TensorFlow Serving does. `GET /` describes the inputs. Each request runs in its own
thread. `.keras` files run in lamina; `.onnx` in onnxruntime; `.pt2` in torch alone.
"""

import argparse
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import torch
import torch.utils._pytree as pytree

from lamina import tree
from lamina.export import signature as signatures
from lamina.saving import saving_api

_MAX_BODY = 64 << 20  # bytes: a request larger than this is refused (413)


class Predictor:
    """`predict(inputs) -> outputs` for a model file, with numpy in and out.

    `inputs`: `{name: array}` or a list of arrays in input order. `describe()` gives the
    inputs' names, shapes (None = any size) and dtypes.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        extension = os.path.splitext(self.path)[1]
        loaders = {".keras": self._load_keras, ".onnx": self._load_onnx,
                   ".pt2": self._load_torch}
        if extension not in loaders:
            raise ValueError(
                f"Cannot serve {self.path!r}: use a `.keras` file (runs in lamina), or one "
                "that `model.export` wrote: `.onnx` (onnxruntime) or `.pt2` (torch.export).")
        self.format = extension[1:]
        self.inputs = []  # (name, shape, numpy dtype)
        loaders[extension]()

    def _load_keras(self):
        model = saving_api.load_model(self.path)
        signature = signatures.model_input_signature(model)
        self._structure = signature[0]
        specs = signatures.program_order(self._structure)
        self.inputs = [(s.name or f"input_{i}", s.shape, np.dtype(s.dtype))
                       for i, s in enumerate(specs)]
        # NOTE: one eager call at a time: torch already spreads each call over the cores,
        # and a lamina model's first calls fill caches.
        lock = threading.Lock()

        def run(arrays):
            tensors = [torch.from_numpy(a) for a in arrays]
            with lock, torch.inference_mode():
                return model(self._pack(tensors), training=False)

        self._run = run

    def _pack(self, tensors):
        leaves = iter(tensors)

        def rebuild(structure):
            if isinstance(structure, dict):
                return {k: rebuild(v) for k, v in structure.items()}
            if isinstance(structure, (list, tuple)):
                return type(structure)(rebuild(v) for v in structure)
            return next(leaves)

        return rebuild(self._structure)

    def _load_onnx(self):
        try:
            import onnxruntime
        except ImportError as error:
            raise ImportError(
                f"Serving {self.path!r} needs onnxruntime: `pip install 'lamina[export]'` "
                "(or `pip install onnxruntime`).") from error

        session = onnxruntime.InferenceSession(self.path, providers=["CPUExecutionProvider"])
        kinds = {"tensor(float)": "float32", "tensor(double)": "float64",
                 "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(bool)": "bool",
                 "tensor(float16)": "float16", "tensor(uint8)": "uint8"}
        self.inputs = [(i.name, tuple(d if isinstance(d, int) else None for d in i.shape),
                        np.dtype(kinds.get(i.type, "float32")))
                       for i in session.get_inputs()]
        names = [name for name, _, _ in self.inputs]

        def run(arrays):  # onnxruntime sessions take concurrent `run` calls
            outputs = session.run(None, dict(zip(names, arrays)))
            return outputs[0] if len(outputs) == 1 else outputs

        self._run = run

    def _load_torch(self):
        program = torch.export.load(self.path)
        module = program.module()
        nodes = [n for n in program.graph.nodes if n.op == "placeholder"]
        user = nodes[len(nodes) - len(program.graph_signature.user_inputs):]
        spec = program.call_spec.in_spec
        # A dict input's key names its leaf (as Keras' functional input names do).
        paths, _ = pytree.tree_flatten_with_path(pytree.tree_unflatten(list(user), spec))
        for i, (path, node) in enumerate(paths):
            keys = [k.key for k in path if isinstance(k, pytree.MappingKey)]
            value = node.meta["val"]
            shape = tuple(d if isinstance(d, int) else None for d in value.shape)
            self.inputs.append((str(keys[-1]) if keys else f"input_{i}", shape,
                                np.dtype(str(value.dtype).removeprefix("torch."))))

        def run(arrays):
            tensors = [torch.from_numpy(a) for a in arrays]
            args, kwargs = pytree.tree_unflatten(tensors, spec)
            with torch.inference_mode():
                return module(*args, **kwargs)

        self._run = run

    def describe(self):
        return {"model": os.path.basename(self.path), "format": self.format,
                "inputs": [{"name": n, "shape": list(s), "dtype": d.name}
                           for n, s, d in self.inputs]}

    def predict(self, inputs):
        """Outputs (numpy, in the model's structure) for `inputs` (see the class doc)."""
        if isinstance(inputs, dict):
            missing = [n for n, _, _ in self.inputs if n not in inputs]
            if missing:
                raise ValueError(f"Missing inputs {missing}; the model takes "
                                 f"{[n for n, _, _ in self.inputs]}.")
            values = [inputs[n] for n, _, _ in self.inputs]
        elif len(self.inputs) == 1:
            values = [inputs]
        else:
            values = list(inputs)
        if len(values) != len(self.inputs):
            raise ValueError(f"The model takes {len(self.inputs)} inputs "
                             f"{[n for n, _, _ in self.inputs]}; received {len(values)}.")
        arrays = []
        for value, (name, shape, dtype) in zip(values, self.inputs):
            array = np.ascontiguousarray(np.asarray(value, dtype=dtype))
            if array.ndim != len(shape) or any(
                    want is not None and want != got for want, got in zip(shape, array.shape)):
                raise ValueError(f"Input '{name}' should have shape {list(shape)} (None = any "
                                 f"size); received {list(array.shape)}.")
            arrays.append(array)
        outputs = self._run(arrays)
        return tree.map_structure(
            lambda t: t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t, outputs)


def make_server(path, host="127.0.0.1", port=8000):
    """A `ThreadingHTTPServer` answering predictions of the model at `path` (port 0 picks
    a free port: read `server.server_address`). Call `serve_forever()` to run it."""
    predictor = Predictor(path)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.rstrip("/") in ("", "/v1/models"):
                self._reply(200, predictor.describe())
            else:
                self._reply(404, {"error": f"Unknown path {self.path!r}: POST /predict."})

        def do_POST(self):
            if self.path.rstrip("/") != "/predict":
                self._reply(404, {"error": f"Unknown path {self.path!r}: POST /predict."})
                return
            length = int(self.headers.get("Content-Length") or 0)
            if length > _MAX_BODY:
                self._reply(413, {"error": f"Request body over {_MAX_BODY} bytes."})
                return
            try:
                body = json.loads(self.rfile.read(length) or b"null")
                if not isinstance(body, dict) or not ({"inputs", "instances"} & set(body)):
                    raise ValueError('Send a JSON object: {"inputs": ...} or '
                                     '{"instances": [...]}.')
                rows = "instances" in body
                data = body["instances"] if rows else body["inputs"]
                if rows and data and isinstance(data[0], dict):
                    data = {k: [row[k] for row in data] for k in data[0]}
                outputs = predictor.predict(data)
            except (ValueError, TypeError, KeyError) as error:
                self._reply(400, {"error": str(error)})
                return
            result = tree.map_structure(lambda a: np.asarray(a).tolist(), outputs)
            self._reply(200, {"predictions" if rows else "outputs": result})

        def _reply(self, status, payload):
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args):  # noqa: A002 - the base class's name
            pass  # quiet: a prediction server's access log is the caller's choice

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    server.predictor = predictor
    return server


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="a .keras, .onnx or .pt2 file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = make_server(args.model, args.host, args.port)
    host, port = server.server_address[:2]
    print(f"Serving {args.model} ({server.predictor.format}) at http://{host}:{port}/ - "
          'POST /predict {"inputs": ...}. Ctrl-C stops.', flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
