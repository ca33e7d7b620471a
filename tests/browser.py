"""Shared harness of the browser tests: build the site once, serve it on 127.0.0.1, drive it in
Debian's Chromium through Playwright (never a downloaded browser: this machine is offline).

Fixtures (registered in ``tests/conftest.py``):

``site_dir``
    The built site (needs no browser). ``TRANSCONV_SITE_DIR`` names one already built
    (``make test`` builds it strictly first and passes it on); otherwise one strict build into a
    temporary folder, reusing the page cache in ``.cache/pages/``.
``site_url``
    ``http://127.0.0.1:<port>/`` serving ``site_dir`` from a thread.
``browser``
    A headless Chromium; the test is skipped (with the reason) when Chromium or Playwright is
    missing.
``open_page``
    ``open_page(path, *, dark=False, width=1280) -> Visit``: a fresh page at ``site_url + path``
    that records console errors, failed requests and requests to any host but 127.0.0.1.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SKIP_REASON = (
    "browser tests skipped: Chromium or Playwright missing; enable them with "
    "`apt-get install -y chromium` (Playwright comes with `make install`)"
)


def chromium_path() -> str | None:
    """Debian's Chromium, or ``TRANSCONV_CHROMIUM``; ``None`` when neither exists."""
    for candidate in (os.environ.get("TRANSCONV_CHROMIUM"), "chromium", "chromium-browser"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def browser_available() -> bool:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return chromium_path() is not None


def build_site(target: Path) -> Path:
    """Strict build of the real site into ``target``, its Chinese edition into ``target/zh``.

    The page cache makes rebuilds cheap. The Chinese build is a draft (not strict): it shows
    untranslated text in English; ``make docs-strict`` is what insists on every translation.
    """
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    mkdocs = str(Path(sys.executable).with_name("mkdocs"))
    for args in (
        ["--strict", "--site-dir", str(target)],
        ["--no-strict", "-f", "mkdocs.zh.yml", "--site-dir", str(target / "zh")],
    ):
        subprocess.run([mkdocs, "build", "--quiet", *args], cwd=ROOT, env=env, check=True)
    return target


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's name
        pass


@dataclass
class Visit:
    """One opened page and everything it did that a test may assert on."""

    page: Any
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.failed_requests == [], self.failed_requests
        assert self.foreign_requests == [], self.foreign_requests


def _watch(page: Any, visit: Visit) -> None:
    def on_console(msg: Any) -> None:
        if msg.type == "error":
            visit.console_errors.append(f"{page.url}: {msg.text}")

    def on_request(request: Any) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("http:", "https:", "ws:", "wss:")) and host != "127.0.0.1":
            visit.foreign_requests.append(request.url)

    def on_failed(request: Any) -> None:
        visit.failed_requests.append(f"{request.url}: {request.failure}")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            visit.failed_requests.append(f"{response.url}: HTTP {response.status}")

    page.on("console", on_console)
    page.on("pageerror", lambda err: visit.console_errors.append(f"{page.url}: {err}"))
    page.on("request", on_request)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("TRANSCONV_SITE_DIR")
    if given:
        path = Path(given)
        if not path.is_absolute():
            path = ROOT / path
        assert (path / "index.html").is_file(), f"TRANSCONV_SITE_DIR={given} holds no built site"
        return path
    return build_site(tmp_path_factory.mktemp("site"))


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not browser_available():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def open_page(browser: Any, site_url: str) -> Iterator[Any]:
    contexts: list[Any] = []

    def _open(
        path: str = "", *, dark: bool = False, width: int = 1280, wait: str = "load"
    ) -> Visit:
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            color_scheme="dark" if dark else "light",
        )
        contexts.append(context)
        page = context.new_page()
        visit = Visit(page)
        _watch(page, visit)
        page.goto(site_url + path.lstrip("/"), wait_until=wait)
        return visit

    yield _open
    for context in contexts:
        context.close()
