"""`lamina.datasets`: small datasets that load without a network connection."""

from lamina.datasets import digits as digits
