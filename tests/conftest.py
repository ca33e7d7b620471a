"""Shared pytest set-up: one hypothesis profile so the suite stays inside its time budget, and
the browser fixtures of ``tests/browser.py``.

Without Chromium (or Playwright) the browser tests are deselected rather than skipped one by one,
and the run ends with one line saying so and how to enable them.
"""

import os

import pytest
import torch
from hypothesis import HealthCheck, settings

from tests.browser import (  # noqa: F401 - fixtures
    SKIP_REASON,
    browser,
    browser_available,
    open_page,
    site_dir,
    site_url,
)

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

_browser_tests_left_out: list[str] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # a test that needs the built site is slow by nature: without TRANSCONV_SITE_DIR it builds
    # the whole site first, so `make test-fast` (-m 'not slow') leaves every one of them out
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        trains = item.nodeid.startswith("tests/test_cli.py") and "run" in fixtures  # one epoch
        benchmarks = item.nodeid.startswith("tests/test_benchmarks.py") and "smoke" in fixtures
        if "site_dir" in fixtures or trains or benchmarks:
            item.add_marker(pytest.mark.slow)
    if browser_available():
        return
    left_out = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if left_out:
        _browser_tests_left_out[:] = [item.nodeid for item in left_out]
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    if _browser_tests_left_out:
        terminalreporter.write_line(f"{len(_browser_tests_left_out)} {SKIP_REASON}", yellow=True)
