"""`lamina.legacy`: Keras 2's object serialization, as `keras.legacy`."""

from lamina.legacy import saving as saving
