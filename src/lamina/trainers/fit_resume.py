"""Resuming an interrupted `fit` exactly (`BackupAndRestore`): what a run needs beyond the
weights and optimizer variables, and putting it back when the next `fit` starts.

`Model._fit_state()` (saved by the callback) calls `fit_state`; the callback hands the
state back through `Model._resume_fit`, and `fit` calls `restore_fit_state` after
`on_train_begin`.
"""

import torch

from lamina.utils.rng_utils import get_rng_state, set_rng_state


def fit_state(model):
    """What the running `fit` needs to go on exactly as if never interrupted: the data
    order and the position in it, the metric accumulators, the random generators (the
    global ones and the model's seed generators) and the callbacks' progress. Host
    copies, made only when asked."""
    iterator = model.__dict__.get("_fit_iterator")
    callbacks = getattr(model.__dict__.get("_fit_callbacks"), "callbacks", ())
    return {
        "data": None if iterator is None else iterator.get_state(),
        "metrics": [_host_copy(v) for v in model.metrics_variables],
        "seeds": [_host_copy(v) for v in _unsaved_variables(model)],
        "rng": get_rng_state(),
        "callbacks": [[type(c).__name__, c._get_resume_state()] for c in callbacks],
    }


def restore_fit_state(model, resume, iterator, callbacks):
    """Put back `resume = (epoch, step, fit_state)`; returns the metric state to load
    once the first epoch's metrics are reset (None to start them afresh)."""
    _, step, state = resume
    if state is None:
        return None
    metrics = state["metrics"] if step is not None else None
    if (metrics is not None and state["data"] is not None
            and len(model.metrics_variables) != len(metrics)):
        # Compiled metrics are routed on their first batch: evaluate one batch to
        # create them (the data position and the generators are put back below).
        model.make_test_function()((iterator.single_batch(),))
    first = iterator.resume(state["data"], 0 if step is None else step + 1)
    if not first or len(model.metrics_variables) != len(metrics or ()):
        metrics = None
    assign_all(_unsaved_variables(model), state["seeds"])
    # Matched by class and rank among callbacks of that class, so adding or dropping
    # another kind of callback on restart does not shift them.
    saved = dict(zip(_callback_keys(name for name, _ in state["callbacks"]),
                     (entry for _, entry in state["callbacks"])))
    names = [type(c).__name__ for c in callbacks.callbacks]
    for callback, key in zip(callbacks.callbacks, _callback_keys(names)):
        if saved.get(key) is not None:
            callback._set_resume_state(saved[key])
    set_rng_state(state["rng"])
    return metrics


def assign_all(variables, values):
    """Load saved values into `variables` (same order), on each variable's device."""
    if len(variables) != len(values):
        return
    with torch.no_grad():
        for variable, value in zip(variables, values):
            variable.copy_(value.to(variable.device))


def _unsaved_variables(model):
    """Variables that `save_weights` leaves out: the seed generators' states."""
    saved = {id(v) for v in model.weights}
    return [v for v in model.variables if id(v) not in saved]


def _host_copy(variable):
    return variable.detach().cpu().clone()


def _callback_keys(names):
    """`(class name, how many of that class came before)` for each name in turn."""
    seen = {}
    keys = []
    for name in names:
        keys.append((name, seen.get(name, 0)))
        seen[name] = seen.get(name, 0) + 1
    return keys
