"""Bulk team add, team remove and invite: the grammar's limits, plans that name what cannot be done,
an outcome per person, and a Retry that runs only what failed — against the emulator, the SQL store
and the Slack stand-in through the real approval lifecycle."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from handlers.changes import bulk
from handlers.commands import Change, parse
from handlers.context import HandlerContext, Reply
from handlers.grammar import UsageError
from handlers.requests import kinds
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.requests.kind import ChangeRefused
from handlers.requests.lifecycle import Status
from handlers.requests.render import RETRY, render_approval
from hub.client import HubClient
from hub.emulator import EmulatorState
from tests.handlers.slack_limits import all_text, texts

ORG = "acme"
ALICE, BOB, IVAN = "U0ALICE01", "U0BOBOK01", "U0IVANP01"
HUB_OPS = "C0HUBOPS01"


def parsed(text: str) -> Change:
    command = parse(text).command
    assert isinstance(command, Change)
    return command


def usage_error(text: str) -> str:
    with pytest.raises(UsageError) as caught:
        parse(text)
    return caught.value.message


def add_people(state: EmulatorState, count: int, prefix: str = "hire") -> list[str]:
    names = [f"{prefix}{n:03d}" for n in range(count)]
    for name in names:
        state.add_member(ORG, name, email=f"{name}@acme.example")
    return names


# -- the grammar ----------------------------------------------------------------------------------


def test_several_subjects_parse_into_one_change() -> None:
    change = parsed("team add backend umarkhan Ada@Acme.example aaronwright --reason onboarding")
    assert change.kind.name == "team_add"
    assert change.params.model_dump() == {
        "team": "backend",
        "members": ["umarkhan", "Ada@Acme.example", "aaronwright"],
        "team_id": None,
    }
    change = parsed("team remove data ninagarcia jadeturner")
    assert change.params.model_dump() == {"team": "data", "usernames": ["ninagarcia", "jadeturner"], "team_id": None}
    change = parsed("invite ada@acme.example grace@acme.example --team backend --role editor")
    assert change.params.model_dump() == {
        "invitees": ["ada@acme.example", "grace@acme.example"],
        "team": "backend",
        "role": "editor",
        "team_id": None,
    }


def test_at_most_a_hundred_subjects() -> None:
    hundred = " ".join(f"user{n:03d}" for n in range(100))
    assert len(parsed(f"team add backend {hundred}").params.model_dump()["members"]) == 100
    message = usage_error(f"team add backend {hundred} user100")
    assert message == ("101 subjects is more than the 100 one request may name: split the list (nothing was requested)")
    assert "101 subjects" in usage_error("invite " + " ".join(f"p{n:03d}@acme.example" for n in range(101)))


def test_duplicates_are_named_up_to_case() -> None:
    message = usage_error("team add backend umarkhan aaronwright UmarKhan umarkhan ada@acme.example ADA@acme.example")
    assert message == "named more than once: `umarkhan`, `ada@acme.example` (nothing was requested)"


def test_every_bad_subject_is_named_at_once() -> None:
    message = usage_error("invite ada@acme.example a@b nobody@ ../etc")
    assert "email 'a@b' is not valid" in message
    assert "email 'nobody@' is not valid" in message
    assert "username '../etc' is not valid" in message
    assert message.endswith("(nothing was requested)")


def test_stored_single_subject_requests_still_load() -> None:
    assert kinds.named("team_add").load({"team": "backend", "member": "umarkhan"}).model_dump() == {
        "team": "backend",
        "members": ["umarkhan"],
        "team_id": None,
    }
    assert kinds.named("team_remove").load({"team": "data", "username": "ninagarcia"}).model_dump()["usernames"] == [
        "ninagarcia"
    ]
    assert kinds.named("invite").load({"invitee": "ada@acme.example"}).model_dump()["invitees"] == ["ada@acme.example"]


def test_destructive_is_the_kinds_verdict_for_the_whole_list() -> None:
    team_add, invite, team_remove = kinds.named("team_add"), kinds.named("invite"), kinds.named("team_remove")
    assert team_add.destructive(team_add.load({"team": "Owners", "members": ["a1234", "b1234"]}))
    assert not team_add.destructive(team_add.load({"team": "backend", "members": ["a1234", "b1234"]}))
    assert team_remove.destructive(team_remove.load({"team": "data", "usernames": ["a1234", "b1234"]}))
    assert invite.destructive(invite.load({"invitees": ["a@acme.example", "b@acme.example"], "role": "owner"}))
    assert invite.destructive(invite.load({"invitees": ["a@acme.example"], "team": "owners"}))
    assert not invite.destructive(invite.load({"invitees": ["a@acme.example", "b@acme.example"]}))


# -- plans ----------------------------------------------------------------------------------------


async def test_a_team_add_plan_names_what_cannot_be_done_and_leaves_it_out(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    kind = kinds.named("team_add")
    params = kind.load(
        {
            "team": "backend",
            "members": ["umarkhan", "ivanpetrov", "newhire@acme.example", "AaronWright", "umarkhan@acme.example"],
        }
    )
    emulator_state.clear_requests()
    planned = await kind.plan(ctx, params)
    assert {r.method for r in emulator_state.requests if r.path != "/v2/auth/token"} == {"GET"}
    assert planned.summary == "Add 2 members to team *backend*"
    assert planned.params.model_dump() == {
        "team": "backend",
        "members": ["umarkhan", "aaronwright"],
        "team_id": emulator_state.org(ORG).groups["backend"].id,
    }
    text = "\n".join(planned.details)
    assert "Adds: *umarkhan*, *aaronwright*" in text
    assert "Cannot be done, left out (3):" in text
    assert "*ivanpetrov* is already in team *backend*." in text
    assert "`newhire@acme.example` is not a member of *acme*" in text
    assert "`umarkhan@acme.example` is *umarkhan*, named already as `umarkhan`." in text
    assert "umarkhan" not in set(emulator_state.org(ORG).groups["backend"].members)


async def test_a_plan_with_nothing_to_do_refuses_naming_every_reason(ctx: HandlerContext) -> None:
    kind = kinds.named("team_remove")
    with pytest.raises(ChangeRefused) as caught:
        await kind.plan(ctx, kind.load({"team": "data", "usernames": ["umarkhan", "aaronwright"]}))
    assert caught.value.message.splitlines() == [
        "None of the 2 can be done; nothing was requested.",
        "• `umarkhan` is not in team *data*; nothing to remove.",
        "• `aaronwright` is not in team *data*; nothing to remove.",
    ]


async def test_removing_every_owner_leaves_the_last_one_out(ctx: HandlerContext) -> None:
    kind = kinds.named("team_remove")
    planned = await kind.plan(ctx, kind.load({"team": "owners", "usernames": ["alicechen", "bobokafor", "carolsmith"]}))
    assert planned.params.model_dump()["usernames"] == ["alicechen", "bobokafor"]
    assert "*carolsmith* is the only owner of *acme*" in "\n".join(planned.details)


async def test_a_hundred_people_fit_the_approval_message_with_a_count(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    names = add_people(emulator_state, 100, prefix="averyveryverylongname")
    kind = kinds.named("team_add")
    planned = await kind.plan(ctx, kind.load({"team": "backend", "members": names}))
    assert planned.summary == "Add 100 members to team *backend*"
    adds = planned.details[0]
    assert len(adds) <= 1000 and adds.endswith("more")
    outcome = await kind.execute(ctx, planned.params)
    assert set(names) <= set(emulator_state.org(ORG).groups["backend"].members)
    lines = outcome.summary.splitlines()
    assert lines[0] == "Added to team *backend* (100 done)"
    assert len(outcome.summary) <= bulk.TEXT_BUDGET + 100 and "more not shown" in lines[-1]
    assert outcome.result["changed"] == names and len(outcome.result["items"]) == 100


async def test_a_bulk_invite_shows_dockers_dry_run_per_invitee(
    ctx: HandlerContext, emulator_state: EmulatorState
) -> None:
    before = dict(emulator_state.org(ORG).invites)
    kind = kinds.named("invite")
    params = kind.load(
        {"invitees": ["ada@acme.example", "ivanpetrov", "ravisharma", "grace@acme.example"], "team": "data"}
    )
    planned = await kind.plan(ctx, params)
    assert emulator_state.org(ORG).invites == before
    assert planned.summary == "Invite 2 people to *acme*, into team *data*"
    assert planned.params.model_dump() == {
        "invitees": ["ada@acme.example", "grace@acme.example"],
        "team": "data",
        "role": None,
        "team_id": emulator_state.org(ORG).groups["data"].id,
    }
    assert planned.details[:4] == [
        "Docker Hub's dry run:",
        "`ada@acme.example` would be invited",
        "`ivanpetrov` is already a member of the org",
        "`grace@acme.example` would be invited",
    ]
    text = "\n".join(planned.details)
    assert "Cannot be done, left out (2):" in text and "`ravisharma` already has a pending invite" in text
    outcome = await kind.execute(ctx, planned.params)
    invited = {i.invitee: i for i in emulator_state.org(ORG).invites.values()}
    assert invited["ada@acme.example"].team == "data" and "grace@acme.example" in invited
    assert outcome.result["changed"] == ["ada@acme.example", "grace@acme.example"]
    assert outcome.result["items"][0]["invite_id"] == invited["ada@acme.example"].id


# -- executing through approval -------------------------------------------------------------------


@pytest.fixture
async def approvals(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn) -> Approvals:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    messenger, directory = SlackMessenger(client), SlackDirectory(client)

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        return HandlerContext(
            hub=hub,
            access_index=SqlAccessIndexStore(store.engine),
            instance=instance,
            actor=actor,
            messenger=messenger,
            directory=directory,
            store=store,
            request_id=request_id,
        )

    policy = ApprovalPolicy(
        channel=HUB_OPS, approvers=frozenset({"S0APPROVERS"}), destructive_approvals=2, request_ttl=timedelta(hours=1)
    )
    return Approvals(store=store, messenger=messenger, directory=directory, policies={ORG: policy}, contexts=contexts)


async def ask(approvals: Approvals, text: str) -> str:
    change = parsed(text)
    ctx = approvals.contexts(ORG, IVAN, None)
    assert ctx is not None
    reply = await approvals.submit(ctx, change.kind, change.params, change.reason)
    assert "Requested" in reply.text, reply.text
    return (await approvals.store.list_requests(requester=IVAN, limit=1))[0].id


def approval_text(slack: SlackStandIn) -> str:
    return json.dumps(slack.messages(HUB_OPS)[-1])


def buttons(message: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def posts_to(state: EmulatorState, path: str) -> int:
    return sum(1 for r in state.requests if r.method == "POST" and r.path == path)


async def test_one_failure_fails_the_request_and_retry_runs_only_it(
    approvals: Approvals, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    names = add_people(emulator_state, 12)
    request_id = await ask(approvals, "team add backend ivanpetrov " + " ".join(names) + " --reason new hires")
    assert "*ivanpetrov* is already in team *backend*" in approval_text(slack)
    members_path = "/v2/orgs/acme/groups/backend/members"
    emulator_state.fail_next(1, 500, method="POST", path=members_path, detail="boom")
    emulator_state.clear_requests()

    reply = await approvals.approve(request_id, BOB)

    assert "Failed" in reply.text
    failed = await approvals.store.get(request_id)
    assert failed is not None and failed.status is Status.FAILED and failed.result is not None
    items = failed.result["items"]
    assert len(items) == 12 and posts_to(emulator_state, members_path) == 12
    bad = [item for item in items if item["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["reason"]
    assert sorted(failed.result["changed"]) == sorted(set(names) - {bad[0]["item"]})
    backend = set(emulator_state.org(ORG).groups["backend"].members)
    assert bad[0]["item"] not in backend and len(set(names) & backend) == 11
    message = slack.messages(HUB_OPS)[-1]
    assert buttons(message) == [RETRY]
    text = json.dumps(message)
    assert "1 of 12 failed. Retry runs only those." in text and "(11 done, 1 failed)" in text
    assert f"*{bad[0]['item']}*: failed" in text

    emulator_state.clear_requests()
    retried = await approvals.retry(request_id, ALICE)

    assert "Done" in retried.text
    assert posts_to(emulator_state, members_path) == 1
    assert set(names) <= set(emulator_state.org(ORG).groups["backend"].members)
    done = await approvals.store.get(request_id)
    assert done is not None and done.status is Status.DONE and done.result is not None
    assert sorted(done.result["changed"]) == sorted(names)
    assert [item["status"] for item in done.result["items"]] == ["done"] * 12
    assert "(12 done)" in approval_text(slack)


async def test_already_so_at_execution_is_not_a_failure(
    approvals: Approvals, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, "team remove data ninagarcia jadeturner tanyaivanova --reason reorg")
    await hub.remove_group_member("data", "jadeturner")  # someone else, meanwhile
    # Destructive: it needs a second approver.
    assert "needs 1 more approver" in (await approvals.approve(request_id, BOB)).text
    reply = await approvals.approve(request_id, ALICE)
    assert "Done" in reply.text
    done = await approvals.store.get(request_id)
    assert done is not None and done.result is not None
    statuses = {item["item"]: item["status"] for item in done.result["items"]}
    assert statuses == {"ninagarcia": "done", "jadeturner": "already", "tanyaivanova": "done"}
    assert done.result["changed"] == ["ninagarcia", "tanyaivanova"]
    assert "(2 done, 1 already so)" in approval_text(slack)


async def test_a_failed_bulk_invite_is_retried_for_the_invitees_it_failed(
    approvals: Approvals, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    request_id = await ask(approvals, "invite ada@acme.example grace@acme.example --team data")
    assert "`ada@acme.example` would be invited" in approval_text(slack)
    emulator_state.fail_next(1, 503, method="POST", path="/v2/invites/bulk")
    reply = await approvals.approve(request_id, BOB)
    assert "Failed" in reply.text and "2 of 2 failed" in approval_text(slack)
    assert not any(i.invitee == "ada@acme.example" for i in emulator_state.org(ORG).invites.values())
    assert "Done" in (await approvals.retry(request_id, ALICE)).text
    invitees = {i.invitee for i in emulator_state.org(ORG).invites.values()}
    assert {"ada@acme.example", "grace@acme.example"} <= invitees


def test_the_activity_feed_expects_every_person_of_a_bulk_change() -> None:
    from datetime import UTC, datetime

    from handlers.activity.matching import ExecutedChange, expected_events

    at = datetime.now(UTC)
    add = ExecutedChange("team_add", at, {"team": "backend", "members": ["umarkhan", "AaronWright"]})
    assert expected_events(add) == {("team.member.add", "umarkhan"), ("team.member.add", "aaronwright")}
    remove = ExecutedChange("team_remove", at, {"team": "data", "usernames": ["ninagarcia"]})
    assert expected_events(remove) == {("team.member.remove", "ninagarcia")}
    invite = ExecutedChange("invite", at, {"invitees": ["ada@acme.example", "grace@acme.example"]})
    assert expected_events(invite) == {
        ("member.invite.send", "ada@acme.example"),
        ("member.invite.send", "grace@acme.example"),
    }


def assert_fits_slack(reply: Reply) -> None:
    """Within Block Kit's limits, and no section cut short by the builders' last-resort clip."""
    assert len(reply.blocks) <= 50
    sections = [block["text"]["text"] for block in reply.blocks if block["type"] == "section"]
    assert all(len(text) < 3000 for text in sections), [len(text) for text in sections]
    assert sum(len(text) for text in texts(reply.blocks)) <= 11_000


async def test_a_hundred_outcomes_fit_slacks_limits_with_a_count(
    approvals: Approvals, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    invitees = [f"new.person.with.a.long.name{n:03d}@acme.example" for n in range(100)]
    request_id = await ask(approvals, "invite " + " ".join(invitees) + " --team data")
    pending = await approvals.store.get(request_id)
    assert pending is not None
    assert_fits_slack(render_approval(pending))
    assert "more not shown" in pending.summary  # the dry run's verdicts, cut with a count
    emulator_state.fail_next(1, 503, method="POST", path="/v2/invites/bulk", detail="x" * 300)
    await approvals.approve(request_id, BOB)
    failed = await approvals.store.get(request_id)
    assert failed is not None and failed.status is Status.FAILED
    rendered = render_approval(failed)
    assert_fits_slack(rendered)
    text = all_text(rendered)
    assert "100 of 100 failed. Retry runs only those." in text and "(100 failed)" in text
    assert re.search(r"… and \d+ more not shown", text)
    assert failed.result is not None and len(failed.result["items"]) == 100


async def test_a_bulk_change_acts_only_on_the_team_it_planned(
    ctx: HandlerContext, hub: HubClient, emulator_state: EmulatorState
) -> None:
    kind = kinds.named("team_add")
    planned = await kind.plan(ctx, kind.load({"team": "data", "members": ["umarkhan", "aaronwright"]}))
    await hub.update_group("data", new_name="olddata")
    await hub.create_group("data")
    with pytest.raises(ChangeRefused) as caught:
        await kind.execute(ctx, planned.params)
    assert "not the team this was approved for" in caught.value.message
    assert not emulator_state.org(ORG).groups["data"].members
