"""`get_file` against a local HTTP server (never the internet)."""

import hashlib
import http.server
import io
import os
import tarfile
import threading
import zipfile

import pytest

from lamina.utils import get_file
from lamina.utils.download_utils import extract_archive


class _Handler(http.server.BaseHTTPRequestHandler):
    files = {}
    hits = []
    cuts = {}  # path -> bytes sent before the connection drops (once)
    ranges = []  # the Range headers received

    def do_GET(self):  # noqa: N802 (http.server's name)
        self.hits.append(self.path)
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        start = 0
        if self.headers.get("Range"):
            self.ranges.append(self.headers["Range"])
            start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
            self.send_response(206)
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        cut = self.cuts.pop(self.path, None)
        self.wfile.write(body[start:] if cut is None else body[start:start + cut])
        if cut is not None:
            self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files, _Handler.hits, _Handler.cuts, _Handler.ranges = {}, [], {}, []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path, body):
        _Handler.files[path] = body
        return base + path

    serve.hits, serve.cuts, serve.ranges = _Handler.hits, _Handler.cuts, _Handler.ranges
    yield serve
    httpd.shutdown()
    httpd.server_close()


def _tar(members, mode="w:gz"):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name, target, kind=tarfile.SYMTYPE):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _zip(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DATA = b"0123456789" * 1000


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_downloads_once_into_the_cache_and_returns_keras_path(server, tmp_path):
    url = server("/data/file.bin", DATA)
    path = get_file(origin=url, cache_dir=str(tmp_path))
    assert path == os.path.join(str(tmp_path), "datasets", "file.bin")
    assert _read(path) == DATA
    again = get_file("file.bin", url, cache_dir=str(tmp_path))
    assert again == path and server.hits == ["/data/file.bin"]
    get_file("file.bin", url, cache_dir=str(tmp_path), force_download=True)
    assert len(server.hits) == 2
    assert not [n for n in os.listdir(tmp_path / "datasets") if n.endswith(".tmp")]


def test_an_interrupted_download_resumes_and_never_shows_a_partial_file(server, tmp_path):
    url = server("/big.bin", DATA)
    server.cuts["/big.bin"] = 4000
    with pytest.raises(ConnectionError, match="after 4000 of 10000 bytes.*resume"):
        get_file(origin=url, cache_dir=str(tmp_path), file_hash=hashlib.sha256(
            DATA).hexdigest())
    folder = tmp_path / "datasets"
    assert os.listdir(folder) == ["big.bin.part"]
    assert (folder / "big.bin.part").stat().st_size == 4000
    path = get_file(origin=url, cache_dir=str(tmp_path),
                    file_hash=hashlib.sha256(DATA).hexdigest())
    assert _read(path) == DATA and server.ranges == ["bytes=4000-"]
    assert os.listdir(folder) == ["big.bin"]


def test_default_cache_is_keras_home(server, tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    url = server("/x.txt", b"hi")
    path = get_file(origin=url, cache_subdir="models")
    assert path == str(tmp_path / "kh" / "models" / "x.txt")


@pytest.mark.parametrize("algorithm", ["sha256", "md5"])
def test_hash_checked_and_a_bad_download_is_not_kept(server, tmp_path, algorithm):
    url = server("/f.bin", DATA)
    good = hashlib.new(algorithm, DATA).hexdigest()
    path = get_file(origin=url, file_hash=good, cache_dir=str(tmp_path))
    assert _read(path) == DATA
    os.remove(path)
    with pytest.raises(ValueError, match="file hash does not match"):
        get_file(origin=url, file_hash="0" * len(good), cache_dir=str(tmp_path))
    assert os.listdir(tmp_path / "datasets") == []


def test_md5_hash_argument_and_stale_cache_redownload(server, tmp_path):
    url = server("/f.bin", DATA)
    target = tmp_path / "datasets" / "f.bin"
    target.parent.mkdir()
    target.write_bytes(b"truncated")
    path = get_file(origin=url, md5_hash=hashlib.md5(DATA).hexdigest(),
                    cache_dir=str(tmp_path))
    assert _read(path) == DATA and server.hits == ["/f.bin"]


def test_http_error_is_clear_and_leaves_nothing(server, tmp_path):
    url = server("/present", b"x").replace("/present", "/missing")
    with pytest.raises(Exception, match="URL fetch failure on .*missing: 404"):
        get_file(origin=url, cache_dir=str(tmp_path))
    assert os.listdir(tmp_path / "datasets") == []


def test_fname_rules(tmp_path):
    with pytest.raises(ValueError, match='specify the "origin"'):
        get_file("a.txt", cache_dir=str(tmp_path))
    with pytest.raises(ValueError, match="Paths are no longer accepted"):
        get_file(os.path.join("dir", "a.txt"), "http://127.0.0.1:9/a.txt",
                 cache_dir=str(tmp_path))


def test_extract_tar_keras_layout(server, tmp_path):
    body = _tar([_file("pkg/a.txt", b"A"), _file("pkg/sub/b.txt", b"B")])
    url = server("/pkg.tar.gz", body)
    out = get_file("pkg.tar.gz", url, extract=True, cache_dir=str(tmp_path))
    assert out == os.path.join(str(tmp_path), "datasets", "pkg_extracted")
    assert _read(os.path.join(out, "pkg", "sub", "b.txt")).decode() == "B"
    assert os.path.isfile(os.path.join(str(tmp_path), "datasets", "pkg.tar.gz"))
    # Without `fname` the archive is kept as `<name>_archive` and extracted to `<name>`.
    out = get_file(origin=url, untar=True, cache_dir=str(tmp_path), cache_subdir="other")
    assert out == os.path.join(str(tmp_path), "other", "pkg.tar.gz")
    assert os.path.isfile(out + "_archive") and os.path.isdir(out)
    assert get_file(origin=url, untar=True, cache_dir=str(tmp_path),
                    cache_subdir="other") == out
    assert len(server.hits) == 2


def test_extract_zip(server, tmp_path):
    url = server("/z.zip", _zip({"z/one.txt": "1", "two.txt": "2"}))
    out = get_file("z.zip", url, extract=True, cache_dir=str(tmp_path))
    assert sorted(os.listdir(out)) == ["two.txt", "z"]
    assert _read(os.path.join(out, "z", "one.txt")).decode() == "1"


@pytest.mark.parametrize("members, why", [
    ([_file("../evil.txt", b"x")], "outside the extraction folder"),
    ([_file("ok/../../evil.txt", b"x")], "outside the extraction folder"),
    ([_file("/tmp/evil.txt", b"x")], "absolute path"),
    ([_link("ok/link", "../../outside")], "is a link to"),
    ([_link("ok/link", "/etc/passwd")], "is a link to"),
    ([_link("hard", "/etc/passwd", tarfile.LNKTYPE)], "is a link to"),
])
def test_tar_traversal_is_refused_before_writing(tmp_path, members, why):
    archive = tmp_path / "bad.tar"
    archive.write_bytes(_tar([_file("first.txt", b"1"), *members], mode="w"))
    dest = tmp_path / "out" / "x"
    dest.parent.mkdir()
    with pytest.raises(ValueError, match=why):
        extract_archive(str(archive), str(dest))
    assert os.listdir(dest.parent) == []  # nothing extracted, no staging folder left
    assert not (tmp_path / "evil.txt").exists()


@pytest.mark.parametrize("name, why", [("../evil.txt", "outside the extraction folder"),
                                       ("/abs.txt", "absolute path")])
def test_zip_traversal_is_refused(tmp_path, name, why):
    archive = tmp_path / "bad.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("fine.txt", "1")
        z.writestr(zipfile.ZipInfo(name), "x")
    with pytest.raises(ValueError, match=why):
        extract_archive(str(archive), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists() and not (tmp_path / "evil.txt").exists()


def test_links_inside_the_folder_are_fine(tmp_path):
    archive = tmp_path / "ok.tar"
    archive.write_bytes(_tar([_file("d/a.txt", b"A"), _link("d/b.txt", "a.txt")], mode="w"))
    assert extract_archive(str(archive), str(tmp_path / "out"))
    assert (tmp_path / "out" / "d" / "b.txt").read_text() == "A"


def test_not_an_archive_returns_false(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text("hello")
    assert extract_archive(str(plain), str(tmp_path / "out")) is False


def test_progress_bar_is_drawn(server, tmp_path, capsys):
    url = server("/p.bin", DATA)
    get_file(origin=url, cache_dir=str(tmp_path))
    out = capsys.readouterr().out
    assert f"Downloading data from {url}" in out and f"{len(DATA)}/{len(DATA)}" in out


@pytest.mark.parametrize("kwargs", [
    dict(), dict(fname="named.tar.gz"), dict(extract=True), dict(fname="named.tar.gz",
                                                                 extract=True),
    dict(fname="noext", untar=True), dict(cache_subdir="models"),
])
def test_paths_match_keras(server, tmp_path, kwargs):
    keras = pytest.importorskip("keras")
    url = server("/pkg.tar.gz", _tar([_file("pkg/a.txt", b"A")]))
    for side in ("ours", "keras"):  # Keras falls back to /tmp/.keras for a missing dir
        (tmp_path / side).mkdir()
    ours = get_file(origin=url, cache_dir=str(tmp_path / "ours"), **kwargs)
    theirs = keras.utils.get_file(origin=url, cache_dir=str(tmp_path / "keras"), **kwargs)
    assert os.path.relpath(ours, tmp_path / "ours") == os.path.relpath(theirs,
                                                                       tmp_path / "keras")
    assert sorted(os.listdir(os.path.dirname(ours))) == sorted(
        os.listdir(os.path.dirname(theirs)))
