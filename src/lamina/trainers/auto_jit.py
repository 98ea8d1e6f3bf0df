"""`compile(jit_compile="auto")`, the default: compile the whole train step only where it
pays, decided from the first epoch's measurement.

Keras on torch makes "auto" mean eager. lamina starts eager too, and after the first
epoch compiles the whole step (`compiled_step`) for the epochs left when all of these hold:

- the step can be compiled as one graph at all (`compiled_step.can_compile_whole_step`);
- every layer is one of lamina's own, from a family where a compiled step measured faster
  than the eager one (`FAMILIES`: dense, attention, normalization, embedding, activation,
  dropout, merging, reshaping layers; convolutions and RNNs measured slower compiled on
  CPU, and a user's own layer may have Python side effects a graph would drop);
- the eager epochs left would take at least `MIN_REMAINING_SECONDS` (10 minutes): compiling
  costs seconds to minutes (measured 5-100 s on a 2-core CPU) and saves at most half a
  step, so shorter runs never earn it back.

The epoch after the switch pays the compile; the one after that is timed, and if it was
not at least `MIN_SPEEDUP` faster per step than the eager epoch the rest of training
goes back to the eager step. A failed compile falls back to eager as under
`jit_compile=True`. Evaluation and prediction stay eager. Timing uses the host clock
around a whole epoch's batches, read once per epoch after the epoch's metrics are read
back (which waits for the device): nothing is added to a step.
"""

import time

from lamina.trainers import compiled_step

MIN_REMAINING_SECONDS = 600.0
MIN_SPEEDUP = 1.1

# Modules of the layer families whose models compile to a faster step (measured with
# benchmarks/record.py: MLP, tiny MLP, transformer encoder).
FAMILIES = tuple("lamina.layers." + family for family in (
    "core", "attention", "normalization", "activations", "regularization", "merging",
    "reshaping")) + ("lamina.models", "lamina.layers.input_layer")


def layers_compile_well(model):
    """Whether every layer of `model` (itself included) is one of lamina's own classes
    from `FAMILIES`: no user subclass, no convolution or RNN, no wrapped torch module."""
    for layer in model._flatten_layers(include_self=True):
        module = type(layer).__module__
        if not any(module == family or module.startswith(family + ".")
                   for family in FAMILIES):
            return False
        if module.startswith("lamina.models") and not _is_plain_model(layer):
            return False
    return True


def _is_plain_model(model):
    """A `Sequential` or functional model as lamina makes them: lamina's own `call`.
    (By name: trainers sit below models and import nothing from them.)"""
    cls = type(model)
    return (cls.__module__, cls.__qualname__) in _PLAIN_MODELS


_PLAIN_MODELS = {("lamina.models.functional", "Functional"),
                 ("lamina.models.sequential", "Sequential")}


def pays_off(eager_step_seconds, remaining_steps):
    """The rule on the first epoch's measurement: enough eager work is left to earn a
    compile back."""
    return eager_step_seconds * remaining_steps >= MIN_REMAINING_SECONDS


class AutoJit:
    """The "auto" decision for one `fit` call: `epoch_begin()` and `epoch_end(...)`
    around each epoch's batches; `epoch_end` returns a new train function when the
    step switches (compiled, or back to eager), else None."""

    def __init__(self, model, epochs):
        self.model = model
        self.epochs = epochs
        self.state = "eager" if model._jit_auto and not model._run_eagerly else "off"
        self.eager_step = None
        self.started = None

    def epoch_begin(self):
        if self.state != "off":
            self.started = time.perf_counter()

    def epoch_end(self, epoch, steps):
        if self.state == "off" or not steps:
            return None
        seconds = (time.perf_counter() - self.started) / steps
        if self.state == "eager":
            self.state = "off"  # one decision per fit
            remaining = (self.epochs - epoch - 1) * steps
            if (remaining and pays_off(seconds, remaining)
                    and compiled_step.can_compile_whole_step(self.model)
                    and layers_compile_well(self.model)):
                self.eager_step = seconds
                self.state = "compiling"
                return compiled_step.compiled_train_function(self.model)
            return None
        if self.state == "compiling":  # this epoch paid the compile: time the next
            self.state = "timing"
            return None
        self.state = "off"  # timing: keep the compiled step only if it is faster
        if seconds * MIN_SPEEDUP > self.eager_step:
            return self.model.make_train_function()  # the eager one `fit` started with
        return None
