"""Changes made outside hubkeeper reach the audit channel once: not missed, not posted twice, not
hubkeeper's own, across replicas and restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackMessenger
from bot.store import SqlRequestStore, create_engine
from bot.store.activity_store import SqlActivityStore
from handlers.activity.events import canonical, is_highlighted, subjects
from handlers.activity.feed import activity_report, poll_activity
from handlers.activity.matching import ExecutedChange, own_change
from handlers.requests.lifecycle import NewRequest, Status
from hub.client import HubClient
from hub.emulator import DEMO, EmulatorServer
from hub.models import AuditLog

from .conftest import CHANNEL, OpenReplicas


def posted(standin: SlackStandIn) -> list[str]:
    return [message["text"] for message in standin.messages(CHANNEL)]


async def start(hub: HubClient, store: SqlActivityStore, messenger: SlackMessenger) -> None:
    first = await poll_activity(hub, store, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r1")
    assert first.started


def test_actions_with_or_without_their_group_are_the_same() -> None:
    short = AuditLog(action="team.create", name="acme", data={"team": "mobile"})
    full = AuditLog(action="org.team.create", name="acme", data={"team": "mobile"})
    assert canonical(short.action) == canonical(full.action) == "team.create"
    assert subjects(short) == subjects(full) == {"mobile"}
    member = AuditLog(action="org.team.member.add", name="ivanpetrov", data={"team": "owners"})
    assert subjects(member) == {"ivanpetrov", "owners"} and is_highlighted(member)
    assert is_highlighted(AuditLog(action="member.role.change", name="acme", data={"username": "x", "role": "owner"}))
    assert not is_highlighted(AuditLog(action="member.role.change", name="acme", data={"role": "editor"}))


async def test_outside_changes_are_posted_once_and_survive_a_restart(
    hub: HubClient,
    emulator: EmulatorServer,
    database_url: str,
    store: SqlRequestStore,
    messenger: SlackMessenger,
    standin: SlackStandIn,
) -> None:
    activity = SqlActivityStore(store.engine)
    await start(hub, activity, messenger)
    assert posted(standin) == []  # the seeded history is from before hubkeeper watched
    emulator.state.web_ui_change(DEMO.org, "carolsmith", "member.role.change", username="ivanpetrov", role="owner")
    emulator.state.web_ui_change(DEMO.org, "bobokafor", "team.create", team="mobile")
    first = await poll_activity(hub, activity, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r1")
    assert len(first.posted) == 2
    texts = posted(standin)
    assert len(texts) == 2
    assert ":rotating_light:" in texts[0] and "carolsmith" in texts[0]
    assert "changed the role of ivanpetrov from member to owner" in texts[0]
    assert "bobokafor" in texts[1] and "created the team mobile" in texts[1] and "UTC" in texts[1]

    # A restart: a new store on the same database, a new process id. The events already posted are
    # read again (the look-back) and not posted again; the one made while it was down is posted.
    await store.close()
    emulator.state.web_ui_change(DEMO.org, "alicechen", "team.member.remove", team="backend", username="ivanpetrov")
    restarted = SqlRequestStore(create_engine(database_url))
    try:
        again = SqlActivityStore(restarted.engine)
        second = await poll_activity(hub, again, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r2")
        assert [event.name for event in second.posted] == ["ivanpetrov"]
        third = await poll_activity(hub, again, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r2")
        assert third.posted == []
    finally:
        await restarted.close()
    assert len(posted(standin)) == 3


async def test_hubkeepers_own_changes_are_not_posted(
    hub: HubClient,
    emulator: EmulatorServer,
    store: SqlRequestStore,
    activity_store: SqlActivityStore,
    messenger: SlackMessenger,
    standin: SlackStandIn,
) -> None:
    await start(hub, activity_store, messenger)
    now = datetime.now(UTC)
    request = await store.create(
        NewRequest(
            instance=DEMO.org,
            kind="team_add",
            params={"team": "data", "member": "umarkhan"},
            requester="UREQ",
            reason="",
            summary="Add umarkhan to data",
            destructive=False,
            approvals_required=1,
            expires_at=now + timedelta(hours=1),
        ),
        now=now,
    )
    await store.approve(request.id, "UAPPROVER", now=now)
    await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="UAPPROVER", now=now)
    await hub.add_group_member("data", "umarkhan")  # hubkeeper's own change, through the OAT
    await store.transition(request.id, Status.EXECUTING, Status.DONE, actor="UAPPROVER", now=now, result={})
    # The same action and subject made by a person is still news.
    emulator.state.web_ui_change(DEMO.org, "bobokafor", "team.member.add", team="security", username="kenjisato")
    result = await poll_activity(hub, activity_store, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r1")
    assert [(event.name, request_id) for event, request_id in result.own] == [("umarkhan", request.id)]
    assert [event.name for event in result.posted] == ["kenjisato"]
    lines = await activity_report(hub, activity_store, DEMO.org, since=now - timedelta(minutes=1), everything=True)
    assert any("umarkhan" in line and f"[hubkeeper request {request.id}]" in line for line in lines)
    outside = await activity_report(hub, activity_store, DEMO.org, since=now - timedelta(minutes=1))
    assert len(outside) == 1 and "bobokafor" in outside[0] and "added kenjisato to the team security" in outside[0]


async def test_two_replicas_polling_at_once_post_once(
    hub: HubClient,
    emulator: EmulatorServer,
    activity_store: SqlActivityStore,
    open_replicas: OpenReplicas,
    messenger: SlackMessenger,
    standin: SlackStandIn,
) -> None:
    await start(hub, activity_store, messenger)
    for team in ("backend", "frontend", "data", "platform"):
        emulator.state.web_ui_change(DEMO.org, "alicechen", "team.member.add", team=team, username="umarkhan")
    first, second = (SqlActivityStore(replica.engine) for replica in await open_replicas(2))
    results = await asyncio.gather(
        poll_activity(hub, first, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="a"),
        poll_activity(hub, second, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="b"),
    )
    assert sum(len(result.posted) for result in results) == 4
    assert len(posted(standin)) == 4


async def test_a_failed_post_is_tried_again(
    hub: HubClient,
    emulator: EmulatorServer,
    activity_store: SqlActivityStore,
    messenger: SlackMessenger,
    standin: SlackStandIn,
) -> None:
    await start(hub, activity_store, messenger)
    emulator.state.web_ui_change(DEMO.org, "alicechen", "member.remove", username="umarkhan")
    standin.rate_limit_next(1, retry_after=0, method="chat.postMessage")
    failed = await poll_activity(hub, activity_store, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r1")
    assert failed.failed and failed.posted == [] and posted(standin) == []
    retried = await poll_activity(hub, activity_store, DEMO.org, messenger=messenger, channel=CHANNEL, claimed_by="r1")
    assert [event.action for event in retried.posted] == ["org.member.remove"]
    assert len(posted(standin)) == 1 and ":rotating_light:" in posted(standin)[0]


def test_matching_needs_the_same_action_subject_team_and_time() -> None:
    now = datetime.now(UTC)
    change = ExecutedChange(
        kind="team_add", at=now, params={"team": "backend", "member": "ivanpetrov"}, request_id="r1"
    )
    added = AuditLog(action="org.team.member.add", name="ivanpetrov", data={"team": "backend"}, timestamp=now)
    assert own_change(added, [change]) is change
    assert own_change(added.model_copy(update={"data": {"team": "data"}}), [change]) is None
    assert own_change(added.model_copy(update={"name": "kenjisato"}), [change]) is None
    assert own_change(added.model_copy(update={"action": "team.member.remove"}), [change]) is None
    assert own_change(added.model_copy(update={"timestamp": now + timedelta(minutes=6)}), [change]) is None
    renamed = ExecutedChange(kind="team_update", at=now, params={"name": "data", "new_name": "analytics"})
    update = AuditLog(
        action="team.update", name="acme", data={"team": "analytics", "previous_name": "data"}, timestamp=now
    )
    assert own_change(update, [renamed]) is renamed
    policy = ExecutedChange(kind="policy.change", at=now, params={"action": "create_team", "team": "release-eng"})
    created = AuditLog(action="org.team.create", name="acme", data={"team": "release-eng"}, timestamp=now)
    assert own_change(created, [policy]) is policy
