"""`RequestStore` on SQLite or PostgreSQL.

Every change of state is one conditional UPDATE (`… WHERE id = :id AND status = :expected`): the
database decides who wins, so a double click, two approvers or two replicas change a request once, and
nothing here reads a status and then writes based on it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Row, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.db import READ_ONLY, create_engine, migrate
from bot.store.schema import approvals, new_id, policy_plans, requests, timed_grants
from bot.store.schema import audit_log as audit_log_table
from handlers.requests.lifecycle import (
    ALLOWED_TRANSITIONS,
    DECIDED,
    RETRYABLE,
    UNDO_HOLDING,
    Approval,
    ApprovalOutcome,
    ApprovalResult,
    AuditEvent,
    ChangeRequest,
    NewRequest,
    Status,
    StoredPolicyPlan,
    TimedGrant,
    UndoAlreadyFiled,
    UndoRef,
)


class SqlRequestStore:
    """Requests, approvals, the audit log and time-bound grants; safe to share between replicas."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Use an engine from `bot.store.db.create_engine` on a migrated database (or call `open`)."""
        self._engine = engine
        self._reader = engine.execution_options(**{READ_ONLY: True})
        self.on_executed: Callable[[str, Status], None] | None = None
        """Told (kind, DONE or FAILED) when a request finishes executing: what the metrics count."""

    @classmethod
    async def open(cls, url: str) -> SqlRequestStore:
        """Migrate the database at `url` to the current schema and connect to it."""
        await migrate(url)
        return cls(create_engine(url))

    async def close(self) -> None:
        await self._engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # Requests

    async def create(self, draft: NewRequest, *, now: datetime) -> ChangeRequest:
        _require_aware(now=now, expires_at=draft.expires_at)
        # An undo that loses the claim (uq_requests_undoes) is told which undo holds it. That one may let
        # go between our insert and our look (denied that very moment): then the insert is tried again.
        for _ in range(3):
            try:
                return await self._insert(draft, now)
            except IntegrityError:
                if draft.undoes is None:
                    raise
                async with self._reader.begin() as connection:
                    holding = (await _undo_refs(connection, [draft.undoes])).get(draft.undoes)
                if holding is not None:
                    raise UndoAlreadyFiled(holding) from None
        raise RuntimeError(f"could not claim the undo of {draft.undoes}: its undos keep changing")

    async def _insert(self, draft: NewRequest, now: datetime) -> ChangeRequest:
        request_id = new_id()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(requests).values(
                    id=request_id,
                    instance=draft.instance,
                    kind=draft.kind,
                    params=draft.params,
                    requester=draft.requester,
                    reason=draft.reason,
                    summary=draft.summary,
                    destructive=draft.destructive,
                    approvals_required=draft.approvals_required,
                    status=Status.PENDING.value,
                    created_at=now,
                    updated_at=now,
                    expires_at=draft.expires_at,
                    attempts=0,
                    undoes=draft.undoes,
                )
            )
            detail: dict[str, Any] = {"kind": draft.kind, "summary": draft.summary, "params": draft.params}
            if draft.undoes is not None:
                detail["undoes"] = draft.undoes
            await connection.execute(
                insert(audit_log_table).values(
                    at=now,
                    event="request.created",
                    actor=draft.requester,
                    instance=draft.instance,
                    request_id=request_id,
                    detail=detail,
                )
            )
            created = await _load_request(connection, request_id)
        assert created is not None
        return created

    async def get(self, request_id: str) -> ChangeRequest | None:
        async with self._reader.begin() as connection:
            return await _load_request(connection, request_id)

    async def attach_message(self, request_id: str, channel: str, ts: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(update(requests).where(requests.c.id == request_id).values(channel=channel, ts=ts))

    async def approve(self, request_id: str, approver: str, *, now: datetime) -> ApprovalResult:
        _require_aware(now=now)
        try:
            async with self._engine.begin() as connection:
                return await _approve(connection, request_id, approver, now)
        except IntegrityError:
            # uq_approvals_request_id_approver: this approver's earlier approval is already counted.
            # The transaction is rolled back, so nothing of this attempt remains.
            return ApprovalResult(ApprovalOutcome.ALREADY_APPROVED_BY_YOU, await self.get(request_id))

    async def transition(
        self,
        request_id: str,
        expected: Status,
        new: Status,
        *,
        actor: str,
        now: datetime,
        note: str | None = None,
        result: dict[str, Any] | None = None,
        error: str | None = None,
        executor: str | None = None,
        lease_until: datetime | None = None,
        retry_until: datetime | None = None,
    ) -> ChangeRequest | None:
        expected, new = Status(expected), Status(new)
        _require_aware(now=now)
        if (expected, new) not in ALLOWED_TRANSITIONS:
            raise ValueError(f"a request cannot go from {expected.value} to {new.value}")
        conditions = [requests.c.id == request_id, requests.c.status == expected.value]
        changes: dict[str, Any] = {"status": new.value, "updated_at": now}
        if new is Status.EXECUTING:
            if lease_until is not None:
                _require_aware(lease_until=lease_until)
            changes["attempts"] = requests.c.attempts + 1
            changes["executor"] = executor
            changes["lease_until"] = lease_until
        elif expected is Status.EXECUTING:
            # The end of an execution is the executor's to record, and only while its lease holds
            # (after it ran out the sweep may have marked the request interrupted, and a Retry may
            # have started it again elsewhere).
            if executor is not None:
                conditions.append(requests.c.executor == executor)
            changes["lease_until"] = None
        if new is Status.APPROVED:
            # An approval here is a decision too (a Retry after a failure, or approving outright).
            changes["decided_by"] = actor
            if expected in RETRYABLE:
                # A Retry only within the window the failure opened.
                conditions.append(or_(requests.c.retry_until.is_(None), requests.c.retry_until > now))
                changes["retry_until"] = None
        elif new in (Status.DENIED, Status.CANCELLED):
            changes["decided_by"] = actor
            changes["decision_note"] = note
        elif new is Status.DONE:
            changes["result"] = result
            changes["error"] = None
        elif new in (Status.FAILED, Status.INTERRUPTED):
            if retry_until is not None:
                _require_aware(retry_until=retry_until)
            changes["error"] = error
            changes["retry_until"] = retry_until
            # What a partly applied change did (a bulk change's outcome per subject), for its Retry.
            changes["result"] = result
        async with self._engine.begin() as connection:
            updated = await connection.execute(update(requests).where(*conditions).values(changes))
            if updated.rowcount != 1:
                return None
            changed = await _load_request(connection, request_id)
        if changed is not None and new in (Status.DONE, Status.FAILED) and self.on_executed is not None:
            self.on_executed(changed.kind, new)
        return changed

    async def renew_lease(self, request_id: str, executor: str, *, until: datetime, now: datetime) -> bool:
        _require_aware(until=until, now=now)
        async with self._engine.begin() as connection:
            renewed = await connection.execute(
                update(requests)
                .where(
                    requests.c.id == request_id,
                    requests.c.status == Status.EXECUTING.value,
                    requests.c.executor == executor,
                )
                .values(lease_until=until)
            )
            return renewed.rowcount == 1

    async def lapsed_executions(
        self, now: datetime, *, unleased_before: datetime, limit: int = 100
    ) -> list[ChangeRequest]:
        _require_aware(now=now, unleased_before=unleased_before)
        query = (
            select(requests)
            .where(requests.c.status == Status.EXECUTING.value, _lapsed(now, unleased_before))
            .order_by(requests.c.updated_at, requests.c.id)
            .limit(limit)
        )
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    async def interrupt(
        self,
        request_id: str,
        *,
        now: datetime,
        unleased_before: datetime,
        error: str,
        result: dict[str, Any] | None,
        retry_until: datetime,
    ) -> ChangeRequest | None:
        _require_aware(now=now, unleased_before=unleased_before, retry_until=retry_until)
        async with self._engine.begin() as connection:
            updated = await connection.execute(
                update(requests)
                .where(
                    requests.c.id == request_id,
                    requests.c.status == Status.EXECUTING.value,
                    _lapsed(now, unleased_before),
                )
                .values(
                    status=Status.INTERRUPTED.value,
                    updated_at=now,
                    lease_until=None,
                    error=error,
                    result=result,
                    retry_until=retry_until,
                )
            )
            if updated.rowcount != 1:
                return None
            changed = await _load_request(connection, request_id)
        if changed is not None and self.on_executed is not None:
            self.on_executed(changed.kind, Status.INTERRUPTED)
        return changed

    async def retry_windows_closed(self, after: datetime, until: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        _require_aware(after=after, until=until)
        query = (
            select(requests)
            .where(
                requests.c.status.in_(sorted(status.value for status in RETRYABLE)),
                requests.c.retry_until > after,
                requests.c.retry_until <= until,
            )
            .order_by(requests.c.retry_until, requests.c.id)
            .limit(limit)
        )
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    async def unpicked_approved(self, before: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        _require_aware(before=before)
        query = (
            select(requests)
            .where(requests.c.status == Status.APPROVED.value, requests.c.updated_at <= before)
            .order_by(requests.c.updated_at, requests.c.id)
            .limit(limit)
        )
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    async def expired_pending(self, now: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        _require_aware(now=now)
        query = (
            select(requests)
            .where(requests.c.status == Status.PENDING.value, requests.c.expires_at <= now)
            .order_by(requests.c.expires_at, requests.c.id)
            .limit(limit)
        )
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    async def list_requests(
        self,
        *,
        requester: str | None = None,
        statuses: frozenset[Status] | None = None,
        instance: str | None = None,
        limit: int = 20,
    ) -> list[ChangeRequest]:
        query = select(requests).order_by(requests.c.created_at.desc(), requests.c.id.desc()).limit(limit)
        if requester is not None:
            query = query.where(requests.c.requester == requester)
        if statuses is not None:
            query = query.where(requests.c.status.in_(sorted(Status(status).value for status in statuses)))
        if instance is not None:
            query = query.where(requests.c.instance == instance)
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    async def decided_since(
        self, since: datetime, *, instance: str | None = None, limit: int = 5000
    ) -> list[ChangeRequest]:
        _require_aware(since=since)
        query = (
            select(requests)
            .where(
                requests.c.status.in_(sorted(status.value for status in DECIDED)),
                requests.c.updated_at >= since,
            )
            .order_by(requests.c.updated_at.desc(), requests.c.id.desc())
            .limit(limit)
        )
        if instance is not None:
            query = query.where(requests.c.instance == instance)
        async with self._reader.begin() as connection:
            return await _load_requests(connection, (await connection.execute(query)).all())

    # Audit log: append and read, nothing else.

    async def append_audit(self, event: AuditEvent) -> None:
        if event.at is not None:
            _require_aware(at=event.at)
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(audit_log_table).values(
                    at=event.at if event.at is not None else datetime.now(UTC),
                    event=event.event,
                    actor=event.actor,
                    instance=event.instance,
                    request_id=event.request_id,
                    detail=event.detail,
                )
            )

    async def audit_log(self, *, request_id: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """The latest `limit` events, oldest first."""
        query = select(audit_log_table).order_by(audit_log_table.c.at.desc(), audit_log_table.c.id.desc()).limit(limit)
        if request_id is not None:
            query = query.where(audit_log_table.c.request_id == request_id)
        async with self._reader.begin() as connection:
            rows = (await connection.execute(query)).all()
        return [
            AuditEvent(
                event=row.event,
                actor=row.actor,
                instance=row.instance,
                request_id=row.request_id,
                detail=row.detail,
                at=row.at,
            )
            for row in reversed(rows)
        ]

    # Time-bound grants

    async def add_timed_grant(
        self,
        *,
        instance: str,
        request_id: str,
        team: str,
        username: str,
        requester: str,
        expires_at: datetime,
        team_id: int | None = None,
    ) -> TimedGrant:
        _require_aware(expires_at=expires_at)
        grant = TimedGrant(
            id=new_id(),
            instance=instance,
            request_id=request_id,
            team=team,
            username=username,
            requester=requester,
            expires_at=expires_at,
            team_id=team_id,
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(timed_grants).values(
                    id=grant.id,
                    instance=instance,
                    request_id=request_id,
                    team=team,
                    username=username,
                    requester=requester,
                    expires_at=expires_at,
                    team_id=team_id,
                )
            )
            row = (await connection.execute(select(timed_grants).where(timed_grants.c.id == grant.id))).one()
        # Read back so the caller sees exactly what is stored (UTC, as later reads will give it).
        return _grant(row)

    async def due_timed_grants(self, now: datetime, *, limit: int = 100) -> list[TimedGrant]:
        _require_aware(now=now)
        query = (
            select(timed_grants)
            .where(timed_grants.c.revoked_at.is_(None), timed_grants.c.expires_at <= now)
            .order_by(timed_grants.c.expires_at, timed_grants.c.id)
            .limit(limit)
        )
        async with self._reader.begin() as connection:
            return [_grant(row) for row in (await connection.execute(query)).all()]

    async def mark_grant_revoked(self, grant_id: str, *, now: datetime) -> bool:
        _require_aware(now=now)
        async with self._engine.begin() as connection:
            updated = await connection.execute(
                update(timed_grants)
                .where(timed_grants.c.id == grant_id, timed_grants.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            return updated.rowcount == 1

    async def active_timed_grants(self, *, requester: str | None = None) -> list[TimedGrant]:
        """Grants not revoked yet (including those past expiry that the sweep has not reached), soonest first."""
        query = (
            select(timed_grants)
            .where(timed_grants.c.revoked_at.is_(None))
            .order_by(timed_grants.c.expires_at, timed_grants.c.id)
        )
        if requester is not None:
            query = query.where(timed_grants.c.requester == requester)
        async with self._reader.begin() as connection:
            return [_grant(row) for row in (await connection.execute(query)).all()]

    async def record_grant_team_id(self, grant_id: str, team_id: int) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(timed_grants)
                .where(timed_grants.c.id == grant_id, timed_grants.c.team_id.is_(None))
                .values(team_id=team_id)
            )

    # Policy plans as shown

    async def save_policy_plan(
        self, *, instance: str, source: str, changes: list[dict[str, str]], created_by: str, now: datetime
    ) -> StoredPolicyPlan:
        _require_aware(now=now)
        plan_id = new_id()
        async with self._engine.begin() as connection:
            await connection.execute(
                insert(policy_plans).values(
                    id=plan_id,
                    instance=instance,
                    source=source[:500],
                    changes=changes,
                    created_by=created_by,
                    created_at=now,
                )
            )
            row = (await connection.execute(select(policy_plans).where(policy_plans.c.id == plan_id))).one()
        return _policy_plan(row)

    async def get_policy_plan(self, plan_id: str) -> StoredPolicyPlan | None:
        async with self._reader.begin() as connection:
            row = (await connection.execute(select(policy_plans).where(policy_plans.c.id == plan_id))).one_or_none()
        return None if row is None else _policy_plan(row)


async def count_requests_by_status(engine: AsyncEngine) -> dict[str, int]:
    """How many requests are in each state (states with none are left out): one grouped query.

    A function rather than a store method: it is for metrics, and the store's surface is its protocol.
    """
    query = select(requests.c.status, func.count()).group_by(requests.c.status)
    async with engine.execution_options(**{READ_ONLY: True}).begin() as connection:
        return {str(status): int(count) for status, count in (await connection.execute(query)).all()}


def _lapsed(now: datetime, unleased_before: datetime) -> Any:
    """An execution's lease ran out, or it never had one and has not moved since `unleased_before`."""
    return or_(
        requests.c.lease_until <= now,
        and_(requests.c.lease_until.is_(None), requests.c.updated_at <= unleased_before),
    )


def _require_aware(**times: datetime) -> None:
    # Checked here so the caller gets a plain ValueError before anything is written (the column type
    # refuses them too, but wrapped in SQLAlchemy's StatementError).
    for name, value in times.items():
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value.isoformat()}")


async def _approve(connection: AsyncConnection, request_id: str, approver: str, now: datetime) -> ApprovalResult:
    # 1. Claim the request: still pending and not the approver's own. On PostgreSQL this also locks the
    #    row until commit, so approvals of one request are counted one after another; on SQLite the
    #    transaction already holds the database's write lock (BEGIN IMMEDIATE).
    claimed = await connection.execute(
        update(requests)
        .where(
            requests.c.id == request_id,
            requests.c.status == Status.PENDING.value,
            requests.c.requester != approver,
        )
        .values(updated_at=now)
    )
    if claimed.rowcount != 1:
        current = await _load_request(connection, request_id)
        if current is None:
            return ApprovalResult(ApprovalOutcome.NOT_FOUND, None)
        if current.status is not Status.PENDING:
            return ApprovalResult(ApprovalOutcome.NOT_PENDING, current)
        return ApprovalResult(ApprovalOutcome.SELF_APPROVAL, current)

    # 2. Count this approver once: a second approval by the same person violates the unique
    #    constraint, and `approve` turns that into ALREADY_APPROVED_BY_YOU.
    await connection.execute(insert(approvals).values(request_id=request_id, approver=approver, at=now))

    # 3. Approve when the count is reached. This is a new statement issued after the lock in step 1
    #    was taken, so it counts every approval committed before ours. (Counting inside one UPDATE
    #    that also waited for the lock would not: PostgreSQL re-checks a waited-for row against the
    #    statement's original snapshot for subqueries, and two approvers could each count one.)
    approval_count = (
        select(func.count()).select_from(approvals).where(approvals.c.request_id == request_id).scalar_subquery()
    )
    decided = await connection.execute(
        update(requests)
        .where(
            requests.c.id == request_id,
            requests.c.status == Status.PENDING.value,
            approval_count >= requests.c.approvals_required,
        )
        .values(status=Status.APPROVED.value, decided_by=approver, updated_at=now)
    )
    request = await _load_request(connection, request_id)
    outcome = ApprovalOutcome.APPROVED if decided.rowcount == 1 else ApprovalOutcome.RECORDED
    return ApprovalResult(outcome, request)


async def _load_request(connection: AsyncConnection, request_id: str) -> ChangeRequest | None:
    row = (await connection.execute(select(requests).where(requests.c.id == request_id))).one_or_none()
    if row is None:
        return None
    return (await _load_requests(connection, [row]))[0]


async def _load_requests(connection: AsyncConnection, rows: Sequence[Row[Any]]) -> list[ChangeRequest]:
    if not rows:
        return []
    query = (
        select(approvals.c.request_id, approvals.c.approver, approvals.c.at)
        .where(approvals.c.request_id.in_([row.id for row in rows]))
        .order_by(approvals.c.at, approvals.c.id)
    )
    by_request: dict[str, list[Approval]] = {}
    for approval in (await connection.execute(query)).all():
        by_request.setdefault(approval.request_id, []).append(Approval(approver=approval.approver, at=approval.at))
    undos = await _undo_refs(connection, [row.id for row in rows])
    return [_request(row, by_request.get(row.id, ()), undos.get(row.id)) for row in rows]


async def _undo_refs(connection: AsyncConnection, request_ids: Sequence[str]) -> dict[str, UndoRef]:
    """The undo holding the claim on each of these requests (at most one each: uq_requests_undoes)."""
    query = select(requests.c.undoes, requests.c.id, requests.c.status, requests.c.channel, requests.c.ts).where(
        requests.c.undoes.in_(list(request_ids)),
        requests.c.status.in_(sorted(status.value for status in UNDO_HOLDING)),
    )
    return {
        row.undoes: UndoRef(id=row.id, status=Status(row.status), channel=row.channel, ts=row.ts)
        for row in (await connection.execute(query)).all()
    }


def _request(row: Row[Any], request_approvals: Iterable[Approval], undone_by: UndoRef | None) -> ChangeRequest:
    return ChangeRequest(
        id=row.id,
        instance=row.instance,
        kind=row.kind,
        params=row.params,
        requester=row.requester,
        reason=row.reason,
        summary=row.summary,
        destructive=row.destructive,
        approvals_required=row.approvals_required,
        status=Status(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        expires_at=row.expires_at,
        approvals=tuple(request_approvals),
        decided_by=row.decided_by,
        decision_note=row.decision_note,
        result=row.result,
        error=row.error,
        attempts=row.attempts,
        channel=row.channel,
        ts=row.ts,
        executor=row.executor,
        lease_until=row.lease_until,
        retry_until=row.retry_until,
        undoes=row.undoes,
        undone_by=undone_by,
    )


def _grant(row: Row[Any]) -> TimedGrant:
    return TimedGrant(
        id=row.id,
        instance=row.instance,
        request_id=row.request_id,
        team=row.team,
        username=row.username,
        requester=row.requester,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        team_id=row.team_id,
    )


def _policy_plan(row: Row[Any]) -> StoredPolicyPlan:
    return StoredPolicyPlan(
        id=row.id,
        instance=row.instance,
        source=row.source,
        changes=list(row.changes),
        created_by=row.created_by,
        created_at=row.created_at,
    )
