"""`get_file`: download once into Keras' cache directory, check, and extract safely.

The cache layout and return values are Keras 3's (`~/.keras/<cache_subdir>/`, or
`$KERAS_HOME/...`), so files Keras downloaded are found here and the other way round.
Downloads go to `<file>.part` (an interrupted one resumes with an HTTP range request)
and appear at their cache path only whole and checked (`atomic_path`); a file whose hash
does not match is not kept, and an archive member that would land outside the extraction folder
(absolute path, `..`, a link pointing out, a device file) stops the extraction before
anything is written.
"""

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from lamina.utils import io_utils
from lamina.utils.file_utils import atomic_path
from lamina.utils.progbar import Progbar

_CHUNK = 1 << 16


def keras_home():
    """`$KERAS_HOME`, else `~/.keras` (`/tmp/.keras` when the home folder is read-only)."""
    if os.environ.get("KERAS_HOME"):
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """Download `origin` into the cache unless already there; return the local path.

    Args:
        fname: file name in the cache (default: the last part of `origin`'s path).
        origin: the URL.
        untar: deprecated, `extract=True` with `archive_format="tar"`.
        md5_hash: deprecated, `file_hash` with `hash_algorithm="md5"`.
        file_hash: expected sha256 or md5 hex digest; a cached file that does not match
            is downloaded again, a download that does not match is deleted and raises.
        cache_subdir: folder under the cache dir (an absolute path is used as is).
        hash_algorithm: `"md5"`, `"sha256"` or `"auto"` (sha256 for 64 hex digits).
        extract: extract the archive (tar, tar.gz, tar.bz2, zip) next to it.
        archive_format: `"auto"`, `"tar"`, `"zip"`, a list of them, or None.
        cache_dir: the cache dir (default `$KERAS_HOME` or `~/.keras`).
        force_download: download even when the file is cached (a partial
            `<file>.part` left by an interrupted download is discarded; otherwise the
            next call resumes it).

    Returns:
        The downloaded file's path, or with `extract`/`untar` the extraction folder.
    """
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to '
                         "download).")
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    base = os.path.expanduser(cache_dir if cache_dir is not None else keras_home())
    if os.path.exists(base) and not os.access(base, os.W_OK):
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(),
                            ".keras")
    datadir = os.path.join(base, cache_subdir)
    os.makedirs(datadir, exist_ok=True)

    provided = os.fspath(fname) if fname is not None else None
    fname = provided
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: "
                             f"'{origin}'.Please specify the `fname` argument.")
    elif os.sep in fname:
        raise ValueError("Paths are no longer accepted as the `fname` argument. To specify "
                         "the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")

    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            stem = fname[:fname.find(".")]
            extraction_dir = os.path.join(datadir, f"{stem}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and not validate_file(target, file_hash,
                                                                     hash_algorithm):
        io_utils.print_msg(
            "A local file was found, but it seems to be incomplete or outdated because the "
            f"{hash_algorithm} file hash does not match the original value of {file_hash} "
            "so we will re-download the data.")
        download = True
    if download:
        io_utils.print_msg(f"Downloading data from {origin}")
        _download(origin, target, file_hash, hash_algorithm, restart=force_download)

    if extract or untar:
        if untar:
            archive_format = "tar"
        if download or not os.path.exists(extraction_dir):
            extract_archive(target, extraction_dir, archive_format)
        return extraction_dir
    return target


def _download(origin, target, file_hash, hash_algorithm, restart=False):
    """Fetch `origin` into `<target>.part`, resuming a previous interrupted fetch with an
    HTTP range request, then publish it whole at `target` once its hash checks out."""
    partial = target + ".part"
    if restart and os.path.exists(partial):
        os.remove(partial)
    offset = os.path.getsize(partial) if os.path.exists(partial) else 0
    request = urllib.request.Request(origin)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        with urllib.request.urlopen(request) as response:
            resumed = offset > 0 and response.status == 206
            offset = offset if resumed else 0
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length else None
            bar = Progbar(total, unit_name="byte")
            with open(partial, "ab" if resumed else "wb") as out:
                done = offset
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    bar.update(done)
        if total is not None and done < total:
            raise ConnectionError(f"URL fetch failure on {origin}: the connection closed "
                                  f"after {done} of {total} bytes. Call `get_file` again to "
                                  "resume the download.")
    except urllib.error.HTTPError as e:
        if e.code == 416 and offset:  # the partial file is stale: start over
            return _download(origin, target, file_hash, hash_algorithm, restart=True)
        _remove_if_empty(partial)
        raise Exception(f"URL fetch failure on {origin}: {e.code} -- {e.msg}") from e
    except urllib.error.URLError as e:
        _remove_if_empty(partial)
        raise Exception(f"URL fetch failure on {origin}: {e.errno} -- {e.reason}") from e
    # NOTE: any other interruption (connection cut, Ctrl-C) keeps `<target>.part` so the
    # next call resumes; `target` itself never holds a partial file.
    if file_hash is not None and not validate_file(partial, file_hash, hash_algorithm):
        os.remove(partial)
        raise ValueError(
            f"Incomplete or corrupted file detected downloading {origin}. The "
            f"{_resolve_algorithm(hash_algorithm, file_hash)} file hash does not match "
            f"the provided value of {file_hash}; the file was not kept.")
    with atomic_path(target) as tmp:
        os.replace(partial, tmp)


def _remove_if_empty(path):
    if os.path.exists(path) and os.path.getsize(path) == 0:
        os.remove(path)


def _resolve_algorithm(algorithm, file_hash):
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(file_hash) == 64):
        return "sha256"
    return "md5"


def hash_file(fpath, algorithm="sha256", chunk_size=_CHUNK):
    """Hex digest of the file at `fpath` (`"sha256"` or `"md5"`)."""
    hasher = hashlib.new(algorithm if algorithm in ("sha256", "md5") else "sha256")
    with open(fpath, "rb") as f:
        while chunk := f.read(chunk_size):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=_CHUNK):
    """Whether the file's sha256/md5 digest is `file_hash`."""
    algorithm = _resolve_algorithm(algorithm, file_hash)
    return hash_file(fpath, algorithm, chunk_size) == str(file_hash).lower()


# --- extraction --------------------------------------------------------------------


def extract_archive(file_path, path=".", archive_format="auto"):
    """Extract a tar or zip archive into `path`; False when it is neither.

    Every member is checked before anything is written: one that would land outside
    `path` raises `ValueError` naming it.
    """
    if archive_format is None:
        return False
    if archive_format == "auto":
        archive_format = ["tar", "zip"]
    if isinstance(archive_format, str):
        archive_format = [archive_format]
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in archive_format:
        if kind == "tar":
            matches, extract = tarfile.is_tarfile, _extract_tar
        elif kind == "zip":
            matches, extract = zipfile.is_zipfile, _extract_zip
        else:
            raise NotImplementedError(kind)
        if matches(file_path):
            parent = os.path.dirname(os.path.abspath(path))
            staging = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", dir=parent)
            try:
                extract(file_path, staging)
                if os.path.isdir(path):
                    shutil.rmtree(path)
                elif os.path.exists(path):
                    os.remove(path)
                os.replace(staging, path)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            return True
    return False


def _inside(root, name):
    root = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, name))
    return target == root or target.startswith(root + os.sep)


def _unsafe(archive, name, why):
    return ValueError(f"Refusing to extract {archive!r}: member {name!r} {why}. The "
                      "archive was not extracted.")


def _extract_tar(file_path, dest):
    with tarfile.open(file_path) as archive:
        members = archive.getmembers()
        for m in members:
            if os.path.isabs(m.name) or m.name.startswith(("/", "\\")):
                raise _unsafe(file_path, m.name, "has an absolute path")
            if not _inside(dest, m.name):
                raise _unsafe(file_path, m.name, "would be written outside the "
                                                 "extraction folder")
            if m.issym():
                link = os.path.join(os.path.dirname(m.name), m.linkname)
                if os.path.isabs(m.linkname) or not _inside(dest, link):
                    raise _unsafe(file_path, m.name,
                                  f"is a link to {m.linkname!r}, outside the extraction "
                                  "folder")
            elif m.islnk():
                if os.path.isabs(m.linkname) or not _inside(dest, m.linkname):
                    raise _unsafe(file_path, m.name,
                                  f"is a link to {m.linkname!r}, outside the extraction "
                                  "folder")
            elif not (m.isfile() or m.isdir()):
                raise _unsafe(file_path, m.name, "is a device, fifo or other special file")
        archive.extractall(dest, members=members, filter="data")


def _extract_zip(file_path, dest):
    with zipfile.ZipFile(file_path) as archive:
        for name in archive.namelist():
            if os.path.isabs(name) or name.startswith(("/", "\\")) or ":" in name[:2]:
                raise _unsafe(file_path, name, "has an absolute path")
            if not _inside(dest, name):
                raise _unsafe(file_path, name, "would be written outside the extraction "
                                               "folder")
        archive.extractall(dest)
