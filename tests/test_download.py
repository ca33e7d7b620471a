"""Tests for transconv.data.download, offline: a local HTTP server plays the mirrors.

The server hands out a small synthetic VOC tar; the module's md5 is replaced by that tar's, so
the real download, md5 check and extraction code all run.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import transconv.data.download as download
from transconv.data.download import VOC2012_MD5, VOC2012_MIRRORS, download_voc
from transconv.data.layout import list_examples, voc_dir_in
from transconv.data.synthetic import make_synthetic_voc


def voc_tar(tmp_path: Path) -> bytes:
    """A tar of a synthetic VOCdevkit/VOC2012, every folder before any file (as a real tar
    lists them), so that a truncated copy extracts folders and lists but not every image."""
    source = tmp_path / "source"
    make_synthetic_voc(source, 4, 4, size=(16, 16))
    paths = sorted((source / "VOCdevkit").rglob("*"), key=lambda p: (p.is_file(), str(p)))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(source / "VOCdevkit", arcname="VOCdevkit", recursive=False)
        for path in paths:
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return buffer.getvalue()


class Mirrors:
    """A local HTTP server: ``files`` maps a path such as ``/a.tar`` to the bytes it serves."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        mirrors = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                mirrors.requests.append(self.path)
                body = mirrors.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"


@pytest.fixture
def mirrors(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mirrors]:
    """Serves the synthetic tar at /good.tar; the module's md5 is that tar's."""
    served = Mirrors()
    served.files["/good.tar"] = voc_tar(tmp_path_factory.mktemp("tar"))
    monkeypatch.setattr(download, "VOC2012_MD5", hashlib.md5(served.files["/good.tar"]).hexdigest())
    yield served
    served.server.shutdown()
    served.server.server_close()


def complete(voc_dir: Path) -> bool:
    return all(len(list_examples(voc_dir, split)) == 4 for split in ("train", "val"))


def test_download_falls_back_to_the_next_mirror(tmp_path: Path, mirrors: Mirrors) -> None:
    root = tmp_path / "data"
    urls = [mirrors.url("/missing.tar"), mirrors.url("/good.tar"), mirrors.url("/never.tar")]
    voc_dir = download_voc(root, mirrors=urls)
    assert voc_dir == voc_dir_in(root) and complete(voc_dir)
    assert mirrors.requests == ["/missing.tar", "/good.tar"]


def test_a_single_url_is_one_mirror(tmp_path: Path, mirrors: Mirrors) -> None:
    # bug 10: mirrors="http://..." iterated the string's characters as URLs
    assert complete(download_voc(tmp_path, mirrors=mirrors.url("/good.tar")))
    assert mirrors.requests == ["/good.tar"]


@pytest.mark.parametrize("mirrors", [42, [b"http://a"], ["http://a", None]])
def test_mirrors_must_be_urls(tmp_path: Path, mirrors: object) -> None:
    with pytest.raises(
        TypeError, match=r"mirrors must be a URL or a sequence of URLs \(str\), got"
    ):
        download_voc(tmp_path, mirrors=mirrors)


def test_download_rejects_no_mirrors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mirrors must list at least one URL, got an empty"):
        download_voc(tmp_path, mirrors=[])


@pytest.mark.parametrize("timeout", [0, -1.0, float("inf"), float("nan")])
def test_timeout_must_be_positive_and_finite(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(ValueError, match=r"timeout must be a positive, finite number of seconds"):
        download_voc(tmp_path, mirrors="http://a/x.tar", timeout=timeout)


@pytest.mark.parametrize("timeout", ["60", None, True])
def test_timeout_must_be_a_number(tmp_path: Path, timeout: object) -> None:
    with pytest.raises(TypeError, match=r"timeout must be a number of seconds"):
        download_voc(tmp_path, mirrors="http://a/x.tar", timeout=timeout)


def test_download_checksum_failure_moves_on(tmp_path: Path, mirrors: Mirrors) -> None:
    mirrors.files["/forged.tar"] = mirrors.files["/good.tar"] + b"\0" * 512
    urls = [mirrors.url("/forged.tar"), mirrors.url("/good.tar")]
    assert complete(download_voc(tmp_path, mirrors=urls))
    assert mirrors.requests == ["/forged.tar", "/good.tar"]


def test_download_all_fail(tmp_path: Path, mirrors: Mirrors) -> None:
    mirrors.files["/forged.tar"] = b"not a tar"
    urls = [mirrors.url("/missing.tar"), mirrors.url("/forged.tar")]
    with pytest.raises(RuntimeError) as info:
        download_voc(tmp_path, mirrors=urls)
    message = str(info.value)
    assert f"{urls[0]}: HTTPError: HTTP Error 404" in message
    assert f"{urls[1]}: RuntimeError: md5 of the download is " in message
    assert f"{tmp_path}/VOCdevkit/VOC2012/JPEGImages" in message
    assert download.VOC2012_MD5 in message and "make_synthetic_voc" in message
    assert not (tmp_path / download.VOC2012_FILENAME).exists()  # no forged tar kept


def test_a_stalled_server_times_out_and_the_next_mirror_is_tried(
    tmp_path: Path, mirrors: Mirrors
) -> None:
    # issue 20: urlopen without a timeout waits for a silent server until the job's 6-hour limit
    silent = socket.create_server(("127.0.0.1", 0))  # accepts connections, never answers
    stalled = f"http://127.0.0.1:{silent.getsockname()[1]}/voc.tar"
    try:
        start = time.monotonic()
        voc_dir = download_voc(tmp_path, mirrors=[stalled, mirrors.url("/good.tar")], timeout=0.5)
        assert time.monotonic() - start < 10
    finally:
        silent.close()
    assert complete(voc_dir) and mirrors.requests == ["/good.tar"]


def test_a_tar_that_breaks_off_leaves_no_tree_behind(tmp_path: Path, mirrors: Mirrors) -> None:
    # issue 20: extraction in place left a half-extracted tree that is_voc_tree then accepted
    good = mirrors.files["/good.tar"]
    with tarfile.open(fileobj=io.BytesIO(good)) as tar:
        last_image = [m for m in tar.getmembers() if m.name.endswith(".jpg")][-1]
    mirrors.files["/cut.tar"] = good[: last_image.offset_data + 10]  # breaks off in an image
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(download, "VOC2012_MD5", hashlib.md5(mirrors.files["/cut.tar"]).hexdigest())
        with pytest.raises(RuntimeError, match=r"cut.tar: ReadError"):
            download_voc(tmp_path, mirrors=mirrors.url("/cut.tar"))
    assert not voc_dir_in(tmp_path).exists()
    assert [p.name for p in tmp_path.iterdir()] == [download.VOC2012_FILENAME]  # no staging left
    assert complete(download_voc(tmp_path, mirrors=mirrors.url("/good.tar")))


def test_a_half_extracted_tree_is_downloaded_again_and_set_aside(
    tmp_path: Path, mirrors: Mirrors
) -> None:
    voc_dir = make_synthetic_voc(tmp_path, 2, 2, size=(8, 8))
    (voc_dir / "JPEGImages" / "2007_000001.jpg").unlink()  # what an interrupted tar leaves
    with pytest.warns(UserWarning, match=r"incomplete .*VOC2012 moved to .*VOC2012\.incomplete-"):
        assert download_voc(tmp_path, mirrors=mirrors.url("/good.tar")) == voc_dir
    assert complete(voc_dir) and mirrors.requests == ["/good.tar"]
    [aside] = (tmp_path / "VOCdevkit").glob("VOC2012.incomplete-*")
    assert (aside / "SegmentationClass" / "2007_000001.png").is_file()  # nothing deleted


def test_a_tar_already_there_with_the_right_md5_is_not_downloaded_again(
    tmp_path: Path, mirrors: Mirrors
) -> None:
    (tmp_path / download.VOC2012_FILENAME).write_bytes(mirrors.files["/good.tar"])
    assert complete(download_voc(tmp_path, mirrors=mirrors.url("/good.tar")))
    assert mirrors.requests == []


def test_download_skipped_when_present(tmp_path: Path, mirrors: Mirrors) -> None:
    make_synthetic_voc(tmp_path, 1, 1, size=(8, 8))
    assert download_voc(tmp_path, mirrors=mirrors.url("/good.tar")) == voc_dir_in(tmp_path)
    assert mirrors.requests == []


def test_default_mirrors_start_with_oxford_thor() -> None:
    # torchvision 0.29 uses thor; host.robots.ox.ac.uk only redirects there
    assert VOC2012_MIRRORS[0] == (
        "https://thor.robots.ox.ac.uk/pascal/VOC/voc2012/VOCtrainval_11-May-2012.tar"
    )
    assert any(url.startswith("http://host.robots.ox.ac.uk/") for url in VOC2012_MIRRORS)
    assert len(VOC2012_MIRRORS) >= 3
    assert all(url.endswith("/VOCtrainval_11-May-2012.tar") for url in VOC2012_MIRRORS)
    assert VOC2012_MD5 == "6cd6e144f989b92b3379bac3b3de84fd"
