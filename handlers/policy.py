"""Access policy on Slack: `/hub policy plan` and the `policy_apply` change kind.

`/hub policy plan` reads the policy file (HUBKEEPER_POLICY_FILE, handed in by the bot), plans it
against the instance and replies with the plan and an Apply button (action `policy_apply`, value the
instance label). The button submits a `policy_apply` change through the approval flow. Its plan
stores the policy text itself in the request, so what runs after approval is the policy that was
approved, diffed again against the org as it is then; its execute applies that, updating the
approval message with
progress and writing one `policy.change` audit row per change applied. A partial failure fails the
request with what was and was not done; the approvers' Retry plans again and finishes the job.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes import ChangeRefused, Outcome, Plan, register
from handlers.context import HandlerContext, Reply
from handlers.lifecycle import AuditEvent
from handlers.policy_diff import Change, OrgState, is_destructive, render_plan, summary_line
from handlers.policy_engine import apply_changes, plan_policy
from handlers.policy_model import Policy, PolicyError, load_policy, parse_policy, resolve
from hub.errors import HubError

POLICY_FILE_SETTING = "HUBKEEPER_POLICY_FILE"
APPLY_ACTION = "policy_apply"
AUDIT_EVENT = "policy.change"
MAX_DETAIL_LINES = 40
PROGRESS_EVERY_SECONDS = 3.0


def policy_file(path: str | None) -> str:
    if not path:
        raise ChangeRefused(f"No policy file is configured: set {POLICY_FILE_SETTING} to its path.")
    return path


def _check_instance(ctx: HandlerContext, policy: Policy) -> None:
    if policy.instance and policy.instance != ctx.instance:
        raise ChangeRefused(
            f"The policy {bk.code(policy.source)} is for instance *{bk.escape(policy.instance)}*, "
            f"not *{bk.escape(ctx.instance)}*."
        )


def _refusal(error: PolicyError) -> ChangeRefused:
    lines = [bk.escape(problem) for problem in error.problems[:10]]
    if len(error.problems) > 10:
        lines.append(f"…and {len(error.problems) - 10} more")
    return ChangeRefused("The policy cannot be applied; nothing was changed:\n" + "\n".join(lines))


def detail_lines(changes: list[Change]) -> list[str]:
    signs = {"remove_member": "−", "revoke": "−", "update_team": "~", "change_permission": "~"}
    lines = [
        f"{signs.get(change.action, '+')} {bk.escape(change.describe())}"
        + (f" · rule {bk.code(change.rule)}" if change.rule else "")
        for change in changes
    ]
    if len(lines) > MAX_DETAIL_LINES:
        lines = [*lines[:MAX_DETAIL_LINES], f"…and {len(lines) - MAX_DETAIL_LINES} more"]
    return lines


async def _planned_state(ctx: HandlerContext, policy: Policy) -> tuple[OrgState, list[Change]]:
    _check_instance(ctx, policy)
    try:
        return await plan_policy(ctx.hub, policy)
    except PolicyError as error:
        raise _refusal(error) from None


async def _planned(ctx: HandlerContext, policy: Policy) -> tuple[dict[str, int], list[Change]]:
    state, changes = await _planned_state(ctx, policy)
    return state.team_ids, changes


async def policy_plan_reply(ctx: HandlerContext, path: str | None = None) -> Reply:
    """`/hub policy plan`: the plan of the policy file, with an Apply button when there is anything to do."""
    try:
        source = policy_file(path)
        policy = load_policy(source)
        state, changes = await _planned_state(ctx, policy)
    except ChangeRefused as refused:
        return bk.message(refused.message)
    except PolicyError as error:
        return bk.message(_refusal(error).message)
    except HubError as error:
        return bk.error_reply(error)
    return plan_reply(ctx.instance, policy, state, changes)


def plan_reply(
    instance: str, policy: Policy, state: OrgState, changes: list[Change], title: str = "Policy plan for"
) -> Reply:
    """The plan with the rule behind each change, warnings, and an Apply button when there is anything to do."""
    head = [
        bk.header(f"{title} {instance}"),
        bk.section(f"{bk.code(policy.source)}: {bk.escape(summary_line(changes))}"),
    ]
    tail = [bk.context(bk.escape(warning)) for warning in resolve(policy, state.repositories).warnings[:5]]
    if changes:
        tail.append(bk.actions([bk.button("Apply", APPLY_ACTION, instance, style="primary")]))
    return bk.reply(bk.list_blocks(head, detail_lines(changes), tail), text=summary_line(changes))


class PolicyApply:
    name = "policy_apply"

    @staticmethod
    def _policy(params: Mapping[str, Any]) -> tuple[Policy, str]:
        """The policy and its text: stored in the request (after plan), else read from the file."""
        text = params.get("text")
        try:
            if isinstance(text, str):
                return parse_policy(text, str(params.get("source") or "policy.yml")), text
            path = policy_file(str(params["path"]) if params.get("path") else None)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise PolicyError([f"{path}: cannot be read ({exc.strerror or exc})"]) from None
            return parse_policy(text, path), text
        except PolicyError as error:
            raise _refusal(error) from None

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        policy, text = self._policy(params)
        _, changes = await _planned(ctx, policy)
        if not changes:
            raise ChangeRefused(f"Nothing to do: *{bk.escape(ctx.instance)}* already matches {bk.code(policy.source)}.")
        return Plan(
            summary=f"Apply the policy {bk.code(policy.source)} to *{bk.escape(ctx.instance)}*: "
            + bk.escape(summary_line(changes)),
            params={"source": policy.source, "text": text},
            destructive=is_destructive(changes),
            details=detail_lines(changes),
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        policy, _ = self._policy(params)
        team_ids, changes = await _planned(ctx, policy)
        progress = _Progress(ctx, len(changes))
        await progress.start()

        async def done(change: Change, error: str | None) -> None:
            if error is None and ctx.store is not None:
                detail = {**change.as_dict(), "summary": change.describe(), "policy": policy.source}
                await ctx.store.append_audit(
                    AuditEvent(AUDIT_EVENT, ctx.actor, ctx.instance, request_id=ctx.request_id, detail=detail)
                )
            await progress.step()

        result = await apply_changes(ctx.hub, changes, team_ids, on_done=done)
        if not result.ok:
            missing = [*result.failed, *result.skipped]
            lines = [f"• {bk.escape(change.describe())}: {bk.escape(error)}" for change, error in missing[:10]]
            if len(missing) > 10:
                lines.append(f"…and {len(missing) - 10} more")
            raise ChangeRefused(
                f"Applied {len(result.applied)} of {len(changes)} change(s); not applied:\n"
                + "\n".join(lines)
                + "\nRetry plans again and applies only what is left."
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
        if ctx.messenger is None or ctx.store is None or ctx.request_id is None:
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
        if self.where is None or self.ctx.messenger is None:
            return
        self.last = time.monotonic()
        text = f"Applying the policy: {self.done} of {self.total} change(s) done…"
        try:
            await self.ctx.messenger.update(*self.where, bk.message(bk.escape(text)))
        except Exception:  # progress is a nicety; the apply goes on
            self.where = None


register(PolicyApply())

__all__ = ["APPLY_ACTION", "PolicyApply", "policy_file", "policy_plan_reply", "render_plan"]
