"""The sandbox a newcomer opens, in a real headless Chromium, with the real bot behind the console."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.browser import chromium_page

SCREENSHOT = "/tmp/sandbox.png"


@pytest.fixture
async def page(emulator_state: EmulatorState) -> AsyncIterator[Any]:
    async with (
        Sandbox(console_port=0, emulator_state=emulator_state) as sandbox,
        chromium_page(f"{sandbox.console_url}/?user=U0ALICE01&channel=C0HUBOPS01") as opened,
    ):
        yield opened


async def test_a_person_pages_through_members_and_reads_teams(page: Any, emulator_state: EmulatorState) -> None:
    from playwright.async_api import expect

    emulator_state.add_group("acme", "evil", "<!channel> <script>window.pwned = 1</script>")
    composer = page.get_by_test_id("composer-input")
    await composer.fill("/hub members")
    await composer.press("Enter")
    listing = page.get_by_test_id("message").filter(has_text="of 40")
    await expect(listing).to_contain_text("1–20 of 40")
    await expect(listing.get_by_test_id("only-visible-to-you")).to_be_visible()

    await listing.get_by_test_id("button-members_page").click()
    await expect(page.get_by_test_id("message").filter(has_text="21–40 of 40")).to_have_count(1)
    await expect(page.get_by_test_id("message").filter(has_text="1–20 of 40")).to_have_count(0)

    await composer.fill("/hub teams")
    await composer.press("Enter")
    teams = page.get_by_test_id("message").filter(has_text="API and service developers")
    await expect(teams).to_contain_text("<!channel>")  # shown as text, pinging nobody
    assert await page.evaluate("window.pwned") is None
    await page.screenshot(path=SCREENSHOT, full_page=True)


async def test_the_bulk_add_shortcut_asks_once_and_names_who_is_left_out(page: Any) -> None:
    from playwright.async_api import expect

    await page.get_by_test_id("example").filter(has_text="Bulk add to a team").click()
    composer = page.get_by_test_id("composer-input")
    await expect(composer).to_have_value(re.compile(r"^/hub team add backend umarkhan "))
    await expect(page.get_by_test_id("user-picker")).to_have_value("U0IVANP01")
    await composer.press("Enter")
    asked = page.get_by_test_id("message").filter(has_text="Add 3 members to team")
    await expect(asked.filter(has_text="Cannot be done, left out (2)")).to_have_count(1)
    await expect(asked.get_by_test_id("button-approval_approve")).to_be_visible()


async def test_the_web_ui_button_makes_an_outside_change_the_feed_posts(emulator_state: EmulatorState) -> None:
    import asyncio

    from playwright.async_api import expect

    async with (
        Sandbox(console_port=0, emulator_state=emulator_state, activity_seconds=5) as sandbox,
        chromium_page(f"{sandbox.console_url}/?user=U0ALICE01&channel=C0GENERAL1") as page,
    ):
        assert sandbox.bot is not None and sandbox.bot.access_jobs is not None
        activity = sandbox.bot.access_jobs.activity
        # The feed's first round only starts its cursor: change nothing before it.
        for _ in range(150):
            if await activity.activity_cursor("acme") is not None:
                break
            await asyncio.sleep(0.2)
        await expect(page.get_by_test_id("outside-change")).to_be_visible()
        await page.get_by_test_id("outside-picker").select_option("ivan-owner")
        await page.get_by_test_id("outside-button").click()
        await expect(page.get_by_test_id("status")).to_contain_text("Carol makes Ivan an owner")
        posted = page.get_by_test_id("message").filter(has_text="outside hubkeeper")
        await expect(posted).to_contain_text("ivanpetrov", timeout=40_000)
        await expect(posted).to_contain_text("carolsmith")
        await page.screenshot(path=SCREENSHOT.replace(".png", "-web-ui.png"), full_page=True)


@pytest.fixture
async def demo(emulator_state: EmulatorState) -> AsyncIterator[Any]:
    # The sweep as `hubkeeper sandbox` runs it: often, so the onboarding finishes while you watch.
    async with (
        Sandbox(console_port=0, emulator_state=emulator_state, sweep_seconds=5) as sandbox,
        chromium_page(f"{sandbox.console_url}/?user=U0ALICE01&channel=C0HUBOPS01") as opened,
    ):
        yield opened


async def test_the_sandbox_demo_shows_an_onboarding(demo: Any, emulator_state: EmulatorState) -> None:
    from playwright.async_api import expect

    page = demo
    composer = page.get_by_test_id("composer-input")
    await composer.fill("/hub onboard newbie@acme.example --teams backend,data --reason new hire")
    await composer.press("Enter")
    asked = page.get_by_test_id("message").filter(has_text="Onboard")
    # Generous timeouts: the machine running the suite may be busy.
    await expect(asked.get_by_test_id("button-approval_approve")).to_be_visible(timeout=30_000)

    await page.get_by_test_id("user-picker").select_option("U0BOBOK01")  # Bob approves
    approve = page.get_by_test_id("message").filter(has_text="Onboard").get_by_test_id("button-approval_approve")
    await approve.click(timeout=30_000)
    # "Done by" only once the invite is out (the plan's own words say "would be invited").
    sent = page.get_by_test_id("message").filter(has_text="Onboard").filter(has_text="Done by")
    await expect(sent).to_have_count(1, timeout=30_000)

    # Noa accepts the invite on Docker Hub: the console's form plays them.
    await page.get_by_test_id("accept-invitee").fill("newbie@acme.example")
    await page.get_by_test_id("accept-username").fill("noanewbie")
    await page.get_by_test_id("accept-button").click()
    await expect(page.get_by_test_id("status")).to_contain_text("acknowledged", timeout=30_000)

    # Within a few sweeps Noa is in both teams, and Alice reads it in her DM with hubkeeper.
    await page.get_by_test_id("user-picker").select_option("U0ALICE01")
    await page.get_by_test_id("channel-dm").click()
    done = page.get_by_test_id("message").filter(has_text="accepted the invite")
    await expect(done).to_contain_text("noanewbie", timeout=30_000)
    assert "noanewbie" in emulator_state.org("acme").groups["data"].members
    await page.screenshot(path="/tmp/sandbox-onboarding.png", full_page=True)
