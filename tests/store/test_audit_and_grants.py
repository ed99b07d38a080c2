"""The append-only audit log, and time-bound grants."""

from __future__ import annotations

import asyncio
import inspect
from datetime import UTC, datetime, timedelta

from bot.store import SqlRequestStore
from handlers.requests.lifecycle import AuditEvent, RequestStore
from tests.store.conftest import NOW, OpenReplicas, draft


async def test_audit_append_and_read_oldest_first(store: SqlRequestStore) -> None:
    # Relative to the real clock, since the last event is stamped by the store.
    past = datetime.now(UTC) - timedelta(hours=1)
    request = await store.create(draft(expires_at=past + timedelta(days=1)), now=past)
    approved = AuditEvent("request.approved", "UAPPROVER", "acme", request.id, {"n": 1}, at=past + timedelta(minutes=1))
    await store.append_audit(approved)
    await store.append_audit(AuditEvent("grant.expired", "hubkeeper", "acme", at=past + timedelta(minutes=2)))
    before = datetime.now(UTC)
    await store.append_audit(AuditEvent("digest.posted", "hubkeeper", "other"))

    events = await store.audit_log()
    assert [event.event for event in events] == [
        "request.created",
        "request.approved",
        "grant.expired",
        "digest.posted",
    ]
    assert events[1] == approved
    assert events[2].detail == {}
    assert events[2].request_id is None
    stamped = events[3].at
    assert stamped is not None
    assert stamped.tzinfo is UTC
    assert before - timedelta(seconds=1) <= stamped <= datetime.now(UTC)
    assert [event.event for event in await store.audit_log(request_id=request.id)] == [
        "request.created",
        "request.approved",
    ]


async def test_audit_limit_keeps_the_latest(store: SqlRequestStore) -> None:
    for minute in range(5):
        await store.append_audit(AuditEvent(f"e{minute}", "hubkeeper", "acme", at=NOW + timedelta(minutes=minute)))
    assert [event.event for event in await store.audit_log(limit=2)] == ["e3", "e4"]


def test_audit_log_cannot_be_changed_through_the_store() -> None:
    public = {name for name, _ in inspect.getmembers(SqlRequestStore) if not name.startswith("_")}
    protocol = {name for name in vars(RequestStore) if not name.startswith("_")}
    assert public - protocol == {"open", "close", "engine"}
    assert not any(word in name for name in public for word in ("delete", "remove", "edit", "update_audit"))


async def grant(store: SqlRequestStore, *, username: str, expires_at: datetime, requester: str = "UREQUESTER") -> str:
    request = await store.create(draft(kind="grant"), now=NOW)
    added = await store.add_timed_grant(
        instance="acme",
        request_id=request.id,
        team="on-call",
        username=username,
        requester=requester,
        expires_at=expires_at,
    )
    return added.id


async def test_timed_grants_add_due_and_active(store: SqlRequestStore) -> None:
    request = await store.create(draft(kind="grant"), now=NOW)
    added = await store.add_timed_grant(
        instance="acme",
        request_id=request.id,
        team="on-call",
        username="alice",
        requester="UALICE",
        expires_at=NOW + timedelta(hours=2),
    )
    assert (added.team, added.username, added.requester, added.revoked_at) == ("on-call", "alice", "UALICE", None)
    assert added.expires_at == NOW + timedelta(hours=2)
    assert added.expires_at.tzinfo is UTC
    soon = await grant(store, username="bob", expires_at=NOW + timedelta(hours=1), requester="UBOB")

    assert await store.due_timed_grants(NOW) == []
    assert [g.id for g in await store.due_timed_grants(NOW + timedelta(hours=1))] == [soon]
    assert [g.id for g in await store.due_timed_grants(NOW + timedelta(hours=3))] == [soon, added.id]
    assert [g.id for g in await store.due_timed_grants(NOW + timedelta(hours=3), limit=1)] == [soon]
    assert [g.id for g in await store.active_timed_grants()] == [soon, added.id]
    assert await store.active_timed_grants(requester="UALICE") == [added]

    assert await store.mark_grant_revoked(soon, now=NOW + timedelta(hours=1)) is True
    assert await store.mark_grant_revoked(soon, now=NOW + timedelta(hours=1)) is False
    assert [g.id for g in await store.due_timed_grants(NOW + timedelta(hours=3))] == [added.id]
    assert [g.id for g in await store.active_timed_grants()] == [added.id]
    assert await store.active_timed_grants(requester="UBOB") == []
    assert await store.mark_grant_revoked("nosuchid2345", now=NOW) is False


async def test_grant_revoked_exactly_once_across_replicas(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    grant_id = await grant(store, username="alice", expires_at=NOW)
    replicas = await open_replicas(10)

    revoked = await asyncio.gather(
        *(replica.mark_grant_revoked(grant_id, now=NOW + timedelta(seconds=n)) for n, replica in enumerate(replicas))
    )

    assert revoked.count(True) == 1
    assert await store.due_timed_grants(NOW + timedelta(days=1)) == []
    assert await store.active_timed_grants() == []
