"""Every digest message within Slack's limits, for a 5,000-member org, and every name escaped."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from handlers.context import HandlerContext, Reply
from handlers.digest.model import RosterSnapshot, build_digest
from handlers.digest.post import gather_digest
from handlers.digest.render import MAX_INVITE_REPLIES, MAX_STALE_REPLIES, render_all, render_digest
from hub.client import HubClient, HubConnection
from hub.emulator import EmulatorServer, EmulatorState, seed_large
from hub.models import AuditLog, Invite, OrgGroup, OrgMember
from tests.conftest import FAST_RETRIES, MakeContext
from tests.digest.conftest import MemoryDigestStore
from tests.handlers.slack_limits import _check_block, assert_escaped, texts

ORG = "bigcorp"


def assert_within_limits(reply: Reply) -> None:
    assert reply.text.strip() and len(reply.text) <= 40_000
    assert 1 <= len(reply.blocks) <= 50, len(reply.blocks)
    for block in reply.blocks:
        _check_block(block)  # section text ≤ 3,000, fields, buttons, action_ids unique in a block, …
    total = sum(len(text) for text in texts(reply.blocks))
    assert total <= 11_000, f"{total} characters of block text (msg_blocks_too_long)"
    for text in [*texts(reply.blocks), reply.text]:
        assert_escaped(text)


@pytest.fixture
def large_state() -> Iterator[tuple[EmulatorState, str]]:
    state = EmulatorState()
    oat = seed_large(state, members=5000, teams=300, org=ORG)
    now = datetime.now(UTC)
    for index in range(120):
        state.add_invite(
            ORG, f"invitee{index}@{ORG}.example", inviter="user00000", created_at=now - timedelta(days=index)
        )
    yield state, oat


@pytest.fixture
async def large_ctx(large_state: tuple[EmulatorState, str], make_context: MakeContext) -> AsyncIterator[HandlerContext]:
    state, oat = large_state
    with EmulatorServer(state) as server:
        connection = HubConnection(org=ORG, oat=SecretStr(oat), base_url=server.base_url)
        async with HubClient(connection, retry_policy=FAST_RETRIES) as client:
            yield make_context(hub=client, instance="big")


async def test_a_5000_member_digest_fits_slack(large_ctx: HandlerContext) -> None:
    store = MemoryDigestStore()
    now = datetime.now(UTC)
    digest = await gather_digest(large_ctx, store, now=now, stale_after_days=90, period="p")
    assert digest.totals.members == 5000 and len(digest.stale) > 3000
    # A previous roster in which everyone had another team and role: the longest possible change section.
    previous = RosterSnapshot(
        taken_at=now - timedelta(days=7),
        data={f"user{i:05d}": {"role": "editor", "teams": ["old"]} for i in range(7000)},
    )
    store.snapshots.append(("big", previous))
    digest = await gather_digest(large_ctx, store, now=now, stale_after_days=90, period="p")
    assert len(digest.changes.left) == 2000 and len(digest.changes.teams) > 1000

    main, thread = render_digest(digest)
    for reply in (main, *thread):
        assert_within_limits(reply)
    assert len(thread) <= MAX_INVITE_REPLIES + MAX_STALE_REPLIES + 3
    shown_text = "\n".join(text for reply in (main, *thread) for text in texts(reply.blocks))
    assert "more stale members not shown" in shown_text
    assert "more invites not shown" in shown_text or len(digest.invites) <= 3 * 24

    # And 500 changes made outside hubkeeper on top: the main message still fits, and says what it left out.
    outside = tuple(
        AuditLog(
            action="org.member.role.change",
            name=ORG,
            actor=f"admin{i % 7}",
            data={"username": f"user{i:05d}", "role": "owner" if i % 3 == 0 else "editor"},
            timestamp=now - timedelta(minutes=i),
            action_description=f"changed the role of user{i:05d} from member to editor",
        )
        for i in range(500)
    )
    main = render_all(replace(digest, outside=outside)).main
    assert_within_limits(main)
    assert "Changed outside hubkeeper since the last digest" in str(main.blocks) and "more" in str(main.blocks)
    assert "*Empty teams*" in str(main.blocks)  # nothing after it was dropped to make room


def test_names_from_docker_hub_are_escaped_everywhere() -> None:
    now = datetime(2030, 5, 17, tzinfo=UTC)
    old = (now - timedelta(days=400)).isoformat()
    hostile = "<!channel> & <@U123|x>"
    member = OrgMember.model_validate(
        {
            "username": "mallory",
            "full_name": hostile,
            "role": "Member",
            "groups": ["<b>&team"],
            "is_guest": True,
            "last_logged_in_at": old,
            "last_seen_at": old,
            "last_desktop_version": None,
        }
    )
    invite = Invite(id="1b4e28ba-2fa1-11d2-883f-0016d3cca427", invitee="<!here>@x.example", inviter_username="<x>")
    group = OrgGroup(id=1, name="<!everyone>", member_count=0)
    previous = RosterSnapshot(taken_at=now - timedelta(days=7), data={"<gone>": {"role": "<r>", "teams": ["<t>"]}})
    digest = build_digest([member], [invite], [group], previous, {}, now, 90, instance="<i>", org="acme", period="p")
    main, thread = render_digest(digest)
    for reply in (main, *thread):
        assert_within_limits(reply)
    everything = "\n".join(text for reply in (main, *thread) for text in texts(reply.blocks))
    assert "&lt;!channel&gt; &amp; &lt;@U123|x&gt;" in everything
    assert "&lt;!everyone&gt;" in everything and "&lt;gone&gt;" in everything and "&lt;i&gt;" in everything
