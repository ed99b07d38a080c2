"""A real headless Chromium for the console's browser tests.

Chromium comes from Debian (`make test` installs it) and is driven by Python Playwright; nothing is
downloaded (`playwright install` is never run). Missing Chromium fails the test unless
HUBKEEPER_SKIP_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # Without these Chromium keeps trying to reach the internet, which this machine cannot.
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SKIP_VARIABLE = "HUBKEEPER_SKIP_BROWSER"


@asynccontextmanager
async def chromium_page(url: str) -> AsyncIterator[Any]:
    if os.environ.get(SKIP_VARIABLE) == "1":
        pytest.skip(f"{SKIP_VARIABLE}=1")
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set {SKIP_VARIABLE}=1)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is not installed: make install (never `playwright install`)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 820})
            await page.goto(url)
            yield page
        finally:
            await browser.close()
