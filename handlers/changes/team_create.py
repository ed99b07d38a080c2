"""`/hub team create <name> [description…]`: a new team."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import NewTeam
from handlers.changes.preconditions import description_line, refuse_if_taken, team_ref
from handlers.context import HandlerContext
from handlers.grammar import reject_unknown_options, show_hint
from handlers.requests.kind import ChangeKind, Outcome, Params, Plan
from handlers.requests.subjects import Subjects, team_names
from hub import paths


class TeamCreateParams(Params):
    name: NewTeam
    description: str = ""


class TeamCreate(ChangeKind[TeamCreateParams]):
    name = "team_create"
    command = "team create"
    usage = "team create <name> [description…]"
    description = "Create a team"
    examples = ("/hub team create mobile iOS and Android",)
    params_model = TeamCreateParams

    def subjects(self, params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
        # About a team itself: the team is its `name`, not the `team` other kinds name.
        return super().subjects(params, result) | team_names(params, "name")

    def parse(self, args: list[str]) -> TeamCreateParams:
        reject_unknown_options(self.syntax, args)
        if not args:
            raise self.usage_error(f"team create needs a team name{show_hint('create')}")
        return TeamCreateParams(name=paths.new_team_name(args[0]), description=" ".join(args[1:]))

    async def plan(self, ctx: HandlerContext, params: TeamCreateParams) -> Plan:
        await refuse_if_taken(ctx, params.name)
        return Plan(
            summary=f"Create team {team_ref(params.name)} in *{bk.escape(ctx.instance)}*",
            params=params,
            details=[description_line("Description", params.description)],
        )

    async def execute(self, ctx: HandlerContext, params: TeamCreateParams) -> Outcome:
        await refuse_if_taken(ctx, params.name)
        group = await ctx.hub.create_group(params.name, params.description)
        return Outcome(
            f"Created team {team_ref(group.name)} in *{bk.escape(ctx.instance)}*",
            {"team": group.name, "team_id": group.id},
        )
