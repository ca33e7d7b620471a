"""Shared pytest set-up: one hypothesis profile so the suite stays inside its time budget, and
the browser fixtures of ``tests/browser.py``."""

import os

import torch
from hypothesis import HealthCheck, settings

from tests.browser import browser, open_page, site_dir, site_url  # noqa: F401 - fixtures

settings.register_profile(
    "default",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
