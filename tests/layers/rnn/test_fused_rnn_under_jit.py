"""Fused recurrent kernels under `torch.compile` (layers/rnn/fused.py): one eager call
between graphs, never traced into one (Inductor would decompose it and unroll it over
the sequence); `torch.export` and `fullgraph=True` still trace it into their one graph.

The compiler backends here run the captured graphs as they are (AOTAutograd's for the
numerics), so the tests take seconds; training is compared with the eager step."""

import numpy as np
import pytest
import torch

import lamina
from lamina.trainers import step as step_functions

# NOTE: Dynamo reads `.grad` of the intermediate tensors a frame resumed after a graph
# break receives; it hides the warning that raises (only `filterwarnings = error` sees it)
pytestmark = pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor:UserWarning")

GRAPHS = []


def recording_backend(graph_module, example_inputs):
    GRAPHS.append(graph_module)
    return graph_module.forward


def aot_eager(graph_module, example_inputs):
    GRAPHS.append(graph_module)
    return torch._dynamo.backends.debugging.aot_eager(graph_module, example_inputs)


@pytest.fixture
def backend(monkeypatch):
    def use(name):
        GRAPHS.clear()
        monkeypatch.setattr(step_functions, "JIT_BACKEND", name)
        # NOTE: Dynamo remembers per code location which inputs changed shape
        torch._dynamo.reset()
        torch._dynamo.utils.counters.clear()
    return use


def _traced_ops(graphs):
    return {getattr(node.target, "__name__", str(node.target)) for graph in graphs
            for node in graph.graph.nodes if node.op == "call_function"}


RECURRENT_OPS = {"lstm", "gru", "rnn_tanh", "rnn_relu", "lstm_cell", "gru_cell"}

LAYERS = {"lstm": lambda: lamina.layers.LSTM(5), "gru": lambda: lamina.layers.GRU(5),
          "simple_rnn": lambda: lamina.layers.SimpleRNN(5)}


def _model(kind, mask_zero=False):
    return lamina.Sequential([
        lamina.Input((7,), dtype="int32"),
        lamina.layers.Embedding(20, 4, mask_zero=mask_zero),
        LAYERS[kind](),
        lamina.layers.Dense(1),
    ])


def _data(mask_zero=False):
    rng = np.random.default_rng(4)
    x = rng.integers(1, 20, size=(24, 7))
    if mask_zero:  # right-padded rows of lengths 2..7: the fused kernel's packed path
        lengths = rng.integers(2, 8, size=24)
        x[np.arange(7) >= lengths[:, None]] = 0
    y = rng.integers(0, 2, size=(24, 1)).astype("float32")
    return x, y


def _train(kind, jit_compile, mask_zero=False):
    lamina.utils.set_random_seed(5)
    model = _model(kind, mask_zero)
    model.compile(optimizer="adam", loss=lamina.losses.BinaryCrossentropy(from_logits=True),
                  jit_compile=jit_compile)
    initial = [w.detach().clone() for w in model.weights]
    x, y = _data(mask_zero)
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return model, initial


def test_compiled_training_matches_eager_through_aot_autograd(backend):
    backend(aot_eager)  # Inductor's front half: where the traced kernel was decomposed
    compiled, _ = _train("lstm", jit_compile=True)
    eager, _ = _train("lstm", jit_compile=False)
    assert "lstm" not in _traced_ops(GRAPHS)
    for a, b in zip(compiled.weights, eager.weights):
        torch.testing.assert_close(a.detach(), b.detach(), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind,mask_zero", [("lstm", False), ("gru", False),
                                            ("simple_rnn", False), ("lstm", True)])
def test_fused_kernel_stays_out_of_the_compiled_graphs_and_still_trains(backend, kind,
                                                                        mask_zero):
    backend(recording_backend)
    compiled, initial = _train(kind, jit_compile=True, mask_zero=mask_zero)
    assert GRAPHS, "nothing was compiled"
    ops = _traced_ops(GRAPHS)
    assert not ops & RECURRENT_OPS, f"the recurrent kernel was traced: {ops & RECURRENT_OPS}"
    # the rest of the step is compiled (the gradients, reaching back into the eager
    # kernel, are taken between graphs)
    assert "embedding" in ops and any(name.startswith("_foreach_") for name in ops), ops
    breaks = " ".join(torch._dynamo.utils.counters["graph_break"])
    assert "_opaque_call" in breaks
    eager, _ = _train(kind, jit_compile=False, mask_zero=mask_zero)
    recurrent = compiled.layers[1]
    for weight, before in zip(recurrent.trainable_weights, initial[2:]):
        assert not torch.equal(weight.detach(), before), f"{weight.path} did not train"
    for a, b in zip(compiled.weights, eager.weights):
        torch.testing.assert_close(a.detach(), b.detach(), atol=1e-6, rtol=1e-5)


def _inference_model(kind):
    model = lamina.Sequential([lamina.Input((6, 3)), LAYERS[kind](), lamina.layers.Dense(2)])
    return model, torch.randn(4, 6, 3)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("strict", [False, True], ids=["non_strict", "strict"])
def test_export_still_traces_the_fused_kernel(kind, strict):
    model, x = _inference_model(kind)
    program = torch.export.export(model, (x,), strict=strict)
    ops = _traced_ops([program.graph_module])
    assert f"{kind}.input" in ops, ops
    torch.testing.assert_close(program.module()(x), model(x))


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_fullgraph_compile_still_traces_the_fused_kernel(backend, kind):
    backend(recording_backend)
    model, x = _inference_model(kind)
    compiled = torch.compile(model, fullgraph=True, backend=recording_backend)
    torch.testing.assert_close(compiled(x), model(x))
    assert kind in _traced_ops(GRAPHS)


def test_plain_compile_of_a_model_calls_the_kernel_between_graphs(backend):
    backend(recording_backend)
    model, x = _inference_model("lstm")
    compiled = torch.compile(model, backend=recording_backend)
    torch.testing.assert_close(compiled(x), model(x))
    assert GRAPHS and "lstm" not in _traced_ops(GRAPHS)
