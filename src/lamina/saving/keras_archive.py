"""The `.keras` zip archive: atomic writes and checked reads.

Writes go to a temporary file in the target's directory, are flushed and fsync'ed, then
renamed over the target (`os.replace`): an exception or a crash mid-save leaves any
previous file untouched. Reads take only Keras' member names (the three files, and
`assets/...` files under plain relative paths), refuse names that leave the archive, and
check every size (declared and inflated) against the load limits of
`lamina.serialization.serialization` before and while decompressing.
"""

import collections
import io
import os
import warnings
import zipfile
import zlib

from lamina.serialization import serialization
from lamina.utils.file_utils import atomic_path

try:
    from lzma import LZMAError
except ImportError:  # a Python without lzma: zipfile cannot inflate such members at all
    LZMAError = zlib.error

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
MEMBERS = (METADATA, CONFIG, WEIGHTS)
WEIGHTS_NPZ = "model.weights.npz"  # Keras' other weights format, not read by lamina
ASSETS = "assets/"  # prefix of the files written by `save_assets` hooks

# Size limits live in `lamina.serialization.serialization` (`max_load_bytes`, `max_config_bytes`,
# set through `lamina.config`); these guard the archive's shape.
MAX_COMPRESSION_RATIO = 1000
MAX_ASSET_MEMBERS = 100_000


def write_archive(filepath, members):
    """Atomically write a `.keras` zip holding `members` (name -> bytes), uncompressed
    like Keras' own archives."""
    with atomic_path(filepath) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as archive:
            for name in MEMBERS:
                if name in members:
                    archive.writestr(name, members[name])
            for name in sorted(n for n in members if n.startswith(ASSETS)):
                archive.writestr(name, members[name])


def is_asset_name(name):
    """Whether `name` is an `assets/...` member under a plain relative path (no `..`,
    no absolute or drive paths, no backslashes, no empty parts)."""
    if not name.startswith(ASSETS):
        return False
    rest = name[len(ASSETS):]
    return not rest or _is_plain_path(rest)  # `not rest`: the directory entry itself


def _is_plain_path(name):
    if "\\" in name or ":" in name or "\0" in name:
        return False
    parts = (name[:-1] if name.endswith("/") else name).split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _refuse(filepath, why):
    return ValueError(f"Refusing to load '{filepath}': {why}")


def _check_member(info, filepath, limits):
    name = info.filename
    limit = _member_limit(name, *limits)
    if info.file_size > limit:
        raise _refuse(filepath, (
            f"member {name!r} claims {info.file_size} bytes, more than the limit of {limit} "
            f"bytes{_how_to_raise(name)}"))
    if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO and (
            info.file_size > 2**20):
        raise _refuse(filepath, (
            f"member {name!r} expands {info.file_size} bytes from {info.compress_size} "
            f"(ratio over {MAX_COMPRESSION_RATIO}); this looks like a zip bomb."))


def _how_to_raise(name):
    if name in (CONFIG, METADATA):
        return (" (raise it with `load_model(..., max_config_bytes=N)` or "
                "`lamina.config.set_max_config_bytes(N)`)")
    return (" (raise it with `load_model(..., max_load_bytes=N)` or "
            "`lamina.config.set_max_load_bytes(N)`)")


def read_archive(filepath, max_load_bytes=None, max_config_bytes=None):
    """Read a `.keras` file: returns `{member name: bytes}` after checking every member.

    Each member is checked against its limit before it is read (`max_config_bytes` for
    the JSON files, `max_load_bytes` for the weights and each asset; None means the
    `lamina.config` setting), and all of them together against `max_load_bytes +
    2 * max_config_bytes`, both from the sizes the archive declares and again while
    inflating, so a zip bomb is refused without being inflated. As in Keras, members it
    does not know are not read (with a warning); names that leave the archive's
    directory are refused.
    """
    limits = (max_load_bytes or serialization.max_load_bytes(),
              max_config_bytes or serialization.max_config_bytes())
    total_limit = limits[0] + 2 * limits[1]
    filepath = os.fspath(filepath) if not hasattr(filepath, "read") else filepath
    try:
        archive = zipfile.ZipFile(filepath, "r")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as error:
        raise ValueError(f"'{filepath}' is not a valid `.keras` zip archive: {error}") from None
    except OSError as error:  # e.g. a directory offset that seeks before the file's start
        raise type(error)(f"'{filepath}' cannot be read as a `.keras` zip archive: "
                          f"{error}") from error
    with archive:
        infos = archive.infolist()
        if len(infos) > len(MEMBERS) + MAX_ASSET_MEMBERS:
            raise _refuse(filepath, f"it holds {len(infos)} members, more than the limit of "
                                    f"{len(MEMBERS) + MAX_ASSET_MEMBERS}.")
        counts = collections.Counter(info.filename for info in infos)
        duplicates = sorted(name for name, count in counts.items() if count > 1)
        if duplicates:
            raise _refuse(filepath, f"archive member {duplicates[0]!r} appears more than once.")
        known, unknown = [], []
        for info in infos:
            name = info.filename
            if name in MEMBERS or is_asset_name(name):
                _check_member(info, filepath, limits)
                known.append(info)
            elif _is_plain_path(name) and not name.startswith("/"):
                unknown.append(name)
            else:
                raise _refuse(filepath, (
                    f"unexpected archive member {name!r}: its name leaves the archive's "
                    "directory (absolute path, `..`, drive or backslash). A `.keras` file "
                    f"holds only {list(MEMBERS)} and `{ASSETS}...` files under plain "
                    "relative paths; this one may have been tampered with."))
        if CONFIG not in counts:
            raise ValueError(f"'{filepath}' is not a `.keras` archive: it has no {CONFIG!r}.")
        if WEIGHTS_NPZ in counts and WEIGHTS not in counts:
            raise ValueError(
                f"'{filepath}' holds its weights in Keras' npz format ({WEIGHTS_NPZ!r}, "
                "`weights_format='npz'`); lamina reads only h5 weights. Re-save the model "
                "with Keras' default format.")
        unknown = [name for name in unknown if name != WEIGHTS_NPZ]
        declared = sum(info.file_size for info in known)
        if declared > total_limit:
            raise _refuse(filepath, (
                f"its members claim {declared} bytes in all, more than the limit of "
                f"{total_limit} bytes (`max_load_bytes` + 2 * `max_config_bytes`)"
                f"{_how_to_raise(WEIGHTS)}."))
        if unknown:
            warnings.warn(
                f"'{filepath}': ignoring archive members that a `.keras` file does not "
                f"define: {unknown[:5]}{' ...' if len(unknown) > 5 else ''}. Only "
                f"{list(MEMBERS)} and `{ASSETS}...` are read.", stacklevel=3)
        members, total = {}, 0
        for info in known:
            data, total = _inflate(archive, info, filepath, limits, total, total_limit)
            members[info.filename] = data
    return members


def _inflate(archive, info, filepath, limits, total, total_limit):
    """Read one member in chunks, counting against its declared size, its limit and the
    archive's total budget as it inflates."""
    name = info.filename
    limit = min(_member_limit(name, *limits), info.file_size)
    # NOTE: a stored member (Keras writes them so) reads at once: nothing inflates.
    chunk_size = limit + 1 if info.compress_type == zipfile.ZIP_STORED else _CHUNK
    chunks, size = [], 0
    try:
        with archive.open(info) as member:
            while chunk := member.read(min(chunk_size, limit - size + 1)):
                size += len(chunk)
                total += len(chunk)
                if size > limit:
                    raise _refuse(filepath, (
                        f"member {name!r} inflates past its declared {info.file_size} "
                        "bytes or its limit; the archive is corrupt or tampered with."))
                if total > total_limit:
                    raise _refuse(filepath, (
                        f"its members inflate past the limit of {total_limit} bytes in all"
                        f"{_how_to_raise(WEIGHTS)}."))
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, LZMAError, EOFError, NotImplementedError,
            RuntimeError) as error:
        raise ValueError(
            f"'{filepath}' is not a valid `.keras` zip archive: member {name!r} cannot be "
            f"read ({type(error).__name__}: {error})."
        ) from None
    except OSError as error:  # e.g. bz2's "Invalid data stream" for a damaged member
        raise type(error)(f"'{filepath}': archive member {name!r} cannot be read: "
                          f"{error}") from error
    return (chunks[0] if len(chunks) == 1 else b"".join(chunks)), total


_CHUNK = 2**20


def _member_limit(name, max_load_bytes, max_config_bytes):
    return max_config_bytes if name in (CONFIG, METADATA) else max_load_bytes


def h5_bytes(write):
    """Run `write(h5py_file)` on an in-memory h5 file and return its bytes."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()
