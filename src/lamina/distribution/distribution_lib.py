"""Keras' distribution API on torch.distributed: processes, meshes, layouts, distributions.

One process drives one device (torch's model, launched by `torchrun`). A `DeviceMesh`
lays the processes' devices out on named axes and becomes a
`torch.distributed.device_mesh.DeviceMesh`; a `TensorLayout` names the mesh axis each
tensor dimension is split over and becomes DTensor placements. `DataParallel` and
`ModelParallel` say how `fit` spreads data and variables; `trainers/distributed.py`
carries that out.

This module depends on torch and `lamina.backend` only, so the trainer can ask it what
is set without an upward import.
"""

import collections.abc
import contextlib
import datetime
import math
import os
import re
import warnings

import numpy as np
import torch
import torch.distributed as dist

from lamina.backend import config

DEFAULT_BATCH_DIM_NAME = "batch"
# Collectives that wait longer than this fail instead of hanging the job (a peer that
# died without its launcher noticing).
DEFAULT_TIMEOUT = datetime.timedelta(minutes=10)

_DISTRIBUTION = None


# -- processes ----------------------------------------------------------------------------
def _environment_int(*names):
    for name in names:
        if os.environ.get(name):
            return int(os.environ[name])
    return None


def _launched_with_several_processes():
    return (_environment_int("WORLD_SIZE", "KERAS_DISTRIBUTION_NUM_PROCESSES") or 1) > 1


def initialize(job_addresses=None, num_processes=None, process_id=None,
               initialization_timeout=None):
    """Join the processes of a multi-process job (one torch process group).

    Under `torchrun` no argument is needed: its `RANK`, `WORLD_SIZE`, `MASTER_ADDR`
    and `MASTER_PORT` are read. Other launchers pass the arguments or Keras' variables
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID`. The backend is NCCL when CUDA is available (each
    process takes the GPU of its `LOCAL_RANK`), gloo otherwise. Calling it again is a
    no-op.

    Args:
        job_addresses: comma-separated `host:port` of the jobs; the first one (process 0)
            coordinates.
        num_processes: how many processes form the job.
        process_id: this process's rank, in `[0, num_processes)`.
        initialization_timeout: seconds (or a `timedelta`) a collective may wait before it
            fails (default 10 minutes).
    """
    if dist.is_initialized():
        return
    if job_addresses is None:
        job_addresses = os.environ.get("KERAS_DISTRIBUTION_JOB_ADDRESSES")
    if num_processes is None:
        num_processes = _environment_int("KERAS_DISTRIBUTION_NUM_PROCESSES", "WORLD_SIZE")
    if process_id is None:
        process_id = _environment_int("KERAS_DISTRIBUTION_PROCESS_ID", "RANK")
    if num_processes is None or process_id is None:
        raise ValueError(
            "`initialize()` needs the job's size and this process's rank: launch with "
            "`torchrun --nproc_per_node=N script.py`, or pass `num_processes=` and "
            f"`process_id=`. Received: num_processes={num_processes}, "
            f"process_id={process_id}"
        )
    if not 0 <= int(process_id) < int(num_processes):
        raise ValueError(
            f"`process_id` must be in [0, num_processes). Received: process_id={process_id}, "
            f"num_processes={num_processes}"
        )
    if job_addresses:
        host, _, port = job_addresses.split(",")[0].strip().rpartition(":")
        os.environ["MASTER_ADDR"] = host or "127.0.0.1"
        if port:
            os.environ["MASTER_PORT"] = port
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29500")
    timeout = initialization_timeout or DEFAULT_TIMEOUT
    if not isinstance(timeout, datetime.timedelta):
        timeout = datetime.timedelta(seconds=float(timeout))
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "nccl"
        local = _environment_int("LOCAL_RANK")
        index = (local if local is not None else int(process_id)) % torch.cuda.device_count()
        torch.cuda.set_device(index)
        config.set_device(f"cuda:{index}")
    dist.init_process_group(backend, rank=int(process_id), world_size=int(num_processes),
                            timeout=timeout)


def _ensure_initialized():
    """Join the job when a launcher started several processes and nobody has yet."""
    if not dist.is_initialized() and _launched_with_several_processes():
        initialize()


def num_processes():
    """Processes in the job (1 without torch.distributed)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def process_id():
    """This process's rank (0 without torch.distributed)."""
    return dist.get_rank() if dist.is_initialized() else 0


def is_chief():
    """Whether this process prints and writes files (rank 0, or the only process)."""
    return not dist.is_initialized() or dist.get_rank() == 0


def _default_device_type():
    return "gpu" if torch.cuda.is_available() else "cpu"


def list_devices(device_type=None):
    """The devices of the whole job, as Keras names them (`"gpu:0"`, `"cpu:1"`...).

    In a multi-process job each process contributes its device, numbered by rank;
    otherwise these are the local devices.

    >>> list_devices("cpu")
    ['cpu:0']
    """
    _ensure_initialized()
    device_type = (device_type or _default_device_type()).lower()
    if device_type == "cuda":
        device_type = "gpu"
    if device_type not in ("cpu", "gpu"):
        raise ValueError(
            f"Unknown `device_type`: expected 'cpu' or 'gpu'. Received: {device_type!r}"
        )
    if dist.is_initialized():
        count = dist.get_world_size()
    elif device_type == "gpu":
        count = torch.cuda.device_count()
    else:
        count = 1
    return [f"{device_type}:{i}" for i in range(count)]


def get_device_count(device_type=None):
    """How many devices `list_devices(device_type)` returns."""
    return len(list_devices(device_type))


# -- meshes and layouts -------------------------------------------------------------------
class DeviceMesh:
    """Devices laid out on named axes (a `torch.distributed.device_mesh.DeviceMesh`).

    Args:
        shape: the mesh's shape, e.g. `(8,)` for data parallelism or `(4, 2)` for data
            and model parallelism.
        axis_names: a name for each axis of `shape`.
        devices: the devices to lay out (default: `list_devices()`).

    >>> mesh = DeviceMesh((1,), ["batch"], devices=["cpu:0"])
    >>> mesh
    <DeviceMesh shape=(1,), axis_names=['batch']>
    """

    def __init__(self, shape, axis_names, devices=None):
        if not shape or not axis_names:
            raise ValueError(
                f"Shape and axis_names cannot be empty. Received: shape={shape}, "
                f"axis_names={axis_names}"
            )
        if len(shape) != len(axis_names):
            raise ValueError(
                f"Shape and axis_names should have same size. Received: shape={shape}, "
                f"axis_names={axis_names}"
            )
        devices = np.array(list_devices() if devices is None else devices)
        if math.prod(shape) != devices.size:
            raise ValueError(
                f"Shape does not match the number of devices. Received: shape={shape}; "
                f"devices.shape={devices.shape}"
            )
        self._shape = tuple(shape)
        self._axis_names = list(axis_names)
        self._devices = devices.reshape(self._shape)
        self._backend_mesh = None

    @property
    def shape(self):
        return self._shape

    @property
    def axis_names(self):
        return self._axis_names

    @property
    def devices(self):
        return self._devices

    @property
    def backend_mesh(self):
        """The torch `DeviceMesh` over the job's ranks (needs a process group)."""
        if self._backend_mesh is None:
            _ensure_initialized()
            if not dist.is_initialized():
                raise RuntimeError(
                    "A torch DeviceMesh needs torch.distributed: launch with `torchrun` or "
                    "call `lamina.distribution.initialize(...)` first."
                )
            ranks = torch.tensor([int(str(d).rsplit(":", 1)[-1]) for d in
                                  self._devices.reshape(-1)]).reshape(self._shape)
            device_type = "cuda" if torch.cuda.is_available() else "cpu"
            self._backend_mesh = torch.distributed.device_mesh.DeviceMesh(
                device_type, ranks, mesh_dim_names=tuple(self._axis_names))
        return self._backend_mesh

    def __repr__(self):
        return f"<DeviceMesh shape={self.shape}, axis_names={self.axis_names}>"


class TensorLayout:
    """How a tensor is split over a mesh: for each dimension, the mesh axis it is
    sharded along, or None (replicated).

    Args:
        axes: one mesh axis name (or None) per tensor dimension.
        device_mesh: the `DeviceMesh`; may be set later (a `LayoutMap` sets its own).

    >>> TensorLayout((None, "model")).axes
    (None, 'model')
    """

    def __init__(self, axes, device_mesh=None):
        self._axes = tuple(axes)
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def axes(self):
        return self._axes

    @property
    def device_mesh(self):
        return self._device_mesh

    @device_mesh.setter
    def device_mesh(self, device_mesh):
        if self._device_mesh is not None:
            raise ValueError(
                f"Cannot override device mesh value. Existing value is {self._device_mesh}"
            )
        self._device_mesh = device_mesh
        self._validate_axes()

    @property
    def backend_layout(self):
        """The DTensor placements: per mesh axis, `Shard(dim)` or `Replicate()`."""
        from torch.distributed.tensor import Replicate, Shard

        if self._device_mesh is None:
            raise ValueError(f"{self!r} has no device mesh: set `device_mesh` first.")
        placements = []
        for name in self._device_mesh.axis_names:
            dims = [i for i, axis in enumerate(self._axes) if axis == name]
            placements.append(Shard(dims[0]) if dims else Replicate())
        return tuple(placements)

    def _validate_axes(self):
        if self._device_mesh is not None:
            valid = set(self._device_mesh.axis_names)
            names = set(self._axes) - {None}
            if names - valid:
                raise ValueError(
                    f"Invalid axis names for Layout. Valid axis names: {valid}, Got {names}"
                )

    def __repr__(self):
        return f"<TensorLayout axes={self.axes}, device_mesh={self.device_mesh}>"


class LayoutMap(collections.abc.MutableMapping):
    """Variable paths (regular expressions) to `TensorLayout`s.

    A lookup returns the layout of the key equal to the path, else of the one key whose
    pattern matches the whole path (several matches are an error), else None. Tuples
    become `TensorLayout`s on this map's mesh.

    >>> mesh = DeviceMesh((1,), ["model"], devices=["cpu:0"])
    >>> layout_map = LayoutMap(mesh)
    >>> layout_map[".*dense.*kernel"] = (None, "model")
    >>> layout_map["sequential/dense_1/kernel"].axes
    (None, 'model')
    >>> layout_map["sequential/dense_1/bias"] is None
    True
    """

    def __init__(self, device_mesh):
        self._layout_map = collections.OrderedDict()
        self._device_mesh = device_mesh

    def __getitem__(self, key):
        if key in self._layout_map:
            return self._layout_map[key]
        matches = [pattern for pattern in self._layout_map if re.fullmatch(pattern, key)]
        if len(matches) > 1:
            raise ValueError(
                f"Path '{key}' matches multiple layout specification keys: {matches}. Please "
                "make sure each tensor/variable path only matches at most one layout "
                "specification key in the LayoutMap."
            )
        return self._layout_map[matches[0]] if matches else None

    def __setitem__(self, key, layout):
        if key in self._layout_map:
            raise ValueError(
                f"{key} already exist in the LayoutMap with value {self._layout_map[key]}. "
                "Please make sure to not use duplicated keys."
            )
        if isinstance(layout, (tuple, list)):
            layout = TensorLayout(axes=layout)
        if not isinstance(layout, TensorLayout):
            raise ValueError(f"{layout} should be a TensorLayout type, got {type(layout)}")
        if layout.device_mesh is None and self._device_mesh is not None:
            layout.device_mesh = self._device_mesh
        self._layout_map[key] = layout

    def __delitem__(self, key):
        return self._layout_map.pop(key)

    def __len__(self):
        return len(self._layout_map)

    def __iter__(self):
        return iter(self._layout_map)

    @property
    def device_mesh(self):
        return self._device_mesh


# -- distributions ------------------------------------------------------------------------
class Distribution:
    """Base class of the ways `fit` spreads data and variables over a `DeviceMesh`.

    Args:
        device_mesh: the `DeviceMesh`.
        batch_dim_name: the mesh axis the batch is split along.
        auto_shard_dataset: in a multi-process job, give each process its share of every
            batch (True), or take each process's data as its share already (False).
    """

    def __init__(self, device_mesh, batch_dim_name=None, auto_shard_dataset=True):
        self._device_mesh = device_mesh
        self._batch_dim_name = batch_dim_name
        self._auto_shard_dataset = auto_shard_dataset
        self._num_processes = num_processes()
        self._process_id = process_id()
        self._is_multi_process = self._num_processes > 1

    @property
    def num_processes(self):
        return self._num_processes

    @property
    def num_model_replicas(self):
        raise NotImplementedError

    @property
    def data_shard_id(self):
        """Which share of each batch this process reads."""
        replicas = self.num_model_replicas
        if replicas >= self.num_processes:
            return self._process_id
        return self._process_id // (self.num_processes // replicas)

    def get_data_layout(self, data_shape):
        shard_spec = [None] * len(data_shape)
        shard_spec[0] = self.batch_dim_name
        return TensorLayout(shard_spec, self.device_mesh)

    def get_variable_layout(self, variable):
        raise NotImplementedError

    def get_tensor_layout(self, path):
        raise NotImplementedError

    @contextlib.contextmanager
    def scope(self):
        """Make this distribution the current one inside the `with` block."""
        original = distribution()
        set_distribution(self)
        try:
            yield
        finally:
            set_distribution(original)

    @property
    def device_mesh(self):
        return self._device_mesh

    @property
    def batch_dim_name(self):
        return self._batch_dim_name

    @property
    def auto_shard_dataset(self):
        return self._auto_shard_dataset

    @auto_shard_dataset.setter
    def auto_shard_dataset(self, value):
        self._auto_shard_dataset = value

    def distribute_dataset(self, dataset):
        """The dataset as this process should read it; `fit` shards its inputs itself
        (see `trainers/data/distributed.py`), so any dataset is returned as it is."""
        return dataset

    def __repr__(self):
        return f"<{type(self).__name__} device_mesh={self.device_mesh}>"


class DataParallel(Distribution):
    """Data parallelism: every process holds the whole model, reads its share of each
    global batch, and gradients are averaged by torch's DistributedDataParallel.

    Args:
        device_mesh: a 1-D `DeviceMesh` (its first axis splits the batch).
        devices: the devices to use instead (default: `list_devices()`).
        auto_shard_dataset: see `Distribution`.

    >>> DataParallel(devices=["cpu:0"]).batch_dim_name
    'batch'
    """

    def __init__(self, device_mesh=None, devices=None, auto_shard_dataset=True):
        if device_mesh is not None:
            if not isinstance(device_mesh, DeviceMesh):
                raise ValueError(
                    "Expect `mesh` to be an instance of `DeviceMesh`. Received: "
                    f"mesh={device_mesh} (of type {type(device_mesh)})"
                )
            super().__init__(device_mesh, device_mesh.axis_names[0], auto_shard_dataset)
            if device_mesh.devices.ndim != 1:
                warnings.warn(
                    "Expect the input mesh to be 1D, but received mesh.devices.ndim="
                    f"{device_mesh.devices.ndim}. The first axis will be used for "
                    "data-parallel sharding.", stacklevel=2)
            return
        devices = np.array(list_devices() if not devices else devices)
        mesh = DeviceMesh(devices.shape, [DEFAULT_BATCH_DIM_NAME], devices)
        super().__init__(mesh, DEFAULT_BATCH_DIM_NAME, auto_shard_dataset)

    @property
    def num_model_replicas(self):
        return self.device_mesh.devices.size

    def get_variable_layout(self, variable):
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path):
        return None


class ModelParallel(Distribution):
    """Variables sharded by their paths (a `LayoutMap`), data split along the batch axis.

    In a multi-process `fit` the variables whose layout splits a dimension over a mesh
    axis are sharded with torch's FSDP2 (see `trainers/sharding.py`); the model is whole
    again after `fit`.

    Args:
        layout_map: `LayoutMap` from variable paths to layouts; its mesh is used.
        batch_dim_name: the mesh axis the batch is split along (default: the first).
        auto_shard_dataset: see `Distribution`.
    """

    def __init__(self, *, layout_map=None, batch_dim_name=None, auto_shard_dataset=True,
                 **kwargs):
        kwargs.pop("device_mesh", None)
        if layout_map is None:
            raise ValueError("You must specify a layout_map argument.")
        if not isinstance(layout_map, LayoutMap):
            raise ValueError(
                f"Argument `layout_map` must be a `LayoutMap` instance. Received: "
                f"layout_map={layout_map}"
            )
        mesh = layout_map.device_mesh
        super().__init__(mesh, batch_dim_name or mesh.axis_names[0], auto_shard_dataset)
        self._layout_map = layout_map
        if (self._is_multi_process and self.num_processes > self.num_model_replicas
                and self.num_processes % self.num_model_replicas != 0):
            raise ValueError(
                "If `num_processes` is greater than `num_model_replicas`, `num_processes` "
                "must be divisible by `num_model_replicas`. Got "
                f"num_processes={self.num_processes}, "
                f"num_model_replicas={self.num_model_replicas}."
            )

    @property
    def num_model_replicas(self):
        index = self.device_mesh.axis_names.index(self.batch_dim_name)
        return self.device_mesh.shape[index]

    @property
    def layout_map(self):
        return self._layout_map

    def get_variable_layout(self, variable):
        if getattr(variable, "_layout", None) is not None:
            return variable._layout
        layout = self._layout_map[variable.path]
        if layout is not None:
            return layout
        return TensorLayout([None] * len(variable.shape), self.device_mesh)

    def get_tensor_layout(self, path):
        return self._layout_map[path]


def distribute_tensor(tensor, layout):
    """`tensor` laid out as `layout` says: a DTensor on the layout's mesh in a
    multi-process job; in a single process (one device) the tensor itself."""
    if not isinstance(tensor, torch.Tensor) or not dist.is_initialized():
        return tensor
    from torch.distributed.tensor import DTensor
    from torch.distributed.tensor import distribute_tensor as torch_distribute_tensor

    mesh = layout.device_mesh.backend_mesh
    if isinstance(tensor, DTensor):
        return tensor.redistribute(mesh, layout.backend_layout)
    return torch_distribute_tensor(tensor, mesh, layout.backend_layout)


def distribution():
    """The current distribution (None when none is set)."""
    return _DISTRIBUTION


def set_distribution(value):
    """Make `value` (a `Distribution`, or None) the global distribution."""
    global _DISTRIBUTION
    if value is not None and not isinstance(value, Distribution):
        raise ValueError(
            f"`set_distribution` expects a `Distribution` (DataParallel, ModelParallel) or "
            f"None. Received: {value!r}"
        )
    _DISTRIBUTION = value


class _SumOverProcesses(torch.autograd.Function):
    """`dist.all_reduce` (sum) with its gradient, itself a sum over processes (torch's
    differentiable one, `torch.distributed.nn`, is deprecated)."""

    @staticmethod
    def forward(ctx, x):
        x = x.clone()
        dist.all_reduce(x)
        return x

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad)
        return grad


def synchronized_moments(x):
    """Mean and (biased) variance per channel (axis 1) of `x` over the batches of all
    processes, differentiable (`BatchNormalization(synchronized=True)`): two all-reduces,
    a sum with the row count, then the squared deviations from the global mean."""
    dims = [d for d in range(x.ndim) if d != 1]
    count = torch.full((1,), x.numel() // x.shape[1], dtype=x.dtype, device=x.device)
    sums = _SumOverProcesses.apply(torch.cat([x.sum(dims), count]))
    total = sums[-1]
    mean = sums[:-1] / total
    shape = [1] * x.ndim
    shape[1] = -1
    centered = x - mean.view(shape)
    variance = _SumOverProcesses.apply((centered * centered).sum(dims)) / total
    return mean, variance


def data_parallel_world():
    """`(rank, world size)` when `fit` must spread batches over processes, else None:
    the one check the trainer makes per `fit`/`evaluate`/`predict`."""
    current = _DISTRIBUTION
    if current is None or not dist.is_initialized() or dist.get_world_size() < 2:
        return None
    return dist.get_rank(), dist.get_world_size()
