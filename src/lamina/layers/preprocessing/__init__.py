"""Preprocessing layers: numeric and categorical features (normalization, discretization,
category encoding); image rescaling, resizing and random augmentation."""

from lamina.layers.preprocessing.category_encoding import CategoryEncoding as CategoryEncoding
from lamina.layers.preprocessing.center_crop import CenterCrop as CenterCrop
from lamina.layers.preprocessing.discretization import Discretization as Discretization
from lamina.layers.preprocessing.normalization import Normalization as Normalization
from lamina.layers.preprocessing.random_crop import RandomCrop as RandomCrop
from lamina.layers.preprocessing.random_flip import RandomFlip as RandomFlip
from lamina.layers.preprocessing.random_perspective import RandomPerspective as RandomPerspective
from lamina.layers.preprocessing.random_rotation import RandomRotation as RandomRotation
from lamina.layers.preprocessing.random_shear import RandomShear as RandomShear
from lamina.layers.preprocessing.random_translation import RandomTranslation as RandomTranslation
from lamina.layers.preprocessing.random_zoom import RandomZoom as RandomZoom
from lamina.layers.preprocessing.rescaling import Rescaling as Rescaling
from lamina.layers.preprocessing.resizing import Resizing as Resizing
