"""The digest's buttons: Resend acts at once; Cancel and Remove become change requests awaiting approval;
Keep is recorded with who decided (and in the audit log)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox.slack_api import SlackStandIn
from bot.slack_io import SlackDirectory, SlackMessenger
from bot.store import SqlRequestStore
from bot.store.access_store import SqlAccessIndexStore
from bot.store.digest_store import SqlDigestStore
from handlers.context import HandlerContext
from handlers.digest.post import cancel_invite_request, keep, remove_member_request, resend_invite
from handlers.digest.render import (
    InviteButton,
    MemberButton,
    invite_value,
    member_value,
    parse_invite_value,
    parse_member_value,
)
from handlers.requests.approvals import ApprovalPolicy, Approvals
from handlers.requests.lifecycle import Status
from hub.client import HubClient
from hub.emulator import EmulatorState
from hub.models import Invite
from tests.digest.conftest import CHANNEL, TOKEN


def approvals_for(store: SqlRequestStore, hub: HubClient, slack: SlackStandIn) -> Approvals:
    client = AsyncWebClient(token=TOKEN, base_url=slack.api_url)

    def contexts(instance: str, actor: str, request_id: str | None) -> HandlerContext | None:
        return HandlerContext(
            hub=hub,
            instance=instance,
            actor=actor,
            messenger=SlackMessenger(client),
            directory=SlackDirectory(client),
            store=store,
            access_index=SqlAccessIndexStore(store.engine),
            request_id=request_id,
        )

    policy = ApprovalPolicy(
        channel=CHANNEL, approvers=frozenset({"S0APPROVERS"}), destructive_approvals=1, request_ttl=timedelta(hours=1)
    )
    return Approvals(
        store=store,
        messenger=SlackMessenger(client),
        directory=SlackDirectory(client),
        policies={"acme": policy},
        contexts=contexts,
    )


def test_button_values_round_trip_and_refuse_anything_else() -> None:
    invite_button = parse_invite_value(
        invite_value("acme", Invite(id="abc", invitee="a@b.example", inviter_username="x"))
    )
    assert invite_button == InviteButton("acme", "abc", "a@b.example")
    assert parse_member_value(member_value("acme", "weizhang", 30)) == MemberButton("acme", "weizhang", 30)
    for bad in ("", "nope", "[1]", '{"i": "acme"}', '{"i": "acme", "u": 3}'):
        with pytest.raises(ValueError):
            parse_member_value(bad)
        with pytest.raises(ValueError):
            parse_invite_value(bad)


async def test_resend_asks_docker_hub_to_send_the_invite_again(
    ctx: HandlerContext, hub: HubClient, emulator_state: EmulatorState
) -> None:
    invite = next(i for i in await hub.list_invites() if i.invitee == "ravisharma")
    reply = await resend_invite(ctx, invite.id)
    assert "resent" in reply.text
    assert any(r.method == "PATCH" and invite.id in r.path for r in emulator_state.requests)
    missing = await resend_invite(ctx, "00000000-0000-4000-8000-000000000000")
    assert "resent" not in missing.text


async def test_cancel_and_remove_become_requests_awaiting_approval(
    store: SqlRequestStore, hub: HubClient, slack: SlackStandIn, emulator_state: EmulatorState
) -> None:
    approvals = approvals_for(store, hub, slack)
    ctx = approvals.contexts("acme", "U0IVANP01", None)
    invite = next(i for i in await hub.list_invites() if i.invitee.startswith("stale.contractor"))

    kind, params, reason = cancel_invite_request(parse_invite_value(invite_value("acme", invite)))
    assert (kind.name, params.model_dump(exclude_none=True)) == (
        "invite_cancel",
        {"invitee": "stale.contractor@outsource.example"},
    )
    assert "Requested" in (await approvals.submit(ctx, kind, params, reason)).text

    kind, params, reason = remove_member_request(parse_member_value(member_value("acme", "weizhang")))
    assert (kind.name, params.model_dump(exclude_none=True)) == ("member_remove", {"username": "weizhang"})
    assert "Requested" in (await approvals.submit(ctx, kind, params, reason)).text

    pending = await store.list_requests(requester="U0IVANP01", limit=10)
    assert {(r.kind, r.status) for r in pending} == {
        ("invite_cancel", Status.PENDING),
        ("member_remove", Status.PENDING),
    }
    # Nothing changed on Docker Hub yet: that waits for an approver.
    assert "weizhang" in emulator_state.org("acme").members
    assert invite.id in emulator_state.org("acme").invites


async def test_keep_records_who_decided(ctx: HandlerContext, store: SqlRequestStore) -> None:
    digest_store = SqlDigestStore(store.engine)
    ctx.store = store
    reply = await keep(ctx, digest_store, "weizhang", 30, "U0ALICE01")
    assert "weizhang" in reply.text
    async with store.engine.connect() as connection:
        row = (await connection.exec_driver_sql("SELECT username, decided_by FROM snoozes")).one()
    assert tuple(row) == ("weizhang", "U0ALICE01")
    events = await store.audit_log(limit=5)
    assert [(e.event, e.actor, e.detail["username"]) for e in events] == [("digest.kept", "U0ALICE01", "weizhang")]
    refused = await keep(ctx, digest_store, "weizhang", 0, "U0ALICE01")
    assert "from 1 to" in refused.text
