"""`/hub team remove <team> <username> …`: take people out of a team (and so out of its repository access).

Up to 100 people in one request (handlers/changes/bulk.py): the plan names whoever cannot be removed
(not in the team, the last owner) and leaves them out; each removal's outcome is recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, model_validator

from handlers import blocks as bk
from handlers.changes import bulk
from handlers.changes.fields import Team, Username
from handlers.changes.preconditions import is_owners_team, planned_team, team_ref
from handlers.context import HandlerContext
from handlers.grammar import UsageError, reject_unknown_options, show_hint
from handlers.requests.kind import Affected, ChangeKind, ChangeRefused, Outcome, Params, Plan
from handlers.teams import OWNERS_TEAM
from hub import paths
from hub.models import GroupMember, OrgGroup


class TeamRemoveParams(Params):
    team: Team
    usernames: list[Username] = Field(min_length=1, max_length=bulk.MAX_ITEMS)
    team_id: int | None = None
    """The team's id when planned (None: stored before ids were kept)."""

    @model_validator(mode="before")
    @classmethod
    def _one_username(cls, data: Any) -> Any:
        # Requests stored before a team remove took several people named one `username`.
        return bulk.single_or_list(data, "username", "usernames")


def _not_in_team(username: str, group: OrgGroup) -> str:
    return f"{bk.code(username)} is not in team {team_ref(group.name)}; nothing to remove."


def _last_owner(ctx: HandlerContext, username: str) -> str:
    # Docker Hub refuses to leave an org without owners (400): say so before anyone approves.
    return (
        f"*{bk.escape(username)}* is the only owner of *{bk.escape(ctx.instance)}*, so cannot leave "
        f"{team_ref(OWNERS_TEAM)}: Docker Hub never lets the last owner of *{bk.escape(ctx.instance)}* go. "
        "Make someone else an owner first. Nothing was changed."
    )


class _Team:
    """The team's members and, for the owners team, who would still be an owner: read once per run."""

    def __init__(self, group: OrgGroup, members: list[GroupMember], owners: set[str]) -> None:
        self.group = group
        self.members = {member.username.lower(): member for member in members}
        self.owners_left = owners

    @classmethod
    async def read(cls, ctx: HandlerContext, team: str, team_id: int | None) -> _Team:
        group = await planned_team(ctx, team, team_id)
        members = await ctx.hub.list_group_members(group.name)
        owners: set[str] = set()
        if is_owners_team(group.name):
            owners = {owner.username.lower() for owner in await ctx.hub.list_members(role="owner")}
        return cls(group, members, owners)

    def refusal(self, ctx: HandlerContext, username: str) -> tuple[str, str] | None:
        """(who, why) when `username` cannot leave; otherwise counts them out of the owners left."""
        member = self.members.get(username.lower())
        if member is None:
            return username, _not_in_team(username, self.group)
        if is_owners_team(self.group.name):
            others = self.owners_left - {member.username.lower()}
            if not others:
                return member.username, _last_owner(ctx, member.username)
            self.owners_left = others
        return None


class TeamRemove(ChangeKind[TeamRemoveParams]):
    name = "team_remove"
    command = "team remove"
    usage = "team remove <team> <username> …"
    description = "Take people out of a team (up to 100 at once)"
    examples = ("/hub team remove data ninagarcia",)
    params_model = TeamRemoveParams

    def parse(self, args: list[str]) -> TeamRemoveParams:
        reject_unknown_options(self.syntax, args)
        if len(args) < 2:
            raise UsageError(f"team remove needs a team and a username{show_hint('remove')}", self.syntax)
        usernames = bulk.parse_items(self.syntax, args[1:], paths.username, "a username")
        return TeamRemoveParams(team=paths.team(args[0]), usernames=usernames)

    def destructive(self, params: TeamRemoveParams) -> bool:
        # Leaving a team takes its repository access away at once.
        return True

    def affected(self, params: TeamRemoveParams, result: Mapping[str, Any]) -> list[Affected]:
        return bulk.changed_in_team(result, lambda team: f"you were removed from team {team_ref(team)}")

    def reverse(self, params: TeamRemoveParams, outcome: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
        # Only the people actually removed, never those someone else had taken out already.
        removed = bulk.changed(outcome)
        return ("team_add", {"team": outcome["team"], "members": removed}) if removed else None

    async def plan(self, ctx: HandlerContext, params: TeamRemoveParams) -> Plan:
        team = await _Team.read(ctx, params.team, params.team_id)
        removes: list[str] = []
        skipped: list[bulk.Skipped] = []
        for username in params.usernames:
            refused = team.refusal(ctx, username)
            if refused is not None:
                skipped.append(bulk.Skipped(username, refused[1]))
            else:
                removes.append(team.members[username.lower()].username)
        bulk.report(len(params.usernames), len(params.usernames))
        if not removes:
            raise ChangeRefused(bulk.refuse_all(skipped))
        group = team.group
        names = [f"*{bk.escape(username)}*" for username in removes]
        if len(removes) == 1:
            summary, details = f"Remove {names[0]} from team {team_ref(group.name)}", []
        else:
            summary = f"Remove {len(removes)} members from team {team_ref(group.name)}"
            details = [f"Removes: {bk.join_limited(names, 900)}"]
        if is_owners_team(group.name):
            details.append(
                f"Leaving {team_ref(OWNERS_TEAM)} makes them plain members of *{bk.escape(ctx.instance)}*."
                if len(removes) > 1
                else f"Leaving {team_ref(OWNERS_TEAM)} makes them a plain member of *{bk.escape(ctx.instance)}*."
            )
        details += bulk.skipped_lines(skipped, 1200)
        return Plan(
            summary=summary,
            params=TeamRemoveParams(team=group.name, usernames=removes, team_id=group.id),
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: TeamRemoveParams) -> Outcome:
        return await self._run(ctx, params, params.usernames, [])

    async def execute_again(
        self, ctx: HandlerContext, params: TeamRemoveParams, previous: Mapping[str, Any]
    ) -> Outcome:
        return await bulk.retry_failed(
            previous, lambda: self.execute(ctx, params), lambda items, earlier: self._run(ctx, params, items, earlier)
        )

    async def _run(
        self, ctx: HandlerContext, params: TeamRemoveParams, usernames: list[str], earlier: list[bulk.ItemOutcome]
    ) -> Outcome:
        # The org may have changed since the plan: every precondition is checked again, before any removal
        # (the owners left are counted over the whole list, not per removal as it lands).
        team = await _Team.read(ctx, params.team, params.team_id)
        group = team.group
        verdicts = {username: team.refusal(ctx, username) for username in usernames}

        async def remove(username: str) -> bulk.ItemOutcome:
            refused = verdicts[username]
            if refused is not None:
                who, why = refused
                not_there = team.members.get(username.lower()) is None
                # Someone else took them out meanwhile: already so, unless this is a lone removal.
                status = (
                    bulk.ItemStatus.ALREADY
                    if not_there and len(usernames) + len(earlier) > 1
                    else bulk.ItemStatus.FAILED
                )
                return bulk.ItemOutcome(who, status, why)
            member = team.members[username.lower()]
            await ctx.hub.remove_group_member(group.name, member.username)
            return bulk.ItemOutcome(member.username, bulk.ItemStatus.DONE)

        def one(outcome: bulk.ItemOutcome) -> str:
            return f"Removed *{bk.escape(outcome.item)}* from team {team_ref(group.name)}"

        return await bulk.execute_items(
            usernames,
            remove,
            earlier,
            what=f"Removed from team {team_ref(group.name)}",
            shown=lambda item: f"*{bk.escape(item)}*",
            fields={"team": group.name, "team_id": group.id},
            one=one,
        )
