"""The Slack side: `/hub policy plan` and the `policy_apply` change kind, against the emulator."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from handlers.changes import KINDS, ChangeRefused
from handlers.context import HandlerContext, Reply
from handlers.lifecycle import AuditEvent
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


@dataclass
class StoredRequest:
    channel: str | None = "C0APPROVE"
    ts: str | None = "1.0"


@dataclass
class FakeStore:
    audit: list[AuditEvent] = field(default_factory=list)

    async def append_audit(self, event: AuditEvent) -> None:
        self.audit.append(event)

    async def get(self, request_id: str) -> StoredRequest:
        return StoredRequest()


@dataclass
class FakeMessenger:
    updates: list[tuple[str, str, Reply]] = field(default_factory=list)

    async def post(self, channel: str, reply: Reply) -> str:
        return "1.0"

    async def update(self, channel: str, ts: str, reply: Reply) -> None:
        self.updates.append((channel, ts, reply))

    async def dm(self, user_id: str, reply: Reply) -> str:
        return "1.0"


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


async def test_kind_plans_then_executes(hub: HubClient, policy_path: Path, emulator_state: EmulatorState) -> None:
    kind = KINDS["policy_apply"]
    assert isinstance(kind, PolicyApply)
    plan = await kind.plan(context(hub), {"path": str(policy_path)})
    assert plan.destructive  # security's read on api is revoked
    assert plan.params["text"] == POLICY
    assert any("revoke read on acme/api from team security" in line for line in plan.details)

    await asyncio.to_thread(policy_path.write_text, "teams: {}\n", "utf-8")  # what runs is what was approved
    store, messenger = FakeStore(), FakeMessenger()
    ctx = context(hub, store=store, messenger=messenger, request_id="R1")
    outcome = await kind.execute(ctx, plan.params)
    assert len(outcome.result["applied"]) == 4
    org = emulator_state.org(DEMO.org)
    assert set(org.groups["release-eng"].members) == {"alicechen"}
    assert [event.detail["action"] for event in store.audit].count("add_member") == 1
    assert all(event.request_id == "R1" and event.event == "policy.change" for event in store.audit)
    assert messenger.updates and "4 of 4" in messenger.updates[-1][2].text

    with pytest.raises(ChangeRefused, match="Nothing to do"):
        await kind.plan(context(hub), plan.params)


async def test_partial_failure_fails_the_request_with_what_was_done(
    hub: HubClient, policy_path: Path, emulator_state: EmulatorState
) -> None:
    kind = KINDS["policy_apply"]
    plan = await kind.plan(context(hub), {"path": str(policy_path)})

    # Creating the team fails (a POST is not retried); the rest of the policy still runs.
    emulator_state.fail_next(1, 500, method="POST", path="/v2/orgs/acme/groups")
    with pytest.raises(ChangeRefused, match=r"Applied \d of \d change\(s\); not applied"):
        await kind.execute(context(hub, store=FakeStore()), plan.params)
    # the team's member and grant were skipped; security's revoke was done
    assert (
        emulator_state.org(DEMO.org).groups["security"].id
        not in emulator_state.org(DEMO.org).repositories["api"].grants
    )
    await kind.execute(context(hub, store=FakeStore()), plan.params)  # the Retry finishes the job
    assert "release-eng" in emulator_state.org(DEMO.org).groups


async def test_policy_for_another_instance_is_refused(hub: HubClient) -> None:
    with pytest.raises(ChangeRefused, match="is for instance"):
        await PolicyApply().plan(context(hub), {"text": "instance: prod\n", "source": "p.yml"})
