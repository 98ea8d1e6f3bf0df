"""`lamina.preprocessing.sequence`: Keras 3's `keras.preprocessing.sequence` names."""

from lamina.utils.sequence_utils import pad_sequences as pad_sequences
