"""The undo claim: one undo of a request holds it at a time, decided by the database (uq_requests_undoes)."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import SqlRequestStore
from handlers.requests.lifecycle import ChangeRequest, Status, UndoAlreadyFiled, UndoRef
from tests.store.conftest import NOW, OpenReplicas, draft


async def done_request(store: SqlRequestStore) -> ChangeRequest:
    request = await store.create(draft(), now=NOW)
    await store.approve(request.id, "UAPPROVER", now=NOW)
    await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="UAPPROVER", now=NOW)
    finished = await store.transition(
        request.id, Status.EXECUTING, Status.DONE, actor="UAPPROVER", now=NOW, result={"summary": "added"}
    )
    assert finished is not None and finished.undone_by is None
    return finished


def undo_of(request: ChangeRequest) -> dict[str, object]:
    return {"kind": "team_remove", "summary": f"Undo {request.id}", "undoes": request.id}


async def test_an_undo_names_what_it_undoes_and_shows_on_it(store: SqlRequestStore) -> None:
    original = await done_request(store)
    undo = await store.create(draft(**undo_of(original)), now=NOW)
    assert undo.undoes == original.id and undo.undone_by is None
    await store.attach_message(undo.id, "C1", "1.5")
    shown = await store.get(original.id)
    assert shown is not None and shown.undone_by == UndoRef(undo.id, Status.PENDING, "C1", "1.5")
    # Listings carry it too (one query for the page, not one per request).
    listed = await store.list_requests(limit=5)
    assert {r.id: r.undone_by for r in listed} == {original.id: shown.undone_by, undo.id: None}
    created = [e for e in await store.audit_log(request_id=undo.id) if e.event == "request.created"]
    assert created[0].detail["undoes"] == original.id


async def test_a_second_undo_is_refused_naming_the_first(store: SqlRequestStore) -> None:
    original = await done_request(store)
    first = await store.create(draft(**undo_of(original)), now=NOW)
    with pytest.raises(UndoAlreadyFiled) as refused:
        await store.create(draft(**undo_of(original)), now=NOW)
    assert refused.value.existing.id == first.id and refused.value.existing.status is Status.PENDING
    # Both were created at NOW, so the listing's order between them is not defined: compare as sets.
    assert {r.id for r in await store.list_requests(limit=10)} == {first.id, original.id}
    # Nothing of the refused one was written, audit row included.
    assert sorted(e.request_id for e in await store.audit_log() if e.event == "request.created") == sorted(
        [original.id, first.id]
    )


async def test_concurrent_undos_on_replicas_store_exactly_one(
    store: SqlRequestStore, open_replicas: OpenReplicas
) -> None:
    replicas = await open_replicas(4)
    for _ in range(3):
        original = await done_request(store)
        outcomes = await asyncio.gather(
            *(replica.create(draft(**undo_of(original)), now=NOW) for replica in replicas), return_exceptions=True
        )
        stored = [o for o in outcomes if isinstance(o, ChangeRequest)]
        refused = [o for o in outcomes if isinstance(o, UndoAlreadyFiled)]
        assert len(stored) == 1 and len(refused) == 3, outcomes
        assert {r.existing.id for r in refused} == {stored[0].id}
        shown = await store.get(original.id)
        assert shown is not None and shown.undone_by is not None and shown.undone_by.id == stored[0].id


@pytest.mark.parametrize("ending", [Status.DENIED, Status.EXPIRED, Status.CANCELLED])
async def test_an_undo_that_ends_undone_lets_go(store: SqlRequestStore, ending: Status) -> None:
    original = await done_request(store)
    first = await store.create(draft(**undo_of(original)), now=NOW)
    assert await store.transition(first.id, Status.PENDING, ending, actor="UAPPROVER", now=NOW) is not None
    shown = await store.get(original.id)
    assert shown is not None and shown.undone_by is None
    second = await store.create(draft(**undo_of(original)), now=NOW)
    shown = await store.get(original.id)
    assert shown is not None and shown.undone_by is not None and shown.undone_by.id == second.id


async def test_a_failed_undo_holds_through_its_retry_and_a_done_one_for_good(store: SqlRequestStore) -> None:
    original = await done_request(store)
    undo = await store.create(draft(**undo_of(original)), now=NOW)
    await store.approve(undo.id, "UAPPROVER", now=NOW)
    for expected, new in [(Status.APPROVED, Status.EXECUTING), (Status.EXECUTING, Status.FAILED)]:
        await store.transition(undo.id, expected, new, actor="UAPPROVER", now=NOW, error="hub down")
        shown = await store.get(original.id)
        assert shown is not None and shown.undone_by == UndoRef(undo.id, new)
    with pytest.raises(UndoAlreadyFiled) as refused:
        await store.create(draft(**undo_of(original)), now=NOW)
    assert refused.value.existing == UndoRef(undo.id, Status.FAILED)
    for expected, new in [(Status.FAILED, Status.APPROVED), (Status.APPROVED, Status.EXECUTING)]:
        await store.transition(undo.id, expected, new, actor="UAPPROVER", now=NOW)
    await store.transition(undo.id, Status.EXECUTING, Status.DONE, actor="UAPPROVER", now=NOW, result={})
    with pytest.raises(UndoAlreadyFiled) as again:
        await store.create(draft(**undo_of(original)), now=NOW)
    assert again.value.existing == UndoRef(undo.id, Status.DONE)


async def test_undos_of_different_requests_do_not_meet(store: SqlRequestStore) -> None:
    one, two = await done_request(store), await done_request(store)
    await store.create(draft(**undo_of(one)), now=NOW)
    await store.create(draft(**undo_of(two)), now=NOW)
    # Requests that undo nothing are never claimed against one another.
    await store.create(draft(), now=NOW)
    await store.create(draft(), now=NOW)
    assert len(await store.list_requests(limit=10)) == 6
