"""The `.keras` zip archive: atomic writes and checked reads.

Writes go to a temporary file in the target's directory, are flushed and fsync'ed, then
renamed over the target (`os.replace`): an exception or a crash mid-save leaves any
previous file untouched. Reads accept only Keras' member names (the three files, and
`assets/...` files under plain relative paths) and refuse oversized or suspiciously
compressed members before decompressing anything.
"""

import contextlib
import io
import os
import tempfile
import zipfile

CONFIG = "config.json"
METADATA = "metadata.json"
WEIGHTS = "model.weights.h5"
MEMBERS = (METADATA, CONFIG, WEIGHTS)
ASSETS = "assets/"  # prefix of the files written by `save_assets` hooks

# Limits on what a loaded archive may claim; overridable for unusual models.
MAX_JSON_BYTES = 256 * 2**20
MAX_WEIGHTS_BYTES = 64 * 2**30
MAX_COMPRESSION_RATIO = 1000
MAX_ASSET_MEMBERS = 100_000


@contextlib.contextmanager
def atomic_path(filepath):
    """Yield a temporary path next to `filepath`; on success it replaces `filepath`.

    >>> import os, tempfile
    >>> target = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(target) as tmp, open(tmp, "w") as f:
    ...     _ = f.write("done")
    >>> with open(target) as f:
    ...     f.read()
    'done'
    """
    filepath = os.fspath(filepath)
    directory = os.path.dirname(os.path.abspath(filepath))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(filepath)}.", suffix=".tmp",
                               dir=directory)
    os.close(fd)
    try:
        os.chmod(tmp, _target_mode(filepath))
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _target_mode(filepath):
    """Keep an existing file's permissions; new files get the usual `0o666 & ~umask`."""
    try:
        return os.stat(filepath).st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    # NOTE: makes the rename itself durable; not possible on every platform.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
    if not name.startswith(ASSETS) or "\\" in name or ":" in name:
        return False
    rest = name[len(ASSETS):]
    if not rest:
        return True  # the directory entry itself
    parts = (rest[:-1] if rest.endswith("/") else rest).split("/")
    return all(part not in ("", ".", "..") for part in parts)


def _check_member(info, filepath):
    name = info.filename
    if name not in MEMBERS and not is_asset_name(name):
        raise ValueError(
            f"Refusing to load '{filepath}': unexpected archive member {name!r}. A `.keras` "
            f"file holds only {list(MEMBERS)} and `{ASSETS}...` files under plain relative "
            "paths; this one may have been tampered with."
        )
    limit = _member_limit(name)
    if info.file_size > limit:
        raise ValueError(
            f"Refusing to load '{filepath}': member {name!r} claims {info.file_size} bytes, "
            f"more than the limit of {limit} bytes "
            "(`lamina.saving.keras_archive.MAX_*_BYTES`)."
        )
    if info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO and (
            info.file_size > 2**20):
        raise ValueError(
            f"Refusing to load '{filepath}': member {name!r} expands {info.file_size} bytes "
            f"from {info.compress_size} (ratio over {MAX_COMPRESSION_RATIO}); this looks like "
            "a zip bomb."
        )


def read_archive(filepath):
    """Read a `.keras` file: returns `{member name: bytes}` after checking every member."""
    filepath = os.fspath(filepath) if not hasattr(filepath, "read") else filepath
    try:
        archive = zipfile.ZipFile(filepath, "r")
    except zipfile.BadZipFile as error:
        raise ValueError(f"'{filepath}' is not a valid `.keras` zip archive: {error}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > len(MEMBERS) + MAX_ASSET_MEMBERS:
            raise ValueError(
                f"Refusing to load '{filepath}': it holds {len(infos)} members, more than "
                f"the limit of {len(MEMBERS) + MAX_ASSET_MEMBERS}."
            )
        names = [info.filename for info in infos]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"Refusing to load '{filepath}': archive member {duplicates[0]!r} appears "
                "more than once."
            )
        for info in infos:
            _check_member(info, filepath)
        if CONFIG not in names:
            raise ValueError(f"'{filepath}' is not a `.keras` archive: it has no {CONFIG!r}.")
        members = {}
        for info in infos:
            limit = _member_limit(info.filename)
            with archive.open(info) as member:
                data = member.read(limit + 1)
            if len(data) > limit:
                raise ValueError(
                    f"Refusing to load '{filepath}': member {info.filename!r} is larger "
                    f"than the limit of {limit} bytes."
                )
            members[info.filename] = data
    return members


def _member_limit(name):
    return MAX_WEIGHTS_BYTES if name == WEIGHTS or name.startswith(ASSETS) else MAX_JSON_BYTES


def h5_bytes(write):
    """Run `write(h5py_file)` on an in-memory h5 file and return its bytes."""
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write(f)
    return buffer.getvalue()
