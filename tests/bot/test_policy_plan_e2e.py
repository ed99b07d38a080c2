"""The approved plan is the plan that runs, through Bolt: `/hub policy plan`, its Apply button, the
approval message listing the planned changes, and an approved `team add` in between that the apply
must not undo. The policy file changes after the plan was shown: Apply files what was shown."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.sandbox.run import Sandbox
from hub.emulator import DEMO, EmulatorState
from tests.bot.test_approvals_e2e import ALICE, BOB, HUB_OPS, IVAN, click
from tests.bot.test_slack_e2e import Person, text_of

POLICY = """\
teams:
  data:
    members: [georgelee, julianaruiz, ninagarcia, tanyaivanova, valentinadiaz, diegomartin]
repositories:
  acme/web:
    frontend: write
    security: read
    data: read
"""
# against the demo: jadeturner leaves data, and data is granted read on web.
LATER = "teams:\n  data:\n    members: [georgelee]\n"
"""What the file says by the time Apply is clicked: not what was shown, so not what is filed."""


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY, encoding="utf-8")
    return path


@pytest.fixture
async def sandbox(emulator_state: EmulatorState, policy_path: Path) -> AsyncIterator[Sandbox]:
    async with Sandbox(console_port=0, emulator_state=emulator_state, policy_file=str(policy_path)) as running:
        yield running


def approval_messages(sandbox: Sandbox) -> list[dict[str, object]]:
    return [m for m in sandbox.slack.messages(HUB_OPS) if "Change request for" in json.dumps(m)]


async def test_the_approved_plan_is_the_plan_that_runs(
    sandbox: Sandbox, http: httpx.AsyncClient, emulator_state: EmulatorState, policy_path: Path
) -> None:
    alice, ivan = Person(sandbox, http, ALICE), Person(sandbox, http, IVAN)
    shown = await alice.command("policy plan")
    assert "remove jadeturner from team data" in text_of(shown), text_of(shown)
    assert "grant read on acme/web to team data" in text_of(shown)

    await asyncio.to_thread(policy_path.write_text, LATER, "utf-8")  # the file moves on; the plan shown does not
    await alice.click(shown, "policy_apply")
    [request] = await sandbox.slack.wait_for_async(lambda: approval_messages(sandbox) or None, timeout=20)
    asked = text_of(request)
    assert "exactly these changes" in asked
    assert "remove jadeturner from team data" in asked and "grant read on acme/web to team data" in asked
    assert "georgelee" not in asked and "julianaruiz" not in asked  # LATER's removals were never shown

    # Meanwhile an approved `team add` puts Ivan in data.
    assert "Requested" in text_of(await ivan.command("team add data ivanpetrov --reason on call"))
    await click(sandbox, http, BOB, "approval_approve")
    org = emulator_state.org(DEMO.org)
    assert await sandbox.slack.wait_for_async(lambda: "ivanpetrov" in org.groups["data"].members or None, timeout=15)

    # Bob approves the apply (Alice asked for it).
    await click(sandbox, http, BOB, "approval_approve", approval_messages(sandbox)[0])
    done = await sandbox.slack.wait_for_async(
        lambda: [m for m in approval_messages(sandbox) if "Applied the policy" in text_of(m)] or None, timeout=20
    )
    assert "2 of 2 planned change(s)" in text_of(done[0])
    members = org.groups["data"].members
    assert "ivanpetrov" in members  # a new diff would have removed him: no approver saw that
    assert "jadeturner" not in members and "georgelee" in members and "julianaruiz" in members
    assert org.repositories["web"].grants[org.groups["data"].id] == "read"


async def test_an_apply_button_without_a_stored_plan_files_nothing(sandbox: Sandbox) -> None:
    # Plan messages of earlier versions carried the instance's label: nothing tells what they showed.
    assert sandbox.bot is not None
    reply = await sandbox.bot.router.action("policy_apply", "acme", ALICE)
    assert "run `/hub policy plan` again" in reply.text + json.dumps(reply.blocks)
    assert approval_messages(sandbox) == []
