"""`/hub team update <name> [--name <new>] [--description <text…>]`: rename a team or redescribe it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.changes.fields import NewTeam, Team
from handlers.changes.preconditions import (
    description_line,
    planned_team,
    refuse_if_taken,
    refuse_owners_team,
    team_ref,
)
from handlers.context import HandlerContext
from handlers.grammar import positional, reject_unknown_options, show_hint, take_option, take_text_option
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.requests.subjects import Subjects, team_names
from handlers.self_service import refuse_redescribe, refuse_rename
from hub import paths
from hub.models import OrgGroup


class TeamUpdateParams(Params):
    name: Team
    new_name: NewTeam | None = None
    description: str | None = None
    team_id: int | None = None
    """The team's id when planned (None: stored before ids were kept)."""


class TeamUpdate(ChangeKind[TeamUpdateParams]):
    name = "team_update"
    command = "team update"
    usage = "team update <name> [--name <new>] [--description <text…>]"
    description = "Rename a team or change its description"
    examples = ("/hub team update mobile --name apps",)
    params_model = TeamUpdateParams

    def subjects(self, params: Mapping[str, Any], result: Mapping[str, Any] | None) -> Subjects:
        # About a team itself: the team is its `name`, and a rename's `new_name`, not the `team` other kinds name.
        return super().subjects(params, result) | team_names(params, "name", "new_name")

    def parse(self, args: list[str]) -> TeamUpdateParams:
        spec = self.syntax
        args, new_description = take_text_option(args, "--description", ("--name",), spec)
        args, new_name = take_option(args, "--name", spec)
        reject_unknown_options(spec, args)
        (name,) = positional(spec, args, 1, f"one team name{show_hint('update')}")
        if new_name is None and new_description is None:
            raise self.usage_error("team update needs --name or --description (or both)")
        return TeamUpdateParams(
            name=paths.team(name),
            new_name=paths.new_team_name(new_name) if new_name is not None else None,
            description=new_description,
        )

    def reverse(self, params: TeamUpdateParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        team, previous_name = outcome["team"], outcome["previous_name"]
        new_name = previous_name if outcome.get("renamed", team != previous_name) else None
        # An outcome from before descriptions were recorded undoes the rename only.
        description = outcome["previous_description"] if outcome.get("description_changed") else None
        if new_name is None and description is None:
            return None
        return "team_update", {"name": team, "new_name": new_name, "description": description}

    async def _changes(self, ctx: HandlerContext, params: TeamUpdateParams) -> tuple[OrgGroup, str | None, str | None]:
        """The team and what would really change (a field already so is dropped); refuses when nothing would."""
        group = await planned_team(ctx, params.name, params.team_id)
        new_name = None if params.new_name == group.name else params.new_name
        description = params.description
        if description is not None and description == (group.description or ""):
            description = None
        if new_name is None and description is None:
            raise ChangeRefused(f"Team {team_ref(group.name)} already has that name and description; nothing to do.")
        if new_name is not None:
            refuse_owners_team(group, "renamed")
            # Self-service (and its time-bound access) knows teams by name: checked again at execute.
            await refuse_rename(ctx, group)
            await refuse_if_taken(ctx, new_name, renaming=group)
        if description is not None:
            refuse_redescribe(group, description)
        return group, new_name, description

    async def plan(self, ctx: HandlerContext, params: TeamUpdateParams) -> Plan:
        group, new_name, description = await self._changes(ctx, params)
        parts = []
        details = []
        if new_name is not None:
            parts.append(f"Rename team {team_ref(group.name)} to {team_ref(new_name)}")
        if description is not None:
            parts.append(
                "change its description" if parts else f"Change the description of team {team_ref(group.name)}"
            )
            details += [
                description_line("Description now", group.description or ""),
                description_line("Description after", description),
            ]
        return Plan(
            summary=" and ".join(parts),
            params=TeamUpdateParams(name=group.name, new_name=new_name, description=description, team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamUpdateParams) -> Outcome:
        group, new_name, description = await self._changes(ctx, params)
        updated = await ctx.hub.update_group(group.name, new_name=new_name, description=description)
        what = f"Renamed team {team_ref(group.name)} to {team_ref(updated.name)}" if new_name else "Updated"
        if description is not None:
            what += (
                f" the description of team {team_ref(updated.name)}" if not new_name else " and changed its description"
            )
        # What it was before, for Undo: the old name and, when it changed, the old description.
        return Outcome(
            what,
            {
                "team": updated.name,
                "team_id": updated.id,
                "previous_name": group.name,
                "renamed": new_name is not None,
                "description_changed": description is not None,
                "previous_description": group.description or "",
            },
        )
