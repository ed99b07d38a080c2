"""`decided_since`: the request log's query, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.store import SqlRequestStore
from handlers.lifecycle import ChangeRequest, Status
from tests.store.conftest import NOW, draft


async def _decide(store: SqlRequestStore, final: Status, at: datetime, **changes: object) -> ChangeRequest:
    """A request created an hour before `at` and brought to `final` at `at`."""
    request = await store.create(draft(**changes), now=at - timedelta(hours=1))
    if final in (Status.DENIED, Status.CANCELLED, Status.EXPIRED):
        moved = await store.transition(request.id, Status.PENDING, final, actor="UAPPROVER", now=at, note="no")
    else:
        await store.approve(request.id, "UAPPROVER", now=at)
        await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="UAPPROVER", now=at)
        moved = await store.transition(
            request.id, Status.EXECUTING, final, actor="UAPPROVER", now=at, result={"ok": True}, error="boom"
        )
    assert moved is not None and moved.status is final
    return moved


async def test_decided_requests_since_newest_first(store: SqlRequestStore) -> None:
    done = await _decide(store, Status.DONE, NOW - timedelta(days=1))
    denied = await _decide(store, Status.DENIED, NOW - timedelta(days=2))
    failed = await _decide(store, Status.FAILED, NOW - timedelta(hours=3))
    cancelled = await _decide(store, Status.CANCELLED, NOW - timedelta(days=3))
    expired = await _decide(store, Status.EXPIRED, NOW - timedelta(minutes=5))
    old = await _decide(store, Status.DONE, NOW - timedelta(days=40))
    pending = await store.create(draft(), now=NOW)
    approved = await store.create(draft(), now=NOW - timedelta(hours=2))
    await store.approve(approved.id, "UAPPROVER", now=NOW - timedelta(hours=1))

    found = await store.decided_since(NOW - timedelta(days=30))
    assert [request.id for request in found] == [expired.id, failed.id, done.id, denied.id, cancelled.id]
    assert old.id not in {request.id for request in found}
    assert pending.id not in {request.id for request in found}
    assert approved.id not in {request.id for request in found}
    by_id = {request.id: request for request in found}
    assert by_id[done.id].decided_by == "UAPPROVER" and by_id[done.id].approvers == ("UAPPROVER",)
    assert by_id[denied.id].decision_note == "no"
    assert by_id[failed.id].error == "boom"

    # The boundary is inclusive, and the limit keeps the newest.
    assert [r.id for r in await store.decided_since(NOW - timedelta(days=1))] == [expired.id, failed.id, done.id]
    assert [r.id for r in await store.decided_since(NOW - timedelta(days=30), limit=2)] == [expired.id, failed.id]


async def test_decided_since_filters_by_instance(store: SqlRequestStore) -> None:
    ours = await _decide(store, Status.DONE, NOW - timedelta(hours=1))
    theirs = await _decide(store, Status.DONE, NOW - timedelta(hours=2), instance="globex")
    assert [r.id for r in await store.decided_since(NOW - timedelta(days=1), instance="acme")] == [ours.id]
    assert [r.id for r in await store.decided_since(NOW - timedelta(days=1), instance="globex")] == [theirs.id]


async def test_decided_since_wants_an_aware_time(store: SqlRequestStore) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.decided_since(datetime(2030, 1, 1))
