"""`/hub team remove <team> <username>`: take someone out of a team (and so out of its repository access)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Team, Username
from handlers.changes.preconditions import (
    is_owners_team,
    member_of_team,
    planned_team,
    refuse_last_owner,
    team_ref,
)
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options, show_hint
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.teams import OWNERS_TEAM
from hub import paths
from hub.models import GroupMember, OrgGroup


class TeamRemoveParams(Params):
    team: Team
    username: Username
    team_id: int | None = None
    """The team's id when planned (None: stored before ids were kept)."""


class TeamRemove(ChangeKind[TeamRemoveParams]):
    name = "team_remove"
    command = "team remove"
    usage = "team remove <team> <username>"
    description = "Take someone out of a team"
    examples = ("/hub team remove data ninagarcia",)
    params_model = TeamRemoveParams

    def parse(self, args: list[str]) -> TeamRemoveParams:
        reject_unknown_options(self.syntax, args)
        team, username = positional(self.syntax, args, 2, f"a team and a username{show_hint('remove')}")
        return TeamRemoveParams(team=paths.team(team), username=paths.username(username))

    def destructive(self, params: TeamRemoveParams) -> bool:
        # Leaving a team takes its repository access away at once.
        return True

    def reverse(self, params: TeamRemoveParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        return "team_add", {"team": outcome["team"], "member": outcome["username"]}

    async def _check(self, ctx: HandlerContext, params: TeamRemoveParams) -> tuple[OrgGroup, GroupMember]:
        group = await planned_team(ctx, params.team, params.team_id)
        member = await member_of_team(ctx, group.name, params.username)
        if member is None:
            raise ChangeRefused(f"{bk.code(params.username)} is not in team {team_ref(group.name)}; nothing to remove.")
        if is_owners_team(group.name):
            await refuse_last_owner(ctx, member.username, f"leave {team_ref(OWNERS_TEAM)}")
        return group, member

    async def plan(self, ctx: HandlerContext, params: TeamRemoveParams) -> Plan:
        group, member = await self._check(ctx, params)
        details = []
        if is_owners_team(group.name):
            details.append(f"Leaving {team_ref(OWNERS_TEAM)} makes them a plain member of *{bk.escape(ctx.instance)}*.")
        return Plan(
            summary=f"Remove *{bk.escape(member.username)}* from team {team_ref(group.name)}",
            params=TeamRemoveParams(team=group.name, username=member.username, team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamRemoveParams) -> Outcome:
        group, member = await self._check(ctx, params)
        await ctx.hub.remove_group_member(group.name, member.username)
        return Outcome(
            f"Removed *{bk.escape(member.username)}* from team {team_ref(group.name)}",
            {"team": group.name, "team_id": group.id, "username": member.username},
        )
