"""`policy_apply`: the Apply button under `/hub policy plan`, through approval like any other change.

Its plan stores the policy text itself in the request, so what runs after approval is the policy
that was approved, diffed again against the org as it is then. Its execute applies that, updating
the approval message with progress and writing one `policy.change` audit row per change applied
(`apply_policy`, shared with the CLI). A partial failure fails the request with what was and was
not done; the approvers' Retry plans again and finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from handlers import blocks as bk
from handlers.context import HandlerContext
from handlers.policy.diff import Change, is_destructive, summary_line
from handlers.policy.engine import apply_policy
from handlers.policy.model import Policy, PolicyError, parse_policy
from handlers.policy.slack import detail_lines, planned_changes, policy_file, refusal
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, PartlyApplied, Plan
from handlers.requests.subjects import Subjects, params_subjects

PROGRESS_EVERY_SECONDS = 3.0
MAX_NOT_DONE = 10


class PolicyApplyParams(Params):
    path: str | None = None
    """The policy file, when the request comes from the button (the plan reads it)."""
    source: str | None = None
    text: str | None = None
    """The policy as approved (the plan stores it): execute applies this, not the file as it is then."""
    changes: list[dict[str, str]] = Field(default_factory=list)
    """What the plan found to do, for deciding whether the change is destructive."""


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
        """Everything the approved policy names, and everything the apply changed or failed to."""
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
        for key in ("applied", "failed", "skipped"):
            for change in (result or {}).get(key) or []:
                if isinstance(change, Mapping):
                    found = found | params_subjects(change)
        return found

    @staticmethod
    def _policy(params: PolicyApplyParams) -> tuple[Policy, str]:
        """The policy and its text: stored in the request (after plan), else read from the file."""
        try:
            if params.text is not None:
                return parse_policy(params.text, params.source or "policy.yml"), params.text
            path = policy_file(params.path)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise PolicyError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
            return parse_policy(text, path), text
        except PolicyError as error:
            raise refusal(error) from None

    async def plan(self, ctx: HandlerContext, params: PolicyApplyParams) -> Plan:
        policy, text = self._policy(params)
        _, changes = await planned_changes(ctx, policy)
        if not changes:
            raise ChangeRefused(f"Nothing to do: *{bk.escape(ctx.instance)}* already matches {bk.code(policy.source)}.")
        return Plan(
            summary=f"Apply the policy {bk.code(policy.source)} to *{bk.escape(ctx.instance)}*: "
            + bk.escape(summary_line(changes)),
            params=PolicyApplyParams(source=policy.source, text=text, changes=[c.as_dict() for c in changes]),
            details=detail_lines(changes),
        )

    async def execute(self, ctx: HandlerContext, params: PolicyApplyParams) -> Outcome:
        policy, _ = self._policy(params)
        team_ids, changes = await planned_changes(ctx, policy)
        progress = _Progress(ctx, len(changes))
        await progress.start()

        async def step(change: Change, error: str | None) -> None:
            await progress.step()

        result = await apply_policy(
            ctx.hub,
            changes,
            team_ids,
            audit=ctx.store,
            actor=ctx.actor,
            instance=ctx.instance,
            source=policy.source,
            request_id=ctx.request_id,
            progress=step,
        )
        if not result.ok:
            missing = [*result.failed, *result.skipped]
            not_done = [f"{bk.escape(change.describe())}: {bk.escape(error)}" for change, error in missing]
            if len(not_done) > MAX_NOT_DONE:
                not_done = [*not_done[:MAX_NOT_DONE], f"…and {len(not_done) - MAX_NOT_DONE} more"]
            raise PartlyApplied(
                f"Applying the policy {bk.code(policy.source)} ({len(result.applied)} of {len(changes)} change(s) "
                "applied)",
                [bk.escape(change.describe()) for change in result.applied],
                not_done,
            )
        return Outcome(
            f"Applied the policy {bk.code(policy.source)} to *{bk.escape(ctx.instance)}*: "
            f"{len(result.applied)} change(s)",
            {"policy": policy.source, **result.as_dict()},
        )


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
