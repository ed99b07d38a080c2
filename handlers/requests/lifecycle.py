"""The change-request lifecycle: states, what a stored request holds, and the store it lives in.

    pending → approved → executing → done | failed | interrupted
    pending → denied | expired | cancelled
    failed | interrupted → approved   (an approver's Retry, within the request TTL of the failure)

Every transition is a compare-and-set in the store: it happens only if the request is still in the
state the caller saw, so a double click, two approvers at once or two replicas change it once; the
others learn who got there first. Messages are always rendered from the stored request.

Executing carries a lease: who executes (`executor`, a process of some replica) and until when
(`lease_until`). The executor renews it while the change runs; a lease that runs out means the
process died (a kill, an OOM, a deploy), and the sweep marks the request interrupted so that an
approver can check and Retry. An approved request nobody started is started by the sweep.

The store's interface lives here, where the behaviour is; `bot/store/` implements it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

SYSTEM = "hubkeeper"
"""The actor of what hubkeeper does by itself (expiries, the sweep, scheduled digests) in the audit log."""


STEP_EVENT = "change.step"
"""The audit row of one step of a change, written as it is done (`handlers.requests.kind.record_step`)."""


class Status(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    EXECUTING = "executing"
    DONE = "done"
    FAILED = "failed"
    DENIED = "denied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    """Its executor stopped (its lease ran out) before it said done or failed: check, then Retry."""


ALLOWED_TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.PENDING, Status.APPROVED),
        (Status.PENDING, Status.DENIED),
        (Status.PENDING, Status.EXPIRED),
        (Status.PENDING, Status.CANCELLED),
        (Status.APPROVED, Status.EXECUTING),
        (Status.EXECUTING, Status.DONE),
        (Status.EXECUTING, Status.FAILED),
        (Status.EXECUTING, Status.INTERRUPTED),
        (Status.FAILED, Status.APPROVED),
        (Status.INTERRUPTED, Status.APPROVED),
    }
)
FINAL = frozenset({Status.DONE, Status.DENIED, Status.EXPIRED, Status.CANCELLED})
RETRYABLE = frozenset({Status.FAILED, Status.INTERRUPTED})
"""What an approver's Retry starts again (within `retry_until`)."""
DECIDED = FINAL | RETRYABLE
"""What the request log shows: someone (or the clock) said yes or no, and it is not waiting on anything."""


@dataclass(frozen=True)
class NewRequest:
    """A change someone asked for, validated, before it is stored."""

    instance: str
    kind: str
    """What to do, e.g. "team_add", "grant"; the handler that executes it is chosen by kind."""
    params: dict[str, Any]
    """JSON-safe parameters of the change (validated before storing)."""
    requester: str
    """Slack user ID."""
    reason: str
    summary: str
    """The change in plain words, as the approval message shows it."""
    destructive: bool
    approvals_required: int
    expires_at: datetime
    """Timezone-aware (UTC)."""
    undoes: str | None = None
    """The done request this one undoes (the Undo button filed it); one live undo per request."""


UNDO_HOLDING = frozenset(
    {Status.PENDING, Status.APPROVED, Status.EXECUTING, Status.DONE, Status.FAILED, Status.INTERRUPTED}
)
"""The states in which an undo request holds its claim on the request it undoes: while it waits, runs, is
done, or failed or interrupted (an approver's Retry finishes it, so a second undo beside it would make two live
reverses of one change). Denied, expired and cancelled undos let go: the change may be undone again."""


@dataclass(frozen=True)
class UndoRef:
    """The undo request holding the claim on a request (see UNDO_HOLDING), as its message shows it."""

    id: str
    status: Status
    channel: str | None = None
    ts: str | None = None


class UndoAlreadyFiled(Exception):
    """`create` of an undo lost to another one: `existing` is the undo that holds the claim."""

    def __init__(self, existing: UndoRef) -> None:
        super().__init__(f"request {existing.id} already undoes it ({existing.status.value})")
        self.existing = existing


@dataclass(frozen=True)
class Approval:
    approver: str
    at: datetime


@dataclass(frozen=True)
class ChangeRequest:
    id: str
    instance: str
    kind: str
    params: dict[str, Any]
    requester: str
    reason: str
    summary: str
    destructive: bool
    approvals_required: int
    status: Status
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    approvals: tuple[Approval, ...] = ()
    decided_by: str | None = None
    """Who made the last decision (approved it, denied it, cancelled it)."""
    decision_note: str | None = None
    """The reason given with a denial."""
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int = 0
    """Executions started (a Retry starts another)."""
    channel: str | None = None
    ts: str | None = None
    """Where its approval message is (Slack channel and message ts)."""
    executor: str | None = None
    """The process that executes (or last executed) it, e.g. "host:1234:a1b2c3"."""
    lease_until: datetime | None = None
    """While executing: when the executor's lease runs out unless renewed."""
    retry_until: datetime | None = None
    """When failed or interrupted: until when an approver's Retry may start it again."""
    undoes: str | None = None
    """The request this one undoes, when it was filed by the Undo button."""
    undone_by: UndoRef | None = None
    """The undo request holding the claim on this one (waiting, running, done or failed), if any."""

    @property
    def approvers(self) -> tuple[str, ...]:
        return tuple(approval.approver for approval in self.approvals)

    def retryable(self, now: datetime) -> bool:
        """Failed or interrupted, and still within the Retry window."""
        return self.status in RETRYABLE and (self.retry_until is None or now < self.retry_until)


@dataclass(frozen=True)
class AuditEvent:
    """One line of the append-only audit log."""

    event: str
    """e.g. "request.created", "request.approved", "change.done", "grant.expired"."""
    actor: str
    """A Slack user ID, or SYSTEM for the scheduler's own doing."""
    instance: str
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: datetime | None = None
    """Filled in by the store when not given."""


@dataclass(frozen=True)
class TimedGrant:
    """Someone's membership of a team that ends at `expires_at` (self-service `for 2h`)."""

    id: str
    instance: str
    request_id: str
    team: str
    username: str
    requester: str
    """Slack user to tell when it ends."""
    expires_at: datetime
    revoked_at: datetime | None = None
    team_id: int | None = None
    """The team's Docker Hub id, which a rename keeps (None: recorded before ids were; the sweep fills it in)."""

    def is_in(self, team_id: int, team_name: str) -> bool:
        """Whether this grant is a membership of that team (by id; by name while the id is not known)."""
        if self.team_id is not None:
            return self.team_id == team_id
        return self.team.lower() == team_name.lower()


@dataclass(frozen=True)
class StoredPolicyPlan:
    """The changes a `/hub policy plan` message showed (as `Change.as_dict()`), for its Apply button."""

    id: str
    instance: str
    source: str
    changes: list[dict[str, str]]
    created_by: str
    created_at: datetime


class ApprovalOutcome(StrEnum):
    RECORDED = "recorded"
    """Counted; more approvals are needed."""
    APPROVED = "approved"
    """This approval completed the count: the request is now approved (exactly one caller sees this)."""
    ALREADY_APPROVED_BY_YOU = "already_approved_by_you"
    SELF_APPROVAL = "self_approval"
    NOT_PENDING = "not_pending"
    """Someone got there first: see the request's status and decided_by."""
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class ApprovalResult:
    outcome: ApprovalOutcome
    request: ChangeRequest | None


class RequestStore(Protocol):
    """Durable requests, audit log and time-bound grants. Every method is safe across replicas."""

    async def create(self, draft: NewRequest, *, now: datetime) -> ChangeRequest:
        """Store a pending request (and its `request.created` audit row) in one transaction.

        An undo (`draft.undoes` set) claims the request it undoes in the same statement: when another
        undo of it holds the claim (UNDO_HOLDING), nothing is stored and UndoAlreadyFiled names that one.
        Of concurrent undos of one request, on any replicas, exactly one is stored.
        """
        ...

    async def get(self, request_id: str) -> ChangeRequest | None: ...

    async def attach_message(self, request_id: str, channel: str, ts: str) -> None:
        """Remember where the approval message is, so any replica can update it."""
        ...

    async def approve(self, request_id: str, approver: str, *, now: datetime) -> ApprovalResult:
        """Count an approval: atomically, once per approver, never the requester's, only while pending.

        When the count reaches `approvals_required` the status becomes approved and `decided_by` the
        approver whose approval completed it; exactly one concurrent caller gets APPROVED.
        """
        ...

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
        """Compare-and-set `expected` → `new` (must be in ALLOWED_TRANSITIONS, else ValueError).

        Returns the updated request, or None when it was not in `expected` (someone else moved it).
        Entering EXECUTING increments `attempts` and records `executor` and `lease_until` (the lease).
        Leaving EXECUTING with `executor` given happens only while that executor still holds it, and
        ends the lease. DENIED and CANCELLED set `decided_by`/`decision_note`. DONE sets `result` and
        clears `error`; FAILED (and INTERRUPTED) set `error`, `result` (what a partly applied change
        did, or None) and `retry_until`. A Retry (FAILED or INTERRUPTED → APPROVED) happens only
        before `retry_until`.
        """
        ...

    async def renew_lease(self, request_id: str, executor: str, *, until: datetime, now: datetime) -> bool:
        """Move the lease of an executing request on to `until`, only while `executor` holds it.

        False when it does not (any more): the request was interrupted, or someone else executes it.
        """
        ...

    async def lapsed_executions(
        self, now: datetime, *, unleased_before: datetime, limit: int = 100
    ) -> list[ChangeRequest]:
        """Executing requests whose lease ran out (and those with no lease last changed before
        `unleased_before`, executed by a version that took none)."""
        ...

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
        """EXECUTING → INTERRUPTED, only if its lease has still run out (a renewal that landed first
        wins); None otherwise. Sets `error`, `result` (what is known to be done) and `retry_until`."""
        ...

    async def retry_windows_closed(self, after: datetime, until: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        """Failed or interrupted requests whose Retry window closed after `after` and by `until`."""
        ...

    async def unpicked_approved(self, before: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        """Approved requests last changed before `before`: approved, but nobody started executing them."""
        ...

    async def expired_pending(self, now: datetime, *, limit: int = 100) -> list[ChangeRequest]:
        """Pending requests whose `expires_at` has passed (the sweep then transitions each)."""
        ...

    async def list_requests(
        self,
        *,
        requester: str | None = None,
        statuses: frozenset[Status] | None = None,
        instance: str | None = None,
        limit: int = 20,
    ) -> list[ChangeRequest]:
        """Newest first."""
        ...

    async def decided_since(
        self, since: datetime, *, instance: str | None = None, limit: int = 5000
    ) -> list[ChangeRequest]:
        """Requests in a DECIDED state last changed at or after `since`, newest change first (the request log)."""
        ...

    async def append_audit(self, event: AuditEvent) -> None: ...

    async def audit_log(self, *, request_id: str | None = None, limit: int = 100) -> list[AuditEvent]:
        """Oldest first."""
        ...

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
    ) -> TimedGrant: ...

    async def due_timed_grants(self, now: datetime, *, limit: int = 100) -> list[TimedGrant]:
        """Grants past their expiry and not yet revoked."""
        ...

    async def mark_grant_revoked(self, grant_id: str, *, now: datetime) -> bool:
        """Compare-and-set: True for exactly one caller."""
        ...

    async def active_timed_grants(self, *, requester: str | None = None) -> list[TimedGrant]: ...

    async def record_grant_team_id(self, grant_id: str, team_id: int) -> None:
        """Remember the team's id on a grant recorded before ids were (only while it has none)."""
        ...

    async def save_policy_plan(
        self, *, instance: str, source: str, changes: list[dict[str, str]], created_by: str, now: datetime
    ) -> StoredPolicyPlan: ...

    async def get_policy_plan(self, plan_id: str) -> StoredPolicyPlan | None: ...
