"""The console in a real headless Chromium: type a command, see blocks rendered, click, see the replacement.

Chromium comes from the distribution (`apt-get install -y chromium`) and is driven by Python Playwright;
`playwright install` is never needed. Missing Chromium fails this test unless HUBKEEPER_SKIP_BROWSER=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest

from .conftest import ALICE, ConsoleStack

pytestmark = pytest.mark.browser

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
SCREENSHOT = "/tmp/console.png"
SKIP_VARIABLE = "HUBKEEPER_SKIP_BROWSER"


def skip_requested() -> bool:
    return os.environ.get(SKIP_VARIABLE) == "1"


@pytest.fixture
async def page(console_stack: ConsoleStack) -> AsyncIterator[Any]:
    if skip_requested():
        pytest.skip(f"{SKIP_VARIABLE}=1")
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (or set HUBKEEPER_SKIP_BROWSER=1)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.fail("playwright is not installed: .venv/bin/pip install playwright (never `playwright install`)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 820})
            await page.goto(f"{console_stack.url}/?user={ALICE}&channel=C0HUBOPS01")
            yield page
        finally:
            await browser.close()


async def test_command_reply_click_and_replacement(page: Any, console_stack: ConsoleStack) -> None:
    from playwright.async_api import expect

    await expect(page.get_by_test_id("user-what")).to_contain_text("Docker Hub owner")
    composer = page.get_by_test_id("composer-input")
    await composer.fill("/hub xss")
    await composer.press("Enter")

    reply = page.get_by_test_id("message").filter(has_text="Access request")
    await expect(reply).to_have_count(1)
    await expect(reply.get_by_test_id("only-visible-to-you")).to_be_visible()
    await expect(reply.locator("b", has_text="Invite")).to_be_visible()
    await expect(reply.locator("code", has_text="newbie@acme.example")).to_be_visible()
    await expect(reply.locator(".mention", has_text="@alice")).to_be_visible()
    await expect(reply).to_contain_text("<!channel>")
    # The bot's text is shown as text: no script ran, no element was injected.
    await expect(reply).to_contain_text("<script>window.pwned = 1</script>")
    assert await page.evaluate("window.pwned") is None
    assert await reply.locator("script, img").count() == 0
    await expect(reply.get_by_test_id("button-approve")).to_have_class("btn primary")
    await expect(reply.get_by_test_id("button-deny")).to_have_class("btn danger")

    # Deny asks first; dismissing the confirm dialog sends nothing.
    sent_before = len(console_stack.seen)
    page.once("dialog", lambda dialog: dialog.dismiss())
    await reply.get_by_test_id("button-deny").click()
    await page.wait_for_timeout(200)
    assert len(console_stack.seen) == sent_before

    await page.screenshot(path=SCREENSHOT.replace(".png", "-before.png"))
    await reply.get_by_test_id("button-approve").click()
    replaced = page.get_by_test_id("message").filter(has_text="Approved by @alice")
    await expect(replaced).to_have_count(1)
    await expect(page.get_by_test_id("button-approve")).to_have_count(0)
    await expect(page.get_by_test_id("status")).to_contain_text("acknowledged (HTTP 200)")
    await page.screenshot(path=SCREENSHOT)
