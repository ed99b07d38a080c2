"""`/hub team delete <name>`: a team goes, and its repository permissions with it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import Team
from handlers.changes.preconditions import planned_team, refuse_owners_team, team_ref
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options, show_hint
from handlers.requests.kind import ChangeKind, Outcome, Params, Plan
from handlers.requests.subjects import Subjects, team_names
from hub import paths
from hub.models import OrgGroup


class TeamDeleteParams(Params):
    name: Team
    team_id: int | None = None
    """The team's id when planned: another team given its name since is not deleted (None: stored before)."""


class TeamDelete(ChangeKind[TeamDeleteParams]):
    name = "team_delete"
    command = "team delete"
    usage = "team delete <name>"
    description = "Delete a team"
    examples = ("/hub team delete mobile",)
    params_model = TeamDeleteParams

    def subjects(self, params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
        # About a team itself: the team is its `name`, not the `team` other kinds name.
        return super().subjects(params, result) | team_names(params, "name")

    def parse(self, args: list[str]) -> TeamDeleteParams:
        reject_unknown_options(self.syntax, args)
        (name,) = positional(self.syntax, args, 1, f"one team name{show_hint('delete')}")
        return TeamDeleteParams(name=paths.team(name))

    def destructive(self, params: TeamDeleteParams) -> bool:
        return True

    async def _team(self, ctx: HandlerContext, params: TeamDeleteParams) -> OrgGroup:
        group = await planned_team(ctx, params.name, params.team_id)
        refuse_owners_team(group, "deleted")
        return group

    async def plan(self, ctx: HandlerContext, params: TeamDeleteParams) -> Plan:
        group = await self._team(ctx, params)
        members = await ctx.hub.list_group_members(group.name)
        names = sorted((member.username for member in members), key=str.lower)
        if names:
            who = bk.join_limited([bk.code(name, 60) for name in names], 1500)
            details = [f"{bk.plural(len(names), 'member')} lose what the team gave them: {who}"]
        else:
            details = ["Nobody is in the team."]
        details.append("Its repository permissions go with it.")
        return Plan(
            summary=f"Delete team {team_ref(group.name)} from *{bk.escape(ctx.instance)}*",
            params=TeamDeleteParams(name=group.name, team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamDeleteParams) -> Outcome:
        group = await self._team(ctx, params)
        await ctx.hub.delete_group(group.name)
        return Outcome(
            f"Deleted team {team_ref(group.name)} from *{bk.escape(ctx.instance)}*",
            {"team": group.name, "team_id": group.id},
        )
