"""`lamina.distribution`: Keras 3's distribution API on torch.distributed.

`set_distribution(DataParallel())` makes `fit`, `evaluate` and `predict` spread each
global batch over the processes `torchrun` started (DDP averages the gradients); in a
single process nothing changes. `ModelParallel(layout_map=...)` also shards the variables
its `LayoutMap` splits, with FSDP2, inside `fit`. See `distribution_lib.py` and
`trainers/sharding.py`.

>>> import lamina
>>> lamina.distribution.list_devices("cpu")
['cpu:0']
"""

from lamina.distribution.distribution_lib import DataParallel as DataParallel
from lamina.distribution.distribution_lib import DeviceMesh as DeviceMesh
from lamina.distribution.distribution_lib import LayoutMap as LayoutMap
from lamina.distribution.distribution_lib import ModelParallel as ModelParallel
from lamina.distribution.distribution_lib import TensorLayout as TensorLayout
from lamina.distribution.distribution_lib import distribute_tensor as distribute_tensor
from lamina.distribution.distribution_lib import distribution as distribution
from lamina.distribution.distribution_lib import get_device_count as get_device_count
from lamina.distribution.distribution_lib import initialize as initialize
from lamina.distribution.distribution_lib import list_devices as list_devices
from lamina.distribution.distribution_lib import set_distribution as set_distribution
