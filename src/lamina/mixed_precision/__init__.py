"""`lamina.mixed_precision`: Keras 3's older names for dtype policies and loss scaling.

>>> import lamina
>>> lamina.mixed_precision.set_global_policy("mixed_bfloat16")
>>> lamina.mixed_precision.global_policy().compute_dtype
'bfloat16'
>>> lamina.mixed_precision.set_global_policy(None)
"""

from lamina.dtype_policies import DTypePolicy as DTypePolicy
from lamina.dtype_policies import dtype_policy as dtype_policy
from lamina.dtype_policies import set_dtype_policy as set_dtype_policy
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer as LossScaleOptimizer

Policy = DTypePolicy
global_policy = dtype_policy
set_global_policy = set_dtype_policy
