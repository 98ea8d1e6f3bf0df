"""The string hashes Keras' hashing layers get from TensorFlow, in numpy.

- `fingerprint64`: FarmHash's Fingerprint64 (the `farmhashna` 64-bit hash), which
  `tf.strings.to_hash_bucket_fast` and `tf.sparse.cross_hashed` use;
- `siphash24`: SipHash-2-4 with a 128-bit key, as `tf.strings.to_hash_bucket_strong`;
- `fingerprint_cat64`: how `tf.sparse.cross_hashed` folds one feature's hash into a cross;
- `hash_bins`: values to bins as `to_hash_bucket_fast`/`_strong` give them (the `Hashing`
  layer and the lookups' OOV slots).

Each takes a sequence of `bytes` (or a numpy array of bytes, text or int64, which
hash as UTF-8 and decimal strings) and returns a numpy uint64 array. Strings of one length
read their words at the same offsets, so each length is hashed as one vectorised batch
(uint64 arithmetic wraps modulo 2**64, as the C++ does).
"""

import numpy as np

_U = np.uint64
_K0 = _U(0xC3A5C85C97CB3127)
_K1 = _U(0xB492B66FBE98F273)
_K2 = _U(0x9AE16A3B2F90404F)
_KMUL = _U(0x9DDFEA08EB382D69)
_CAT_MUL = _U(0xC6A4A7935BD1E995)


def _rotr(v, s):
    return (v >> _U(s)) | (v << _U(64 - s))


def _rotl(v, s):
    return (v << _U(s)) | (v >> _U(64 - s))


def _shift_mix(v):
    return v ^ (v >> _U(47))


def _words(block, offset, width=8):
    """The little-endian `width`-byte words at `offset` of each row of `block`."""
    part = np.ascontiguousarray(block[:, offset:offset + width])
    return part.view("<u8" if width == 8 else "<u4")[:, 0].astype(_U)


def _by_length(strings, hash_block):
    """Hash each of `strings` with `hash_block(rows, length)`, a batch of equal length
    strings as a (n, length) uint8 array at a time. `strings` is a sequence of bytes, or a
    numpy array of bytes, of ASCII text or of int64 (their decimal strings): those are
    cut into rows in numpy, without a Python object per string."""
    out = np.empty(len(strings), _U)
    if not len(strings):
        return out
    lengths, rows_of = _rows_source(strings)
    present = np.flatnonzero(np.bincount(lengths))
    if len(present) <= 64:  # a pass per length beats sorting the lengths
        groups = ((np.flatnonzero(lengths == length), length) for length in present.tolist())
    else:
        order = np.argsort(lengths, kind="stable")
        groups = zip(np.split(order, np.flatnonzero(np.diff(lengths[order])) + 1),
                     present.tolist())
    for where, length in groups:
        out[where] = hash_block(rows_of(where, length), length)
    return out


def _rows_source(strings):
    """The length of each string and `rows_of(where, length)`, the strings at `where`
    (all `length` bytes long) as a uint8 array of rows."""
    kind = strings.dtype.kind if isinstance(strings, np.ndarray) else None
    if kind == "i":
        return _decimal_rows(strings.astype(np.int64))
    if kind in ("S", "U") and strings.dtype.itemsize:
        width = strings.dtype.itemsize // (4 if kind == "U" else 1)
        codes = np.ascontiguousarray(strings).view(
            np.uint32 if kind == "U" else np.uint8).reshape(len(strings), width)
        if kind == "S" or codes.max() < 128:  # ASCII: one UTF-8 byte per character
            return (np.char.str_len(strings).astype(np.int64),
                    lambda where, length: codes[where, :length].astype(np.uint8))
        strings = [text.encode() for text in strings.tolist()]
    elif kind is not None:
        strings = strings.tolist()

    def rows_of(where, length):
        joined = b"".join(map(strings.__getitem__, where.tolist()))
        return np.frombuffer(joined, np.uint8).reshape(len(where), length)

    return np.fromiter(map(len, strings), np.int64, len(strings)), rows_of


def _decimal_rows(values):
    negative = values < 0
    magnitude = np.abs(values).astype(_U)  # -2**63 wraps to 2**63, its magnitude
    lengths = 1 + negative.astype(np.int64)
    rest = magnitude // _U(10)
    while rest.any():
        lengths += rest > 0
        rest //= _U(10)

    def rows_of(where, length):
        rows = np.empty((len(where), length), np.uint8)
        rest = magnitude[where]
        for at in range(length - 1, -1, -1):
            rows[:, at] = rest % _U(10) + _U(48)
            rest //= _U(10)
        rows[negative[where], 0] = ord("-")
        return rows

    return lengths, rows_of


# -- FarmHash Fingerprint64 (farmhashna::Hash64) -------------------------------------------

def _hash_len16(u, v, mul):
    a = _shift_mix((u ^ v) * mul)
    b = _shift_mix((v ^ a) * mul)
    return b * mul


def _len0to16(s, n):
    count = len(s)
    if n >= 8:
        mul = _K2 + _U(n * 2)
        a = _words(s, 0) + _K2
        b = _words(s, n - 8)
        c = _rotr(b, 37) * mul + a
        d = (_rotr(a, 25) + b) * mul
        return _hash_len16(c, d, mul)
    if n >= 4:
        mul = _K2 + _U(n * 2)
        a = _words(s, 0, 4)
        return _hash_len16(_U(n) + (a << _U(3)), _words(s, n - 4, 4), mul)
    if n > 0:
        a, b, c = (s[:, i].astype(_U) for i in (0, n >> 1, n - 1))
        y = (a + (b << _U(8))) & _U(0xFFFFFFFF)
        z = (_U(n) + (c << _U(2))) & _U(0xFFFFFFFF)
        return _shift_mix(y * _K2 ^ z * _K0) * _K2
    return np.full(count, _K2, _U)


def _len17to32(s, n):
    mul = _K2 + _U(n * 2)
    a = _words(s, 0) * _K1
    b = _words(s, 8)
    c = _words(s, n - 8) * mul
    d = _words(s, n - 16) * _K2
    return _hash_len16(_rotr(a + b, 43) + _rotr(c, 30) + d, a + _rotr(b + _K2, 18) + c, mul)


def _len33to64(s, n):
    mul = _K2 + _U(n * 2)
    a = _words(s, 0) * _K2
    b = _words(s, 8)
    c = _words(s, n - 8) * mul
    d = _words(s, n - 16) * _K2
    y = _rotr(a + b, 43) + _rotr(c, 30) + d
    z = _hash_len16(y, a + _rotr(b + _K2, 18) + c, mul)
    e = _words(s, 16) * mul
    f = _words(s, 24)
    g = (y + _words(s, n - 32)) * mul
    h = (z + _words(s, n - 24)) * mul
    return _hash_len16(_rotr(e + f, 43) + _rotr(g, 30) + h, e + _rotr(f + a, 18) + g, mul)


def _weak_len32(s, at, a, b):
    w, x, y, z = (_words(s, at + 8 * i) for i in range(4))
    a = a + w
    b = _rotr(b + a + z, 21)
    c = a
    a = a + x + y
    b = b + _rotr(a, 44)
    return a + z, b + c


def _farmhash_rows(s, n):
    if n <= 16:
        return _len0to16(s, n)
    if n <= 32:
        return _len17to32(s, n)
    if n <= 64:
        return _len33to64(s, n)
    count = len(s)
    seed = _U(81)
    y = np.full(count, seed * _K1 + _U(113), _U)
    z = _shift_mix(y * _K2 + _U(113)) * _K2
    v1 = v2 = w1 = w2 = np.zeros(count, _U)
    x = seed * _K2 + _words(s, 0)
    last = ((n - 1) // 64) * 64
    for at in range(0, last, 64):
        x = _rotr(x + y + v1 + _words(s, at + 8), 37) * _K1
        y = _rotr(y + v2 + _words(s, at + 48), 42) * _K1
        x = x ^ w2
        y = y + v1 + _words(s, at + 40)
        z = _rotr(z + w1, 33) * _K1
        v1, v2 = _weak_len32(s, at, v2 * _K1, x + w1)
        w1, w2 = _weak_len32(s, at + 32, z + w2, y + _words(s, at + 16))
        z, x = x, z
    mul = _K1 + ((z & _U(0xFF)) << _U(1))
    at = n - 64  # the last 64 bytes, overlapping the blocks before
    w1 = w1 + _U((n - 1) & 63)
    v1 = v1 + w1
    w1 = w1 + v1
    x = _rotr(x + y + v1 + _words(s, at + 8), 37) * mul
    y = _rotr(y + v2 + _words(s, at + 48), 42) * mul
    x = x ^ (w2 * _U(9))
    y = y + v1 * _U(9) + _words(s, at + 40)
    z = _rotr(z + w1, 33) * mul
    v1, v2 = _weak_len32(s, at, v2 * mul, x + w1)
    w1, w2 = _weak_len32(s, at + 32, z + w2, y + _words(s, at + 16))
    z, x = x, z
    return _hash_len16(_hash_len16(v1, w1, mul) + _shift_mix(y) * _K0 + z,
                       _hash_len16(v2, w2, mul) + x, mul)


def fingerprint64(strings):
    """FarmHash Fingerprint64 of each of `strings` (a sequence of bytes), as uint64.

    >>> hex(int(fingerprint64([b""])[0]))
    '0x9ae16a3b2f90404f'
    """
    with np.errstate(over="ignore"):
        return _by_length(strings, _farmhash_rows)


# -- SipHash-2-4 ---------------------------------------------------------------------------

def _sip_rounds(v0, v1, v2, v3, rounds):
    for _ in range(rounds):
        v0 = v0 + v1
        v1 = _rotl(v1, 13) ^ v0
        v0 = _rotl(v0, 32)
        v2 = v2 + v3
        v3 = _rotl(v3, 16) ^ v2
        v0 = v0 + v3
        v3 = _rotl(v3, 21) ^ v0
        v2 = v2 + v1
        v1 = _rotl(v1, 17) ^ v2
        v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


def siphash24(strings, key):
    """SipHash-2-4 of each of `strings` (a sequence of bytes) under `key`, two 64-bit
    integers (the key's little-endian halves), as uint64.

    >>> key = (0x0706050403020100, 0x0F0E0D0C0B0A0908)
    >>> hex(int(siphash24([bytes(range(15))], key)[0]))
    '0xa129ca6149be45e5'
    """
    k0, k1 = (_U(int(k) & 0xFFFFFFFFFFFFFFFF) for k in key)

    def rows_hash(s, n):
        count = len(s)
        v0 = np.full(count, k0 ^ _U(0x736F6D6570736575), _U)
        v1 = np.full(count, k1 ^ _U(0x646F72616E646F6D), _U)
        v2 = np.full(count, k0 ^ _U(0x6C7967656E657261), _U)
        v3 = np.full(count, k1 ^ _U(0x7465646279746573), _U)
        whole = n - n % 8
        for at in range(0, whole, 8):
            m = _words(s, at)
            v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3 ^ m, 2)
            v0 = v0 ^ m
        tail = np.zeros((count, 8), np.uint8)
        tail[:, :n - whole] = s[:, whole:]
        tail[:, 7] = n & 0xFF
        b = tail.view("<u8")[:, 0].astype(_U)
        v0, v1, v2, v3 = _sip_rounds(v0, v1, v2, v3 ^ b, 2)
        v0, v1, v2, v3 = _sip_rounds(v0 ^ b, v1, v2 ^ _U(0xFF), v3, 4)
        return v0 ^ v1 ^ v2 ^ v3

    with np.errstate(over="ignore"):
        return _by_length(strings, rows_hash)


def fingerprint_cat64(first, second):
    """Combine two uint64 fingerprint arrays into one (TensorFlow's FingerprintCat64)."""
    with np.errstate(over="ignore"):
        result = first ^ _CAT_MUL
        result = result ^ (_shift_mix(second * _CAT_MUL) * _CAT_MUL)
        result = result * _CAT_MUL
        result = _shift_mix(result) * _CAT_MUL
        return _shift_mix(result)


def hash_bins(values, num_bins, key=None):
    """The hash bin of each value (a numpy array of int64, str or bytes) in `[0, num_bins)`,
    as a numpy int64 array: FarmHash Fingerprint64 of its bytes (integers as decimal
    strings, text as UTF-8), or SipHash-2-4 under `key` (two integers) when given."""
    # Every value is hashed, repeats too: numpy hashes faster than it finds distinct values.
    flat = values.reshape(-1)
    hashes = fingerprint64(flat) if key is None else siphash24(flat, key)
    return (hashes % np.uint64(num_bins)).astype(np.int64).reshape(values.shape)
