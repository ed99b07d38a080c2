"""`policy_apply`: the Apply button under `/hub policy plan`, through approval like any other change.

The plan that was shown is the plan that runs. The plan message stores its changes (the store's
policy plans; the button carries the plan's id), the button files exactly those with the request, the
approval message lists them, and execution applies exactly those: the org is read again and each
planned change is applied only from the state the plan saw. A change already so is left, one whose
starting point moved is skipped and reported, and nothing is ever added: if more needs doing, that is
a new plan. Execution updates the approval message with progress and writes one `policy.change`
audit row per change applied (`apply_plan`, shared with the CLI). A partial failure fails the request
with what was and was not done; the approvers' Retry applies what is left of the same plan.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.policy.diff import Change, is_destructive, summary_line
from handlers.policy.engine import apply_plan
from handlers.policy.model import Policy, PolicyError, parse_policy
from handlers.policy.slack import approval_lines, planned_changes, policy_file, refusal
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, PartlyApplied, Plan
from handlers.requests.subjects import Subjects, params_subjects

PROGRESS_EVERY_SECONDS = 3.0
MAX_NOT_DONE = 10
MAX_SKIPPED_SHOWN = 10


class PolicyApplyParams(Params):
    path: str | None = None
    """The policy file, when a request is filed without a stored plan (the plan reads and diffs it)."""
    plan_id: str | None = None
    """The stored plan (`/hub policy plan`'s message) whose Apply button filed this request."""
    source: str | None = None
    text: str | None = None
    """A policy to plan (instead of the file). Requests filed by earlier versions stored it too; once
    planned, only `changes` count."""
    changes: list[dict[str, str]] = Field(default_factory=list)
    """The planned changes (`Change.as_dict()`): what the approval message shows and execution applies."""


def _changes(params: PolicyApplyParams) -> list[Change]:
    try:
        return [Change.from_dict(change) for change in params.changes]
    except (KeyError, ValueError):
        raise ChangeRefused("The request's planned changes cannot be read; run `/hub policy plan` again.") from None


class PolicyApply(ChangeKind[PolicyApplyParams]):
    name = "policy_apply"
    command = None
    description = "Apply the access policy file (the Apply button under `/hub policy plan`)"
    params_model = PolicyApplyParams

    def parse(self, args: list[str]) -> PolicyApplyParams:
        raise self.usage_error("the policy is applied with the Apply button under `/hub policy plan`")

    def destructive(self, params: PolicyApplyParams) -> bool:
        return is_destructive(Change.from_dict(change) for change in params.changes)

    def subjects(self, params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
        """Everything the approved policy names, the changes it planned, and what the apply did with each."""
        found = Subjects()
        text = params.get("text")
        if isinstance(text, str):
            try:
                policy = parse_policy(text, str(params.get("source") or "policy.yml"))
            except PolicyError:
                policy = None
            if policy is not None:
                members = {user.lower() for spec in policy.teams.values() for user in spec.members or ()}
                found = Subjects(
                    frozenset(members),
                    frozenset(team.lower() for team in policy.all_teams),
                    frozenset(key.lower() for key in policy.repositories),
                )
        planned = params.get("changes")
        for change in planned if isinstance(planned, list) else []:
            if isinstance(change, Mapping):
                found = found | params_subjects(change)
        for key in ("applied", "failed", "skipped", "already", "stale"):
            for change in (result or {}).get(key) or []:
                if isinstance(change, Mapping):
                    found = found | params_subjects(change)
        return found

    @staticmethod
    def _policy(params: PolicyApplyParams) -> Policy:
        """The policy to plan (only for a request filed without a stored plan): its text, else the file."""
        try:
            if params.text is not None:
                return parse_policy(params.text, params.source or "policy.yml")
            path = policy_file(params.path)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise PolicyError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
            return parse_policy(text, path)
        except PolicyError as error:
            raise refusal(error) from None

    async def plan(self, ctx: HandlerContext, params: PolicyApplyParams) -> Plan:
        if params.changes:
            # The plan as shown: filed as it is, never diffed again.
            changes, source = _changes(params), params.source or "policy.yml"
        else:
            policy = self._policy(params)
            _, changes = await planned_changes(ctx, policy)
            source = policy.source
        if not changes:
            raise ChangeRefused(f"Nothing to do: *{bk.escape(ctx.instance)}* already matches {bk.code(source)}.")
        return Plan(
            summary=f"Apply the policy {bk.code(source)} to *{bk.escape(ctx.instance)}*, exactly these changes: "
            + bk.escape(summary_line(changes)),
            params=PolicyApplyParams(plan_id=params.plan_id, source=source, changes=[c.as_dict() for c in changes]),
            details=approval_lines(changes),
        )

    async def execute(self, ctx: HandlerContext, params: PolicyApplyParams) -> Outcome:
        planned = _changes(params)
        if not planned:
            raise ChangeRefused("This request holds no planned changes; run `/hub policy plan` again.")
        source = params.source or "policy.yml"
        progress = _Progress(ctx, len(planned))
        await progress.start()

        async def step(change: Change, error: str | None) -> None:
            await progress.step()

        result = await apply_plan(
            ctx.hub,
            planned,
            audit=ctx.store,
            actor=ctx.actor,
            instance=ctx.instance,
            source=source,
            request_id=ctx.request_id,
            progress=step,
        )
        if not result.ok:
            missing = [*result.failed, *result.skipped]
            not_done = [f"{bk.escape(change.describe())}: {bk.escape(error)}" for change, error in missing]
            if len(not_done) > MAX_NOT_DONE:
                not_done = [*not_done[:MAX_NOT_DONE], f"…and {len(not_done) - MAX_NOT_DONE} more"]
            raise PartlyApplied(
                f"Applying the policy {bk.code(source)} ({len(result.applied)} of {len(planned)} planned change(s) "
                "applied)",
                [bk.escape(change.describe()) for change in result.applied],
                not_done + _skipped_lines(result.stale),
            )
        summary = (
            f"Applied the policy {bk.code(source)} to *{bk.escape(ctx.instance)}*: "
            f"{len(result.applied)} of {len(planned)} planned change(s)"
        )
        if result.already:
            summary += f"; {len(result.already)} already so"
        if result.stale:
            summary += (
                f"; {len(result.stale)} skipped because the org changed since the plan (plan again for those): "
                + "; ".join(_skipped_lines(result.stale))
            )
        return Outcome(summary, {"policy": source, **result.as_dict()})


def _skipped_lines(stale: list[tuple[Change, str]]) -> list[str]:
    lines = [f"skipped {bk.escape(change.describe())}: {bk.escape(why)}" for change, why in stale]
    if len(lines) > MAX_SKIPPED_SHOWN:
        lines = [*lines[:MAX_SKIPPED_SHOWN], f"…and {len(lines) - MAX_SKIPPED_SHOWN} more skipped"]
    return lines


class _Progress:
    """Updates the approval message now and then while applying (when it is known where it is)."""

    def __init__(self, ctx: HandlerContext, total: int) -> None:
        self.ctx = ctx
        self.total = total
        self.done = 0
        self.last = 0.0
        self.where: tuple[str, str] | None = None

    async def start(self) -> None:
        ctx = self.ctx
        if ctx.request_id is None:
            return
        request = await ctx.store.get(ctx.request_id)
        if request is not None and request.channel and request.ts:
            self.where = (request.channel, request.ts)
        await self._show()

    async def step(self) -> None:
        self.done += 1
        if time.monotonic() - self.last >= PROGRESS_EVERY_SECONDS or self.done == self.total:
            await self._show()

    async def _show(self) -> None:
        if self.where is None:
            return
        self.last = time.monotonic()
        text = f"Applying the policy: {self.done} of {self.total} change(s) done…"
        try:
            await self.ctx.messenger.update(*self.where, bk.message(bk.escape(text)))
        except Exception:  # progress is a nicety; the apply goes on
            self.where = None
