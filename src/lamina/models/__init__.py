"""`lamina.models`: `Model`, `Sequential` and model utilities."""

from lamina.models.functional import Functional as Functional
from lamina.models.model import Model as Model
from lamina.models.sequential import Sequential as Sequential
