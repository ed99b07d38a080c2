"""`/hub team add <team> <username|email>`: put an org member in a team (it does not invite)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers import blocks as bk
from handlers.changes.fields import MemberRef, Team
from handlers.changes.preconditions import is_owners_team, planned_team, team_ref
from handlers.context import HandlerContext
from handlers.grammar import member_ref, positional, reject_unknown_options, show_hint
from handlers.requests.kind import ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.teams import OWNERS_TEAM
from hub import paths
from hub.models import OrgGroup, OrgMember


class TeamAddParams(Params):
    team: Team
    member: MemberRef
    """As asked (an email or a Docker ID); the plan resolves it to the Docker ID."""
    team_id: int | None = None
    """The team's id when planned: execute adds to that team only (None: stored before ids were kept)."""


class TeamAdd(ChangeKind[TeamAddParams]):
    name = "team_add"
    command = "team add"
    usage = "team add <team> <username|email>"
    description = "Add an org member to a team"
    examples = ("/hub team add backend umarkhan",)
    params_model = TeamAddParams

    def parse(self, args: list[str]) -> TeamAddParams:
        reject_unknown_options(self.syntax, args)
        team, member = positional(self.syntax, args, 2, f"a team and a username or email{show_hint('add')}")
        return TeamAddParams(team=paths.team(team), member=member_ref(member))

    def destructive(self, params: TeamAddParams) -> bool:
        # The owners team is the owner role by another door: as destructive as `role … owner`.
        return is_owners_team(params.team)

    def reverse(self, params: TeamAddParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        # The team and Docker ID as added (an email was resolved), not as typed.
        return "team_remove", {"team": outcome["team"], "username": outcome["username"]}

    async def _check(self, ctx: HandlerContext, params: TeamAddParams) -> tuple[OrgGroup, OrgMember]:
        """The team and the org member (an email resolved); refuses what cannot be."""
        asked = params.member
        group = await planned_team(ctx, params.team, params.team_id)
        member = await ctx.hub.find_member(asked)
        if member is None:
            # Docker Hub adds only org members to a team; it never invites: point at the command that does.
            invite = bk.code(f"/hub invite {asked} --team {group.name}", 200)
            raise ChangeRefused(
                f"{bk.code(asked)} is not a member of *{bk.escape(ctx.instance)}*, and adding to a team does "
                f"not invite. Invite them first: {invite}"
            )
        if any(team.lower() == group.name.lower() for team in member.groups):
            raise ChangeRefused(f"*{bk.escape(member.username)}* is already in team {team_ref(group.name)}.")
        return group, member

    async def plan(self, ctx: HandlerContext, params: TeamAddParams) -> Plan:
        group, member = await self._check(ctx, params)
        details = []
        if params.member.lower() != member.username.lower():
            details.append(f"{bk.code(params.member)} is the Docker ID *{bk.escape(member.username)}*.")
        if is_owners_team(group.name):
            details.append(f"Joining {team_ref(OWNERS_TEAM)} makes them an owner of *{bk.escape(ctx.instance)}*.")
        return Plan(
            summary=f"Add *{bk.escape(member.username)}* to team {team_ref(group.name)}",
            params=TeamAddParams(team=group.name, member=member.username, team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamAddParams) -> Outcome:
        group, member = await self._check(ctx, params)
        # Membership was checked just now; the client need not check it again.
        await ctx.hub.add_group_member(group.name, member.username, check_membership=False)
        return Outcome(
            f"Added *{bk.escape(member.username)}* to team {team_ref(group.name)}",
            {"team": group.name, "team_id": group.id, "username": member.username},
        )
