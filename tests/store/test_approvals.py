"""Approvals: once per approver, never the requester's, only while pending, one winner."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from bot.store import SqlRequestStore
from handlers.requests.lifecycle import ApprovalOutcome, Status
from tests.store.conftest import NOW, OpenReplicas, draft

LATER = NOW + timedelta(minutes=5)


async def test_one_approval_approves(store: SqlRequestStore) -> None:
    request = await store.create(draft(), now=NOW)
    result = await store.approve(request.id, "UAPPROVER", now=LATER)
    assert result.outcome is ApprovalOutcome.APPROVED
    assert result.request is not None
    assert result.request == await store.get(request.id)
    assert (result.request.status, result.request.decided_by, result.request.updated_at) == (
        Status.APPROVED,
        "UAPPROVER",
        LATER,
    )
    assert [(a.approver, a.at) for a in result.request.approvals] == [("UAPPROVER", LATER)]


async def test_requester_cannot_approve_their_own(store: SqlRequestStore) -> None:
    request = await store.create(draft(), now=NOW)
    result = await store.approve(request.id, "UREQUESTER", now=LATER)
    assert result.outcome is ApprovalOutcome.SELF_APPROVAL
    assert result.request == request


async def test_same_approver_twice_counts_once(store: SqlRequestStore) -> None:
    request = await store.create(draft(approvals_required=2), now=NOW)
    first = await store.approve(request.id, "UAPPROVER", now=LATER)
    second = await store.approve(request.id, "UAPPROVER", now=LATER + timedelta(seconds=1))
    assert first.outcome is ApprovalOutcome.RECORDED
    assert second.outcome is ApprovalOutcome.ALREADY_APPROVED_BY_YOU
    assert second.request is not None
    assert second.request.status is Status.PENDING
    assert second.request.approvers == ("UAPPROVER",)
    assert second.request.updated_at == LATER


async def test_two_approvals_required(store: SqlRequestStore) -> None:
    request = await store.create(draft(approvals_required=2, destructive=True), now=NOW)
    first = await store.approve(request.id, "UFIRST", now=NOW + timedelta(minutes=1))
    assert first.outcome is ApprovalOutcome.RECORDED
    assert first.request is not None
    assert (first.request.status, first.request.decided_by, first.request.approvers) == (
        Status.PENDING,
        None,
        ("UFIRST",),
    )
    second = await store.approve(request.id, "USECOND", now=NOW + timedelta(minutes=2))
    assert second.outcome is ApprovalOutcome.APPROVED
    assert second.request is not None
    assert (second.request.status, second.request.decided_by, second.request.approvers) == (
        Status.APPROVED,
        "USECOND",
        ("UFIRST", "USECOND"),
    )
    third = await store.approve(request.id, "UTHIRD", now=NOW + timedelta(minutes=3))
    assert third.outcome is ApprovalOutcome.NOT_PENDING
    assert third.request is not None
    assert third.request.approvers == ("UFIRST", "USECOND")


async def test_approvals_are_ordered_by_time(store: SqlRequestStore) -> None:
    request = await store.create(draft(approvals_required=3), now=NOW)
    await store.approve(request.id, "UZED", now=NOW + timedelta(minutes=1))
    await store.approve(request.id, "UALPHA", now=NOW + timedelta(minutes=2))
    fetched = await store.get(request.id)
    assert fetched is not None
    assert fetched.approvers == ("UZED", "UALPHA")


async def test_not_pending_and_not_found(store: SqlRequestStore) -> None:
    request = await store.create(draft(), now=NOW)
    await store.transition(request.id, Status.PENDING, Status.DENIED, actor="UDENIER", now=LATER, note="not now")
    late = await store.approve(request.id, "UAPPROVER", now=LATER)
    assert late.outcome is ApprovalOutcome.NOT_PENDING
    assert late.request is not None
    assert (late.request.status, late.request.decided_by, late.request.approvals) == (Status.DENIED, "UDENIER", ())
    missing = await store.approve("nosuchid2345", "UAPPROVER", now=LATER)
    assert (missing.outcome, missing.request) == (ApprovalOutcome.NOT_FOUND, None)


async def test_ten_approvers_at_once_on_one_approval(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    request = await store.create(draft(approvals_required=1), now=NOW)
    replicas = await open_replicas(10)

    results = await asyncio.gather(
        *(replica.approve(request.id, f"UAPPROVER{n}", now=LATER) for n, replica in enumerate(replicas))
    )

    outcomes = Counter(result.outcome for result in results)
    assert outcomes == {ApprovalOutcome.APPROVED: 1, ApprovalOutcome.NOT_PENDING: 9}
    [winner] = [n for n, result in enumerate(results) if result.outcome is ApprovalOutcome.APPROVED]
    stored = await store.get(request.id)
    assert stored is not None
    assert (stored.status, stored.decided_by, stored.approvers) == (
        Status.APPROVED,
        f"UAPPROVER{winner}",
        (f"UAPPROVER{winner}",),
    )


async def test_ten_approvers_at_once_on_two_approvals(store: SqlRequestStore, open_replicas: OpenReplicas) -> None:
    # Each approval must see the one committed just before it, or two approvers could each count one
    # and the request would stay pending forever.
    request = await store.create(draft(approvals_required=2), now=NOW)
    replicas = await open_replicas(10)

    results = await asyncio.gather(
        *(replica.approve(request.id, f"UAPPROVER{n}", now=LATER) for n, replica in enumerate(replicas))
    )

    outcomes = Counter(result.outcome for result in results)
    assert outcomes == {ApprovalOutcome.RECORDED: 1, ApprovalOutcome.APPROVED: 1, ApprovalOutcome.NOT_PENDING: 8}
    stored = await store.get(request.id)
    assert stored is not None
    assert stored.status is Status.APPROVED
    assert len(stored.approvals) == 2
    [winner] = [n for n, result in enumerate(results) if result.outcome is ApprovalOutcome.APPROVED]
    [recorded] = [n for n, result in enumerate(results) if result.outcome is ApprovalOutcome.RECORDED]
    assert stored.decided_by == f"UAPPROVER{winner}"
    assert stored.approvers == (f"UAPPROVER{recorded}", f"UAPPROVER{winner}")


async def test_one_approver_double_clicking_on_ten_replicas(
    store: SqlRequestStore, open_replicas: OpenReplicas
) -> None:
    request = await store.create(draft(approvals_required=2), now=NOW)
    replicas = await open_replicas(10)

    results = await asyncio.gather(*(replica.approve(request.id, "UAPPROVER", now=LATER) for replica in replicas))

    outcomes = Counter(result.outcome for result in results)
    assert outcomes == {ApprovalOutcome.RECORDED: 1, ApprovalOutcome.ALREADY_APPROVED_BY_YOU: 9}
    stored = await store.get(request.id)
    assert stored is not None
    assert (stored.status, stored.approvers) == (Status.PENDING, ("UAPPROVER",))
