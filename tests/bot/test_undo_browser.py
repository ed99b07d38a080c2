"""The sandbox walk-through of dry run and Undo, in a real headless Chromium in front of the console."""

from __future__ import annotations

import httpx

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import HUB_OPS, click
from tests.browser import chromium_page

ALICE, BOB = "U0ALICE01", "U0BOBOK01"


async def test_see_ask_approve_and_undo_in_the_console(emulator_state: EmulatorState) -> None:
    from playwright.async_api import expect

    async with (
        Sandbox(console_port=0, emulator_state=emulator_state) as sandbox,
        chromium_page(f"{sandbox.console_url}/?user={ALICE}&channel={HUB_OPS}") as page,
        httpx.AsyncClient(timeout=30) as http,
    ):
        messages = page.get_by_test_id("message")
        composer = page.get_by_test_id("composer-input")
        await composer.fill("/hub team add data umarkhan --reason joins data --dry-run")
        await composer.press("Enter")
        dry = messages.filter(has_text="Dry run")
        await expect(dry).to_contain_text("Add umarkhan to team data")
        await expect(dry.get_by_test_id("only-visible-to-you")).to_be_visible()
        assert sandbox.slack.messages(HUB_OPS) == []

        await composer.fill("/hub team add data umarkhan --reason joins data")
        await composer.press("Enter")
        await expect(messages.filter(has=page.get_by_test_id("button-approval_approve"))).to_have_count(1)
        await click(sandbox, http, BOB, "approval_approve")  # the other approver, in the same signed way
        done = messages.filter(has_text="Done by")
        await expect(done.get_by_test_id("button-approval_undo")).to_be_visible(timeout=20_000)
        assert "umarkhan" in emulator_state.org("acme").groups["data"].members

        await done.get_by_test_id("button-approval_undo").click()
        undo = messages.filter(has_text="Undoes request")
        await expect(undo).to_contain_text("Remove umarkhan from team data", timeout=20_000)
        await expect(undo.get_by_test_id("button-approval_approve")).to_be_visible()
