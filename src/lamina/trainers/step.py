"""Step functions: what `fit`, `evaluate` and `predict` run on each group of batches.

Each wraps the model's overridable `train_step`/`test_step`/`predict_step` in the
training-flag scope (rule 3 of `backend/context.py`): every layer of the forward sees
`training=True` in `fit`, False elsewhere, however it is called. The trainer builds them
once per `compile()` and caches them on the model. `forward` and `track_loss` are the
parts of the built-in steps that this scope and the loss tracker shape.

`compile(jit_compile=True)` compiles the model's `forward` with `torch.compile` once the
model is built. Compiled code cannot read the flag's ContextVar (rules 1, 4 and 5 only),
so for such a model the step functions also switch the torch module mode, and each loop
puts back the mode it found (`restore_mode`). Where compiling that forward fails, the
inference functions rerun the batch with the plain forward, warn once and keep it
(`_continue_eagerly`); the train function does not (a training forward that ran in part,
up to a graph break, would have updated batch statistics once already).
"""

import itertools
import types
import warnings

import torch

from lamina.backend.context import TRAINING
from lamina.trainers.data.data_utils import batch_size_of

# torch.compile backend used by `compile(jit_compile=True)` (tests switch it to "eager").
JIT_BACKEND = "inductor"

# Where the trainer caches the step functions (`compile()` drops them).
CACHE_KEYS = ("_train_function", "_test_function", "_predict_function", "_auto_train_function")


def reads_module_mode(model):
    """Whether the model's forward is, or will be, compiled (and so reads module mode)."""
    return model._jit_compile or model.__dict__.get("_jit_done", False)


def forward(model, x, training):
    """`model(x)` in a step: the step functions have set the training scope already."""
    # NOTE: a plain call sees the same flag as `model(x, training=training)` and keeps the
    # model's fast path; the explicit argument serves a step called on its own.
    if TRAINING.get() is training:
        return model(x)
    return model(x, training=training)


def predict_eagerly(model, x):
    """`predict_function(model)((x,))[0]` for the built-in `predict_step` on a forward
    that is not compiled: the model called on `x` without gradients in an inference
    scope, minus the function's own layers (a few microseconds that a single-sample
    `predict_on_batch` of a small model notices)."""
    grad_mode = torch.is_grad_enabled()
    torch._C._set_grad_enabled(False)  # `torch.no_grad()` costs an object per call
    token = TRAINING.set(False)
    try:
        return model(x)
    finally:
        TRAINING.reset(token)
        torch._C._set_grad_enabled(grad_mode)


def track_loss(model, loss, x):
    """`loss_tracker.update_state(loss, sample_weight=batch_size)` in two kernels."""
    tracker = model._loss_tracker
    batch = batch_size_of(x) or 1
    with torch.no_grad():
        if tracker.total.device != loss.device:
            tracker._follow_device(loss)
        tracker.total.add_(loss.detach().to(tracker.total.dtype), alpha=batch)
        tracker.count.add_(batch)


def train_function(model):
    """`train_function(batches)`: `model.train_step` on each batch in a training scope;
    returns the last step's logs."""
    step = model.train_step
    compiled = reads_module_mode(model)

    def train_function(batches):
        token = TRAINING.set(True)
        if compiled and not model.training:
            model.train()
        try:
            for batch in batches:
                logs = step(batch)
                # NOTE: `torch.autocast` caches low-precision copies of the weights until
                # its block exits; around `fit` that is never, so the forward would keep
                # reading the first step's weights. 0.4 us per step.
                torch.clear_autocast_cache()
        finally:
            TRAINING.reset(token)
        return logs

    return train_function


def test_function(model):
    """As `train_function`, for `model.test_step`, in inference mode without gradients."""
    return _inference_function(model, model.test_step, every_result=False)


def predict_function(model):
    """As `test_function`, for `model.predict_step`; returns each batch's outputs."""
    return _inference_function(model, model.predict_step, every_result=True)


def _inference_function(model, step, every_result):
    compiled = reads_module_mode(model)

    @torch.no_grad()
    def inference_function(batches):
        token = TRAINING.set(False)
        if compiled and model.training:
            model.eval()
        results = []
        try:
            for batch in batches:
                results.append(step(batch))
        except Exception as error:  # noqa: BLE001 - a compiler failure is any exception
            if not compiled:
                raise
            _continue_eagerly(model, error, step, batches[len(results):], results)
        finally:
            TRAINING.reset(token)
        return results if every_result else results[-1]

    return inference_function


def _continue_eagerly(model, error, step, remaining, results):
    """After `step` raised `error` on `remaining[0]` with the model's forward compiled:
    rerun that batch with the plain forward. If it runs, the compiler failed: warn, keep
    the plain forward from then on and run the rest; if it raises too, that error is the
    step's own and propagates (the compiled forward stays).

    NOTE: an inference forward has no side effects that a rerun would repeat, so the
    results are those of `jit_compile=False`."""
    compiled_forward = model.__dict__.get("_compiled_call_impl")
    if compiled_forward is None:
        raise error
    model.__dict__["_compiled_call_impl"] = None
    try:
        results.append(step(remaining[0]))
    except Exception as eager_error:  # noqa: BLE001 - the step's own error
        model.__dict__["_compiled_call_impl"] = compiled_forward
        raise eager_error from None
    warn_compiler_failure(model, "the forward pass", "evaluation and prediction continue",
                          error, stacklevel=5)
    results.extend(step(batch) for batch in remaining[1:])


def warn_compiler_failure(model, what, continues, error, stacklevel):
    """The one warning `jit_compile=True` gives when compiling `what` failed."""
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    setting = 'jit_compile="auto"' if getattr(model, "_jit_auto", False) else "jit_compile=True"
    warnings.warn(
        f"`{setting}`: compiling {what} of model '{model.name}' failed "
        f"({reason[:300]}); {continues} eagerly. Pass `jit_compile=False` to `compile()` "
        "to silence this.",
        stacklevel=stacklevel + 1,
    )


def own_copy(function):
    """`function` with a code object of its own, under a name of its own. NOTE: Dynamo
    keeps compiled graphs per code object and gives up after `recompile_limit` (8) of
    them; every model's step and forward close over other objects, so sharing one code
    object would stop compiling at the ninth model of a process. And Dynamo remembers
    which input sizes changed per code location (file, line, name): under a shared
    name, a second model's first graph would come out dynamic in every size that
    differs from the first model's (a convnet's spatial sizes, which Inductor may then
    fail to lower)."""
    name = f"{function.__name__}_{next(_COPIES)}"
    code = function.__code__.replace(co_name=name, co_qualname=name)
    return types.FunctionType(code, function.__globals__, name, function.__defaults__,
                              function.__closure__)


_COPIES = itertools.count()


def compile_forward(model):
    """Compile `forward` for `jit_compile=True` once the model is built (a subclassed
    model builds on its first batch, which must not run inside the compiler). Returns
    whether nothing is left to do."""
    if not model._jit_compile or model.__dict__.get("_jit_done"):
        return True
    if not model.built:
        return False
    # What `nn.Module.compile` does, on a function of the model's own (see `own_copy`)
    call = model._call_impl

    def forward(*args, **kwargs):
        return call(*args, **kwargs)

    model.__dict__["_compiled_call_impl"] = torch.compile(own_copy(forward),
                                                          backend=JIT_BACKEND)
    model.__dict__["_jit_done"] = True
    return True


def restore_mode(model, mode):
    """Put back the torch module mode a loop found (the step functions of a compiled
    model switch it)."""
    if model.training is not mode:
        model.train(mode)
