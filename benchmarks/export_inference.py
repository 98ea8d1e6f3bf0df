"""Inference speed of exported models vs lamina eager and hand-written PyTorch.

Models: the 784-512-256-10 MLP of layer_forward.py and the CNN of cnn_fit.py (channels
last), at batch 1 and 128. Candidates, all with the same weights (outputs checked equal):
hand-written `torch.nn` (the baseline), lamina eager (`model(x, training=False)` under
`torch.inference_mode`), `model.export(format="torch")` reloaded with `torch.export.load`,
and `model.export(format="onnx")` in onnxruntime (one intra-op thread, like the others
under OMP_NUM_THREADS=1). `--executorch` adds the `.pte` in the ExecuTorch runtime.

Run: OMP_NUM_THREADS=1 python benchmarks/export_inference.py [--repeats 7] [--calls 100]
Prints median times and ratios; never asserts.
"""

import argparse
import os
import tempfile

import numpy as np
import torch
from _common import interleaved, report
from cnn_fit import lamina_cnn, torch_cnn
from layer_forward import build as build_mlp

import lamina  # noqa: F401 - models come from the sibling scripts


def cnn_models():
    model = lamina_cnn("channels_last")
    reference = torch_cnn()
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    dense = model.layers[-1]
    with torch.no_grad():
        torch_convs = [m for m in reference if isinstance(m, torch.nn.Conv2d)]
        for layer, conv in zip(convs, torch_convs):
            kernel, bias = layer.get_weights()
            conv.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1)))
            conv.bias.copy_(torch.from_numpy(bias))
        kernel, bias = dense.get_weights()
        # NOTE: lamina flattens NHWC; the reference flattens NCHW: permute the rows.
        rows = np.arange(kernel.shape[0]).reshape(5, 5, 64).transpose(2, 0, 1).reshape(-1)
        linear = [m for m in reference if isinstance(m, torch.nn.Linear)][0]
        linear.weight.copy_(torch.from_numpy(kernel[rows].T))
        linear.bias.copy_(torch.from_numpy(bias))
    reference.eval()

    def reference_nhwc(x):  # cnn_fit's reference leaves softmax to its loss
        return torch.softmax(reference(x.permute(0, 3, 1, 2)), dim=-1)

    return model, reference_nhwc


def candidates(model, reference, x, folder, name, calls, use_executorch):
    import onnxruntime

    pt2 = os.path.join(folder, f"{name}.pt2")
    onnx = os.path.join(folder, f"{name}.onnx")
    model.export(pt2, format="torch", verbose=False)
    model.export(onnx, format="onnx", verbose=False)
    program = torch.export.load(pt2).module()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(onnx, options, providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    x_numpy = x.numpy()
    fns = {
        "torch (hand-written)": lambda: reference(x),
        "lamina eager": lambda: model(x, training=False),
        "torch.export .pt2": lambda: program(x),
        "onnxruntime .onnx": lambda: session.run(None, {input_name: x_numpy}),
    }
    if use_executorch:
        from executorch.runtime import Runtime

        pte = os.path.join(folder, f"{name}.pte")
        model.export(pte, format="executorch", verbose=False, max_batch_size=x.shape[0])
        method = Runtime.get().load_program(pte).load_method("forward")
        try:
            method.execute([x])
            fns["executorch .pte (xnnpack)"] = lambda: method.execute([x])
        except RuntimeError as error:
            # NOTE: ExecuTorch 1.5.1 plans conv models for at most 15 samples per call,
            # whatever the exported bound (seen here, not documented).
            print(f"  executorch at batch {x.shape[0]}: skipped ({error})")
    with torch.inference_mode():
        expected = model(x, training=False).numpy()
        for label, fn in fns.items():
            result = fn()
            result = result[0] if isinstance(result, (list, tuple)) else result
            result = result.numpy() if isinstance(result, torch.Tensor) else result
            np.testing.assert_allclose(result, expected, atol=1e-4, err_msg=label)

    def repeated(fn):
        def run():
            with torch.inference_mode():
                for _ in range(calls):
                    fn()
        return run

    return {label: repeated(fn) for label, fn in fns.items()}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--executorch", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    mlp, mlp_reference = build_mlp("cpu")
    cnn, cnn_reference = cnn_models()
    with tempfile.TemporaryDirectory() as folder:
        for name, model, reference, shape in [("mlp", mlp, mlp_reference, (784,)),
                                              ("cnn", cnn, cnn_reference, (28, 28, 1))]:
            for batch in (1, 128):
                x = torch.randn(batch, *shape)
                calls = args.calls if batch == 1 else max(1, args.calls // 10)
                fns = candidates(model, reference, x, folder, name, calls, args.executorch)
                medians = interleaved(fns, repeats=args.repeats)
                report(f"{name} forward, batch {batch}, {calls} calls per sample", medians,
                       "torch (hand-written)")
                base = medians["lamina eager"]
                print("  vs lamina eager: " + ", ".join(
                    f"{label} {value / base:.2f}x" for label, value in medians.items()))


if __name__ == "__main__":
    main()
