"""Print FarmHash Fingerprint64 and SipHash-2-4 bucket vectors computed by TensorFlow.

The expected values in tests/layers/preprocessing/test_hashing_layers.py were generated
with this script (TensorFlow 2.x: `tf.fingerprint(method="farmhash64")` is FarmHash's
Fingerprint64, little-endian; the lookup row needs Keras 3 too). TensorFlow is not a
lamina dependency: run it in a separate environment, `python tools/gen_fingerprint_vectors.py`.
"""

import numpy as np
import tensorflow as tf

# One message per FarmHash length class and block boundary.
LENGTHS = (0, 1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 200)


def message(n):
    return bytes((7 * i + 3) % 256 for i in range(n))


def main():
    messages = [message(n) for n in LENGTHS]
    raw = tf.fingerprint(tf.constant(messages), method="farmhash64").numpy()
    print("FARMHASH64 = {  # length: Fingerprint64(message(length))")
    for n, value in zip(LENGTHS, raw.view("<u8")[:, 0].tolist()):
        print(f"    {n}: 0x{value:016x},")
    print("}")
    words = [b"", b"A", b"hello world", b"lamina" * 20]
    strong = tf.strings.to_hash_bucket_strong(tf.constant(words), 2**62, key=[1, 2]).numpy()
    print("SIPHASH_MOD_2_62 = {  # key (1, 2)")
    for w, v in zip(words, strong.tolist()):
        print(f"    {w!r}: {v},")
    print("}")
    print("CROSS_MOD_1000 =", tf.sparse.to_dense(tf.sparse.cross_hashed(
        [tf.constant([[1], [-2]], tf.int64), tf.constant([[b"a"], [b"bc"]])], 1000)).numpy()
        [:, 0].tolist(), " # [1, -2] x [b'a', b'bc']")
    import keras  # after TensorFlow: Keras' lookups run on it

    lookup = keras.layers.StringLookup(vocabulary=["a", "b"], num_oov_indices=3)
    print("STRING_LOOKUP_3_OOV =", lookup([["a", "zz", "q"], ["b", "", "hello"]]).numpy()
          .tolist())


if __name__ == "__main__":
    np.set_printoptions(linewidth=100)
    main()
