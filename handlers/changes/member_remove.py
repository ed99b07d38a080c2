"""`/hub remove <username> --reason <text…>`: someone leaves the org, and so every team."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Username
from handlers.changes.preconditions import org_member, refuse_if_moved, refuse_last_owner
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options
from handlers.requests.kind import Affected, ChangeKind, Outcome, Params, Plan
from hub import paths
from hub.models import OrgMember


class MemberRemoveParams(Params):
    username: Username
    role: str | None = None
    """The role the plan saw and the approval message showed (None: stored before plans kept it)."""


class MemberRemove(ChangeKind[MemberRemoveParams]):
    name = "member_remove"
    command = "remove"
    usage = "remove <username> --reason <text…>"
    description = "Remove someone from the org and its teams"
    examples = ("/hub remove umarkhan --reason left in May",)
    reason_required = True
    params_model = MemberRemoveParams

    def parse(self, args: list[str]) -> MemberRemoveParams:
        reject_unknown_options(self.syntax, args)
        (username,) = positional(self.syntax, args, 1, "one username")
        return MemberRemoveParams(username=paths.username(username))

    def destructive(self, params: MemberRemoveParams) -> bool:
        return True

    def affected(self, params: MemberRemoveParams, result: Mapping[str, Any]) -> list[Affected]:
        email = result.get("email")
        # Out of the org, they are out of its member listing too: the email recorded at removal finds them.
        if not isinstance(email, str) or not email:
            return []
        return [Affected("you were removed from the organization (and so from all its teams)", email=email)]

    async def _check(self, ctx: HandlerContext, params: MemberRemoveParams) -> OrgMember:
        member = await org_member(ctx, params.username)
        if member.role_key == "owner":
            await refuse_last_owner(ctx, member.username, "leave")
        return member

    async def plan(self, ctx: HandlerContext, params: MemberRemoveParams) -> Plan:
        member = await self._check(ctx, params)
        teams = bk.join_limited([bk.code(team, 60) for team in member.groups], 1500) if member.groups else "none"
        return Plan(
            summary=f"Remove *{bk.escape(member.username)}* from *{bk.escape(ctx.instance)}* and from every team",
            params=MemberRemoveParams(username=member.username, role=member.role_key),
            details=[f"Role: {bk.escape(member.role_key)}", f"Teams: {teams}"],
        )

    async def execute(self, ctx: HandlerContext, params: MemberRemoveParams) -> Outcome:
        member = await self._check(ctx, params)
        if "owner" in (params.role, member.role_key):
            # Removing an owner is not the change approved for a member (nor the reverse).
            refuse_if_moved(f"*{bk.escape(member.username)}*'s role", params.role, member.role_key)
        await ctx.hub.remove_member(member.username)
        return Outcome(
            f"Removed *{bk.escape(member.username)}* from *{bk.escape(ctx.instance)}*",
            {
                "username": member.username,
                "role": member.role_key,
                "teams": list(member.groups),
                "email": member.email,
            },
        )
