"""Variables sharded by a `ModelParallel` layout map inside `fit`, with torch's FSDP2.

`ModelSharding(model, distribution)` finds the trainable variables whose layout (looked up
by path in the `LayoutMap`) splits a dimension over a mesh axis of size > 1. `attach()`
hands them to `torch.distributed.fsdp.fully_shard` on that axis of the torch
`DeviceMesh` (`Shard(dim)` placements; a mesh whose batch axis is larger than 1 gives
HSDP: replicated over the batch axis, sharded over the other). Every other parameter is
left to FSDP's `ignored_params` and its gradient averaged over the processes with one
all-reduce. Gradients reaching the model's outputs are first weighed by the process's
share of the global batch (see `attach`), so an uneven last batch averages as in one
process (a loss a layer adds with `add_loss` inside `call` does not pass through the
outputs: in an uneven last batch under HSDP its gradient is averaged over replicas).

FSDP2 is applied to a throwaway shell module holding the model, so the model keeps its
class (saving inside `fit` writes the model's own class name) and the shell's hooks are
called from forward hooks on the model, as `trainers/distributed.py` does with DDP. FSDP
gathers each sharded weight before the forward, frees it afterwards and reduce-scatters
its gradient in the backward, all with torch's collectives.

The lamina `Variable`s stay the objects the optimizer, callbacks and saving know: while
training, each sharded one *is* this process's shard (its `.data` aliases FSDP's local
shard, so the optimizer's in-place update is what FSDP gathers next), its gradient is
FSDP's reduced local gradient, and the optimizer's slots for it are shards too. At the
points where a callback may read or save weights (the end of each epoch; every step when
a callback reads batch logs) `gather()` puts the full values into the Variables and slots
on every process and back into the layers (forward passes run on them, without FSDP,
until then); the next step's `scatter()` copies them back into the shards (so a callback's
`set_weights` is kept) and hands the layers FSDP's sharded parameters again. `detach()`
at the end of `fit` gathers and gives the model its whole Variables back: after `fit`,
`model.save` and `get_weights` are those of an unsharded model.
"""

import torch
import torch.distributed as dist

from lamina import tree


class ModelSharding:
    """FSDP2 over the variables a `ModelParallel` layout map shards; see the module."""

    def __init__(self, model, distribution):
        self.model = model
        self.distribution = distribution
        mesh = distribution.device_mesh
        self.sizes = dict(zip(mesh.axis_names, mesh.shape))
        self.batch_axis = distribution.batch_dim_name
        self.plan = None  # [(module, name, variable, dim)], made once the model is built
        self.axis = None
        self._entries = []  # [(variable or slot, its local shard, dim)]
        self._pairs = []  # [(variable, FSDP's sharded parameter)]
        self._replicated = []
        self._slots_done = False
        self._gathered = False
        self._shell = None
        self._queued = False

    # -- which variables --------------------------------------------------------------------
    def make_plan(self):
        """The sharded variables of the (built) model; checks each layout against it."""
        owners = {}
        for module in self.model.modules():
            for name, parameter in module._parameters.items():
                if parameter is not None:
                    owners.setdefault(id(parameter), (module, name))
        plan, axes = [], set()
        for variable in self.model.trainable_weights:
            layout = self.distribution.layout_map[variable.path]
            if layout is None:
                continue
            if len(layout.axes) != variable.ndim:
                raise ValueError(
                    f"The layout of variable '{variable.path}' names {len(layout.axes)} "
                    f"axes, but the variable has {variable.ndim} dimensions (shape "
                    f"{tuple(variable.shape)}). Received layout axes: {layout.axes}"
                )
            dims = [(d, axis) for d, axis in enumerate(layout.axes)
                    if axis is not None and axis != self.batch_axis and self.sizes[axis] > 1]
            if not dims:
                continue
            if len(dims) > 1:
                raise NotImplementedError(
                    f"Variable '{variable.path}': sharding more than one dimension is not "
                    f"supported in `fit` (FSDP2 shards one). Received layout axes: "
                    f"{layout.axes}"
                )
            dim, axis = dims[0]
            axes.add(axis)
            size = self.sizes[axis]
            if variable.shape[dim] % size:
                raise ValueError(
                    f"Variable '{variable.path}' of shape {tuple(variable.shape)} cannot be "
                    f"split evenly over mesh axis '{axis}' ({size} devices) along dimension "
                    f"{dim}: its size must be a multiple of {size}."
                )
            if variable.regularizer is not None or variable.constraint is not None:
                raise ValueError(
                    f"Variable '{variable.path}' has a regularizer or constraint, which "
                    "would only see this process's shard when sharded. Remove it from the "
                    "LayoutMap (keep it replicated) or drop the regularizer/constraint."
                )
            if id(variable) not in owners:
                raise ValueError(
                    f"Variable '{variable.path}' is not a parameter of any layer of the "
                    "model, so it cannot be sharded."
                )
            plan.append((*owners[id(variable)], variable, dim))
        if len(axes) > 1:
            raise NotImplementedError(
                f"Variables sharded over several mesh axes {sorted(axes)}: `fit` shards "
                "over one model axis (plus the batch axis)."
            )
        others = [name for name, size in self.sizes.items()
                  if size > 1 and name not in axes and name != self.batch_axis]
        if plan and others:
            raise NotImplementedError(
                f"Mesh axes {others} split no variable: `fit` supports a mesh of the batch "
                "axis and one model axis."
            )
        self.plan = plan
        self.axis = axes.pop() if axes else None
        return bool(plan)

    # -- attach / detach --------------------------------------------------------------------
    def attach(self, scale=None):
        """Shard the planned variables with `fully_shard`; returns the forward pre- and
        post-hooks `(pre(args, kwargs), post(args, output))` to run around the model.

        `scale()`, read after each training forward, multiplies the gradient reaching the
        outputs (so every gradient of the data loss) before FSDP averages it over the
        processes: the process's share of the global batch times the process count, which
        weighs an uneven (or empty) share of a last batch as one process would."""
        from torch.distributed.fsdp import fully_shard
        from torch.distributed.tensor import Shard

        backend = self.distribution.device_mesh.backend_mesh
        if self.sizes.get(self.batch_axis, 1) > 1:
            fsdp_mesh = backend[(self.batch_axis, self.axis)]  # HSDP: replicate, shard
        else:
            fsdp_mesh = backend[self.axis]
        self._mesh = backend[self.axis]
        self._group = self._mesh.get_group()
        self._parts = self._mesh.size()
        self._index = self._mesh.get_local_rank()
        dims = {id(variable): dim for _, _, variable, dim in self.plan}
        sharded = set(dims)
        self._replicated = [p for p in self.model.parameters() if id(p) not in sharded]
        shell = torch.nn.Module()
        shell.add_module("model", self.model)
        fully_shard(shell, mesh=fsdp_mesh, reshard_after_forward=True,
                    shard_placement_fn=lambda p: Shard(dims[id(p)]),
                    ignored_params=set(self._replicated))
        self._shell = shell
        state = fully_shard.state(shell)
        self._full_shapes = {}
        for module, name, variable, dim in self.plan:
            parameter = module._parameters[name]
            local = parameter._local_tensor
            self._full_shapes[id(variable)] = tuple(variable.shape)
            variable.data = local
            self._pairs.append((variable, parameter))
            self._entries.append((variable, local, dim))
        self._collect_slots()

        def pre(args, kwargs):
            if self._gathered:  # whole Variables in place: a plain forward
                return args, kwargs
            return state._pre_forward(shell, args, kwargs)

        def post(args, output):
            if self._gathered:
                return output
            output = state._post_forward(shell, args, output)
            if torch.is_grad_enabled():
                self._queued = False
                factor = 1.0 if scale is None else float(scale())
                hook = (self._queue_after_backward if factor == 1.0 else
                        lambda grad: self._queue_after_backward(grad) * factor)
                for t in tree.flatten(output):
                    if isinstance(t, torch.Tensor) and t.requires_grad:
                        t.register_hook(hook)
            return output

        return pre, post

    def detach(self):
        """Full values back into the model's own Variables; FSDP is dropped."""
        if self._shell is None:
            return
        self.gather()
        del self._shell._modules["model"]
        self._shell = None
        self._pairs = []
        self._entries = []

    # -- gradients ---------------------------------------------------------------------------
    def _queue_after_backward(self, grad):
        # NOTE: queued after FSDP's own final callback (its hooks on the outputs run
        # first), so its reduced gradients are there when this runs.
        if not self._queued:
            self._queued = True
            torch.autograd.Variable._execution_engine.queue_callback(self._after_backward)
        return grad

    def _after_backward(self):
        for variable, parameter in self._pairs:
            grad = parameter.grad
            if grad is not None:
                local = grad._local_tensor
                variable.grad = local if variable.grad is None else variable.grad + local
                parameter.grad = None
        grads = [p.grad for p in self._replicated if p.grad is not None]
        if grads:
            flat = torch.cat([g.reshape(-1) for g in grads])
            dist.all_reduce(flat)
            flat.mul_(1.0 / dist.get_world_size())
            offset = 0
            for g in grads:
                g.copy_(flat[offset:offset + g.numel()].view_as(g))
                offset += g.numel()

    # -- optimizer slots ----------------------------------------------------------------------
    def _collect_slots(self):
        """Shard (or adopt) the optimizer's slots of each sharded variable, once built."""
        optimizer = getattr(self.model, "optimizer", None)
        if self._slots_done or optimizer is None or not getattr(optimizer, "built", False):
            return
        self._slots_done = True
        for variable, local, dim in list(self._entries[:len(self.plan)]):
            prefix = str(variable.path).replace("/", "_") + "_"
            full = self._full_shapes[id(variable)]
            for slot in optimizer.variables:
                if not str(slot.name).startswith(prefix):
                    continue
                if tuple(slot.shape) == full and full != tuple(local.shape):
                    slot.data = slot.data.chunk(self._parts, dim)[self._index].clone()
                if tuple(slot.shape) == tuple(local.shape):
                    self._entries.append((slot, slot.data, dim))

    # -- full values for callbacks -------------------------------------------------------------
    def after_step(self):
        if not self._slots_done:
            self._collect_slots()

    def gather(self):
        """Full values into the sharded Variables and slots (a collective)."""
        if self._gathered or self._shell is None:
            return
        self._collect_slots()
        for variable, local, dim in self._entries:
            parts = [torch.empty_like(local) for _ in range(self._parts)]
            dist.all_gather(parts, local.contiguous(), group=self._group)
            variable.data = torch.cat(parts, dim)
        for module, name, variable, _ in self.plan:
            module._parameters[name] = variable
        self._gathered = True

    def scatter(self):
        """Back to this process's shards, keeping any change made to the full values."""
        if not self._gathered:
            return
        with torch.no_grad():
            for variable, local, dim in self._entries:
                local.copy_(variable.data.chunk(self._parts, dim)[self._index])
                variable.data = local
        for (module, name, _, _), (_, parameter) in zip(self.plan, self._pairs):
            module._parameters[name] = parameter
        self._gathered = False
