"""The guarded `load_model` call of the fuzz tests.

Every fuzz case must end in a loaded model or a clear `ValueError`/`TypeError`/`OSError`
(with a message); anything else — another exception type, a hang past `TIMEOUT_S`, or
resident memory growing by more than `MEMORY_BUDGET` — fails the case. An address-space
limit stops a runaway allocation before it can take the machine down.
"""

import contextlib
import faulthandler
import linecache
import os
import resource
import signal
import sys
import warnings

import lamina

ALLOWED = (ValueError, TypeError, OSError)
# With LAMINA_FUZZ_STRICT=1 an error must also come from a `raise` in lamina (or be h5py's
# OSError for a damaged file), not from an operator or a library deep inside: a message
# such as "'>' not supported between 'NoneType' and 'int'" then fails the case.
STRICT = os.environ.get("LAMINA_FUZZ_STRICT") == "1"
TIMEOUT_S = 30
LOAD_BUDGET = 256 * 2**20  # lamina's own limit on what one load may allocate
MEMORY_BUDGET = 2 * LOAD_BUDGET  # peak resident growth allowed for one load
ADDRESS_SPACE_HEADROOM = 3 * 2**30  # hard stop for a runaway allocation


class LoadTimeout(BaseException):
    """Raised into a load that runs past `TIMEOUT_S` (a BaseException, so no loader's
    `except Exception` can swallow it)."""


def _address_space():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def _address_space_limit(headroom):
    """Cap the address space at its current size plus `headroom` (Linux only)."""
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + headroom
    except (OSError, ValueError, AttributeError):
        yield
        return
    if hard != resource.RLIM_INFINITY and limit > hard:
        limit = hard
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextlib.contextmanager
def _time_limit(seconds):
    def expire(signum, frame):
        raise LoadTimeout(f"load_model ran past {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    # NOTE: a hang inside C code never returns to Python to see the alarm; this dumps
    # every thread's stack and ends the run instead of blocking CI.
    faulthandler.dump_traceback_later(3 * seconds, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        faulthandler.cancel_dump_traceback_later()


def _peak_rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def check_load(path):
    """`lamina.saving.load_model(path)` loads or raises an allowed, clear error.

    Returns the model or the exception; fails the test on anything else.
    """
    before = _peak_rss()
    outcome = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a warning is not a failure when loading
        try:
            with _time_limit(TIMEOUT_S), _address_space_limit(ADDRESS_SPACE_HEADROOM):
                outcome = lamina.saving.load_model(path, max_load_bytes=LOAD_BUDGET)
        except ALLOWED as error:
            outcome = error
        except LoadTimeout:
            raise AssertionError(f"load_model hung (> {TIMEOUT_S} s)") from None
        except Exception as error:  # noqa: BLE001 - the property under test
            raise AssertionError(
                f"load_model raised {type(error).__module__}.{type(error).__name__} (expected "
                f"a model or ValueError/TypeError/OSError): {error!r}") from error
    growth = _peak_rss() - before
    assert growth <= MEMORY_BUDGET, f"load_model grew resident memory by {growth} bytes"
    if isinstance(outcome, BaseException):
        assert str(outcome).strip(), f"{type(outcome).__name__} without a message"
        assert not STRICT or _raised_on_purpose(outcome), (
            f"unclear {type(outcome).__name__}: {outcome}")
    else:
        assert isinstance(outcome, lamina.layers.Layer), f"load_model returned {outcome!r}"
    return outcome


def _raised_on_purpose(error):
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return True
    filename = tb.tb_frame.f_code.co_filename
    if isinstance(error, OSError) and "h5py" in filename:
        return True
    line = linecache.getline(filename, tb.tb_lineno).strip()
    return f"{os.sep}lamina{os.sep}" in filename and line.startswith("raise")
