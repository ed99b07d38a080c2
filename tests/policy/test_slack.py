"""The Slack side: `/hub policy plan` and the `policy_apply` change kind, against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore
from handlers.changes.policy_apply import PolicyApply
from handlers.context import HandlerContext, Reply
from handlers.policy.slack import APPLY_ACTION, policy_plan_reply
from handlers.requests import kinds
from handlers.requests.kind import ChangeRefused, PartlyApplied
from handlers.requests.lifecycle import NewRequest
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorState
from tests.conftest import MakeContext

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


@pytest.fixture
def context(make_context: MakeContext) -> Callable[..., HandlerContext]:
    def make(hub: HubClient, **extra: Any) -> HandlerContext:
        return make_context(hub=hub, **extra)

    return make


def buttons(reply: Reply) -> list[dict[str, Any]]:
    return [element for block in reply.blocks if block["type"] == "actions" for element in block["elements"]]


async def test_plan_reply_has_the_changes_and_an_apply_button(
    hub: HubClient, policy_path: Path, context: Callable[..., HandlerContext], store: SqlRequestStore
) -> None:
    reply = await policy_plan_reply(context(hub, store=store), str(policy_path))
    assert "4 change(s)" in reply.text
    assert "create team release-eng" in str(reply.blocks)
    # The button carries the id of the stored plan: the changes shown, for the Apply click to file.
    [(action, plan_id)] = [(b["action_id"], b["value"]) for b in buttons(reply)]
    plan = await store.get_policy_plan(plan_id)
    assert action == APPLY_ACTION and plan is not None
    assert (plan.instance, plan.source, len(plan.changes)) == ("acme", str(policy_path), 4)
    assert {"action": "create_team", "team": "release-eng", "description": "Release engineering"} in plan.changes


async def test_plan_reply_without_changes_has_no_button(
    hub: HubClient, tmp_path: Path, context: Callable[..., HandlerContext]
) -> None:
    path = tmp_path / "same.yml"
    path.write_text("repositories:\n  acme/api:\n    backend: write\n", encoding="utf-8")
    reply = await policy_plan_reply(context(hub), str(path))
    assert "No changes" in reply.text
    assert buttons(reply) == []


async def test_plan_reply_reports_problems(
    hub: HubClient, tmp_path: Path, context: Callable[..., HandlerContext]
) -> None:
    assert "HUBKEEPER_POLICY_FILE" in (await policy_plan_reply(context(hub), None)).text
    path = tmp_path / "bad.yml"
    path.write_text("teams:\n  x y:\n", encoding="utf-8")
    assert f"{path}:2: teams.x y" in (await policy_plan_reply(context(hub), str(path))).text


async def test_kind_plans_then_executes(
    hub: HubClient,
    policy_path: Path,
    emulator_state: EmulatorState,
    store: SqlRequestStore,
    slack: SlackStandIn,
    context: Callable[..., HandlerContext],
) -> None:
    kind = kinds.named("policy_apply")
    assert isinstance(kind, PolicyApply)
    plan = await kind.plan(context(hub), kind.load({"path": str(policy_path)}))
    assert kind.destructive(plan.params)  # security's read on api is revoked
    assert len(plan.params.changes) == 4 and plan.params.text is None  # the changes, not the policy, are stored
    assert any("revoke read on acme/api from team security" in line for line in plan.details)

    await asyncio.to_thread(policy_path.write_text, "teams: {}\n", "utf-8")  # what runs is what was approved
    messenger = SlackMessenger(AsyncWebClient(token=TOKEN, base_url=slack.api_url))
    request_id = await stored_request(store, messenger)
    ctx = context(hub, store=store, messenger=messenger, request_id=request_id)
    outcome = await kind.execute(ctx, kind.load(plan.params))
    assert len(outcome.result["applied"]) == 4
    org = emulator_state.org(DEMO.org)
    assert set(org.groups["release-eng"].members) == {"alicechen"}
    audit = [event for event in await store.audit_log(request_id=request_id) if event.event == "policy.change"]
    assert len(audit) == 4 and [event.detail["action"] for event in audit].count("add_member") == 1
    assert "4 of 4" in slack.messages(APPROVALS)[-1]["text"]  # the approval message showed progress

    with pytest.raises(ChangeRefused, match="Nothing to do"):
        await kind.plan(context(hub), kind.load({"text": POLICY, "source": "policy.yml"}))


async def test_partial_failure_fails_the_request_with_what_was_done(
    hub: HubClient,
    policy_path: Path,
    emulator_state: EmulatorState,
    store: SqlRequestStore,
    context: Callable[..., HandlerContext],
) -> None:
    kind = kinds.named("policy_apply")
    plan = await kind.plan(context(hub), kind.load({"path": str(policy_path)}))

    # Creating the team fails (a POST is not retried); the rest of the policy still runs.
    emulator_state.fail_next(1, 500, method="POST", path="/v2/orgs/acme/groups")
    with pytest.raises(PartlyApplied, match=r"\d of \d planned change\(s\) applied\)"):
        await kind.execute(context(hub, store=store), kind.load(plan.params))
    # the team's member and grant were skipped; security's revoke was done
    assert (
        emulator_state.org(DEMO.org).groups["security"].id
        not in emulator_state.org(DEMO.org).repositories["api"].grants
    )
    await kind.execute(context(hub, store=store), kind.load(plan.params))  # the Retry finishes the job
    assert "release-eng" in emulator_state.org(DEMO.org).groups


async def test_policy_for_another_instance_is_refused(hub: HubClient, context: Callable[..., HandlerContext]) -> None:
    with pytest.raises(ChangeRefused, match="is for instance"):
        await PolicyApply().plan(context(hub), PolicyApply().load({"text": "instance: prod\n", "source": "p.yml"}))


async def test_plan_reply_names_the_rule_and_warns_of_empty_patterns(
    hub: HubClient, tmp_path: Path, context: Callable[..., HandlerContext]
) -> None:
    path = tmp_path / "patterns.yml"
    path.write_text("repositories:\n  acme/*:\n    security: read\n  acme/old-*:\n    security: write\n", "utf-8")
    reply = await policy_plan_reply(context(hub), str(path))
    shown = str(reply.blocks)
    assert "grant read on acme/docs to team security · rule `acme/*`" in shown
    assert "acme/old-*: matches no repository" in shown
    assert [b["action_id"] for b in buttons(reply)] == [APPLY_ACTION]
