"""Tests for transconv.data.download (no network: the download function is replaced)."""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest

import transconv.data.download as download
from transconv.data.download import VOC2012_MD5, VOC2012_MIRRORS, download_voc
from transconv.data.synthetic import make_synthetic_voc


class FakeDownloads:
    """Stands in for download_and_extract_archive: fails for the URLs in ``errors``."""

    def __init__(self, errors: dict[str, Exception], extract: bool = True) -> None:
        self.errors, self.extract, self.calls = errors, extract, []

    def __call__(self, url: str, download_root: str, filename: str, md5: str) -> None:
        self.calls.append((url, filename, md5))
        if url in self.errors:
            raise self.errors[url]
        if self.extract:
            make_synthetic_voc(download_root, 1, 1, size=(8, 8))


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch):
    def install(errors: dict[str, Exception], extract: bool = True) -> FakeDownloads:
        downloads = FakeDownloads(errors, extract)
        monkeypatch.setattr(download, "download_and_extract_archive", downloads)
        return downloads

    return install


def test_download_falls_back_to_the_next_mirror(tmp_path: Path, fake) -> None:
    downloads = fake({"http://a/x.tar": urllib.error.URLError("no route to host")})
    voc_dir = download_voc(tmp_path, mirrors=["http://a/x.tar", "http://b/x.tar", "http://c/x.tar"])
    assert voc_dir == tmp_path / "VOCdevkit" / "VOC2012"
    assert [c[0] for c in downloads.calls] == ["http://a/x.tar", "http://b/x.tar"]
    expected = ("VOCtrainval_11-May-2012.tar", "6cd6e144f989b92b3379bac3b3de84fd")
    assert all(call[1:] == expected for call in downloads.calls)  # md5 always checked


def test_a_single_url_is_one_mirror(tmp_path: Path, fake) -> None:
    # bug 10: mirrors="http://..." iterated the string's characters as URLs
    downloads = fake({})
    download_voc(tmp_path, mirrors="http://only/x.tar")
    assert [c[0] for c in downloads.calls] == ["http://only/x.tar"]


@pytest.mark.parametrize("mirrors", [42, [b"http://a"], ["http://a", None]])
def test_mirrors_must_be_urls(tmp_path: Path, mirrors: object) -> None:
    with pytest.raises(
        TypeError, match=r"mirrors must be a URL or a sequence of URLs \(str\), got"
    ):
        download_voc(tmp_path, mirrors=mirrors)


def test_download_checksum_failure_moves_on(tmp_path: Path, fake) -> None:
    downloads = fake({"http://a/x.tar": RuntimeError("File not found or corrupted.")})
    assert download_voc(tmp_path, mirrors=["http://a/x.tar", "http://b/x.tar"]).is_dir()
    assert len(downloads.calls) == 2


def test_download_all_fail(tmp_path: Path, fake) -> None:
    errors = {
        "http://a/x.tar": urllib.error.URLError("timed out"),
        "http://b/x.tar": ConnectionResetError("reset"),
    }
    fake(errors)
    with pytest.raises(RuntimeError) as info:
        download_voc(tmp_path, mirrors=list(errors))
    message = str(info.value)
    assert "http://a/x.tar: URLError" in message and "timed out" in message
    assert "http://b/x.tar: ConnectionResetError: reset" in message
    assert f"{tmp_path}/VOCdevkit/VOC2012/JPEGImages" in message
    assert "6cd6e144f989b92b3379bac3b3de84fd" in message and "make_synthetic_voc" in message


def test_download_extracted_but_incomplete(tmp_path: Path, fake) -> None:
    fake({}, extract=False)
    with pytest.raises(RuntimeError, match=r"http://a/x.tar: extracted, but .*VOC2012 is still"):
        download_voc(tmp_path, mirrors=["http://a/x.tar"])


def test_download_skipped_when_present(tmp_path: Path, fake) -> None:
    downloads = fake({})
    make_synthetic_voc(tmp_path, 1, 1, size=(8, 8))
    assert download_voc(tmp_path) == tmp_path / "VOCdevkit" / "VOC2012"
    assert downloads.calls == []


def test_download_rejects_no_mirrors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"mirrors must list at least one URL, got an empty"):
        download_voc(tmp_path, mirrors=[])


def test_default_mirrors_start_with_the_official_host() -> None:
    assert VOC2012_MIRRORS[0].startswith("http://host.robots.ox.ac.uk/")
    assert len(VOC2012_MIRRORS) >= 2
    assert all(url.endswith("/VOCtrainval_11-May-2012.tar") for url in VOC2012_MIRRORS)
    assert VOC2012_MD5 == "6cd6e144f989b92b3379bac3b3de84fd"
