"""Step functions: what `fit`, `evaluate` and `predict` run on each group of batches.

Each wraps the model's overridable `train_step`/`test_step`/`predict_step` in the
training-flag scope (rule 3 of `backend/context.py`): every layer of the forward sees
`training=True` in `fit`, False elsewhere, however it is called. The trainer builds them
once per `compile()` and caches them on the model. `forward` and `track_loss` are the
parts of the built-in steps that this scope and the loss tracker shape.

`compile(jit_compile=True)` compiles the model's `forward` with `torch.compile` once the
model is built. Compiled code cannot read the flag's ContextVar (rules 1, 4 and 5 only),
so for such a model the step functions also switch the torch module mode, and each loop
puts back the mode it found (`restore_mode`).
"""

import torch

from lamina.backend.context import TRAINING
from lamina.trainers.data.data_utils import batch_size_of

# torch.compile backend used by `compile(jit_compile=True)` (tests switch it to "eager").
JIT_BACKEND = "inductor"

# Where the trainer caches the step functions (`compile()` drops them).
CACHE_KEYS = ("_train_function", "_test_function", "_predict_function")


def _reads_module_mode(model):
    """Whether the model's forward is, or will be, compiled (and so reads module mode)."""
    return model._jit_compile or model.__dict__.get("_jit_done", False)


def forward(model, x, training):
    """`model(x)` in a step: the step functions have set the training scope already."""
    # NOTE: a plain call sees the same flag as `model(x, training=training)` and keeps the
    # model's fast path; the explicit argument serves a step called on its own.
    if TRAINING.get() is training:
        return model(x)
    return model(x, training=training)


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
    compiled = _reads_module_mode(model)

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
    compiled = _reads_module_mode(model)

    @torch.no_grad()
    def inference_function(batches):
        token = TRAINING.set(False)
        if compiled and model.training:
            model.eval()
        try:
            results = [step(batch) for batch in batches]
        finally:
            TRAINING.reset(token)
        return results if every_result else results[-1]

    return inference_function


def compile_forward(model):
    """Compile `forward` for `jit_compile=True` once the model is built (a subclassed
    model builds on its first batch, which must not run inside the compiler). Returns
    whether nothing is left to do."""
    if not model._jit_compile or model.__dict__.get("_jit_done"):
        return True
    if not model.built:
        return False
    torch.nn.Module.compile(model, backend=JIT_BACKEND)
    model.__dict__["_jit_done"] = True
    return True


def restore_mode(model, mode):
    """Put back the torch module mode a loop found (the step functions of a compiled
    model switch it)."""
    if model.training is not mode:
        model.train(mode)
