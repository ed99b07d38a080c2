"""The Slack side: `/hub policy plan` and the `policy_apply` change kind, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from handlers.changes import KINDS, ChangeRefused
from handlers.context import HandlerContext, Reply
from handlers.lifecycle import NewRequest
from handlers.policy import APPLY_ACTION, PolicyApply, policy_plan_reply
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorState

POLICY = """\
teams:
  release-eng:
    description: Release engineering
    members: [alicechen]
  security:
repositories:
  acme/api:
    release-eng: write
    backend: write
"""
# the demo has security: read on api, which goes; platform is not named, so its admin stays.


TOKEN = "xoxb-policy"
APPROVALS = "C0HUBOPS01"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    async with await SqlRequestStore.open(f"sqlite:///{tmp_path / 'policy.db'}") as opened:
        yield opened


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(bot_token=TOKEN) as standin:
        yield standin


async def stored_request(store: SqlRequestStore, messenger: SlackMessenger) -> str:
    """A request with an approval message, as the approval lifecycle leaves it before executing."""
    now = datetime.now(UTC)
    draft = NewRequest(
        instance="acme",
        kind="policy_apply",
        params={},
        requester="U0IVANP01",
        reason="",
        summary="Apply the policy",
        destructive=True,
        approvals_required=1,
        expires_at=now + timedelta(hours=1),
    )
    request = await store.create(draft, now=now)
    await store.attach_message(request.id, APPROVALS, await messenger.post(APPROVALS, Reply("approval")))
    return request.id


@pytest.fixture
def policy_path(tmp_path: Path) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(POLICY, encoding="utf-8")
    return path


def context(hub: HubClient, **extra: Any) -> HandlerContext:
    return HandlerContext(hub=hub, instance="acme", actor="U0ALICE01", instances=("acme",), **extra)


def buttons(reply: Reply) -> list[dict[str, Any]]:
    return [element for block in reply.blocks if block["type"] == "actions" for element in block["elements"]]


async def test_plan_reply_has_the_changes_and_an_apply_button(hub: HubClient, policy_path: Path) -> None:
    reply = await policy_plan_reply(context(hub), str(policy_path))
    assert "4 change(s)" in reply.text
    assert "create team release-eng" in str(reply.blocks)
    assert [(b["action_id"], b["value"]) for b in buttons(reply)] == [(APPLY_ACTION, "acme")]


async def test_plan_reply_without_changes_has_no_button(hub: HubClient, tmp_path: Path) -> None:
    path = tmp_path / "same.yml"
    path.write_text("repositories:\n  acme/api:\n    backend: write\n", encoding="utf-8")
    reply = await policy_plan_reply(context(hub), str(path))
    assert "No changes" in reply.text
    assert buttons(reply) == []


async def test_plan_reply_reports_problems(hub: HubClient, tmp_path: Path) -> None:
    assert "HUBKEEPER_POLICY_FILE" in (await policy_plan_reply(context(hub), None)).text
    path = tmp_path / "bad.yml"
    path.write_text("teams:\n  x:\n", encoding="utf-8")
    assert f"{path}:2: teams.x" in (await policy_plan_reply(context(hub), str(path))).text


async def test_kind_plans_then_executes(
    hub: HubClient, policy_path: Path, emulator_state: EmulatorState, store: SqlRequestStore, slack: SlackStandIn
) -> None:
    kind = KINDS["policy_apply"]
    assert isinstance(kind, PolicyApply)
    plan = await kind.plan(context(hub), {"path": str(policy_path)})
    assert plan.destructive  # security's read on api is revoked
    assert plan.params["text"] == POLICY
    assert any("revoke read on acme/api from team security" in line for line in plan.details)

    await asyncio.to_thread(policy_path.write_text, "teams: {}\n", "utf-8")  # what runs is what was approved
    messenger = SlackMessenger(AsyncWebClient(token=TOKEN, base_url=slack.api_url))
    request_id = await stored_request(store, messenger)
    ctx = context(hub, store=store, messenger=messenger, request_id=request_id)
    outcome = await kind.execute(ctx, plan.params)
    assert len(outcome.result["applied"]) == 4
    org = emulator_state.org(DEMO.org)
    assert set(org.groups["release-eng"].members) == {"alicechen"}
    audit = [event for event in await store.audit_log(request_id=request_id) if event.event == "policy.change"]
    assert len(audit) == 4 and [event.detail["action"] for event in audit].count("add_member") == 1
    assert "4 of 4" in slack.messages(APPROVALS)[-1]["text"]  # the approval message showed progress

    with pytest.raises(ChangeRefused, match="Nothing to do"):
        await kind.plan(context(hub), plan.params)


async def test_partial_failure_fails_the_request_with_what_was_done(
    hub: HubClient, policy_path: Path, emulator_state: EmulatorState, store: SqlRequestStore
) -> None:
    kind = KINDS["policy_apply"]
    plan = await kind.plan(context(hub), {"path": str(policy_path)})

    # Creating the team fails (a POST is not retried); the rest of the policy still runs.
    emulator_state.fail_next(1, 500, method="POST", path="/v2/orgs/acme/groups")
    with pytest.raises(ChangeRefused, match=r"Applied \d of \d change\(s\); not applied"):
        await kind.execute(context(hub, store=store), plan.params)
    # the team's member and grant were skipped; security's revoke was done
    assert (
        emulator_state.org(DEMO.org).groups["security"].id
        not in emulator_state.org(DEMO.org).repositories["api"].grants
    )
    await kind.execute(context(hub, store=store), plan.params)  # the Retry finishes the job
    assert "release-eng" in emulator_state.org(DEMO.org).groups


async def test_policy_for_another_instance_is_refused(hub: HubClient) -> None:
    with pytest.raises(ChangeRefused, match="is for instance"):
        await PolicyApply().plan(context(hub), {"text": "instance: prod\n", "source": "p.yml"})


async def test_plan_reply_names_the_rule_and_warns_of_empty_patterns(hub: HubClient, tmp_path: Path) -> None:
    path = tmp_path / "patterns.yml"
    path.write_text("repositories:\n  acme/*:\n    security: read\n  acme/old-*:\n    security: write\n", "utf-8")
    reply = await policy_plan_reply(context(hub), str(path))
    shown = str(reply.blocks)
    assert "grant read on acme/docs to team security · rule `acme/*`" in shown
    assert "acme/old-*: matches no repository" in shown
    assert [b["action_id"] for b in buttons(reply)] == [APPLY_ACTION]
