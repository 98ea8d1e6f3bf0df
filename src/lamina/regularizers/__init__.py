"""lamina.regularizers: weight penalties (Keras' classes and lowercase aliases).

>>> import lamina
>>> lamina.regularizers.get("l2").get_config()
{'l2': 0.01}
"""

from lamina.regularizers.regularizers import L1 as L1
from lamina.regularizers.regularizers import L1L2 as L1L2
from lamina.regularizers.regularizers import L2 as L2
from lamina.regularizers.regularizers import OrthogonalRegularizer as OrthogonalRegularizer
from lamina.regularizers.regularizers import Regularizer as Regularizer
from lamina.serialization import getters as _getters

l1 = L1
l2 = L2
l1_l2 = L1L2
orthogonal_regularizer = OrthogonalRegularizer

ALL_OBJECTS_DICT = {
    "Regularizer": Regularizer, "L1": L1, "L2": L2, "L1L2": L1L2,
    "OrthogonalRegularizer": OrthogonalRegularizer,
    "l1": L1, "l2": L2, "l1_l2": L1L2, "l1l2": L1L2,
    "orthogonal_regularizer": OrthogonalRegularizer,
}


serialize, deserialize, get = _getters.identifier_getters("regularizer", ALL_OBJECTS_DICT)
