"""The whole train step under `compile(jit_compile=True)`, compiled as one graph.

Forward, loss (`compute_loss`, so `model.losses` too), the loss tracker, the compiled
metrics, the gradients and the optimizer's update (lamina's own Keras math, traced through
its `_foreach_*` kernels) are traced by Dynamo into a single graph per batch shape: no
Python runs per step beyond Dynamo's guard check. Gradients come from
`torch.autograd.grad`, which Dynamo traces when `trace_autograd_ops` is on (set only
around this step's calls, so user code compiled elsewhere is not affected).

The first group of batches runs eagerly, and so does the first after the lists of
weights changed (weights frozen, unfrozen or created): it builds what builds lazily (loss
and metric containers, optimizer slots, the optimizer's per-list plans) outside the
tracer, and fully eagerly (the forward that `fit` compiles for `jit_compile=True` would
otherwise compile a training-mode graph of its own, unused: the whole step inlines the
forward). The loss terms `compute_loss` adds (layer losses, regularizers) are gathered
before tracing too, so no graph reads the global weight counter. The last, smaller batch
of an epoch compiles once more: Dynamo's automatic dynamic shapes then mark the batch
dimension dynamic, and that graph serves every later batch size (no padding, no masking).

With `steps_per_execution=N`, a full group of N batches of one shape is one compiled call:
a second function loops over the group's batches and Dynamo unrolls the loop into one
graph of N steps (each step's update mutates the weights the next step reads, in the
graph), so the host pays one guard check per group. The graph grows with N and so does
its compile time: a call unrolls at most `MAX_UNROLL` (8) steps and a longer group is
several calls (each count of steps its own graph). Measured on the tiny MLP 32-32-1 (SGD,
batch 32, 640 batches, one CPU thread, thread clock, two runs): an epoch takes 65 ms in
calls of 1 step, 44 ms of 4, 35 ms of 8, 31 ms of 16 and 29 ms of 32, and the first epoch
(compiling, and two eager groups) 12 s, 18 s, 22 s, 30 s and 45 s: past 8, little
gained for much compile time. The last, shorter group of an epoch runs eagerly once
full groups run compiled: a one-step graph for its few batches would cost more compile
time than hundreds of epochs of them eagerly. Anything else (a group of batches of mixed
shapes, `train_on_batch`, short groups before any full one) runs one step per call. The
group that warms the step runs eagerly as a whole (not one batch, then the rest one step
per call), so no one-step graph compiles where every group is full.

The step falls back to the eager step, with a warning, when tracing or compiling fails,
and is not used at all (`train_function` returns the eager one) where one traced graph
would change what a step means: a custom `train_step` or `compute_metrics` (Keras users
override these with Python side effects), a `LossScaleOptimizer` (it skips steps on the
host), gradient accumulation or EMA (host-side schedules), a model without trainable
weights, and a data-parallel distribution (DDP reduces gradients in `backward` hooks,
which `autograd.grad` does not run). There, `jit_compile=True` compiles `forward` only.
"""

import contextvars

import torch
from torch.utils import _pytree as pytree

from lamina.backend.context import TRAINING
from lamina.distribution.distribution_lib import data_parallel_world
from lamina.optimizers import LossScaleOptimizer, update_utils
from lamina.trainers import step as step_functions
from lamina.trainers.data.data_utils import unpack_x_y_sample_weight
from lamina.trainers.logs import MetricLogs


def compiles_whole_step(model):
    """Whether `jit_compile=True` compiles this model's whole train step (see the module
    docstring for what keeps it eager)."""
    return model._jit_compile and can_compile_whole_step(model)


def can_compile_whole_step(model):
    """Whether the model's train step means the same as one traced graph (see the module
    docstring); `jit_compile="auto"` (auto_jit.py) asks this too."""
    optimizer = model.optimizer
    return (_is_builtin(model, "train_step") and _is_builtin(model, "compute_metrics")
            and not isinstance(optimizer, LossScaleOptimizer)
            and not getattr(optimizer, "gradient_accumulation_steps", None)
            and not getattr(optimizer, "use_ema", False)
            and data_parallel_world() is None)


def _is_builtin(model, method):
    """Whether `method` is `Trainer`'s own (trainer.py imports this module: no import)."""
    owner = next(c for c in type(model).__mro__ if method in c.__dict__)
    return owner.__module__ == "lamina.trainers.trainer"


def train_function(model):
    """`make_train_function`'s function: the compiled whole step where
    `compiles_whole_step(model)`, else the eager one of `step.train_function`."""
    if not compiles_whole_step(model):
        return step_functions.train_function(model)
    return _CompiledTrainFunction(model)


def compiled_train_function(model):
    """The compiled whole step for `jit_compile="auto"`, kept on the model so a later
    `fit` reuses its graphs (`compile()` drops it with the other step functions)."""
    function = model.__dict__.get("_auto_train_function")
    if function is None:
        function = model.__dict__["_auto_train_function"] = _CompiledTrainFunction(model)
    return function


def _train_step_body(model, trainable, layers, loss_sources, x, y, sample_weight):
    """Keras' `train_step` without the Python around it: what Dynamo traces."""
    y_pred = model(x)
    if loss_sources is None:  # an overridden `compute_loss`
        loss = model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                  training=True)
    else:
        loss = _total_loss(model, loss_sources, y, y_pred, sample_weight)
    step_functions.track_loss(model, loss, x)
    # NOTE: a graph cannot hand out a tensor whose graph `autograd.grad` consumes
    _detach_layer_losses(layers)
    if model._compile_metrics is not None:
        # NOTE: before the gradients: `autograd.grad` frees the graph `y_pred` hangs on.
        model._compile_metrics.update_state(y, y_pred.detach(), sample_weight)
    # allow_unused: a weight the loss does not reach gets no update, as in the eager step
    grads = torch.autograd.grad(loss, trainable, allow_unused=True)
    model.optimizer.apply(grads, trainable)


def _total_loss(model, loss_sources, y, y_pred, sample_weight):
    """`Trainer.compute_loss`, same terms in the same order, from the layers and
    regularized weights gathered before tracing. NOTE: `compute_loss` itself refreshes
    them on a global weight-creation counter, which a graph would guard on (a recompile
    whenever any weight anywhere is created) and re-gather inside the trace (a graph
    break)."""
    layers, regularized = loss_sources
    total = None
    if model._compile_loss is not None:
        total = model._compile_loss(y, y_pred, sample_weight)
    for layer in layers:
        for extra in layer._losses:
            total = extra if total is None else total + extra
    for variable, regularizer in regularized:
        extra = regularizer(variable)
        total = extra if total is None else total + extra
    return total


def _loss_sources(model):
    """What `_total_loss` sums besides the compiled loss, current (None where the model
    overrides `compute_loss`: that one is traced as it is)."""
    if not _is_builtin(model, "compute_loss"):
        return None
    model._additional_losses()  # refreshes the cache it keeps on the model
    _, layers, regularized = model.__dict__["_loss_sources"]
    return layers, regularized


def _same_items(a, b):
    return a is not None and b is not None and len(a) == len(b) and all(
        x is y for x, y in zip(a, b))


def _same_sources(a, b):
    if a is None or b is None:
        return a is b
    return _same_items(a[0], b[0]) and _same_items(
        [item for pair in a[1] for item in pair], [item for pair in b[1] for item in pair])


def _detach_layer_losses(layers):
    """Detach the losses layers added in this step (`add_loss`, activity regularizers),
    which they keep until their next call: out of a graph, as a graph's outputs, and
    after an eager step, as inputs of the next trace (where a tensor that is not a leaf
    makes Dynamo warn about its `.grad`)."""
    for layer in layers:
        losses = layer._losses
        if losses:
            losses[:] = [loss.detach() for loss in losses]


def _compile(function, weights):
    """`torch.compile` of an own copy of `function` (see `step.own_copy`). On CPU, Inductor
    writes the graph's launcher in C++ (`cpp_wrapper`) rather than Python: measured on
    the tiny MLP step, 0.39x -> 0.33x of the hand-written loop at the same compile time
    (`benchmarks/fit_vs_torch.py --only tiny --jit`); larger steps are unchanged."""
    backend = step_functions.JIT_BACKEND
    options = None
    if backend == "inductor" and weights and weights[0].device.type == "cpu":
        options = {"cpp_wrapper": True}
    return torch.compile(step_functions.own_copy(function), backend=backend, options=options)


_POLYFILLS = []


def _register_polyfills():
    """Traceable stand-ins for helpers the eager step runs at C speed (registered on the
    first compile: importing Dynamo at `import lamina` would cost a second)."""
    if _POLYFILLS:
        return

    def all_tensors(values):  # Dynamo cannot iterate a module-level `itertools.repeat`
        return all(isinstance(value, torch.Tensor) for value in values)

    _POLYFILLS.append(torch.compiler.substitute_in_graph(update_utils.all_tensors)(
        all_tensors))


class _TracingAutogradOps:
    """`torch._dynamo.config.patch(trace_autograd_ops=True)` for one call, in 0.5 us
    rather than 30-100 us (a per-step cost of the tiny MLP's compiled step): Dynamo keeps
    each config override in a ContextVar, set here directly where it is one."""

    __slots__ = ("token", "patch")

    def __enter__(self):
        override = _autograd_ops_override()
        if override is not None:
            self.token, self.patch = (override, override.set(True)), None
        else:
            self.token, self.patch = None, torch._dynamo.config.patch(trace_autograd_ops=True)
            self.patch.__enter__()

    def __exit__(self, *exc_info):
        if self.token is not None:
            override, token = self.token
            override.reset(token)
        else:
            self.patch.__exit__(*exc_info)


def _autograd_ops_override():
    if not _OVERRIDE:
        entry = getattr(torch._dynamo.config, "_config", {}).get("trace_autograd_ops")
        override = getattr(entry, "user_override", None)
        _OVERRIDE.append(override if isinstance(override, contextvars.ContextVar) else None)
    return _OVERRIDE[0]


_OVERRIDE = []

# Most steps one compiled call unrolls (module docstring).
MAX_UNROLL = 8

_EAGER = "eager"  # `_plan`'s mark for batches run by the eager step


def _same_shapes(batches):
    """Whether every batch has the first one's structure, shapes and dtypes."""
    first = _signature(batches[0])
    return all(_signature(batch) == first for batch in batches[1:])


def _shapes(batch):
    return [tuple(leaf.shape) for leaf in pytree.tree_leaves(batch)
            if isinstance(leaf, torch.Tensor)]


def _signature(batch):
    leaves, spec = pytree.tree_flatten(batch)
    return spec, [(leaf.shape, leaf.dtype) if isinstance(leaf, torch.Tensor) else type(leaf)
                  for leaf in leaves]


class _CompiledTrainFunction:
    """`train_function(batches)` running each batch through the compiled step; returns
    the logs of the last one (as the eager function)."""

    def __init__(self, model):
        self.model = model
        self.eager = step_functions.train_function(model)
        self.failed = False
        self.trainable = None
        self.loss_sources = None
        self.layers = ()
        self.compiled = None
        self.steps = None  # the body of `unrolled`'s functions
        self.unrolled = {}  # number of steps -> compiled function running that many
        self.ran = False  # whether a compiled call has succeeded
        self.ran_unrolled = False  # whether an unrolled group has
        self.eager_shapes = []  # (steps, batch signature) whose compile failed

    def _refresh(self, trainable):
        """Called when the weight lists may have changed: a new step to compile if they
        did (returns whether)."""
        sources = _loss_sources(self.model)
        unchanged = (self.compiled is not None and _same_items(trainable, self.trainable)
                     and _same_sources(sources, self.loss_sources))
        self.trainable = trainable  # the cached list `_trainable_for_step` hands out now
        if unchanged:
            return False
        self.loss_sources = sources
        model = self.model
        self.layers = list(model._flatten_layers(include_self=True))

        layers = self.layers

        def step(x, y, sample_weight):
            _train_step_body(model, trainable, layers, sources, x, y, sample_weight)

        def steps(batches):  # Dynamo unrolls the loop: one graph of len(batches) steps
            for x, y, sample_weight in batches:
                _train_step_body(model, trainable, layers, sources, x, y, sample_weight)

        _register_polyfills()
        self.compiled = _compile(step, trainable)
        self.steps = steps
        self.unrolled = {}
        return True

    def _unrolled(self, count):
        """The compiled function running `count` steps (one code object per count: each
        is its own graph, none counts against another's recompile limit)."""
        compiled = self.unrolled.get(count)
        if compiled is None:
            compiled = self.unrolled[count] = _compile(self.steps, self.trainable)
        return compiled

    def __call__(self, batches):
        model = self.model
        trainable = model._trainable_for_step()
        if self.failed or not trainable:
            return self._eager(batches)
        if not model.built or not model.optimizer.built:
            # The first step builds what builds lazily, eagerly through and through:
            # the forward `fit` compiled would otherwise compile a training-mode graph
            # that the whole step, which inlines the forward, never runs.
            return self._eager(batches)
        if trainable is not self.trainable and self._refresh(trainable):
            # First call, or weights (un)frozen or created. NOTE: one group eagerly first,
            # to warm what the optimizer caches per list of weights (its plan, its slot
            # lists): filled inside the trace, they would fail the graph's guards. The
            # whole group: its last steps would compile a one-step graph that a group of
            # `steps_per_execution` steps never needs.
            logs = self._eager(batches)
            _detach_layer_losses(self.layers)
            return logs
        optimizer = model.optimizer
        token = TRAINING.set(True)
        if not model.training:
            model.train()  # compiled code reads module mode, not the context (context.py)
        optimizer._host_step_counted = False
        done = 0
        try:
            with _TracingAutogradOps():
                for count, function in self._plan(batches):
                    group = batches[done:done + count]
                    shape = (count, _signature(group[0])) if self.eager_shapes else None
                    if function is _EAGER or shape is not None and shape in self.eager_shapes:
                        self._eager_steps(group, optimizer)
                    else:
                        try:
                            if function is None:
                                self.compiled(*unpack_x_y_sample_weight(group[0]))
                            else:
                                function(tuple(unpack_x_y_sample_weight(b) for b in group))
                        except Exception as error:  # noqa: BLE001 - any compiler failure
                            if not self.ran:
                                self._fall_back(error)
                                optimizer._host_step_counted = True
                                return self._eager(batches[done:])
                            self._fall_back_for_shape(error, count, group, optimizer)
                        else:
                            self.ran = True
                            self.ran_unrolled = self.ran_unrolled or function is not None
                    done += count
                    torch.clear_autocast_cache()  # as the eager function (step.py)
        finally:
            optimizer._host_step_counted = True
            TRAINING.reset(token)
        return MetricLogs(model)

    def _fall_back_for_shape(self, error, count, group, optimizer):
        """A compile failed for a new batch shape (typically the last, smaller batch of
        an epoch, whose dynamic-shape graph Inductor cannot always lower) after other
        shapes compiled: batches of that shape train eagerly from now on, the others
        stay compiled. NOTE: a compile fails before the graph runs: no step was taken."""
        if not self.eager_shapes:
            step_functions.warn_compiler_failure(
                self.model, f"the train step for batches of shape "
                f"{_shapes(group[0])}", "those batches train", error, stacklevel=4)
        self.eager_shapes.append((count, _signature(group[0])))
        self._eager_steps(group, optimizer)

    def _eager_steps(self, group, optimizer):
        optimizer._host_step_counted = True
        try:
            self._eager(group)
        finally:
            optimizer._host_step_counted = False

    def _plan(self, batches):
        """(count, function) pairs running `batches` in order: a full group of
        `steps_per_execution` batches of one shape in calls of at most `MAX_UNROLL` steps
        each; the shorter last group of an epoch eagerly once full groups run compiled
        (`_EAGER`: a one-step graph for at most `steps_per_execution - 1` batches an epoch
        would cost a compile worth hundreds of epochs of them); anything else (batches
        of mixed shapes, `train_on_batch`, `steps_per_execution=1`) one step per call
        (`function` None)."""
        total, group = len(batches), self.model.steps_per_execution
        if total > 1 and total == group and _same_shapes(batches):
            size = min(total, MAX_UNROLL)
            counts = [min(size, total - start) for start in range(0, total, size)]
            return [(count, self._unrolled(count) if count > 1 else None) for count in counts]
        if total < group and self.ran_unrolled:
            return [(total, _EAGER)]
        return [(1, None)] * total

    def _eager(self, batches):
        with torch.compiler.set_stance("force_eager"):
            return self.eager(batches)

    def _fall_back(self, error):
        self.failed = True
        step_functions.warn_compiler_failure(self.model, "the train step", "training continues",
                                             error, stacklevel=3)
