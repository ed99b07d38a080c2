"""`/hub team update` of a team the config's `[access_teams]` names, through Bolt: a rename is refused
(self-service finds the team by that name), a new description goes through approval as usual."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox.run import Sandbox
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import ALICE, HUB_OPS, IVAN, approval, click, hub_writes
from tests.bot.test_slack_e2e import Person, text_of


@pytest.fixture
async def sandbox(emulator_state: EmulatorState) -> AsyncIterator[Sandbox]:
    async with Sandbox(
        console_port=0, emulator_state=emulator_state, access_teams={"acme/api:write": "backend"}
    ) as running:
        yield running


async def test_a_rename_is_refused_and_a_description_goes_through(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan = Person(sandbox, http, IVAN)
    before = len(sandbox.slack.messages(HUB_OPS))
    refused = text_of(await ivan.command("team update backend --name server-side --reason reorg"))
    assert "[access_teams]" in refused and "acme/api:write" in refused, refused
    assert len(sandbox.slack.messages(HUB_OPS)) == before  # nothing was filed for approval
    assert "backend" in emulator_state.org("acme").groups and hub_writes(emulator_state) == []

    asked = text_of(await ivan.command("team update backend --description The API people --reason clarity"))
    assert "Requested" in asked, asked
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    assert emulator_state.org("acme").groups["backend"].description == "The API people"
