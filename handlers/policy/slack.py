"""Access policy on Slack: `/hub policy plan`, and what the `policy_apply` change kind shares with it.

`/hub policy plan` reads the policy file (HUBKEEPER_POLICY_FILE, handed in by the bot), plans it
against the instance and replies with the plan and an Apply button (action `policy_apply`, value the
instance label). The button submits a `policy_apply` change (handlers/changes/policy_apply.py)
through the approval flow.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers import blocks as bk
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from handlers.policy.diff import Change, OrgState, summary_line
from handlers.policy.engine import plan_policy
from handlers.policy.model import Policy, PolicyError, load_policy, resolve
from handlers.requests.kind import ChangeRefused
from hub.errors import HubError

POLICY_FILE_SETTING = "HUBKEEPER_POLICY_FILE"
APPLY_ACTION = "policy_apply"
MAX_DETAIL_LINES = 40


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


def refusal(error: PolicyError) -> ChangeRefused:
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


async def planned_state(ctx: HandlerContext, policy: Policy) -> tuple[OrgState, list[Change]]:
    _check_instance(ctx, policy)
    try:
        return await plan_policy(ctx.hub, policy)
    except PolicyError as error:
        raise refusal(error) from None


async def planned_changes(ctx: HandlerContext, policy: Policy) -> tuple[dict[str, int], list[Change]]:
    state, changes = await planned_state(ctx, policy)
    return state.team_ids, changes


async def policy_plan_reply(ctx: HandlerContext, path: str | None = None) -> Reply:
    """`/hub policy plan`: the plan of the policy file, with an Apply button when there is anything to do."""
    try:
        source = policy_file(path)
        policy = load_policy(source)
        state, changes = await planned_state(ctx, policy)
    except ChangeRefused as refused:
        return bk.message(refused.message)
    except PolicyError as error:
        return bk.message(refusal(error).message)
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


@dataclass(frozen=True)
class PolicyPlan:
    pass


async def _run_policy_plan(ctx: HandlerContext) -> Reply:
    return await policy_plan_reply(ctx, ctx.policy_file)


POLICY_PLAN = without_arguments(
    Syntax("policy plan", "policy plan", "What applying the access policy file would change", ("/hub policy plan",)),
    PolicyPlan,
    _run_policy_plan,
)
