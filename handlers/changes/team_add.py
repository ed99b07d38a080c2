"""`/hub team add <team> <username|email> …`: put org members in a team (it does not invite).

Up to 100 people in one request (handlers/changes/bulk.py): the plan names whoever cannot be added
(not an org member, already in the team) and leaves them out; each addition's outcome is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from handlers import blocks as bk
from handlers.changes import bulk
from handlers.changes.fields import MemberRef, Team
from handlers.changes.preconditions import is_owners_team, planned_team, team_ref
from handlers.context import HandlerContext
from handlers.grammar import UsageError, member_ref, reject_unknown_options, show_hint
from handlers.requests.kind import Affected, ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.teams import OWNERS_TEAM
from hub import paths
from hub.models import OrgGroup, OrgMember


class TeamAddParams(Params):
    team: Team
    members: list[MemberRef] = Field(min_length=1, max_length=bulk.MAX_ITEMS)
    """As asked (emails or Docker IDs); the plan resolves them to Docker IDs."""
    team_id: int | None = None
    """The team's id when planned: execute adds to that team only (None: stored before ids were kept)."""

    @model_validator(mode="before")
    @classmethod
    def _one_member(cls, data: Any) -> Any:
        # Requests stored before a team add took several people named one `member`.
        return bulk.single_or_list(data, "member", "members")


def _in_team(member: OrgMember, group: OrgGroup) -> bool:
    return any(team.lower() == group.name.lower() for team in member.groups)


def _not_a_member(ctx: HandlerContext, asked: str, group: OrgGroup) -> str:
    # Docker Hub adds only org members to a team; it never invites: point at the command that does.
    invite = bk.code(f"/hub invite {asked} --team {group.name}", 200)
    return (
        f"{bk.code(asked)} is not a member of *{bk.escape(ctx.instance)}*, and adding to a team does "
        f"not invite. Invite them first: {invite}"
    )


def _already(member: OrgMember, group: OrgGroup) -> str:
    return f"*{bk.escape(member.username)}* is already in team {team_ref(group.name)}."


class TeamAdd(ChangeKind[TeamAddParams]):
    name = "team_add"
    command = "team add"
    usage = "team add <team> <username|email> …"
    description = "Add org members to a team (up to 100 at once)"
    examples = ("/hub team add backend umarkhan", "/hub team add backend umarkhan ada@acme.example")
    params_model = TeamAddParams

    def parse(self, args: list[str]) -> TeamAddParams:
        reject_unknown_options(self.syntax, args)
        if len(args) < 2:
            raise UsageError(f"team add needs a team and a username or email{show_hint('add')}", self.syntax)
        members = bulk.parse_items(self.syntax, args[1:], member_ref, "a username or email")
        return TeamAddParams(team=paths.team(args[0]), members=members)

    def destructive(self, params: TeamAddParams) -> bool:
        # The owners team is the owner role by another door: as destructive as `role … owner`.
        return is_owners_team(params.team)

    def affected(self, params: TeamAddParams, result: Mapping[str, Any]) -> list[Affected]:
        return bulk.changed_in_team(result, lambda team: f"you were added to team {team_ref(team)}")

    def reverse(self, params: TeamAddParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        # Only the people actually added (as Docker IDs), never those already in the team.
        added = bulk.changed(outcome)
        return ("team_remove", {"team": outcome["team"], "usernames": added}) if added else None

    async def plan(self, ctx: HandlerContext, params: TeamAddParams) -> Plan:
        group = await planned_team(ctx, params.team, params.team_id)
        found = await bulk.find_members(ctx, params.members)
        adds: list[OrgMember] = []
        resolved: list[str] = []
        skipped: list[bulk.Skipped] = []
        seen: dict[str, str] = {}
        for asked in params.members:
            member = found[asked]
            if member is None:
                skipped.append(bulk.Skipped(asked, _not_a_member(ctx, asked, group)))
            elif _in_team(member, group):
                skipped.append(bulk.Skipped(asked, _already(member, group)))
            elif member.username.lower() in seen:
                first = seen[member.username.lower()]
                skipped.append(
                    bulk.Skipped(
                        asked, f"{bk.code(asked)} is *{bk.escape(member.username)}*, named already as {bk.code(first)}."
                    )
                )
            else:
                seen[member.username.lower()] = asked
                adds.append(member)
                if asked.lower() != member.username.lower():
                    resolved.append(f"{bk.code(asked)} is the Docker ID *{bk.escape(member.username)}*.")
        bulk.report(len(params.members), len(params.members))
        if not adds:
            raise ChangeRefused(bulk.refuse_all(skipped))
        names = [f"*{bk.escape(member.username)}*" for member in adds]
        if len(adds) == 1:
            summary = f"Add {names[0]} to team {team_ref(group.name)}"
            details = list(resolved)
        else:
            summary = f"Add {len(adds)} members to team {team_ref(group.name)}"
            details = [f"Adds: {bk.join_limited(names, 900)}", *bulk.limited_lines(resolved, 500)]
        if is_owners_team(group.name):
            details.append(f"Joining {team_ref(OWNERS_TEAM)} makes them an owner of *{bk.escape(ctx.instance)}*.")
        details += bulk.skipped_lines(skipped, 1000)
        return Plan(
            summary=summary,
            params=TeamAddParams(team=group.name, members=[member.username for member in adds], team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamAddParams) -> Outcome:
        return await self._run(ctx, params, params.members, [])

    async def execute_again(self, ctx: HandlerContext, params: TeamAddParams, previous: Mapping[str, Any]) -> Outcome:
        return await bulk.retry_failed(
            previous, lambda: self.execute(ctx, params), lambda items, earlier: self._run(ctx, params, items, earlier)
        )

    async def _run(
        self, ctx: HandlerContext, params: TeamAddParams, members: list[str], earlier: list[bulk.ItemOutcome]
    ) -> Outcome:
        # The org may have changed since the plan: every precondition is checked again.
        group = await planned_team(ctx, params.team, params.team_id)
        found = await bulk.find_members(ctx, members) if members else {}

        async def add(asked: str) -> bulk.ItemOutcome:
            member = found[asked]
            if member is None:
                return bulk.ItemOutcome(asked, bulk.ItemStatus.FAILED, _not_a_member(ctx, asked, group))
            if _in_team(member, group):
                return bulk.ItemOutcome(member.username, bulk.ItemStatus.ALREADY, _already(member, group))
            # Membership was checked just now; the client need not check it again.
            await ctx.hub.add_group_member(group.name, member.username, check_membership=False)
            return bulk.ItemOutcome(member.username, bulk.ItemStatus.DONE)

        def one(outcome: bulk.ItemOutcome) -> str:
            if outcome.status is bulk.ItemStatus.ALREADY:
                return f"{outcome.reason} Nothing to do."
            return f"Added *{bk.escape(outcome.item)}* to team {team_ref(group.name)}"

        return await bulk.execute_items(
            members,
            add,
            earlier,
            what=f"Added to team {team_ref(group.name)}",
            shown=lambda item: f"*{bk.escape(item)}*",
            fields={"team": group.name, "team_id": group.id},
            one=one,
        )
