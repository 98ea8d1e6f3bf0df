"""`Optimizer`: Keras 3's optimizer contract, updating with torch's multi-tensor kernels.

One `apply()` call is: drop missing gradients, unscale, (accumulate,) clip, decay, update,
(EMA,) constrain, count. Everything that depends only on *which* variables are updated
(slot lists, weight-decay subset, constrained variables) is resolved once per variable list
and cached in a `_Plan`; a step then runs a fixed number of `torch._foreach_*` calls.
"""

import numbers
import re
import warnings

import numpy as np
import torch

from lamina.backend import config, naming
from lamina.backend.convert import convert_to_tensor
from lamina.backend.dtypes import to_torch_dtype
from lamina.optimizers.schedules import learning_rate_schedule
from lamina.optimizers.schedules.learning_rate_schedule import LearningRateSchedule
from lamina.optimizers.update_utils import all_tensors, check_non_negative
from lamina.serialization import serialization
from lamina.variables import Variable

_NONE_ID = id(None)
_MAX_PLANS = 64


class _Plan:
    """What one list of variables resolves to: its slot indices and cached sub-lists."""

    def __init__(self, optimizer, variables):
        positions = range(len(variables))
        self.overwrite = [
            (p, variables[p]) for p in positions
            if getattr(variables[p], "overwrite_with_gradient", False)
        ]
        skip = {p for p, _ in self.overwrite}
        self.update_positions = [p for p in positions if p not in skip] if skip else None
        self.variables = [v for p, v in enumerate(variables) if p not in skip]
        self.indices = [optimizer._get_variable_index(v) for v in self.variables]
        self.decay = [v for v in self.variables if optimizer._use_weight_decay(v)]
        self.constrained = [v for v in self.variables if v.constraint is not None]
        self._gathered = {}

    def gather(self, per_variable):
        """`per_variable` (a list indexed like the built variables) restricted to this plan."""
        hit = self._gathered.get(id(per_variable))
        if hit is None or hit[0] is not per_variable:
            hit = (per_variable, [per_variable[i] for i in self.indices])
            self._gathered[id(per_variable)] = hit
        return hit[1]


class Optimizer:
    """Base class of all optimizers, with Keras 3's contract.

    Subclasses create their state in `build(var_list)` (call `super().build(var_list)`
    first, then `add_variable_from_reference`) and implement
    `update_step(gradient, variable, learning_rate)`. Built-in optimizers implement a
    multi-tensor `_parallel_update_step` instead, which updates all variables at once.

    Args:
        learning_rate: float, a `LearningRateSchedule`, or a no-argument callable.
        weight_decay: if set, decay weights by `weight_decay * learning_rate` each step.
        clipnorm: clip each gradient to this L2 norm.
        clipvalue: clip each gradient element to `[-clipvalue, clipvalue]`.
        global_clipnorm: clip all gradients together to this global L2 norm.
        use_ema: keep an exponential moving average of the weights.
        ema_momentum: momentum of that average.
        ema_overwrite_frequency: every this many iterations, copy the average into the
            weights (None: only when `finalize_variable_values` is called).
        loss_scale_factor: gradients are divided by it (the loss is multiplied by it in
            `scale_loss`).
        gradient_accumulation_steps: update every this many steps with the mean gradient.
        name: optimizer name (variable paths start with it).

    >>> import torch, lamina
    >>> class PlainSGD(lamina.optimizers.Optimizer):
    ...     def update_step(self, gradient, variable, learning_rate):
    ...         variable.sub_(gradient * learning_rate)
    >>> w = lamina.Variable([1.0, 2.0], name="w")
    >>> PlainSGD(learning_rate=0.5).apply([torch.tensor([1.0, 1.0])], [w])
    >>> w.numpy().tolist()
    [0.5, 1.5]
    """

    # False when a wrapper (LossScaleOptimizer) may revert steps on the device: the host copy
    # of the step count is then not used for the update math.
    _host_step_trusted = True
    # False while a compiled train step runs (trainers/compiled_step.py): a host int would
    # be a constant of its graph (a recompile per step); the stale `_host_step_version`
    # then makes the next eager read re-read the device.
    _host_step_counted = True

    def __init__(
        self,
        learning_rate,
        weight_decay=None,
        clipnorm=None,
        clipvalue=None,
        global_clipnorm=None,
        use_ema=False,
        ema_momentum=0.99,
        ema_overwrite_frequency=None,
        loss_scale_factor=None,
        gradient_accumulation_steps=None,
        name=None,
        **kwargs,
    ):
        if kwargs.pop("decay", None) is not None:
            warnings.warn("Argument `decay` is no longer supported and will be ignored.",
                          stacklevel=2)
        if kwargs:
            raise ValueError(f"Argument(s) not recognized: {kwargs}")
        set_clips = sum(c is not None for c in (clipnorm, clipvalue, global_clipnorm))
        if set_clips > 1:
            raise ValueError(
                "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. "
                f"Received: clipnorm={clipnorm}, clipvalue={clipvalue}, "
                f"global_clipnorm={global_clipnorm}"
            )
        for arg, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue),
                           ("global_clipnorm", global_clipnorm),
                           ("weight_decay", weight_decay)):
            check_non_negative(arg, value)
        if use_ema and not 0 <= ema_momentum <= 1:
            raise ValueError(
                f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}"
            )
        if ema_overwrite_frequency is not None and (
            int(ema_overwrite_frequency) != ema_overwrite_frequency or ema_overwrite_frequency < 0
        ):
            raise ValueError(
                "`ema_overwrite_frequency` must be a non-negative integer or None. "
                f"Received: ema_overwrite_frequency={ema_overwrite_frequency}"
            )
        if loss_scale_factor is not None and not loss_scale_factor > 0:
            raise ValueError(
                "Argument `loss_scale_factor` must be > 0. "
                f"Received: loss_scale_factor={loss_scale_factor}"
            )
        if gradient_accumulation_steps and (
            not gradient_accumulation_steps >= 2
            or int(gradient_accumulation_steps) != gradient_accumulation_steps
        ):
            raise ValueError(
                "`gradient_accumulation_steps` must be an integer >= 2. "
                f"Received: gradient_accumulation_steps={gradient_accumulation_steps}"
            )
        self.name = name or naming.unique_name(naming.to_snake_case(type(self).__name__))
        self.weight_decay = weight_decay
        self.clipnorm = clipnorm
        self.clipvalue = clipvalue
        self.global_clipnorm = global_clipnorm
        self.use_ema = use_ema
        self.ema_momentum = ema_momentum
        self.ema_overwrite_frequency = ema_overwrite_frequency
        self.loss_scale_factor = loss_scale_factor
        self.gradient_accumulation_steps = gradient_accumulation_steps
        self.built = False
        self._variables = []
        self._trainable_variables = []
        self._trainable_variables_indices = {}
        self._plans = {}
        self._ema_pairs = None
        self._exclude_from_weight_decay = set()
        self._exclude_from_weight_decay_pattern = None
        self._iterations = self._new_variable(
            torch.zeros((), dtype=torch.int32), "iteration", dtype="int32"
        )
        # A host copy of `iterations` for decisions taken in Python (accumulate or update?
        # overwrite with EMA?), re-read from the device only after someone else wrote it.
        self._host_step = 0
        self._host_step_version = self._iterations._version
        self._learning_rate = self._build_learning_rate(learning_rate)
        self._host_learning_rate = None
        self._host_learning_rate_version = -1
        # Keras' extension point is `update_step`: a subclass that overrides it (even one of
        # a built-in) is stepped through it, variable by variable.
        self._per_variable_updates = (type(self).update_step is not Optimizer.update_step
                                      or not hasattr(self, "_parallel_update_step"))

    # -- state -----------------------------------------------------------------------------
    def _new_variable(self, value, name, dtype=None):
        variable = Variable(value, dtype=dtype, trainable=False, name=name)
        if isinstance(value, torch.Tensor) and variable.device != value.device:
            variable.data = variable.data.to(value.device)
        variable._path = f"{self.name}/{name}"
        self._variables.append(variable)
        return variable

    def _build_learning_rate(self, learning_rate):
        if isinstance(learning_rate, LearningRateSchedule) or callable(learning_rate):
            return learning_rate
        value = self._check_learning_rate(learning_rate)
        return self._new_variable(torch.tensor(value, dtype=torch.float32), "learning_rate")

    @staticmethod
    def _check_learning_rate(learning_rate):
        if isinstance(learning_rate, bool) or not isinstance(
            learning_rate, (numbers.Real, np.ndarray, torch.Tensor)
        ):
            raise ValueError(
                "Argument `learning_rate` should be float, or an instance of "
                "LearningRateSchedule, or a callable (that takes in the current iteration "
                f"value and returns the corresponding learning rate value). Received instead: "
                f"learning_rate={learning_rate!r}"
            )
        value = float(learning_rate)
        if not value >= 0:
            raise ValueError(
                f"Argument `learning_rate` must be >= 0. Received: learning_rate={value}"
            )
        return value

    def add_variable(self, shape, initializer="zeros", dtype=None, aggregation="none",
                     layout=None, name=None):
        """Create an optimizer state Variable (non-trainable) and track it in `variables`."""
        shape = tuple(int(d) for d in shape)
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            fill = torch.zeros if initializer == "zeros" else torch.ones
            initializer = fill(shape, dtype=to_torch_dtype(dtype or config.floatx()))
        variable = Variable(initializer, shape=shape, dtype=dtype, trainable=False,
                            name=name or "variable")
        variable._path = f"{self.name}/{variable.name}"
        self._variables.append(variable)
        return variable

    def add_variable_from_reference(self, reference_variable, name=None, initializer="zeros"):
        """A state Variable shaped, typed and placed like `reference_variable`.

        It is named `<reference path with '/' as '_'>_<name>`, as Keras names it.
        """
        prefix = str(getattr(reference_variable, "path", None) or reference_variable.name)
        full_name = f"{prefix.replace('/', '_')}_{name}"
        if isinstance(initializer, str) and initializer in ("zeros", "ones"):
            fill = torch.zeros_like if initializer == "zeros" else torch.ones_like
            value = fill(reference_variable, memory_format=torch.preserve_format)
            return self._new_variable(value.detach(), full_name, dtype=value.dtype)
        variable = self.add_variable(reference_variable.shape, initializer,
                                     dtype=reference_variable.dtype, name=full_name)
        if variable.device != reference_variable.device:
            variable.data = variable.data.to(reference_variable.device)
        return variable

    def add_optimizer_variables(self, trainable_variables, name, initializer="zeros"):
        """One slot per variable for `name` (a list), or per name in a list (a tuple of lists).

        Slots are created variable by variable; variables that are overwritten with their
        gradient get `None`.
        """
        names = [name] if isinstance(name, str) else list(name)
        slots = [[] for _ in names]
        for variable in trainable_variables:
            for slot, slot_name in zip(slots, names):
                if getattr(variable, "overwrite_with_gradient", False):
                    slot.append(None)
                else:
                    slot.append(self.add_variable_from_reference(variable, slot_name,
                                                                 initializer))
        return slots[0] if isinstance(name, str) else tuple(slots)

    def build(self, var_list):
        """Create the state for `var_list` (subclasses call this first, then add slots)."""
        var_list = list(var_list)
        if var_list:
            device = var_list[0].device
            for scalar in (self._iterations, self._learning_rate):
                if isinstance(scalar, Variable) and scalar.device != device:
                    scalar.data = scalar.data.to(device)
            self._host_step_version = self._iterations._version
        if self.use_ema:
            self._model_variables_moving_average = self.add_optimizer_variables(
                var_list, "average")
        if self.gradient_accumulation_steps:
            self._accumulated_gradients = [
                self.add_variable_from_reference(v, "gradient_accumulator") for v in var_list
            ]
        self._trainable_variables = var_list
        self._trainable_variables_indices = {id(v): i for i, v in enumerate(var_list)}
        self._plans.clear()
        self._ema_pairs = None
        self.built = True

    @property
    def variables(self):
        """All state Variables, in Keras' order (iteration, learning_rate, slots...)."""
        return self._variables[:]

    @property
    def iterations(self):
        """The step counter (counting updates, not micro-steps, under accumulation)."""
        if self.gradient_accumulation_steps:
            return torch.floor_divide(self._iterations, int(self.gradient_accumulation_steps))
        return self._iterations

    @property
    def learning_rate(self):
        """The current learning rate: a Variable, or a schedule's value at this step."""
        return self._get_current_learning_rate()

    @learning_rate.setter
    def learning_rate(self, value):
        if isinstance(value, LearningRateSchedule) or callable(value):
            self._learning_rate = value
            return
        if not isinstance(self._learning_rate, Variable):
            raise TypeError(
                f"Optimizer '{self.name}' was created with a `LearningRateSchedule` or a "
                "callable as its `learning_rate`, hence its learning rate is not settable "
                "to a number. Create the optimizer with a float `learning_rate` to set it."
            )
        self._learning_rate.assign(self._check_learning_rate(value))

    def _get_current_learning_rate(self):
        lr = self._learning_rate
        if isinstance(lr, LearningRateSchedule):
            return lr(self._iterations)
        if isinstance(lr, Variable):
            return lr
        if callable(lr):
            return lr()
        return lr

    def _step_learning_rate(self):
        """The learning rate for the multi-tensor path: a Python float when it is a plain
        Variable (read from the device only after it was written, e.g. by a callback), so
        scaling fuses into the `alpha=`/`value=` of one kernel; a tensor otherwise (schedules,
        callables, and under `torch.compile`, which must not bake step-varying floats)."""
        lr = self._learning_rate
        if (not isinstance(lr, Variable) or not self._host_step_trusted
                or torch.compiler.is_compiling()):
            return self._get_current_learning_rate()
        if lr._version != self._host_learning_rate_version:
            self._host_learning_rate = float(lr)
            self._host_learning_rate_version = lr._version
        return self._host_learning_rate

    def _update_count(self, on_host):
        """`iterations + 1` (for bias corrections): an int from the host copy if `on_host`
        (pass `isinstance(learning_rate, float)`), else a float32 device tensor."""
        if on_host:
            step, steps = self._current_host_step(), self.gradient_accumulation_steps
            return (step // int(steps) if steps else step) + 1
        return (self.iterations + 1).to(torch.float32)

    def _var_key(self, variable):
        return id(variable)

    def _get_variable_index(self, variable):
        index = self._trainable_variables_indices.get(id(variable))
        if index is None:
            raise ValueError(
                f"Unknown variable: {getattr(variable, 'path', variable)!r}. Optimizer "
                f"'{self.name}' can only be called for the variables it was originally built "
                "with. When working with a new set of variables, create a new optimizer."
            )
        return index

    def _current_host_step(self):
        if (self._iterations._version != self._host_step_version
                or not self._host_step_trusted):
            self._host_step = int(self._iterations)  # written from outside (e.g. loaded)
            self._host_step_version = self._iterations._version
        return self._host_step

    # -- weight decay ----------------------------------------------------------------------
    def exclude_from_weight_decay(self, var_list=None, var_names=None):
        """Exempt these variables, or variables whose name matches one of `var_names`."""
        self._exclude_from_weight_decay = {id(v) for v in var_list or ()}
        self._exclude_from_weight_decay_pattern = (
            re.compile("|".join(set(var_names))) if var_names else None
        )
        self._plans.clear()

    def _use_weight_decay(self, variable):
        return self.weight_decay is not None and not self._excluded_from_weight_decay(variable)

    def _excluded_from_weight_decay(self, variable):
        if id(variable) in self._exclude_from_weight_decay:
            return True
        pattern = self._exclude_from_weight_decay_pattern
        return pattern is not None and pattern.search(variable.name) is not None

    # -- the step --------------------------------------------------------------------------
    def apply_gradients(self, grads_and_vars):
        """`apply` for a sequence of `(gradient, variable)` pairs; returns `iterations`."""
        grads, trainable_variables = zip(*grads_and_vars)
        self.apply(grads, trainable_variables)
        return self._iterations

    def apply(self, grads, trainable_variables=None):
        """Update `trainable_variables` (default: those built with) from `grads`, one each."""
        grads = list(grads)
        if not grads:
            return
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    f"Optimizer '{self.name}' received `grads` without `trainable_variables`"
                    " before being built. Call `optimizer.build(trainable_variables)` first "
                    "or pass the variables."
                )
            variables = self._trainable_variables
        else:
            variables = list(trainable_variables)
            if not self.built:
                self.build(variables)
        if len(grads) != len(variables):
            raise ValueError(
                f"Optimizer '{self.name}' expects one gradient per variable. Received "
                f"{len(grads)} gradients for {len(variables)} variables."
            )
        if not all_tensors(grads):  # a missing gradient, or an array or list
            grads = self._gradients_as_tensors(grads, variables)
            if _NONE_ID in map(id, grads):
                grads, variables = self._filter_empty_gradients(grads, variables)
        key = tuple(map(id, variables))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            plan = self._plans[key] = _Plan(self, variables)
        with torch.no_grad():
            if plan.overwrite:
                self._overwrite_with_gradients(grads, plan)
                grads = [grads[p] for p in plan.update_positions]
            if grads:
                if self.loss_scale_factor is not None:
                    grads = torch._foreach_div(grads, self.loss_scale_factor)
                self._apply_update(grads, plan)
                for variable in plan.constrained:
                    variable.copy_(variable.constraint(variable))
            self._iterations.add_(1)
        if self._host_step_counted:
            self._host_step += 1
            self._host_step_version = self._iterations._version

    @staticmethod
    def _gradients_as_tensors(grads, variables):
        """`grads` with numpy arrays, Python numbers and lists made tensors of their
        variable's dtype and device (Keras accepts them); None (no gradient) is kept."""
        return [
            g if g is None or isinstance(g, torch.Tensor)
            else convert_to_tensor(g, dtype=v.dtype).to(v.device)
            for g, v in zip(grads, variables)
        ]

    def _filter_empty_gradients(self, grads, variables):
        kept = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if not kept:
            raise ValueError(
                f"No gradients provided for any variable (optimizer '{self.name}')."
            )
        missing = [getattr(v, "path", v.name) for g, v in zip(grads, variables) if g is None]
        warnings.warn(
            f"Gradients do not exist for variables {missing} when minimizing the loss. If "
            "using `model.compile()`, did you forget to provide a `loss` argument?",
            stacklevel=3,
        )
        return [g for g, _ in kept], [v for _, v in kept]

    def _overwrite_with_gradients(self, grads, plan):
        # Variables such as float8 scales take their "gradient" as their new value.
        steps = self.gradient_accumulation_steps
        for position, variable in plan.overwrite:
            grad = grads[position]
            if not steps:
                variable.copy_(grad)
                continue
            accumulator = self._accumulated_gradients[self._get_variable_index(variable)]
            if (self._current_host_step() + 1) % int(steps) == 0:
                variable.copy_(torch.maximum(grad, accumulator))
                accumulator.zero_()
            else:
                accumulator.copy_(torch.maximum(grad, accumulator))

    def _apply_update(self, grads, plan):
        steps = self.gradient_accumulation_steps
        step = self._current_host_step() if (steps or self.use_ema) else 0
        if steps:
            steps = int(steps)
            accumulators = plan.gather(self._accumulated_gradients)
            if (step + 1) % steps != 0:
                torch._foreach_add_(accumulators, grads)
            else:
                grads = torch._foreach_add(grads, accumulators)
                torch._foreach_div_(grads, steps)
                self._clip_decay_update(grads, plan)
                torch._foreach_zero_([a for a in self._accumulated_gradients if a is not None])
        else:
            self._clip_decay_update(grads, plan)
        if self.use_ema:
            self._update_moving_average(step // steps if steps else step)

    def _clip_decay_update(self, grads, plan):
        grads = self._clip_gradients(grads)
        if self._per_variable_updates:
            learning_rate = self._get_current_learning_rate()
            self._apply_weight_decay(plan, learning_rate)
            for grad, variable in zip(grads, plan.variables):
                self.update_step(grad, variable, learning_rate)
        else:
            learning_rate = self._step_learning_rate()
            self._apply_weight_decay(plan, learning_rate)
            self._parallel_update_step(grads, plan.variables, learning_rate, plan)

    def _apply_weight_decay(self, plan, learning_rate):
        """Decoupled decay, `variable *= 1 - weight_decay * learning_rate`, before the update."""
        if plan.decay:
            torch._foreach_mul_(plan.decay, 1 - self.weight_decay * learning_rate)

    def _clip_gradients(self, grads):
        if self.clipnorm:
            norms = torch._foreach_norm(grads)
            torch._foreach_clamp_min_(norms, self.clipnorm)
            torch._foreach_reciprocal_(norms)
            torch._foreach_mul_(norms, self.clipnorm)
            return torch._foreach_mul(grads, norms)
        if self.global_clipnorm:
            total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
            # `total - total` turns the scale into NaN when the norm is not finite.
            scale = self.global_clipnorm * torch.clamp(
                total.reciprocal(), max=1.0 / self.global_clipnorm) + (total - total)
            return torch._foreach_mul(grads, scale)
        if self.clipvalue:
            clipped = torch._foreach_clamp_min(grads, -self.clipvalue)
            torch._foreach_clamp_max_(clipped, self.clipvalue)
            return clipped
        return grads

    def _moving_average_pairs(self):
        if self._ema_pairs is None:
            pairs = [(v, a) for v, a in zip(self._trainable_variables,
                                            self._model_variables_moving_average)
                     if a is not None]
            self._ema_pairs = ([v for v, _ in pairs], [a for _, a in pairs])
        return self._ema_pairs

    def _update_moving_average(self, iteration):
        variables, averages = self._moving_average_pairs()
        momentum = self.ema_momentum if iteration != 0 else 0.0
        torch._foreach_lerp_(averages, variables, 1.0 - momentum)
        frequency = self.ema_overwrite_frequency
        if frequency and (iteration + 1) % frequency == 0:
            torch._foreach_copy_(variables, averages)

    def update_step(self, gradient, variable, learning_rate):
        """Update one `variable` from its `gradient`: implement in subclasses.

        Built-in optimizers implement `_parallel_update_step(grads, variables,
        learning_rate, plan)` instead, which this runs on a one-variable plan.
        """
        parallel_update_step = getattr(self, "_parallel_update_step", None)
        if parallel_update_step is None:
            raise NotImplementedError(
                f"{type(self).__name__} must implement `update_step(gradient, variable, "
                "learning_rate)`."
            )
        plan = self._single_variable_plan(variable)
        parallel_update_step([gradient], [variable], learning_rate, plan)

    def _single_variable_plan(self, variable):
        key = (id(variable),)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self, [variable])
        return plan

    def finalize_variable_values(self, var_list):
        """At the end of training, write the moving averages into the weights (EMA only)."""
        if not self.use_ema:
            return
        with torch.no_grad():
            for variable in var_list:
                average = self._model_variables_moving_average[self._get_variable_index(variable)]
                if average is not None:
                    variable.copy_(average)

    # -- helpers Keras subclasses use ------------------------------------------------------
    def assign(self, variable, value):
        """Write `value` into `variable`."""
        variable.assign(value)

    def assign_add(self, variable, value):
        """Add `value` to `variable` in place."""
        variable.assign_add(value)

    def assign_sub(self, variable, value):
        """Subtract `value` from `variable` in place."""
        variable.assign_sub(value)

    def scale_loss(self, loss):
        """Multiply `loss` by `loss_scale_factor` when set."""
        return loss if self.loss_scale_factor is None else loss * self.loss_scale_factor

    # -- saving ----------------------------------------------------------------------------
    def save_own_variables(self, store):
        """Write `variables` into `store` under keys `"0"`, `"1"`, ... (Keras' h5 layout)."""
        for i, variable in enumerate(self._variables):
            store[str(i)] = variable.numpy()

    def load_own_variables(self, store):
        """Read `variables` back from `save_own_variables`' store."""
        if len(store.keys()) != len(self._variables):
            warnings.warn(
                f"Skipping variable loading for optimizer '{self.name}': it has "
                f"{len(self._variables)} variables but the saved state has {len(store.keys())}"
                " (was the optimizer built on the model's variables?).",
                stacklevel=2,
            )
            return
        for i, variable in enumerate(self._variables):
            value = torch.as_tensor(np.array(store[str(i)]), device=variable.device)
            variable.assign(value.to(variable.dtype))

    def get_config(self):
        lr = self._learning_rate
        if isinstance(lr, Variable):
            lr = float(lr.detach().cpu())
        else:
            lr = serialization.serialize_keras_object(lr)
        return {
            "name": self.name,
            "learning_rate": lr,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "global_clipnorm": self.global_clipnorm,
            "clipvalue": self.clipvalue,
            "use_ema": self.use_ema,
            "ema_momentum": self.ema_momentum,
            "ema_overwrite_frequency": self.ema_overwrite_frequency,
            "loss_scale_factor": self.loss_scale_factor,
            "gradient_accumulation_steps": self.gradient_accumulation_steps,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """Rebuild the optimizer from `get_config()` (schedules included)."""
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = serialization.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects,
                module_objects=learning_rate_schedule.ALL_OBJECTS_DICT)
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"

