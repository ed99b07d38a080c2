"""`/hub role <username> <owner|editor|member> --reason <text…>`: change someone's org role."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Role, Username
from handlers.changes.preconditions import a_role, org_member, refuse_if_moved, refuse_last_owner
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options, role
from handlers.requests.kind import Affected, ChangeKind, ChangeRefused, Outcome, Params, Plan
from hub import paths
from hub.models import OrgMember


class RoleParams(Params):
    username: Username
    role: Role
    previous_role: str | None = None
    """The role the plan saw (the approval said "from … to …"): execute changes it only from there."""


class RoleChange(ChangeKind[RoleParams]):
    name = "role"
    command = "role"
    usage = "role <username> <owner|editor|member> --reason <text…>"
    description = "Change someone's org role"
    examples = ("/hub role ivanpetrov editor --reason leads the API",)
    reason_required = True
    params_model = RoleParams

    def parse(self, args: list[str]) -> RoleParams:
        reject_unknown_options(self.syntax, args)
        username, new_role = positional(self.syntax, args, 2, "a username and a role (owner, editor or member)")
        return RoleParams(username=paths.username(username), role=role(new_role))

    def destructive(self, params: RoleParams) -> bool:
        return params.role == "owner"

    def affected(self, params: RoleParams, result: Mapping[str, Any]) -> list[Affected]:
        username, role, previous = result.get("username"), result.get("role"), result.get("previous_role")
        if not isinstance(username, str) or not isinstance(role, str):
            return []
        since = f" from {bk.escape(str(previous))}" if previous else ""
        return [Affected(f"your role changed{since} to *{bk.escape(role)}*", username=username)]

    def reverse(self, params: RoleParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        previous = outcome["previous_role"]
        if previous == outcome["role"]:
            return None
        return "role", {"username": outcome["username"], "role": previous}

    async def _check(self, ctx: HandlerContext, params: RoleParams) -> OrgMember:
        member = await org_member(ctx, params.username)
        if member.role_key == params.role:
            raise ChangeRefused(f"*{bk.escape(member.username)}* is already {a_role(params.role)}; nothing to change.")
        if member.role_key == "owner":
            await refuse_last_owner(ctx, member.username, f"become {a_role(params.role)}")
        return member

    async def plan(self, ctx: HandlerContext, params: RoleParams) -> Plan:
        member = await self._check(ctx, params)
        details = []
        if params.role == "owner":
            details.append(f"Owners can change everything in *{bk.escape(ctx.instance)}*: members, teams and settings.")
        return Plan(
            summary=(
                f"Change *{bk.escape(member.username)}*'s role in *{bk.escape(ctx.instance)}* "
                f"from {bk.escape(member.role_key)} to {params.role}"
            ),
            params=RoleParams(username=member.username, role=params.role, previous_role=member.role_key),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: RoleParams) -> Outcome:
        member = await self._check(ctx, params)
        refuse_if_moved(f"*{bk.escape(member.username)}*'s role", params.previous_role, member.role_key)
        updated = await ctx.hub.update_member_role(member.username, params.role)
        return Outcome(
            f"*{bk.escape(member.username)}* is now {a_role(updated.role_key)} of *{bk.escape(ctx.instance)}*",
            {"username": member.username, "role": updated.role_key, "previous_role": member.role_key},
        )
