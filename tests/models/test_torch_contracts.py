"""Every model style honours PyTorch's module contracts (DESIGN.md: "Honour PyTorch's
contracts"): submodule paths, `torch.func`, `torch.export`, ONNX, `torch.jit.trace`,
`state_dict` and forward hooks, each checked against running the model eagerly."""

import io

import pytest
import torch

import lamina
from lamina import layers
from lamina.layers.input_layer import InputLayer


def _sequential():
    return lamina.Sequential([
        lamina.Input((4,)), layers.Dense(8, activation="relu"), layers.Dropout(0.5),
        layers.BatchNormalization(), layers.Dense(3),
    ])


def _functional():
    inputs = lamina.Input((4,))
    left = layers.Dense(8, activation="tanh")(inputs)
    right = layers.BatchNormalization()(layers.Dense(8)(inputs))
    merged = layers.Concatenate()([left, layers.Add()([left, right])])
    outputs = layers.Dense(3)(layers.Dropout(0.5)(merged))
    return lamina.Model(inputs, outputs)


class _Subclassed(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="relu")
        self.norm = layers.BatchNormalization()
        self.drop = layers.Dropout(0.5)
        self.out = layers.Dense(3)

    def call(self, inputs, training=None):
        x = self.norm(self.hidden(inputs), training=training)
        return self.out(self.drop(x, training=training))


class _Nested(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.body = lamina.Sequential([
            layers.Dense(8, activation="relu"), layers.BatchNormalization(), layers.Dense(8),
        ])
        self.head = layers.Dense(3)

    def call(self, inputs):
        return self.head(self.body(inputs))


STYLES = {
    "sequential": _sequential,
    "functional": _functional,
    "subclassed": _Subclassed,
    "nested": _Nested,
}


def _make(style, seed=1):
    """A built model of `style` in inference mode, every weight (BatchNorm statistics
    included) set from `seed` so outputs depend on all of them."""
    model = STYLES[style]()
    model.build((None, 4))
    generator = torch.Generator().manual_seed(seed)
    for variable in model.weights:
        value = torch.randn(variable.shape, generator=generator)
        if variable.name == "moving_variance":
            value = value.abs() + 0.5
        variable.assign(value)
    return model.eval()


@pytest.fixture(params=list(STYLES))
def style(request):
    return request.param


def _x(batch=3):
    return torch.randn(batch, 4, generator=torch.Generator().manual_seed(7))


# -- submodule paths ------------------------------------------------------------------------
def test_get_submodule_resolves_every_state_dict_path(style):
    model = _make(style)
    for key, value in model.state_dict(keep_vars=True).items():
        prefix, _, name = key.rpartition(".")
        assert getattr(model.get_submodule(prefix), name) is value
    for name, module in model.named_modules():
        found = model.get_submodule(name)
        # `layers` reads Keras' list: a fresh view over the same child modules.
        assert found is module or (name.endswith("layers") and isinstance(found, list)
                                   and dict(found.named_children()) == dict(
                                       module.named_children()))


def test_layers_is_keras_list_and_indexes_the_layers_submodule(style):
    model = _make(style)
    graph = model.body if style == "nested" else model
    prefix = "body.layers" if style == "nested" else "layers"
    if style == "subclassed":
        assert model.layers == [model.hidden, model.norm, model.drop, model.out]
        return
    listed = graph.layers
    assert isinstance(listed, list) and listed is not graph.layers
    for i, layer in enumerate(listed):
        assert model.get_submodule(f"{prefix}.{i}") is layer
    listed.append(layers.Dense(1))  # a fresh list, as in Keras: the model is unchanged
    assert len(graph.layers) == len(listed) - 1


def test_sequential_layers_excludes_input_layer_and_state_dict_follows_it():
    model = _make("sequential")
    assert not any(isinstance(layer, InputLayer) for layer in model.layers)
    assert list(model.state_dict())[:2] == ["layers.0.kernel", "layers.0.bias"]
    assert model.get_submodule("layers.1") is model.layers[1]
    assert isinstance(model.get_submodule("layers.1"), layers.Dropout)


def test_layers_list_held_by_another_model_is_tracked_like_any_list():
    base = _make("sequential")

    class Head(lamina.Model):
        def __init__(self):
            super().__init__()
            self.blocks = base.layers

        def call(self, inputs):
            for block in self.blocks:
                inputs = block(inputs)
            return inputs

    head = Head()
    x = _x()
    torch.testing.assert_close(head(x), base(x))
    assert list(head.state_dict()) == [f"blocks.{k[len('layers.'):]}"
                                       for k in base.state_dict()]
    assert head.layers == base.layers and len(head.weights) == len(base.weights)


def test_functional_layers_include_input_layer_like_keras():
    model = _make("functional")
    assert isinstance(model.layers[0], InputLayer)
    assert model.get_submodule("layers.0") is model.layers[0]


# -- torch.func -----------------------------------------------------------------------------
def test_functional_call_with_other_weights_matches_model_holding_them(style):
    model, other = _make(style, seed=1), _make(style, seed=2)
    x = _x()
    before = model(x)
    result = torch.func.functional_call(model, other.state_dict(), (x,))
    torch.testing.assert_close(result, other(x))
    assert not torch.allclose(result, before)
    torch.testing.assert_close(model(x), before)  # the model's own weights are back


def test_func_grad_matches_autograd(style):
    model = _make(style)
    x = _x()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def loss(p):
        return torch.func.functional_call(model, {**p, **buffers}, (x,)).square().mean()

    grads = torch.func.grad(loss)(params)
    model.zero_grad()
    model(x).square().mean().backward()
    assert set(grads) == {k for k, _ in model.named_parameters()}
    for key, param in model.named_parameters():
        torch.testing.assert_close(grads[key], param.grad)


# -- torch.export ---------------------------------------------------------------------------
def test_export_static_batch_matches_eager(style):
    model = _make(style)
    x = _x()
    program = torch.export.export(model, (x,))
    torch.testing.assert_close(program.module()(x), model(x))
    assert set(program.state_dict) == set(dict(model.named_parameters())) | set(
        dict(model.named_buffers()))


def test_export_dynamic_batch_matches_eager_at_other_batch_sizes(style):
    model = _make(style)
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (_x(3),), dynamic_shapes=({0: batch},))
    exported = program.module()
    for size in (2, 5):
        x = _x(size)
        torch.testing.assert_close(exported(x), model(x))


def test_exported_program_survives_pt2_save_and_load(style, tmp_path):
    model = _make(style)
    batch = torch.export.Dim("batch")
    program = torch.export.export(model, (_x(3),), dynamic_shapes=({0: batch},))
    path = tmp_path / "model.pt2"
    torch.export.save(program, path)
    loaded = torch.export.load(path).module()
    x = _x(6)
    torch.testing.assert_close(loaded(x), model(x))


# NOTE: strict (dynamo) export is not the default; the default above and the ONNX exporter
# run non-strict. Under Dynamo the training flag comes from module mode (Layer._full_call:
# Dynamo cannot read a ContextVar), so a model without non-trainable Variables exports
# strictly. Dynamo cannot name a buffer that is an `nn.Parameter` (a non-trainable
# Variable, e.g. BatchNorm's moving statistics), which README lists as a difference.
class _DropoutNet(lamina.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.hidden = layers.Dense(8, activation="relu")
        self.drop = layers.Dropout(0.5)
        self.out = layers.Dense(3)

    def call(self, inputs):
        return self.out(self.drop(self.hidden(inputs)))


@pytest.mark.parametrize("build", [
    lambda: lamina.Sequential([lamina.Input((4,)), layers.Dense(8), layers.Dropout(0.5),
                               layers.Dense(3)]),
    _DropoutNet,
], ids=["sequential", "subclassed"])
def test_export_strict_and_fullgraph_compile_match_eager_inference(build):
    model = build()
    model.build((None, 4))
    x = _x()
    program = torch.export.export(model, (x,), strict=True)
    torch.testing.assert_close(program.module()(x), model(x))
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    torch.testing.assert_close(compiled(x), model(x))
    model.train()  # module mode reaches the compiled graph: Dropout is active
    assert not torch.equal(compiled(torch.ones(64, 4)), compiled(torch.ones(64, 4)))


def test_export_strict_of_non_trainable_variables_is_refused_by_torch():
    model = lamina.Sequential([lamina.Input((4,)), layers.BatchNormalization()])
    with pytest.raises(KeyError, match="moving_mean"):
        torch.export.export(model, (_x(),), strict=True)


def test_torch_save_of_the_whole_model_round_trips(style):
    model = _make(style)
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    x = _x()
    torch.testing.assert_close(loaded(x), model(x))
    assert [w.path for w in loaded.weights] == [w.path for w in model.weights]


# -- ONNX -----------------------------------------------------------------------------------
# NOTE: torch 2.13's own exporter trips its own pytree deprecation; not lamina's.
@pytest.mark.filterwarnings(
    r"ignore:`isinstance\(treespec, LeafSpec\)` is deprecated:FutureWarning")
def test_onnx_export_runs_in_onnxruntime_like_eager(style):
    pytest.importorskip("onnxscript")
    onnxruntime = pytest.importorskip("onnxruntime")
    model = _make(style)
    batch = torch.export.Dim("batch")
    program = torch.onnx.export(model, (_x(3),), dynamo=True, verbose=False,
                                dynamic_shapes=({0: batch},))
    session = onnxruntime.InferenceSession(program.model_proto.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    x = _x(5)
    (result,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    torch.testing.assert_close(torch.from_numpy(result), model(x), rtol=1e-5, atol=1e-5)


# -- TorchScript tracing --------------------------------------------------------------------
# NOTE: torch 2.13 deprecates `jit.trace` itself; and tracing turns each layer's input
# shape check into a constant (TracerWarning), which is what a shape check should be.
@pytest.mark.filterwarnings(
    r"ignore:`torch.jit.trace(_method)?` is deprecated:DeprecationWarning")
@pytest.mark.filterwarnings(
    r"ignore:Converting a tensor to a Python boolean:torch.jit.TracerWarning")
def test_jit_trace_matches_eager(style):
    model = _make(style)
    traced = torch.jit.trace(model, (_x(3),))
    x = _x(5)
    torch.testing.assert_close(traced(x), model(x))


# -- state_dict -----------------------------------------------------------------------------
def test_state_dict_round_trip_into_fresh_model_gives_equal_outputs(style):
    model, fresh = _make(style, seed=1), _make(style, seed=2)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert list(state) == list(fresh.state_dict())
    fresh.load_state_dict(state)
    x = _x()
    torch.testing.assert_close(fresh(x), model(x))
    assert all(isinstance(v, lamina.Variable) for v in fresh.weights)


# -- forward hooks --------------------------------------------------------------------------
def test_forward_hooks_fire_once_per_sublayer_with_its_input_and_output(style):
    model = _make(style)
    calls = {}

    def hook(module, args, output):
        calls.setdefault(module, []).append((args, output))

    # An InputLayer only marks where a graph starts: a call never runs it.
    sublayers = [m for name, m in model.named_modules()
                 if isinstance(m, lamina.Layer) and not isinstance(m, InputLayer)]
    handles = [m.register_forward_hook(hook) for m in sublayers]
    x = _x()
    output = model(x)
    for handle in handles:
        handle.remove()
    assert set(calls) == set(sublayers)
    for module, records in calls.items():
        assert len(records) == 1, module
        (args, out), = records
        torch.testing.assert_close(module(*args), out)
    torch.testing.assert_close(calls[model][0][1], output)
    assert calls[model][0][0][0] is x


# Models call hook-free sublayers' `forward` directly (layer.py: `runs_forward_only`);
# every kind of module-call machinery must still run wherever it is set up.
def _dense_sublayers(model):
    return [m for m in model.modules() if isinstance(m, layers.Dense)]


def test_forward_pre_hook_that_replaces_the_input_is_honoured(style):
    model = _make(style)
    first = _dense_sublayers(model)[0]
    x = _x()
    expected_first_output = first(torch.zeros_like(x))
    seen = []
    handle = first.register_forward_pre_hook(lambda module, args: (torch.zeros_like(args[0]),))
    first.register_forward_hook(lambda module, args, out: seen.append(out))
    try:
        hooked = model(x)
    finally:
        handle.remove()
    torch.testing.assert_close(seen[0], expected_first_output)
    assert not torch.allclose(hooked, model(x))


def test_global_module_forward_hook_sees_every_sublayer_call(style):
    model = _make(style)
    called = []
    handle = torch.nn.modules.module.register_module_forward_hook(
        lambda module, args, out: called.append(module))
    try:
        model(_x())
    finally:
        handle.remove()
    assert set(_dense_sublayers(model)) <= set(called)


def test_full_backward_hook_on_a_sublayer_sees_its_output_gradient(style):
    model = _make(style)
    last = _dense_sublayers(model)[-1]
    grads = []
    handle = last.register_full_backward_hook(lambda m, grad_in, grad_out: grads.append(grad_out))
    try:
        model(_x()).sum().backward()
    finally:
        handle.remove()
    assert len(grads) == 1
    torch.testing.assert_close(grads[0][0], torch.ones(3, 3))


def test_sublayer_compiled_with_module_compile_runs_its_compiled_call(style):
    model = _make(style)
    first = _dense_sublayers(model)[0]
    x = _x()
    expected = model(x)
    runs = []
    first.compile(backend=lambda gm, inputs: (runs.append(gm), gm.forward)[1])
    try:
        torch.testing.assert_close(model(x), expected)
    finally:
        torch._dynamo.reset()
    assert runs, "the sublayer's compiled call was skipped"


def test_sublayer_with_its_own_dunder_call_is_called_through_it():
    class Counted(layers.Dense):
        calls = 0

        def __call__(self, *args, **kwargs):
            Counted.calls += 1
            return super().__call__(*args, **kwargs)

    inputs = lamina.Input((4,))
    models = [lamina.Sequential([lamina.Input((4,)), Counted(3)])]
    models.append(lamina.Model(inputs, Counted(3)(inputs)))
    for model in models:
        before = Counted.calls
        model(_x())
        assert Counted.calls == before + 1, model
