"""Access policy on Slack: `/hub policy plan`, and what the `policy_apply` change kind shares with it.

`/hub policy plan` reads the policy file (HUBKEEPER_POLICY_FILE, handed in by the bot), plans it
against the instance, stores the planned changes and replies with the plan and an Apply button
(action `policy_apply`, value the stored plan's id: a button value holds 2000 characters, a plan may
not). The button files a `policy_apply` change (handlers/changes/policy_apply.py) of exactly the
stored changes through the approval flow; the policy file is not read again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from handlers import blocks as bk
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from handlers.policy.diff import DESTRUCTIVE, Change, OrgState, summary_line
from handlers.policy.engine import plan_policy
from handlers.policy.model import Policy, PolicyError, load_policy, resolve
from handlers.requests.kind import ChangeRefused
from hub.errors import HubError

POLICY_FILE_SETTING = "HUBKEEPER_POLICY_FILE"
APPLY_ACTION = "policy_apply"
MAX_DETAIL_LINES = 40
APPROVAL_BUDGET = 2400
"""Characters of change lines in an approval message: its section holds 3000 with the rest of the text."""


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


def approval_lines(changes: list[Change]) -> list[str]:
    """The planned changes for the approval message, removals first, cut to fit with a count of the rest.

    Removals and revocations come first so that a cut never hides what takes access away.
    """
    ordered = sorted(changes, key=lambda change: change.action not in DESTRUCTIVE)
    lines: list[str] = []
    used = 0
    for index, change in enumerate(ordered):
        [line] = detail_lines([change])
        if index == MAX_DETAIL_LINES or used + len(line) + 1 > APPROVAL_BUDGET:
            lines.append(f"…and {len(ordered) - index} more change(s) not shown here ({len(ordered)} in all)")
            break
        lines.append(line)
        used += len(line) + 1
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
    plan_id = await save_plan(ctx, policy, changes)
    return plan_reply(ctx.instance, policy, state, changes, plan_id=plan_id)


async def save_plan(ctx: HandlerContext, policy: Policy, changes: list[Change]) -> str | None:
    """Store the changes a plan message shows, for its Apply button; None when there is nothing to apply."""
    if not changes:
        return None
    stored = await ctx.store.save_policy_plan(
        instance=ctx.instance,
        source=policy.source,
        changes=[change.as_dict() for change in changes],
        created_by=ctx.actor,
        now=datetime.now(UTC),
    )
    return stored.id


def plan_reply(
    instance: str,
    policy: Policy,
    state: OrgState,
    changes: list[Change],
    title: str = "Policy plan for",
    *,
    plan_id: str | None = None,
) -> Reply:
    """The plan with the rule behind each change, warnings, and an Apply button for the stored plan `plan_id`."""
    head = [
        bk.header(f"{title} {instance}"),
        bk.section(f"{bk.code(policy.source)}: {bk.escape(summary_line(changes))}"),
    ]
    tail = [bk.context(bk.escape(warning)) for warning in resolve(policy, state.repositories).warnings[:5]]
    if changes and plan_id is not None:
        tail.append(bk.actions([bk.button("Apply", APPLY_ACTION, plan_id, style="primary")]))
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
