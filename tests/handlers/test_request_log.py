"""The request log: every change kind's stored request is found by what it names, with its links.

Requests are planned by the real change kinds against the emulator (so their stored parameters are
what the kinds really store), stored and decided in the real store, with approval messages posted to
the Slack stand-in (whose chat.getPermalink gives the links).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.directory import SlackUser
from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store.access_store import SqlAccessIndexStore
from bot.store.onboarding_store import SqlOnboardingStore
from bot.store.sql_store import SqlRequestStore
from handlers.commands import Change, parse
from handlers.context import HandlerContext, Reply
from handlers.request_log import (
    ApprovalLinks,
    Subject,
    log_entries,
    parse_log_args,
    parse_subject,
    request_log,
    request_log_command,
    subjects_of,
)
from handlers.requests import kinds
from handlers.requests.lifecycle import ChangeRequest, NewRequest, Status
from handlers.requests.subjects import Subjects
from hub.client import HubClient
from hub.errors import InvalidInput

TOKEN = "xoxb-request-log"
APPROVALS = "C0HUBOPS01"
ASKER = "U0KENJI001"  # kenjisato
APPROVER = "U0ALICE001"
SLACK_USERS = [
    SlackUser(ASKER, "kenji", "Kenji Sato", "kenjisato@acme.example"),
    SlackUser(APPROVER, "alice", "Alice Chen", "alicechen@acme.example"),
]
POLICY = """\
teams:
  release-eng:
    members: [alicechen, ximenalopez]
repositories:
  acme/api:
    release-eng: write
"""


WAITING_EMAIL = "waiting.hire@acme.example"


@dataclass(frozen=True)
class Case:
    kind: str
    params: dict[str, Any]
    about: tuple[str, ...]
    """Subjects the stored request must be found by."""


CASES = (
    Case("team_create", {"name": "release-eng", "description": "Release engineering"}, ("release-eng",)),
    Case("team_update", {"name": "data", "new_name": "data-eng", "description": None}, ("data", "data-eng")),
    Case("team_delete", {"name": "security"}, ("security",)),
    Case("team_add", {"team": "backend", "member": "umarkhan"}, ("umarkhan", "backend")),
    Case("team_remove", {"team": "frontend", "username": "rachelgreen"}, ("rachelgreen", "frontend")),
    Case("role", {"username": "umarkhan", "role": "editor"}, ("umarkhan",)),
    Case("member_remove", {"username": "aaronwright"}, ("aaronwright",)),
    Case(
        "invite",
        {"invitee": "new.person@acme.example", "team": "data", "role": None},
        ("new.person@acme.example", "data"),
    ),
    Case("invite_cancel", {"invitee": "ravisharma"}, ("ravisharma",)),
    Case(
        "grant",
        {"team": "data", "namespace": "acme", "repository": "web", "permission": "read"},
        ("data", "acme/web"),
    ),
    Case("revoke", {"team": "security", "namespace": "acme", "repository": "api"}, ("security", "acme/api")),
    Case(
        "access_request",
        {"namespace": "acme", "repository": "api", "permission": "write", "duration_seconds": None},
        ("kenjisato", "backend", "acme/api"),
    ),
    Case("offboard", {"who": "lin.feng@gmail.example"}, ("lin.feng@gmail.example", "contractorlin", "backend")),
    Case("policy_apply", {"text": POLICY, "source": "policy.yml"}, ("release-eng", "ximenalopez", "acme/api")),
    Case(
        "onboard",
        {"invitee": "ada.new@acme.example", "teams": ["backend", "data"]},
        ("ada.new@acme.example", "backend", "data"),
    ),
    # An onboarding waiting to be stopped is recorded by the `ctx` fixture.
    Case("onboard_cancel", {"invitee": WAITING_EMAIL}, (WAITING_EMAIL,)),
)


BUTTON_ONLY = {"policy_apply": {"text": POLICY, "source": "policy.yml"}}
"""Stored parameters of the kinds no command asks for (a button does), in place of their examples."""


@pytest.mark.parametrize("kind", kinds.ALL, ids=lambda kind: kind.name)
def test_every_kind_says_what_its_requests_are_about(kind: kinds.Kind) -> None:
    """Each registered kind answers `subjects` for its own parameters (its help examples, as typed),
    and they name someone, a team or a repository: a new kind is found in the log from its first day."""
    if kind.examples:
        stored = []
        for example in kind.examples:
            parsed = parse(example.removeprefix("/hub "))
            assert isinstance(parsed.command, Change) and parsed.command.kind is kind, example
            stored.append(kind.dump(parsed.command.params))
    else:
        assert kind.name in BUTTON_ONLY, f"{kind.name} has no examples: give BUTTON_ONLY stored parameters for it"
        stored = [BUTTON_ONLY[kind.name]]
    for params in stored:
        subjects = kind.subjects(params, None)
        assert isinstance(subjects, Subjects)
        assert subjects.users | subjects.teams | subjects.repositories, (kind.name, params)


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn(users=SLACK_USERS, usergroups={}, bot_token=TOKEN) as standin:
        yield standin


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlRequestStore]:
    async with await SqlRequestStore.open(f"sqlite:///{tmp_path / 'log.db'}") as opened:
        yield opened


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
async def ctx(hub: HubClient, store: SqlRequestStore, client: AsyncWebClient) -> HandlerContext:
    onboardings = SqlOnboardingStore(store.engine)
    now = datetime.now(UTC)
    asked = await store.create(
        NewRequest(
            instance="acme",
            kind="onboard",
            params={"invitee": WAITING_EMAIL, "teams": ["data"]},
            requester=ASKER,
            reason="new hire",
            summary="Onboard",
            destructive=False,
            approvals_required=1,
            expires_at=now + timedelta(days=1),
        ),
        now=now,
    )
    await onboardings.start(
        instance="acme",
        request_id=asked.id,
        email=WAITING_EMAIL,
        teams=["data"],
        role=None,
        requester=ASKER,
        invite_id=None,
        now=now,
    )
    return HandlerContext(
        hub=hub,
        instance="acme",
        actor=ASKER,
        instances=("acme",),
        messenger=SlackMessenger(client),
        directory=SlackDirectory(client),
        store=store,
        access_index=SqlAccessIndexStore(store.engine),
        access_teams={"acme/api:write": "backend"},
        onboardings=onboardings,
    )


async def file_and_decide(
    ctx: HandlerContext, kind: str, params: dict[str, Any], final: Status, at: datetime
) -> ChangeRequest:
    """Plan with the real kind, store it, post its approval message, and decide it at `at`."""
    assert ctx.store is not None and ctx.messenger is not None
    change = kinds.named(kind)
    plan = await change.plan(ctx, change.load(params))
    request = await ctx.store.create(
        NewRequest(
            instance="acme",
            kind=kind,
            params=change.dump(plan.params),
            requester=ASKER,
            reason="because",
            summary=plan.summary,
            destructive=change.destructive(plan.params),
            approvals_required=1,
            expires_at=at + timedelta(days=1),
        ),
        now=at - timedelta(minutes=5),
    )
    ts = await ctx.messenger.post(APPROVALS, Reply(plan.summary))
    await ctx.store.attach_message(request.id, APPROVALS, ts)
    if final is Status.DENIED:
        decided = await ctx.store.transition(
            request.id, Status.PENDING, Status.DENIED, actor=APPROVER, now=at, note="not now"
        )
    else:
        await ctx.store.approve(request.id, APPROVER, now=at)
        await ctx.store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor=APPROVER, now=at)
        decided = await ctx.store.transition(
            request.id, Status.EXECUTING, final, actor=APPROVER, now=at, result={}, error="Docker Hub said no"
        )
    assert decided is not None
    return decided


async def test_every_kind_is_found_by_what_it_names(ctx: HandlerContext) -> None:
    now = datetime.now(UTC)
    stored = {}
    for index, case in enumerate(CASES):
        stored[case.kind] = await file_and_decide(
            ctx, case.kind, case.params, Status.DONE, now - timedelta(hours=index)
        )
    ours = {kind.name for kind in kinds.ALL}
    assert ours <= set(stored), f"no case here for {sorted(ours - set(stored))}"

    for case in CASES:
        subjects = subjects_of(stored[case.kind])
        for about in case.about:
            assert subjects.match(parse_subject(about)), (case.kind, about, subjects)
        assert not subjects.match(parse_subject("nobody-here")), case.kind

    assert ctx.store is not None
    for case in CASES:
        for about in case.about:
            entries = await log_entries(ctx.store, now - timedelta(days=1), subject=parse_subject(about))
            assert stored[case.kind].id in {entry.request.id for entry in entries}, (case.kind, about)


async def test_slack_reply_newest_first_with_who_and_links(ctx: HandlerContext, slack: SlackStandIn) -> None:
    now = datetime.now(UTC)
    older = await file_and_decide(
        ctx, "team_add", {"team": "backend", "member": "umarkhan"}, Status.DONE, now - timedelta(days=3)
    )
    denied = await file_and_decide(
        ctx, "role", {"username": "umarkhan", "role": "editor"}, Status.DENIED, now - timedelta(days=1)
    )
    failed = await file_and_decide(
        ctx, "member_remove", {"username": "umarkhan"}, Status.FAILED, now - timedelta(hours=1)
    )
    other = await file_and_decide(ctx, "team_add", {"team": "data", "member": "ximenalopez"}, Status.DONE, now)
    too_old = await file_and_decide(
        ctx, "team_remove", {"team": "backend", "username": "ivanpetrov"}, Status.DONE, now - timedelta(days=40)
    )

    reply = await request_log(ctx, "umarkhan", 30, now=now)
    body = "\n".join(block["text"]["text"] for block in reply.blocks if block["type"] == "section")
    ids = [request.id for request in (failed, denied, older)]
    positions = [body.index(request_id) for request_id in ids]
    assert positions == sorted(positions), "newest first"
    assert other.id not in body and too_old.id not in body
    assert "3 decided requests" in reply.text
    assert f"asked by <@{ASKER}>, decided by <@{APPROVER}>" in body
    assert "denied" in body and "(not now)" in body and "failed" in body and "(Docker Hub said no)" in body
    for request in (failed, denied, older):
        assert request.ts is not None
        link = f"https://acme.slack.com/archives/{APPROVALS}/p{request.ts.replace('.', '')}"
        assert f"<{link}|approval message>" in body
    # One permalink lookup for the whole listing; the others follow its form.
    assert len(slack.calls_to("chat.getPermalink")) == 1

    within_two_days = await request_log(ctx, "umarkhan", 2, now=now)
    assert older.id not in str(within_two_days.blocks) and denied.id in str(within_two_days.blocks)
    everything = await request_log(ctx, None, 60, now=now)
    assert too_old.id in str(everything.blocks) and other.id in str(everything.blocks)
    nothing = await request_log(ctx, "weizhang", 30, now=now)
    assert "No decided requests about `weizhang`" in nothing.text


async def test_bad_input_is_named(ctx: HandlerContext) -> None:
    assert "days" in (await request_log(ctx, None, 0)).text
    assert "subject" in (await request_log(ctx, "not a name!", 7)).text
    assert "repository" in (await request_log(ctx, "acme/Bad Repo", 7)).text
    reply = await request_log_command(ctx, ["--days", "x"])
    assert "days" in reply.text and "Usage" in reply.text
    assert "one subject" in (await request_log_command(ctx, ["alice", "bob"])).text
    assert "--days" in (await request_log_command(ctx, ["--since", "3"])).text


def test_parse_log_args() -> None:
    assert parse_log_args([]) == (None, 30)
    assert parse_log_args(["Alice", "--days", "7"]) == (Subject("name", "alice"), 7)
    assert parse_log_args(["--days=2", "acme/API"]) == (Subject("repository", "acme/api"), 2)
    assert parse_log_args(["a@b.example"]) == (Subject("email", "a@b.example"), 30)
    for bad in (["--days"], ["--days", "0"], ["--days", "-3"], ["x y"], ["acme/"], ["--days", "99999"]):
        with pytest.raises(InvalidInput):
            parse_log_args(bad)


def test_policy_patterns_match_the_repositories_they_cover() -> None:
    request = ChangeRequest(
        id="r1",
        instance="acme",
        kind="policy_apply",
        params={"text": "repositories:\n  acme/api-*:\n    backend: read\n"},
        requester=ASKER,
        reason="",
        summary="",
        destructive=False,
        approvals_required=1,
        status=Status.DONE,
        created_at=datetime.now(UTC),
        updated_at=datetime.now(UTC),
        expires_at=datetime.now(UTC),
    )
    subjects = subjects_of(request)
    assert subjects.match(parse_subject("acme/api-gateway"))
    assert not subjects.match(parse_subject("acme/web"))
    assert subjects.match(parse_subject("backend"))


async def test_links_without_a_permalink_lookup_or_when_it_fails() -> None:
    assert await ApprovalLinks(None).link("C1", "1.2") is None

    async def broken(channel: str, ts: str) -> str | None:
        raise RuntimeError("slack is down")

    links = ApprovalLinks(broken)
    assert await links.link("C1", "1.2") is None
    assert await links.link(None, None) is None


def test_a_long_or_several_line_summary_shows_its_first_line() -> None:
    from handlers.request_log import _headline

    assert _headline("Add *ann* to team `backend`") == "Add *ann* to team `backend`"
    listed = "Added 3 members to team `backend`\n• *ann*: done\n• *bob*: done\n• *cy*: already so"
    assert _headline(listed) == "Added 3 members to team `backend` …"
    long = "Invite " + ", ".join(f"new{n}@corp.example" for n in range(100))
    shown = _headline(long)
    assert len(shown) <= 201 and shown.startswith("Invite new0@corp.example") and shown.endswith(" …")
