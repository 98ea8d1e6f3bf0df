"""lamina.constraints: weight projections (Keras' classes and lowercase aliases).

>>> import lamina
>>> lamina.constraints.get("non_neg").get_config()
{}
"""

from lamina.constraints.constraints import Constraint as Constraint
from lamina.constraints.constraints import MaxNorm as MaxNorm
from lamina.constraints.constraints import MinMaxNorm as MinMaxNorm
from lamina.constraints.constraints import NonNeg as NonNeg
from lamina.constraints.constraints import UnitNorm as UnitNorm
from lamina.serialization import getters as _getters

max_norm = MaxNorm
min_max_norm = MinMaxNorm
non_neg = NonNeg
unit_norm = UnitNorm

ALL_OBJECTS_DICT = {
    "Constraint": Constraint, "MaxNorm": MaxNorm, "MinMaxNorm": MinMaxNorm,
    "NonNeg": NonNeg, "UnitNorm": UnitNorm,
    "max_norm": MaxNorm, "min_max_norm": MinMaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
}


serialize, deserialize, get = _getters.identifier_getters("constraint", ALL_OBJECTS_DICT)
