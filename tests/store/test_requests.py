"""Creating, reading and listing requests."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.store import SqlRequestStore
from handlers.requests.lifecycle import ChangeRequest, RequestStore, Status
from tests.store.conftest import NOW, draft


def test_implements_the_protocol_exactly() -> None:
    import inspect

    # Typed as the Protocol so mypy checks the signatures too.
    implementation: type[RequestStore] = SqlRequestStore
    protocol_methods = {name for name in vars(RequestStore) if not name.startswith("_")}
    for name in protocol_methods:
        assert inspect.signature(getattr(implementation, name)) == inspect.signature(getattr(RequestStore, name)), name


async def test_create_then_get_round_trips(store: SqlRequestStore) -> None:
    created = await store.create(draft(destructive=True, approvals_required=2), now=NOW)

    assert re.fullmatch(r"[a-z2-7]{12}", created.id)
    assert created.status is Status.PENDING
    assert created.approvals == ()
    assert created.attempts == 0
    assert (created.decided_by, created.result, created.error, created.channel, created.ts) == (None,) * 5
    fetched = await store.get(created.id)
    assert fetched == created
    assert fetched.params == {"team": "backend", "usernames": ["alice"], "nested": {"n": 1, "ok": True, "none": None}}
    assert fetched.destructive is True
    assert fetched.approvals_required == 2
    assert fetched.created_at == fetched.updated_at == NOW
    assert fetched.expires_at == NOW + timedelta(hours=24)
    for moment in (fetched.created_at, fetched.updated_at, fetched.expires_at):
        assert moment.tzinfo is UTC


async def test_times_in_other_zones_are_stored_as_the_same_instant_in_utc(store: SqlRequestStore) -> None:
    paris = timezone(timedelta(hours=2))
    expires = datetime(2030, 5, 18, 11, 30, tzinfo=paris)
    created = await store.create(draft(expires_at=expires), now=NOW.astimezone(paris))
    fetched = await store.get(created.id)
    assert fetched is not None
    assert fetched.expires_at == expires
    assert fetched.expires_at.tzinfo is UTC
    assert fetched.expires_at.hour == 9
    assert fetched.created_at == NOW


async def test_naive_times_are_refused_and_nothing_is_stored(store: SqlRequestStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.create(draft(expires_at=datetime(2030, 1, 1)), now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.create(draft(), now=datetime(2030, 1, 1))
    assert await store.list_requests() == []
    assert await store.audit_log() == []


async def test_create_writes_the_created_audit_row(store: SqlRequestStore) -> None:
    created = await store.create(draft(), now=NOW)
    [event] = await store.audit_log(request_id=created.id)
    assert (event.event, event.actor, event.instance, event.request_id, event.at) == (
        "request.created",
        "UREQUESTER",
        "acme",
        created.id,
        NOW,
    )
    assert event.detail["kind"] == "team_add"


async def test_ids_are_distinct(store: SqlRequestStore) -> None:
    ids = {(await store.create(draft(), now=NOW)).id for _ in range(20)}
    assert len(ids) == 20


async def test_get_unknown_is_none(store: SqlRequestStore) -> None:
    assert await store.get("nosuchid2345") is None


async def test_attach_message(store: SqlRequestStore) -> None:
    created = await store.create(draft(), now=NOW)
    await store.attach_message(created.id, "C0APPROVALS", "1715938200.000100")
    fetched = await store.get(created.id)
    assert fetched is not None
    assert (fetched.channel, fetched.ts) == ("C0APPROVALS", "1715938200.000100")
    assert fetched.status is Status.PENDING


async def test_list_requests_newest_first_with_filters(store: SqlRequestStore) -> None:
    first = await store.create(draft(requester="UALICE"), now=NOW)
    second = await store.create(draft(requester="UBOB", instance="other"), now=NOW + timedelta(minutes=1))
    third = await store.create(draft(requester="UALICE"), now=NOW + timedelta(minutes=2))
    await store.transition(third.id, Status.PENDING, Status.DENIED, actor="UAPPROVER", now=NOW)

    def ids(requests: list[ChangeRequest]) -> list[str]:
        return [request.id for request in requests]

    assert ids(await store.list_requests()) == [third.id, second.id, first.id]
    assert ids(await store.list_requests(limit=2)) == [third.id, second.id]
    assert ids(await store.list_requests(requester="UALICE")) == [third.id, first.id]
    assert ids(await store.list_requests(instance="other")) == [second.id]
    assert ids(await store.list_requests(statuses=frozenset({Status.PENDING}))) == [second.id, first.id]
    assert ids(await store.list_requests(statuses=frozenset({Status.DENIED, Status.DONE}))) == [third.id]
    assert ids(await store.list_requests(requester="UALICE", statuses=frozenset({Status.PENDING}))) == [first.id]
    assert await store.list_requests(statuses=frozenset()) == []
    assert await store.list_requests(requester="UNOBODY") == []


async def test_list_requests_carry_their_approvals(store: SqlRequestStore) -> None:
    created = await store.create(draft(approvals_required=3), now=NOW)
    await store.approve(created.id, "UAPPROVER1", now=NOW + timedelta(seconds=1))
    await store.approve(created.id, "UAPPROVER2", now=NOW + timedelta(seconds=2))
    [listed] = await store.list_requests()
    assert listed.approvers == ("UAPPROVER1", "UAPPROVER2")


async def test_expired_pending(store: SqlRequestStore) -> None:
    late = await store.create(draft(expires_at=NOW - timedelta(minutes=5)), now=NOW - timedelta(hours=1))
    later = await store.create(draft(expires_at=NOW - timedelta(minutes=1)), now=NOW - timedelta(hours=1))
    await store.create(draft(expires_at=NOW + timedelta(minutes=1)), now=NOW - timedelta(hours=1))
    decided = await store.create(draft(expires_at=NOW - timedelta(minutes=9)), now=NOW - timedelta(hours=1))
    await store.transition(decided.id, Status.PENDING, Status.CANCELLED, actor="UREQUESTER", now=NOW)

    assert [request.id for request in await store.expired_pending(NOW)] == [late.id, later.id]
    assert [request.id for request in await store.expired_pending(NOW, limit=1)] == [late.id]
    assert await store.expired_pending(NOW - timedelta(hours=2)) == []
    assert (await store.transition(late.id, Status.PENDING, Status.EXPIRED, actor="hubkeeper", now=NOW)) is not None
    assert [request.id for request in await store.expired_pending(NOW)] == [later.id]
