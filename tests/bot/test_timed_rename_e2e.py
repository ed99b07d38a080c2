"""Time-bound access survives a team rename, end to end: asked and approved through Slack, the rename
refused through `/hub team update`, made in Docker Hub's web UI (the emulator's stand-in for it), and
the member removed from the renamed team when the access ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from bot.sandbox.run import Sandbox
from handlers.requests.lifecycle import SYSTEM
from handlers.self_service import sweep_timed_grants
from hub.emulator import EmulatorState
from tests.bot.test_approvals_e2e import ALICE, IVAN, approval, click
from tests.bot.test_slack_e2e import Person, text_of


async def test_a_team_renamed_during_time_bound_access_still_loses_the_member(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState
) -> None:
    ivan, alice = Person(sandbox, http, IVAN), Person(sandbox, http, ALICE)
    asked = text_of(await ivan.command("request acme/web write for 2h deploy the hotfix"))
    assert "Requested" in asked, asked
    await click(sandbox, http, ALICE, "approval_approve")
    assert await sandbox.slack.wait_for_async(lambda: "Done" in text_of(approval(sandbox)) or None, timeout=15)
    # The click's own answer to Alice comes first, so it is not taken for the answer to her next command.
    assert await sandbox.slack.wait_for_async(
        lambda: [m for m in alice.replies() if "Approved." in text_of(m)] or None, timeout=15
    )
    org = emulator_state.org("acme")
    team_id = org.groups["hk-web-w"].id
    assert "ivanpetrov" in org.groups["hk-web-w"].members

    # hubkeeper refuses the rename while the access runs, and says whose access and until when.
    refused = text_of(await alice.command("team update hk-web-w --name web-writers --reason tidy up"))
    assert "time-bound access running" in refused and "ivanpetrov" in refused, refused
    assert "hk-web-w" in org.groups and "web-writers" not in org.groups

    # Someone renames it in Docker Hub's web UI instead.
    renamed = await http.post(
        f"{sandbox.emulator.base_url}/emulator/web-ui/acme",
        json={"actor": "bobokafor", "action": "team.update", "team": "hk-web-w", "name": "web-writers"},
    )
    assert renamed.status_code == 200, renamed.text
    assert org.groups["web-writers"].id == team_id and "ivanpetrov" in org.groups["web-writers"].members

    # The expiry, as the scheduler's sweep runs it (Bot.sweep), two hours on.
    bot = sandbox.bot
    assert bot is not None
    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    ended = await sweep_timed_grants(bot.store, lambda instance: bot.approvals.contexts(instance, SYSTEM, None), later)
    assert len(ended) == 1
    assert "ivanpetrov" not in org.groups["web-writers"].members
    assert "web-writers" not in org.members["ivanpetrov"].groups
    told = await sandbox.slack.wait_for_async(
        lambda: [m for m in sandbox.slack.dms(IVAN) if "has ended" in json.dumps(m)] or None
    )
    assert told and "web-writers" in json.dumps(told)
