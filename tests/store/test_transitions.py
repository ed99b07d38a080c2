"""Compare-and-set transitions: allowed ones, refused ones, losers, and a race between replicas."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from itertools import product

import pytest

from bot.store import SqlRequestStore
from handlers.requests.lifecycle import ALLOWED_TRANSITIONS, ChangeRequest, Status
from tests.store.conftest import NOW, OpenReplicas, draft

LATER = NOW + timedelta(minutes=5)

# How to bring a new request into each state a transition can start from.
PATH_TO = {
    Status.PENDING: [],
    Status.APPROVED: [(Status.PENDING, Status.APPROVED)],
    Status.EXECUTING: [(Status.PENDING, Status.APPROVED), (Status.APPROVED, Status.EXECUTING)],
    Status.FAILED: [
        (Status.PENDING, Status.APPROVED),
        (Status.APPROVED, Status.EXECUTING),
        (Status.EXECUTING, Status.FAILED),
    ],
    Status.INTERRUPTED: [
        (Status.PENDING, Status.APPROVED),
        (Status.APPROVED, Status.EXECUTING),
        (Status.EXECUTING, Status.INTERRUPTED),
    ],
}


async def request_in(store: SqlRequestStore, status: Status) -> ChangeRequest:
    request = await store.create(draft(), now=NOW)
    for expected, new in PATH_TO[status]:
        moved = await store.transition(request.id, expected, new, actor="USETUP", now=NOW, error="setup")
        assert moved is not None
        request = moved
    return request


@pytest.mark.parametrize(("expected", "new"), sorted(ALLOWED_TRANSITIONS), ids=lambda status: status.value)
async def test_every_allowed_transition(store: SqlRequestStore, expected: Status, new: Status) -> None:
    before = await request_in(store, expected)

    after = await store.transition(
        before.id, expected, new, actor="UACTOR", now=LATER, note="a note", result={"added": ["alice"]}, error="boom"
    )

    assert after is not None
    assert after == await store.get(before.id)
    assert after.status is new
    assert after.updated_at == LATER
    assert after.created_at == before.created_at
    assert after.attempts == before.attempts + (1 if new is Status.EXECUTING else 0)
    if new in (Status.DENIED, Status.CANCELLED):
        assert (after.decided_by, after.decision_note) == ("UACTOR", "a note")
    if new is Status.APPROVED:
        assert after.decided_by == "UACTOR"
    if new is Status.DONE:
        assert (after.result, after.error) == ({"added": ["alice"]}, None)
    elif new in (Status.FAILED, Status.INTERRUPTED):
        # A partly applied change keeps what it did (a bulk change's outcome per subject) for its Retry.
        assert (after.result, after.error) == ({"added": ["alice"]}, "boom")
    else:
        assert after.result == before.result
    if new not in (Status.DENIED, Status.CANCELLED, Status.APPROVED):
        assert (after.decided_by, after.decision_note) == (before.decided_by, before.decision_note)


async def test_done_clears_the_error_of_an_earlier_attempt(store: SqlRequestStore) -> None:
    failed = await request_in(store, Status.FAILED)
    assert failed.error == "setup"
    await store.transition(failed.id, Status.FAILED, Status.APPROVED, actor="UAPPROVER", now=LATER)
    await store.transition(failed.id, Status.APPROVED, Status.EXECUTING, actor="hubkeeper", now=LATER)
    done = await store.transition(failed.id, Status.EXECUTING, Status.DONE, actor="hubkeeper", now=LATER, result={})
    assert done is not None
    assert (done.status, done.error, done.result, done.attempts) == (Status.DONE, None, {}, 2)


async def test_refused_transitions_raise_and_write_nothing(store: SqlRequestStore) -> None:
    requests = {status: await request_in(store, status) for status in PATH_TO}
    audit_before = await store.audit_log()
    refused = [pair for pair in product(Status, Status) if pair not in ALLOWED_TRANSITIONS]
    assert len(refused) == len(Status) ** 2 - len(ALLOWED_TRANSITIONS)
    for expected, new in refused:
        request = requests.get(expected, requests[Status.PENDING])
        with pytest.raises(ValueError, match=f"from {expected.value} to {new.value}"):
            await store.transition(request.id, expected, new, actor="UACTOR", now=LATER)
    for request in requests.values():
        assert await store.get(request.id) == request
    assert await store.audit_log() == audit_before


async def test_a_request_not_in_the_expected_state_is_left_alone(store: SqlRequestStore) -> None:
    request = await store.create(draft(), now=NOW)
    assert await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="U", now=LATER) is None
    assert await store.transition(request.id, Status.EXECUTING, Status.DONE, actor="U", now=LATER) is None
    assert await store.transition("nosuchid2345", Status.PENDING, Status.DENIED, actor="U", now=LATER) is None
    assert await store.get(request.id) == request


async def test_second_of_two_clicks_loses(store: SqlRequestStore) -> None:
    request = await store.create(draft(), now=NOW)
    denied = await store.transition(request.id, Status.PENDING, Status.DENIED, actor="UFIRST", now=LATER, note="no")
    assert denied is not None
    assert await store.transition(request.id, Status.PENDING, Status.CANCELLED, actor="USECOND", now=LATER) is None
    after = await store.get(request.id)
    assert after is not None
    assert (after.status, after.decided_by, after.decision_note) == (Status.DENIED, "UFIRST", "no")


async def test_retry_after_failure_counts_another_attempt(store: SqlRequestStore) -> None:
    request = await request_in(store, Status.FAILED)
    assert request.attempts == 1
    retried = await store.transition(request.id, Status.FAILED, Status.APPROVED, actor="UAPPROVER", now=LATER)
    assert retried is not None
    assert (retried.status, retried.decided_by, retried.attempts) == (Status.APPROVED, "UAPPROVER", 1)
    executing = await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="hubkeeper", now=LATER)
    assert executing is not None
    assert executing.attempts == 2


async def test_ten_replicas_race_to_execute_and_one_wins(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    request = await request_in(store, Status.APPROVED)
    replicas = await open_replicas(10)

    results = await asyncio.gather(
        *(
            replica.transition(request.id, Status.APPROVED, Status.EXECUTING, actor=f"replica-{n}", now=LATER)
            for n, replica in enumerate(replicas)
        )
    )

    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 1
    stored = await store.get(request.id)
    assert stored is not None
    assert (stored.status, stored.attempts) == (Status.EXECUTING, 1)


async def test_a_failure_without_a_record_stores_none_and_a_retry_keeps_it_until_done(store: SqlRequestStore) -> None:
    request = await request_in(store, Status.EXECUTING)
    failed = await store.transition(request.id, Status.EXECUTING, Status.FAILED, actor="h", now=LATER, error="x")
    assert failed is not None and failed.result is None
    outcome = {"items": [{"item": "alice", "status": "failed", "reason": "503"}], "changed": []}
    await store.transition(request.id, Status.FAILED, Status.APPROVED, actor="UAPPROVER", now=LATER)
    await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="h", now=LATER)
    again = await store.transition(
        request.id, Status.EXECUTING, Status.FAILED, actor="h", now=LATER, error="x", result=outcome
    )
    assert again is not None and again.result == outcome
    retried = await store.transition(request.id, Status.FAILED, Status.APPROVED, actor="UAPPROVER", now=LATER)
    executing = await store.transition(request.id, Status.APPROVED, Status.EXECUTING, actor="h", now=LATER)
    assert retried is not None and executing is not None and executing.result == outcome
