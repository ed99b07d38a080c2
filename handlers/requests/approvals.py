"""The approval lifecycle: a change is asked for, approved (or not), and executed exactly once.

Every state change is a compare-and-set in the store, so a double click, two approvers at once or
two replicas make one change; the others are told who got there first. Every Slack message about a
request is re-rendered from the stored request, never patched, so a restart or another replica
shows the same thing. Nothing reaches Docker Hub before approval but the reads that `plan` makes.

Nothing stays in flight after a crash: an execution holds a lease of two sweep intervals, renewed
while the change runs; the sweep (every replica's) marks an execution whose lease ran out as
interrupted (approvers get Retry) and starts approved requests nobody started. A lease renewed just
before a kill runs out within two intervals of it, and the first sweep after that (they run at
start and every interval) recovers the request: within three sweep intervals of a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.blocks import escape, message
from handlers.context import Directory, HandlerContext, Messenger, Reply
from handlers.requests import kinds
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, PartlyApplied
from handlers.requests.lifecycle import (
    RETRYABLE,
    STEP_EVENT,
    SYSTEM,
    ApprovalOutcome,
    AuditEvent,
    ChangeRequest,
    NewRequest,
    RequestStore,
    Status,
    UndoAlreadyFiled,
)
from handlers.requests.permissions import is_allowed
from handlers.requests.render import (
    CANNOT_UNDO,
    already_decided,
    render_approval,
    render_dry_run,
    render_status_line,
    steps_done_line,
    undo_taken,
)
from handlers.requests.undo import reverse_of, undoes_line
from hub.errors import HubError

logger = logging.getLogger("hubkeeper.approvals")

SHUTTING_DOWN = "hubkeeper is shutting down (a restart or a deploy): nothing was changed. Try again in a minute."
PICKUP_GRACE_MAX = timedelta(seconds=30)
"""How long an approved request may wait for its approver's process to start it before the sweep does
(at most; less with a shorter sweep interval). Normally it is started within milliseconds."""
LIFECYCLE_EVENTS = frozenset({"change.started", "change.done", "change.failed", "change.interrupted"})
"""Audit rows of the lifecycle itself (with every `request.…` row); any other row naming a request
records a step of its change (`record_step`, each applied policy change)."""


@dataclass(frozen=True)
class ApprovalPolicy:
    """How changes on one instance are approved."""

    channel: str
    """Where approval messages go."""
    approvers: frozenset[str] = frozenset()
    """Slack user and user-group IDs; empty means nobody can approve (changes are then refused)."""
    destructive_approvals: int = 1
    request_ttl: timedelta = timedelta(hours=72)
    audit_channel: str | None = None


ContextFactory = Callable[[str, str, str | None], HandlerContext | None]
"""(instance, actor, request_id) → the context to plan or execute in; None for an unknown instance."""


def utcnow() -> datetime:
    return datetime.now(UTC)


class _LeaseLost(Exception):
    """The lease ran out and someone else (the sweep) took the request over: this execution stops."""


def approvals_required(kind: ChangeKind[Any], params: Params, policy: ApprovalPolicy) -> int:
    """How many distinct approvers a change needs: the kind says whether it is destructive (every
    removal, every new owner), the instance's policy how many approvers that takes."""
    return policy.destructive_approvals if kind.destructive(kind.load(params)) else 1


class Approvals:
    def __init__(
        self,
        *,
        store: RequestStore,
        messenger: Messenger,
        directory: Directory,
        policies: Mapping[str, ApprovalPolicy],
        contexts: ContextFactory,
        clock: Callable[[], datetime] = utcnow,
        after_done: Callable[[ChangeRequest], Awaitable[None]] | None = None,
        sweep_seconds: float = 60,
        executor: str | None = None,
    ) -> None:
        self.store = store
        self.messenger = messenger
        self.directory = directory
        self.policies = policies
        self.contexts = contexts
        self.clock = clock
        self.after_done = after_done
        """Told of every change that is done (the access index follows hubkeeper's own grants at once)."""
        self.executor = executor or f"hubkeeper-{secrets.token_hex(4)}"
        """Who executes, as the lease records it: one value per process (the bot gives host:pid:…)."""
        self.lease = timedelta(seconds=2 * sweep_seconds)
        """A lease lasts two sweep intervals and is renewed every third of that while the change runs."""
        self.renew_every = 2 * sweep_seconds / 3
        self.pickup_grace = min(timedelta(seconds=sweep_seconds), PICKUP_GRACE_MAX)
        self.stopping = False
        """Set at shutdown: no new approval or Retry starts an execution here (see `drain`)."""
        self._executing: set[asyncio.Task[Any]] = set()
        """The tasks executing a change here (a click's, a pickup's): what `drain` waits for."""
        self._pickups: dict[str, asyncio.Task[bool]] = {}
        """Executions the sweep started, by request id: they run beside it, so a long change never
        holds up the next sweep (expiries, time-bound access, other recoveries)."""
        self._last_sweep: datetime | None = None

    # -- asking ------------------------------------------------------------------------------------

    async def submit(
        self,
        ctx: HandlerContext,
        kind: ChangeKind[Any],
        params: Params,
        reason: str | None,
        notes: Sequence[str] = (),
        refused_as: str = "",
        undoes: str | None = None,
    ) -> Reply:
        """Plan the change, store it as pending and post its approval message. Nothing is changed yet.

        `notes` are lines the approval message shows after the plan's (an undo names what it undoes);
        `refused_as` starts a refusal (an undo says which request could not be undone); `undoes` is the
        request an undo undoes, which the store lets only one undo hold at a time."""
        now = self.clock()
        drafted = await self._draft(ctx, kind, params, reason, now, notes, refused_as, undoes)
        if isinstance(drafted, Reply):
            return drafted
        draft, summary, policy = drafted
        try:
            request = await self.store.create(draft, now=now)
        except UndoAlreadyFiled as taken:
            # Another click (or replica) filed its undo while this one was planning: the store let one in.
            return message(undo_taken(taken.existing))
        posted = await self._announce(request, policy)
        if not posted:
            return message(
                f"Your request `{request.id}` is stored, but its approval message could not be posted to "
                f"<#{policy.channel}>; hubkeeper will try again shortly."
            )
        link = await self._link(policy.channel, posted)
        return message(
            f"Requested: {summary}",
            f"Waiting for approval in {link} · request `{request.id}` · "
            f"expires {request.expires_at:%Y-%m-%d %H:%M} UTC",
        )

    async def preview(self, ctx: HandlerContext, kind: ChangeKind[Any], params: Params, reason: str | None) -> Reply:
        """`--dry-run`: the plan exactly as the approver would see it, for the asker only. The same reads
        as `submit` (so the same refusals); nothing is stored, posted or changed."""
        now = self.clock()
        drafted = await self._draft(ctx, kind, params, reason, now)
        if isinstance(drafted, Reply):
            return drafted
        draft, _, _ = drafted
        return render_dry_run(draft, now)

    async def _draft(
        self,
        ctx: HandlerContext,
        kind: ChangeKind[Any],
        params: Params,
        reason: str | None,
        now: datetime,
        notes: Sequence[str] = (),
        refused_as: str = "",
        undoes: str | None = None,
    ) -> tuple[NewRequest, str, ApprovalPolicy] | Reply:
        """Plan the change into the request that would be stored (a refusal is a Reply); reads only."""
        policy = self.policies.get(ctx.instance)
        if policy is None or not policy.channel:
            return message(
                "Changes are turned off here: no approval channel is configured (HUBKEEPER_APPROVAL_CHANNEL)."
            )
        try:
            plan = await kind.plan(ctx, kind.load(params))
        except ChangeRefused as refused:
            return message(refused_as + refused.message)
        except HubError as error:
            return message(
                f"{refused_as}Could not check that against Docker Hub: {escape(error.message)}. Nothing was requested."
            )
        summary = "\n".join([plan.summary, *plan.details, *notes])
        draft = NewRequest(
            instance=ctx.instance,
            kind=kind.name,
            params=kind.dump(plan.params),
            requester=ctx.actor,
            reason=reason or "",
            summary=summary,
            destructive=kind.destructive(kind.load(plan.params)),
            approvals_required=approvals_required(kind, plan.params, policy),
            expires_at=now + policy.request_ttl,
            undoes=undoes,
        )
        return draft, plan.summary, policy

    async def _announce(self, request: ChangeRequest, policy: ApprovalPolicy) -> str | None:
        """Post the approval message and remember where; None when Slack refused (the sweep retries).

        An undo's original then says where the undo is (or, until it is posted, that it was asked)."""
        try:
            ts = await self.messenger.post(policy.channel, render_approval(request, self.clock()))
        except Exception:  # Slack's failure must not lose the stored request
            logger.exception("could not post the approval message of %s", request.id)
            await self._refresh_undone(request)
            return None
        await self.store.attach_message(request.id, policy.channel, ts)
        await self._refresh_undone(request)
        return ts

    async def _link(self, channel: str, ts: str) -> str:
        permalink = getattr(self.messenger, "permalink", None)
        if permalink is not None:
            try:
                url = await permalink(channel, ts)
            except Exception:  # a link is a nicety; the channel mention still says where
                url = None
            if url:
                return f"<{url}|the approval message>"
        return f"<#{channel}>"

    # -- deciding ----------------------------------------------------------------------------------

    async def _may_approve(self, request: ChangeRequest, actor: str) -> bool:
        policy = self.policies.get(request.instance)
        return (
            policy is not None and bool(policy.approvers) and await is_allowed(actor, policy.approvers, self.directory)
        )

    async def is_approver(self, actor: str) -> bool:
        for policy in self.policies.values():
            if policy.approvers and await is_allowed(actor, policy.approvers, self.directory):
                return True
        return False

    async def approve(self, request_id: str, approver: str) -> Reply:
        if self.stopping:
            return message(SHUTTING_DOWN)
        request = await self.store.get(request_id)
        if request is None:
            return message(f"There is no request `{escape(request_id[:40])}`.")
        if not await self._may_approve(request, approver):
            return message("Only approvers can approve changes (HUBKEEPER_APPROVERS). Nothing was changed.")
        now = self.clock()
        if request.status is Status.PENDING and request.expires_at <= now:
            # Past its time but not swept yet: it expires now rather than being approved late.
            expired = await self.store.transition(request_id, Status.PENDING, Status.EXPIRED, actor=SYSTEM, now=now)
            if expired is not None:
                await self._audit("request.expired", SYSTEM, expired)
                await self._finish(expired)
            return message(already_decided(expired or await self.store.get(request_id) or request))
        result = await self.store.approve(request_id, approver, now=now)
        current = result.request or request
        match result.outcome:
            case ApprovalOutcome.SELF_APPROVAL:
                return message("You cannot approve your own request; another approver has to.")
            case ApprovalOutcome.ALREADY_APPROVED_BY_YOU:
                return message("You have approved this already; it needs another approver.")
            case ApprovalOutcome.NOT_PENDING | ApprovalOutcome.NOT_FOUND:
                return message(already_decided(current))
            case ApprovalOutcome.RECORDED:
                await self._audit("request.approval", approver, current)
                await self._refresh(current)
                missing = current.approvals_required - len(current.approvals)
                return message(f"Approval recorded; it needs {missing} more approver{'s' if missing > 1 else ''}.")
        try:
            await self._audit("request.approved", approver, current)
            done = await self._execute(current, approver)
        except Exception:
            # The approval is stored; the sweep starts (or marks for a check) what could not go on here.
            logger.exception("after %s was approved, it could not be executed here", request_id)
            return message(f"Approved. {self._recovery_note()}")
        return message(f"Approved. {render_status_line(done)}")

    async def deny(self, request_id: str, approver: str, note: str | None) -> Reply:
        request = await self.store.get(request_id)
        if request is None:
            return message(f"There is no request `{escape(request_id[:40])}`.")
        if not await self._may_approve(request, approver):
            return message("Only approvers can deny changes (HUBKEEPER_APPROVERS). Nothing was changed.")
        denied = await self.store.transition(
            request_id, Status.PENDING, Status.DENIED, actor=approver, now=self.clock(), note=(note or "")[:500] or None
        )
        if denied is None:
            return message(already_decided(await self.store.get(request_id) or request))
        await self._audit("request.denied", approver, denied, note=note)
        await self._finish(denied)
        return message("Denied; the requester has been told.")

    async def retry(self, request_id: str, approver: str) -> Reply:
        """Start a failed or interrupted request again: within HUBKEEPER_REQUEST_TTL of the failure."""
        if self.stopping:
            return message(SHUTTING_DOWN)
        request = await self.store.get(request_id)
        if request is None:
            return message(f"There is no request `{escape(request_id[:40])}`.")
        if not await self._may_approve(request, approver):
            return message("Only approvers can retry a change (HUBKEEPER_APPROVERS). Nothing was changed.")
        if approver == request.requester:
            return message("You cannot retry your own request; another approver has to.")
        if request.status not in RETRYABLE:
            return message(already_decided(request))
        again = await self.store.transition(
            request_id, request.status, Status.APPROVED, actor=approver, now=self.clock()
        )
        if again is None:
            current = await self.store.get(request_id) or request
            if current.status in RETRYABLE and not current.retryable(self.clock()):
                await self._refresh(current)  # the message loses its Retry button
                return message(self._window_closed(current))
            return message(already_decided(current))
        try:
            await self._audit("request.retried", approver, again)
            done = await self._execute(again, approver)
        except Exception:
            logger.exception("after %s was retried, it could not be executed here", request_id)
            return message(f"Retried. {self._recovery_note()}")
        return message(f"Retried. {render_status_line(done)}")

    def _window_closed(self, request: ChangeRequest) -> str:
        closed = f" at {request.retry_until:%Y-%m-%d %H:%M} UTC" if request.retry_until else ""
        return (
            f"This request can no longer be retried: its Retry window (HUBKEEPER_REQUEST_TTL after it "
            f"{request.status.value}) closed{closed}. To make the change, file it again: "
            f"{request.summary.splitlines()[0]}. Nothing was changed."
        )

    def _recovery_note(self) -> str:
        minutes = max(1, round(3 * self.lease.total_seconds() / 2 / 60))
        return (
            "It could not be carried out here just now; hubkeeper's sweep picks it up (or marks it for a "
            f"check and Retry) within about {minutes} minute{'s' if minutes > 1 else ''}, and the approval "
            "message will say where it stands."
        )

    async def cancel(self, request_id: str, actor: str) -> Reply:
        """The requester withdraws a request that is still pending."""
        request = await self.store.get(request_id)
        if request is None:
            return message(f"There is no request `{escape(request_id[:40])}`.")
        if actor != request.requester:
            return message("Only the person who asked can cancel a request. Nothing was changed.")
        cancelled = await self.store.transition(
            request_id, Status.PENDING, Status.CANCELLED, actor=actor, now=self.clock()
        )
        if cancelled is None:
            return message(already_decided(await self.store.get(request_id) or request))
        await self._audit("request.cancelled", actor, cancelled)
        await self._finish(cancelled)
        return message("Cancelled.")

    async def undo(self, request_id: str, actor: str) -> Reply:
        """The Undo button: file the reverse of a done change as a new request, through approval.

        The reverse comes from what the change recorded doing (its kind's `reverse`), and its plan
        re-reads Docker Hub like any request's: what changed since is refused before anyone approves.
        """
        request = await self.store.get(request_id)
        if request is None:
            return message(f"There is no request `{escape(request_id[:40])}`.")
        if actor != request.requester and not await self._may_approve(request, actor):
            return message(
                "Only approvers (HUBKEEPER_APPROVERS) and the person who asked can undo a change. "
                "Nothing was requested."
            )
        if request.status is not Status.DONE:
            return message(f"Only a done change can be undone; this request is {request.status.value}.")
        reverse = reverse_of(request)
        if reverse is None:
            return message(f"{CANNOT_UNDO} Nothing was requested.")
        if request.undone_by is not None:
            # A second click (or a second person) files nothing new. This is the quick answer; the store's
            # claim in `create` is what makes two clicks at the same moment file one undo.
            return message(undo_taken(request.undone_by))
        ctx = self.contexts(request.instance, actor, None)
        if ctx is None:
            return message(f"Instance {escape(request.instance)} is not configured here. Nothing was requested.")
        where = ""
        if request.channel and request.ts:
            where = f" ({await self._link(request.channel, request.ts)})"
        original = request.summary.splitlines()[0]
        return await self.submit(
            ctx,
            reverse.kind,
            reverse.params,
            f"Undo of request {request.id}",
            notes=[f"{undoes_line(request.id)}{where}: {original}"],
            refused_as=f"Request `{request.id}` cannot be undone now: ",
            undoes=request.id,
        )

    async def _execute(self, request: ChangeRequest, actor: str) -> ChangeRequest:
        """approved → executing → done | failed, once: the compare-and-set picks the one executor.

        The executor holds a lease while the change runs (renewed in the background); if it loses it
        (it could not renew in time and the sweep marked the request interrupted) the change is
        stopped and nothing more is recorded. At shutdown, `drain` may stop it the same way.
        """
        if self.stopping:
            # Shutting down: it stays approved, and a sweep (another replica's, or this one's after the
            # restart) starts it.
            return await self.store.get(request.id) or request
        # Known to `drain` from here on (no await since the check above, so no shutdown slips between).
        current = asyncio.current_task()
        if current is not None:
            self._executing.add(current)
        try:
            return await self._execute_started(request, actor)
        finally:
            if current is not None:
                self._executing.discard(current)

    async def _execute_started(self, request: ChangeRequest, actor: str) -> ChangeRequest:
        now = self.clock()
        executing = await self.store.transition(
            request.id,
            Status.APPROVED,
            Status.EXECUTING,
            actor=actor,
            now=now,
            executor=self.executor,
            lease_until=now + self.lease,
        )
        if executing is None:
            return await self.store.get(request.id) or request
        await self._audit("change.started", actor, executing, executor=self.executor, attempt=executing.attempts)
        await self._refresh(executing)
        ctx = self.contexts(executing.instance, actor, executing.id)
        kind = kinds.by_name(executing.kind)
        error: str | None = None
        result: dict[str, Any] = {}
        partly: dict[str, list[str]] | None = None
        failed_result: dict[str, Any] | None = None
        summary = ""
        if ctx is None or kind is None:
            error = f"instance {executing.instance!r} or change kind {executing.kind!r} is not configured here"
        else:
            try:
                params = kind.load(executing.params)
                # A Retry of a failure that recorded what it did runs only what is left.
                if executing.attempts > 1 and executing.result:
                    change = kind.execute_again(ctx, params, executing.result)
                else:
                    change = kind.execute(ctx, params)
                outcome = await self._leased(executing, change)
                summary, result = outcome.summary, outcome.result
            except (_LeaseLost, asyncio.CancelledError) as stopped:
                if isinstance(stopped, asyncio.CancelledError) and _cancelling():
                    raise  # this task itself is being cancelled, not only the change it ran
                # Left to recovery: the request is (or, once the lease runs out, will be) interrupted.
                logger.warning("stopped executing %s before it finished; it is left to recovery", executing.id)
                return await self.store.get(executing.id) or executing
            except ChangeRefused as refused:
                error = refused.message
            except PartlyApplied as partial:
                error, partly = partial.message, partial.record()
                failed_result = partial.result
            except HubError as failure:
                error = failure.message
            except Exception as bug:  # recorded as failed, never as done
                logger.exception("executing %s failed", executing.id)
                error = f"hubkeeper failed unexpectedly ({type(bug).__name__}); see its log"
        now = self.clock()
        if error is None:
            finished = await self.store.transition(
                executing.id,
                Status.EXECUTING,
                Status.DONE,
                actor=actor,
                now=now,
                result={"summary": summary, **result},
                executor=self.executor,
            )
            event = "change.done"
        else:
            # A partly applied change says what was and was not done in its error, in words; the
            # audit row keeps the two lists as they are. A Retry that fails as a whole keeps what the
            # earlier attempt recorded, so the next Retry still knows what was done.
            failed_result = failed_result if failed_result is not None else executing.result
            finished = await self.store.transition(
                executing.id,
                Status.EXECUTING,
                Status.FAILED,
                actor=actor,
                now=now,
                error=error,
                result=failed_result,
                executor=self.executor,
                retry_until=now + self._ttl(executing),
            )
            event = "change.failed"
        final = finished or await self.store.get(executing.id) or executing
        await self._audit(event, actor, final, error=error, summary=summary or None, partly_applied=partly)
        if finished is not None and finished.status is Status.DONE and finished.undoes is not None and ctx is not None:
            await self._undone(ctx, finished.undoes)
        if finished is not None and finished.status is Status.DONE and self.after_done is not None:
            try:
                await self.after_done(finished)
            except Exception:  # the change is done and recorded; a follower catches up on its next refresh
                logger.exception("after %s was done, a follower failed", finished.id)
        await self._finish(final)
        return final

    async def _undone(self, ctx: HandlerContext, request_id: str) -> None:
        """An undo is done: the kind of the request it undid ends what that left running (a timed grant)."""
        original = await self.store.get(request_id)
        kind = kinds.by_name(original.kind) if original is not None else None
        if original is None or kind is None:
            return
        try:
            await kind.undone(ctx, kind.load(original.params), original.result or {}, original.id)
        except Exception:  # the undo is done and recorded; what is left shows in the log
            logger.exception("after undoing %s, its %s could not finish the undo", original.id, original.kind)

    async def _leased(self, request: ChangeRequest, change: Awaitable[Outcome]) -> Outcome:
        """Run the change while renewing the lease; _LeaseLost (the change cancelled) when it is lost."""
        task: asyncio.Task[Outcome] = asyncio.ensure_future(change)
        keeper = asyncio.create_task(self._keep_lease(request.id), name=f"lease:{request.id}")
        try:
            await asyncio.wait({task, keeper}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                raise _LeaseLost(request.id)
            return task.result()  # the change's own exception, if it raised one
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            if not task.done():  # this coroutine itself was cancelled
                task.cancel()

    async def _keep_lease(self, request_id: str) -> None:
        """Returns when the lease is lost; renews it until then (a failed renewal is tried again)."""
        while True:
            await asyncio.sleep(self.renew_every)
            now = self.clock()
            try:
                held = await self.store.renew_lease(request_id, self.executor, until=now + self.lease, now=now)
            except Exception:  # the database may be back by the next renewal, well before the lease ends
                logger.exception("could not renew the lease on %s", request_id)
                continue
            if not held:
                logger.warning("lost the lease on %s (it was interrupted meanwhile)", request_id)
                return

    def _ttl(self, request: ChangeRequest) -> timedelta:
        policy = self.policies.get(request.instance)
        return policy.request_ttl if policy is not None else ApprovalPolicy(channel="").request_ttl

    # -- shutting down -------------------------------------------------------------------------------

    async def drain(self, grace: float) -> int:
        """Stop starting executions, let those running finish within `grace` seconds, stop the rest.

        What is stopped records nothing: its lease runs out and the sweep (of another replica, or of
        this one after the restart) marks it interrupted, with Retry. Returns how many were stopped.
        """
        self.stopping = True
        executing = set(self._executing)
        waiting: set[asyncio.Task[Any]] = {*executing, *self._pickups.values()}
        if waiting:
            logger.info("waiting up to %.0f s for %d change(s) being applied", grace, len(executing))
            _, pending = await asyncio.wait(waiting, timeout=grace)
        else:
            pending = set()
        # Cancelled, an execution records nothing (see `_execute_started`): its lease runs out.
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        stopped = len(pending & executing)
        if stopped:
            logger.warning("stopped %d change(s) being applied; recovery marks them interrupted", stopped)
        return stopped

    # -- the sweep ---------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Recover interrupted executions, expire overdue requests, post approval messages that Slack
        refused earlier, take Retry off messages whose window closed, and start approved requests
        nobody started (beside the sweep: see `pickups_finished`). Returns how many requests it moved
        or started."""
        now = self.clock()
        handled = 0
        unleased_before = now - self.lease
        for request in await self.store.lapsed_executions(now, unleased_before=unleased_before):
            done = await self._steps_done(request)
            who = request.executor or "the hubkeeper process applying it"
            interrupted = await self.store.interrupt(
                request.id,
                now=now,
                unleased_before=unleased_before,
                error=(
                    f"interrupted: {who} stopped before it finished (its lease ran out"
                    + (f" at {request.lease_until:%H:%M:%S} UTC" if request.lease_until else "")
                    + "). "
                    + steps_done_line(done)
                ),
                # What an earlier attempt recorded (a bulk change's outcomes) stays for the Retry.
                result=request.result,
                retry_until=now + self._ttl(request),
            )
            if interrupted is not None:  # a renewal, or another replica, got there first otherwise
                await self._audit(
                    "change.interrupted", SYSTEM, interrupted, executor=request.executor, partly_applied={"done": done}
                )
                await self._finish(interrupted)
                handled += 1
        for request in await self.store.expired_pending(now):
            expired = await self.store.transition(request.id, Status.PENDING, Status.EXPIRED, actor=SYSTEM, now=now)
            if expired is not None:  # another replica may have expired it first
                await self._audit("request.expired", SYSTEM, expired)
                await self._finish(expired)
                handled += 1
        # Approval messages Slack refused earlier. A request filed moments ago is still being posted by
        # its submit (store first, then post): posting it here too would show approvers two messages.
        announced_before = now - self.pickup_grace
        for request in await self.store.list_requests(statuses=frozenset({Status.PENDING}), limit=50):
            policy = self.policies.get(request.instance)
            if request.ts is None and policy is not None and request.created_at <= announced_before:
                await self._announce(request, policy)
        # Retry windows that closed since the last sweep (or, after a start, within a lease): their
        # messages lose the Retry button. Re-rendering twice (two replicas) shows the same message.
        for request in await self.store.retry_windows_closed(self._last_sweep or now - self.lease, now):
            await self._refresh(request)
        self._last_sweep = now
        if not self.stopping:
            for request in await self.store.unpicked_approved(now - self.pickup_grace):
                if request.id in self._pickups:
                    continue  # started by an earlier sweep and not yet executing
                task = asyncio.create_task(self._pick_up(request), name=f"pick-up:{request.id}")
                self._pickups[request.id] = task
                task.add_done_callback(functools.partial(self._picked_up, request.id))
                handled += 1
        return handled

    def _picked_up(self, request_id: str, _: asyncio.Task[bool]) -> None:
        self._pickups.pop(request_id, None)

    async def pickups_finished(self) -> None:
        """Wait until the executions the sweep started have finished."""
        while self._pickups:
            await asyncio.wait(set(self._pickups.values()))

    async def _pick_up(self, request: ChangeRequest) -> bool:
        """Execute an approved request whose approver's process never started it (crash, failed write)."""
        actor = request.decided_by or SYSTEM
        try:
            final = await self._execute(request, actor)
        except Exception:
            logger.exception("the sweep could not execute %s", request.id)
            return False
        if final.attempts > request.attempts:
            await self._audit("request.picked_up", SYSTEM, final, approved_by=request.decided_by)
            return True
        return False

    async def _steps_done(self, request: ChangeRequest) -> list[str]:
        """Steps the audit log records as done during the last execution (e.g. each policy change)."""
        events = await self.store.audit_log(request_id=request.id, limit=1000)
        started = max((i for i, event in enumerate(events) if event.event == "change.started"), default=-1)
        return [
            # A recorded step is mrkdwn already; other rows (a policy change's) say it in plain words.
            str(event.detail.get("summary"))
            if event.event == STEP_EVENT
            else escape(str(event.detail.get("summary") or event.event))
            for event in events[started + 1 :]
            if event.event not in LIFECYCLE_EVENTS and not event.event.startswith("request.")
        ]

    # -- telling people ----------------------------------------------------------------------------

    async def _refresh(self, request: ChangeRequest) -> None:
        await self._update_message(request)
        await self._refresh_undone(request)

    async def _refresh_undone(self, request: ChangeRequest) -> None:
        """An undo's state shows on the message of the request it undoes (and whether Undo is offered)."""
        if request.undoes is None:
            return
        original = await self.store.get(request.undoes)
        if original is not None:
            await self._update_message(original)

    async def _update_message(self, request: ChangeRequest) -> None:
        if request.channel is None or request.ts is None:
            return
        try:
            await self.messenger.update(request.channel, request.ts, render_approval(request, self.clock()))
        except Exception:  # the stored state is right; the next change re-renders the message
            logger.exception("could not update the approval message of %s", request.id)

    async def _finish(self, request: ChangeRequest) -> None:
        """A final state (or a failure): update the message, DM the requester, log to the audit channel."""
        await self._refresh(request)
        line = render_status_line(request)
        try:
            await self.messenger.dm(
                request.requester, message(f"Your request: {request.summary.splitlines()[0]}\n{line}")
            )
        except Exception:
            logger.exception("could not DM the requester of %s", request.id)
        policy = self.policies.get(request.instance)
        if policy is not None and policy.audit_channel:
            try:
                await self.messenger.post(
                    policy.audit_channel,
                    message(f"`{request.id}` {request.instance}: {request.summary.splitlines()[0]} — {line}"),
                )
            except Exception:
                logger.exception("could not post %s to the audit channel", request.id)

    async def _audit(self, event: str, actor: str, request: ChangeRequest, **detail: Any) -> None:
        """One audit row about the request (None values left out)."""
        await self.store.append_audit(
            AuditEvent(
                event=event,
                actor=actor,
                instance=request.instance,
                request_id=request.id,
                detail={key: value for key, value in detail.items() if value is not None},
                at=self.clock(),
            )
        )


def _cancelling() -> bool:
    """Whether the current task is being cancelled (rather than only a task it awaited)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
