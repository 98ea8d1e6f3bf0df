"""Merging layers: combine a list of tensors into one."""

from lamina.layers.merging.base_merge import Merge as Merge
from lamina.layers.merging.merge import Add as Add
from lamina.layers.merging.merge import Average as Average
from lamina.layers.merging.merge import Concatenate as Concatenate
from lamina.layers.merging.merge import Dot as Dot
from lamina.layers.merging.merge import Maximum as Maximum
from lamina.layers.merging.merge import Minimum as Minimum
from lamina.layers.merging.merge import Multiply as Multiply
from lamina.layers.merging.merge import Subtract as Subtract
from lamina.layers.merging.merge import add as add
from lamina.layers.merging.merge import average as average
from lamina.layers.merging.merge import concatenate as concatenate
from lamina.layers.merging.merge import dot as dot
from lamina.layers.merging.merge import maximum as maximum
from lamina.layers.merging.merge import minimum as minimum
from lamina.layers.merging.merge import multiply as multiply
from lamina.layers.merging.merge import subtract as subtract
