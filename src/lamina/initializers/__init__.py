"""lamina.initializers: weight initializers (Keras' classes and lowercase aliases).

>>> import lamina
>>> type(lamina.initializers.get("he_normal")).__name__
'HeNormal'
"""

from lamina.initializers.constant_initializers import Constant as Constant
from lamina.initializers.constant_initializers import Identity as Identity
from lamina.initializers.constant_initializers import IdentityInitializer as IdentityInitializer
from lamina.initializers.constant_initializers import Ones as Ones
from lamina.initializers.constant_initializers import Zeros as Zeros
from lamina.initializers.initializer import Initializer as Initializer
from lamina.initializers.random_initializers import GlorotNormal as GlorotNormal
from lamina.initializers.random_initializers import GlorotUniform as GlorotUniform
from lamina.initializers.random_initializers import HeNormal as HeNormal
from lamina.initializers.random_initializers import HeUniform as HeUniform
from lamina.initializers.random_initializers import LecunNormal as LecunNormal
from lamina.initializers.random_initializers import LecunUniform as LecunUniform
from lamina.initializers.random_initializers import Orthogonal as Orthogonal
from lamina.initializers.random_initializers import OrthogonalInitializer as OrthogonalInitializer
from lamina.initializers.random_initializers import RandomNormal as RandomNormal
from lamina.initializers.random_initializers import RandomUniform as RandomUniform
from lamina.initializers.random_initializers import TruncatedNormal as TruncatedNormal
from lamina.initializers.random_initializers import VarianceScaling as VarianceScaling
from lamina.initializers.stft import STFT as STFT
from lamina.serialization import getters as _getters

# Lowercase aliases are the classes themselves, as in Keras.
constant = Constant
glorot_normal = GlorotNormal
glorot_uniform = GlorotUniform
he_normal = HeNormal
he_uniform = HeUniform
identity = Identity
lecun_normal = LecunNormal
lecun_uniform = LecunUniform
stft = STFT
STFTInitializer = STFT
ones = Ones
orthogonal = Orthogonal
random_normal = RandomNormal
random_uniform = RandomUniform
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
zeros = Zeros

_CLASSES = (
    Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity, LecunNormal,
    LecunUniform, Ones, Orthogonal, RandomNormal, RandomUniform, TruncatedNormal,
    STFT, VarianceScaling, Zeros,
)
ALL_OBJECTS_DICT = {cls.__name__: cls for cls in _CLASSES}
ALL_OBJECTS_DICT.update(
    {name: cls for name, cls in globals().items() if name.islower() and cls in _CLASSES}
)
ALL_OBJECTS_DICT.update(
    IdentityInitializer=Identity, OrthogonalInitializer=Orthogonal, STFTInitializer=STFT,
    uniform=RandomUniform, normal=RandomNormal, one=Ones, zero=Zeros,
)


serialize, deserialize, get = _getters.identifier_getters(
    "initializer", ALL_OBJECTS_DICT,
    expected="a name, a config dict, an initializer or a callable")
