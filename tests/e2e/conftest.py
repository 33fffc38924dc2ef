"""The browser tests' fixtures: the one browser (Debian's chromium, headless, through Playwright, shared by the
session) and an SMTP sink (aiosmtpd on 127.0.0.1) per module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.support import ARGS, CHROMIUM
from tests.test_send_helpers import Sink


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with Sink() as server:
        yield server
