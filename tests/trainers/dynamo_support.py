"""What the compiled-step tests share: a compiler backend that fails, one that records
its graphs, and a clean Dynamo with a given backend for `jit_compile=True`, checked for
graph breaks afterwards."""

import contextlib

import torch

from lamina.trainers import step as step_functions


def failing_backend(graph_module, example_inputs):
    raise RuntimeError("no compiler here")


class GraphRecorder(list):
    """A compiler backend that keeps every graph it is given and runs it as traced."""

    def __call__(self, graph_module, example_inputs):
        self.append(graph_module)
        return graph_module.forward


@contextlib.contextmanager
def compiling_with(monkeypatch, backend):
    monkeypatch.setattr(step_functions, "JIT_BACKEND", backend)
    # NOTE: Dynamo remembers per code location which inputs changed shape (each test
    # would otherwise start from the dynamic graph an earlier test ended with)
    torch._dynamo.reset()
    torch._dynamo.utils.counters.clear()
    yield
    # a graph break would split the step into several graphs with Python between them
    assert not torch._dynamo.utils.counters["graph_break"]
