"""glibc malloc settings for the training and inference loops on CPU.

With glibc's defaults, the large CPU tensors of a step (a convnet's activations: megabytes
each) are mmapped afresh, or carved from a heap top that glibc hands back to the OS once
more than a few tens of MB lie free at its end, which a backward pass frees every step. The
next step then page-faults on all of that memory again and the kernel zeroes every page:
on `benchmarks/cnn_fit.py`'s convnet that is 25-30% of a step, for the hand-written loop
and lamina alike. TensorFlow's CPU allocator and jemalloc keep freed memory instead.

`fit`, `evaluate` and `predict` on CPU therefore run inside `loop_allocation()`: blocks
up to 32 MB (glibc's largest mmap threshold on 64-bit) come from the heap, and the heap is
not trimmed while the loop runs. On the way out the trim threshold goes back to the 64 MB
that glibc's adaptive rule reaches on its own, so the next large `free` hands the heap
top beyond that back to the OS, as it would have without the loop. (No `malloc_trim(0)`:
it also releases every free page inside the heap, which the next loop then faults in
again; an LSTM fit of 8 steps per call measured 1.10-1.13x with it, 0.94-1.00x without.
The mmap threshold stays at 32 MB, where glibc's rule also ends once large blocks were
freed.)

Nothing happens on other C libraries, or with `LAMINA_MALLOC_TUNING=0` in the environment.
"""

import contextlib
import ctypes
import functools
import os
import threading

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
LOOP_MMAP_THRESHOLD = 32 * 1024 * 1024
LOOP_TRIM_THRESHOLD = 2**31 - 1  # mallopt takes an int: about 2 GiB, i.e. never in a loop
AFTER_TRIM_THRESHOLD = 2 * LOOP_MMAP_THRESHOLD

_lock = threading.Lock()
_depth = 0


@functools.cache
def _glibc():
    """The process's glibc with `mallopt` typed, or None elsewhere."""
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc"):
            return None
        libc = ctypes.CDLL(None)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
        return libc
    except (AttributeError, OSError, ValueError):  # no confstr name, no such symbol
        return None


def tuning_enabled():
    """Whether `loop_allocation` changes anything here (glibc, not switched off)."""
    return os.environ.get("LAMINA_MALLOC_TUNING", "1") != "0" and _glibc() is not None


@contextlib.contextmanager
def loop_allocation():
    """Keep freed memory in the heap for the duration (see the module docstring). Nests
    and is thread-safe: the settings are process-wide, so the outermost loop restores."""
    global _depth
    libc = _glibc() if tuning_enabled() else None
    if libc is None:
        yield
        return
    with _lock:
        _depth += 1
        if _depth == 1:
            libc.mallopt(_M_MMAP_THRESHOLD, LOOP_MMAP_THRESHOLD)
            libc.mallopt(_M_TRIM_THRESHOLD, LOOP_TRIM_THRESHOLD)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                libc.mallopt(_M_TRIM_THRESHOLD, AFTER_TRIM_THRESHOLD)
