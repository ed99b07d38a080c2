"""Undo: a done reversible change gets an Undo button; a click files the reverse (computed from what the
change recorded doing) as a new request through approval. Against the emulator through the Router,
the SQL store and the Slack stand-in; each kind's reverse also on its own, from stored outcomes."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.sandbox.slack_api import SlackStandIn
from bot.store import SqlRequestStore
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind
from handlers.requests.lifecycle import ChangeRequest, Status
from handlers.requests.render import CANNOT_UNDO, UNDO
from handlers.requests.undo import reverse_of
from handlers.router import Router
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.handlers.routers import ALICE, BOB, HUB_OPS, IVAN, KENJI, Clock, action_ids, open_router

REVERSIBLE = {"team_add", "team_remove", "role", "grant", "revoke", "team_update", "access_request"}
IRREVERSIBLE = {"offboard", "member_remove", "team_delete", "invite", "invite_cancel", "team_create", "policy_apply"}
# An onboarding sends an invite (`onboard cancel` stops it); stopping one withdraws an invite.
IRREVERSIBLE |= {"onboard", "onboard_cancel"}


# -- each kind's reverse, from a stored outcome --------------------------------------------------------


def done(kind: str, params: dict[str, Any], result: dict[str, Any]) -> ChangeRequest:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    return ChangeRequest(
        id="r1",
        instance="acme",
        kind=kind,
        params=params,
        requester=IVAN,
        reason="",
        summary="s",
        destructive=False,
        approvals_required=1,
        status=Status.DONE,
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(hours=1),
        result={"summary": "done", **result},
    )


def reverse(kind: str, params: dict[str, Any], result: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    found = reverse_of(done(kind, params, result))
    return None if found is None else (found.kind.name, found.kind.dump(found.params))


API = {"namespace": "acme", "repository": "api"}
ACCESS = {**API, "permission": "write", "requester": IVAN, "username": "ivanpetrov", "team": "hk-api-write"}

REVERSES: list[tuple[str, dict[str, Any], dict[str, Any], tuple[str, dict[str, Any]] | None]] = [
    # The team and the Docker ID as done (the email resolved, the team's own spelling), not as asked.
    # Recorded before team add and remove took several people: one `username`.
    (
        "team_add",
        {"team": "data", "member": "umarkhan@acme.example"},
        {"team": "Data", "team_id": 5, "username": "umarkhan"},
        ("team_remove", {"team": "Data", "usernames": ["umarkhan"]}),
    ),
    (
        "team_remove",
        {"team": "backend", "username": "ivanpetrov"},
        {"team": "backend", "team_id": 2, "username": "ivanpetrov"},
        ("team_add", {"team": "backend", "members": ["ivanpetrov"]}),
    ),
    # A bulk change undoes only the people it actually changed, never the "already so" ones.
    (
        "team_add",
        {"team": "data", "members": ["umarkhan", "ada@acme.example", "ivanpetrov"]},
        {
            "team": "data",
            "team_id": 5,
            "items": [
                {"item": "umarkhan", "status": "done", "reason": ""},
                {"item": "adalovelace", "status": "done", "reason": ""},
                {"item": "ivanpetrov", "status": "already", "reason": "already in team"},
            ],
            "changed": ["umarkhan", "adalovelace"],
        },
        ("team_remove", {"team": "data", "usernames": ["umarkhan", "adalovelace"]}),
    ),
    (
        "team_remove",
        {"team": "data", "usernames": ["ninagarcia", "jadeturner"]},
        {"team": "data", "team_id": 5, "items": [], "changed": ["ninagarcia"]},
        ("team_add", {"team": "data", "members": ["ninagarcia"]}),
    ),
    ("team_remove", {"team": "data", "usernames": ["jadeturner"]}, {"team": "data", "changed": []}, None),
    (
        "role",
        {"username": "kenjisato", "role": "owner"},
        {"username": "kenjisato", "role": "owner", "previous_role": "editor"},
        ("role", {"username": "kenjisato", "role": "editor"}),
    ),
    # A new grant is revoked; a changed one goes back to what it replaced (not revoked).
    (
        "grant",
        {"team": "data", **API, "permission": "read"},
        {"team": "data", "team_id": 5, **API, "permission": "read", "previous": None},
        ("revoke", {"team": "data", **API}),
    ),
    (
        "grant",
        {"team": "security", **API, "permission": "write"},
        {"team": "security", "team_id": 6, **API, "permission": "write", "previous": "read"},
        ("grant", {"team": "security", **API, "permission": "read"}),
    ),
    (
        "revoke",
        {"team": "security", **API},
        {"team": "security", "team_id": 6, **API, "previous": "admin"},
        ("grant", {"team": "security", **API, "permission": "admin"}),
    ),
    (
        "team_update",
        {"name": "frontend", "new_name": "web", "description": "Web UI"},
        {
            "team": "web",
            "team_id": 3,
            "previous_name": "frontend",
            "renamed": True,
            "description_changed": True,
            "previous_description": "Web and mobile",
        },
        ("team_update", {"name": "web", "new_name": "frontend", "description": "Web and mobile"}),
    ),
    (
        "team_update",
        {"name": "frontend", "description": "Web UI"},
        {
            "team": "frontend",
            "team_id": 3,
            "previous_name": "frontend",
            "renamed": False,
            "description_changed": True,
            "previous_description": "",
        },
        ("team_update", {"name": "frontend", "new_name": None, "description": ""}),
    ),
    # Recorded before descriptions were: the rename is undone, the description cannot be.
    (
        "team_update",
        {"name": "frontend", "new_name": "web", "description": "Web UI"},
        {"team": "web", "team_id": 3, "previous_name": "frontend"},
        ("team_update", {"name": "web", "new_name": "frontend", "description": None}),
    ),
    ("team_update", {"name": "frontend", "description": "x"}, {"team": "frontend", "previous_name": "frontend"}, None),
    (
        "access_request",
        {**ACCESS, "duration_seconds": 7200},
        {"team": "hk-api-write", "username": "ivanpetrov", "managed": True, "created": True, "added": True},
        ("team_remove", {"team": "hk-api-write", "usernames": ["ivanpetrov"]}),
    ),
    # Already in the team, or nothing changed: nothing of this request's to take back.
    (
        "access_request",
        ACCESS,
        {"team": "hk-api-write", "username": "ivanpetrov", "managed": True, "granted": True},
        None,
    ),
    ("access_request", ACCESS, {"team": "hk-api-write", "username": "ivanpetrov", "changed": False}, None),
    # An outcome without what the reverse needs is not undoable, rather than a crash.
    ("role", {"username": "kenjisato", "role": "owner"}, {"username": "kenjisato", "role": "owner"}, None),
]


@pytest.mark.parametrize(("kind", "params", "result", "expected"), REVERSES)
def test_the_reverse_comes_from_the_outcome(
    kind: str, params: dict[str, Any], result: dict[str, Any], expected: tuple[str, dict[str, Any]] | None
) -> None:
    if expected is not None:
        # As the target kind reads them: fields it adds with their defaults (a plan's team id…) compare equal.
        target = kinds.named(expected[0])
        expected = (expected[0], target.dump(target.load(expected[1])))
    assert reverse(kind, params, result) == expected


def test_undo_needs_a_done_request() -> None:
    request = done("team_remove", {"team": "backend", "username": "ivanpetrov"}, {"team": "b", "username": "i"})
    for status in Status:
        found = reverse_of(ChangeRequest(**{**request.__dict__, "status": status}))
        assert (found is not None) == (status is Status.DONE)


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda kind: kind.name)
def test_which_kinds_declare_a_reverse(kind: ChangeKind[Any]) -> None:
    declared = type(kind).reverse is not ChangeKind.reverse
    if kind.name in REVERSIBLE:
        assert declared
    elif kind.name in IRREVERSIBLE:
        assert not declared  # the message says it cannot be undone
    else:
        pytest.skip(f"{kind.name} is newer than this test: its own tests say whether it can be undone")


# -- the button, through the Router against the emulator ----------------------------------------------


class Ticking(Clock):
    """A second passes at every reading, so "newest first" is never a tie."""

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def router(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn) -> Router:
    return open_router(store, hub, slack, Ticking())


def memberships(state: EmulatorState) -> set[tuple[str, str]]:
    return {(group.name, member) for group in state.org("acme").groups.values() for member in group.members}


def grants(state: EmulatorState) -> dict[tuple[str, str], str]:
    org = state.org("acme")
    names = {group.id: group.name for group in org.groups.values()}
    return {(repo.name, names[gid]): level for repo in org.repositories.values() for gid, level in repo.grants.items()}


def roles(state: EmulatorState) -> dict[str, str]:
    return {name: member.role for name, member in state.org("acme").members.items()}


def teams(state: EmulatorState) -> set[tuple[int, str, str]]:
    return {(group.id, group.name, group.description or "") for group in state.org("acme").groups.values()}


Snapshot = Callable[[EmulatorState], object]
CASES: list[tuple[str, Snapshot]] = [
    ("team add data umarkhan@acme.example --reason joins data", memberships),
    ("team remove backend ivanpetrov --reason moved", memberships),
    ("role kenjisato editor --reason leads the API", roles),
    ("grant data acme/api read --reason dashboards", grants),
    ("grant security acme/api write --reason scanning pushes", grants),  # read → write; undo: back to read
    ("revoke backend acme/api --reason moved to sdk", grants),
    ("team update frontend --name web --description Web UI --reason clearer", teams),
    ("request acme/docs write for 2h fixing the docs", memberships),
]


async def latest(router: Router) -> ChangeRequest:
    return (await router.approvals.store.list_requests(limit=1))[0]


async def approved(router: Router, request: ChangeRequest) -> ChangeRequest:
    """Every approval it needs, by approvers other than its requester; returns it done."""
    for approver in [a for a in (ALICE, BOB) if a != request.requester][: request.approvals_required]:
        await router.decision("approval_approve", request.id, approver)
    final = await router.approvals.store.get(request.id)
    assert final is not None and final.status is Status.DONE, (final.status if final else None, final and final.error)
    return final


def message_of(slack: SlackStandIn, request: ChangeRequest) -> dict[str, Any]:
    return next(m for m in slack.messages(HUB_OPS) if m["ts"] == request.ts)


@pytest.mark.parametrize(("line", "snapshot"), CASES, ids=[line.split(" --")[0] for line, _ in CASES])
async def test_undo_then_undo_the_undo(
    router: Router, slack: SlackStandIn, emulator_state: EmulatorState, line: str, snapshot: Snapshot
) -> None:
    before = snapshot(emulator_state)
    assert "Requested" in (await router.command(line, IVAN, HUB_OPS)).text
    original = await approved(router, await latest(router))
    after = snapshot(emulator_state)
    assert after != before
    assert action_ids(message_of(slack, original)) == [UNDO]

    # The requester clicks Undo: a new request, through approval, naming the one it undoes.
    filed = await router.decision(UNDO, original.id, IVAN)
    assert "Requested" in filed.text, filed.text
    undo = await latest(router)
    assert undo.id != original.id and undo.status is Status.PENDING and undo.requester == IVAN
    assert f"Undoes request `{original.id}`" in json.dumps(message_of(slack, undo))
    assert snapshot(emulator_state) == after  # nothing changes before approval
    undone = await approved(router, undo)
    assert snapshot(emulator_state) == before

    # An approver undoes the undo: back to the change.
    assert "Requested" in (await router.decision(UNDO, undone.id, ALICE)).text
    redo = await latest(router)
    assert redo.requester == ALICE and f"Undoes request `{undone.id}`" in redo.summary
    await approved(router, redo)
    assert snapshot(emulator_state) == after


async def test_who_may_undo_and_what(router: Router, slack: SlackStandIn, emulator_state: EmulatorState) -> None:
    await router.command("team add data umarkhan --reason joins data", IVAN, HUB_OPS)
    pending = await latest(router)
    assert "Only a done change" in (await router.decision(UNDO, pending.id, IVAN)).text
    original = await approved(router, pending)

    refused = await router.decision(UNDO, original.id, KENJI)  # neither an approver nor the requester
    assert "Only approvers" in refused.text and "Nothing was requested" in refused.text
    assert await latest(router) == original

    assert "Requested" in (await router.decision(UNDO, original.id, BOB)).text
    undo = await latest(router)
    # A second click, by anyone, files nothing more while that undo waits.
    again = await router.decision(UNDO, original.id, IVAN)
    assert f"already waiting: request `{undo.id}`" in again.text
    assert await latest(router) == undo
    assert ("data", "umarkhan") in memberships(emulator_state)


async def test_an_irreversible_change_says_so(router: Router, slack: SlackStandIn) -> None:
    await router.command("team delete security --reason merged", IVAN, HUB_OPS)
    deleted = await approved(router, await latest(router))
    message = message_of(slack, deleted)
    assert UNDO not in action_ids(message) and CANNOT_UNDO in json.dumps(message, ensure_ascii=False)
    reply = await router.decision(UNDO, deleted.id, IVAN)
    assert "cannot be undone" in reply.text
    assert await latest(router) == deleted


async def test_an_undo_the_org_no_longer_allows_is_refused_before_approval(router: Router, hub: HubClient) -> None:
    await router.command("team add data umarkhan --reason joins data", IVAN, HUB_OPS)
    original = await approved(router, await latest(router))
    await hub.remove_group_member("data", "umarkhan")  # someone did it in Docker Hub meanwhile
    reply = await router.decision(UNDO, original.id, IVAN)
    assert f"Request `{original.id}` cannot be undone now" in reply.text and "not in team" in reply.text
    assert await latest(router) == original
