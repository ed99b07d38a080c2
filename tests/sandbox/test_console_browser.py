"""The console in a real headless Chromium: type a command, see blocks rendered, click, see the replacement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.browser import chromium_page

from .conftest import ALICE, ConsoleStack

pytestmark = pytest.mark.browser

SCREENSHOT = "/tmp/console.png"


@pytest.fixture
async def page(console_stack: ConsoleStack) -> AsyncIterator[Any]:
    async with chromium_page(f"{console_stack.url}/?user={ALICE}&channel=C0HUBOPS01") as opened:
        yield opened


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
