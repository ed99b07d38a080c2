"""`/hub teams` and `/hub team <name>`: the org's teams, and one team with its members.

Also the team change kinds (create, update, delete, add a member, remove a member), and the helpers
every change kind uses to read its parameters.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from handlers import blocks as bk
from handlers import commands
from handlers.context import Block, HandlerContext, Reply
from handlers.requests.kind import ChangeRefused, Outcome, Plan, register
from hub import paths
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import GroupMember, OrgGroup, OrgMember

OWNERS_TEAM = "owners"
"""Docker Hub's team of org owners: joining it makes an owner, and it cannot be renamed or deleted."""

LIST_DESCRIPTION = 200
"""A description in the list of teams; `/hub team &lt;name&gt;` shows it in full (up to TEAM_DESCRIPTION)."""
TEAM_DESCRIPTION = 2500


def _count(team: OrgGroup) -> str:
    return bk.plural(team.member_count, "member") if team.member_count is not None else "members unknown"


def team_line(team: OrgGroup) -> str:
    description = bk.escape(bk.clip(team.description or "", LIST_DESCRIPTION)) or "_no description_"
    return f"• *{bk.escape(team.name)}* ({_count(team)}) — {description}"


def render_teams(org: str, teams: Sequence[OrgGroup]) -> Reply:
    ordered = sorted(teams, key=lambda team: team.name.lower())
    head: list[Block] = [bk.header(f"Teams in {bk.clip(org, 100)}")]
    if not ordered:
        head.append(bk.section(f"*{bk.escape(org)}* has no teams."))
        return bk.reply(head)
    head.append(bk.context(f"{bk.plural(len(ordered), 'team')} · `/hub team &lt;name&gt;` shows one team's members"))
    blocks = bk.list_blocks(head, [team_line(team) for team in ordered], not_shown="{n} more teams not shown")
    return bk.reply(blocks)


def _member_line(member: GroupMember) -> str:
    name = f" — {bk.escape(bk.clip(member.full_name, 100))}" if member.full_name else ""
    return f"• *{bk.escape(member.username)}*{name}"


def render_team(org: str, team: OrgGroup, members: Sequence[GroupMember]) -> Reply:
    """Details and every member that fits; the rest are counted, never silently dropped."""
    ordered = sorted(members, key=lambda member: member.username.lower())
    description = team.description or ""
    shown = bk.escape(bk.clip(description, TEAM_DESCRIPTION)) if description else "_no description_"
    if len(description) > TEAM_DESCRIPTION:
        shown += f"\n_(description cut: {len(description):,} characters in all)_"
    head: list[Block] = [
        bk.header(f"Team {bk.clip(team.name, 60)} in {bk.clip(org, 60)}"),
        bk.section(shown),
        bk.context(f"{bk.plural(len(ordered), 'member')}"),
    ]
    if not ordered:
        head.append(bk.section("Nobody is in this team yet."))
    lines = [_member_line(member) for member in ordered]
    note = "{n} more members not shown (more than one Slack message holds)"
    return bk.reply(bk.list_blocks(head, lines, not_shown=note))


def _not_found_reply(org: str, name: str, teams: Sequence[OrgGroup] | None) -> Reply:
    names = [team.name for team in teams or ()]
    close = difflib.get_close_matches(name.lower(), [n.lower() for n in names], n=1, cutoff=0.6)
    suggestion = next((n for n in names if close and n.lower() == close[0]), None)
    text = f"There is no team {bk.code(name)} in *{bk.escape(org)}*."
    if suggestion:
        text += f" Did you mean {bk.code(suggestion)}?"
    notes = ["`/hub teams` lists every team."]
    return bk.message(text, *notes)


async def teams(ctx: HandlerContext) -> Reply:
    return render_teams(ctx.instance, await ctx.hub.list_groups())


async def team(ctx: HandlerContext, name: str) -> Reply:
    try:
        group, members = await asyncio.gather(ctx.hub.get_group(name), ctx.hub.list_group_members(name))
    except NotFound:
        # A near miss ("backnd") deserves a suggestion; one more call is cheap next to a dead end.
        try:
            known: list[OrgGroup] | None = await ctx.hub.list_groups()
        except HubError:
            known = None
        return _not_found_reply(ctx.instance, name, known)
    return render_team(ctx.instance, group, members)


# -- changes: reading a request's parameters --------------------------------------------------------
# Shared by every change kind (members, invites, access import these): a request's parameters come
# back from storage as well as from the grammar, so each plan and execute checks them again.


def param(params: Mapping[str, Any], key: str, check: Callable[[str], str]) -> str:
    """A required parameter, checked; a missing or malformed one refuses the change."""
    value = params.get(key)
    if not isinstance(value, str):
        raise ChangeRefused(f"The request has no valid {bk.escape(key)}; ask again with `/hub help` to hand.")
    try:
        return check(value)
    except InvalidInput as error:
        raise ChangeRefused(f"The request's {bk.echo(error.message, 300)}.") from None


def optional_param(params: Mapping[str, Any], key: str, check: Callable[[str], str]) -> str | None:
    return None if params.get(key) is None else param(params, key, check)


def optional_text(params: Mapping[str, Any], key: str) -> str | None:
    """Free text (a description): any string, or None when absent."""
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise ChangeRefused(f"The request's {bk.escape(key)} is not text; ask again.")
    return value


def team_ref(name: str) -> str:
    return f"*{bk.escape(name)}*"


async def existing_team(ctx: HandlerContext, name: str) -> OrgGroup:
    """The team, or a refusal saying it does not exist (a precondition, not a Docker Hub failure)."""
    try:
        return await ctx.hub.get_group(name)
    except NotFound:
        raise ChangeRefused(
            f"There is no team {team_ref(name)} in *{bk.escape(ctx.instance)}*; `/hub teams` lists them."
        ) from None


async def _clashing_team(ctx: HandlerContext, name: str, *, renaming: OrgGroup | None = None) -> OrgGroup | None:
    """Another team whose name differs from `name` only in case: Docker Hub treats those as the same."""
    candidates = await ctx.hub.list_groups(search=name)
    return next(
        (
            group
            for group in candidates
            if group.name.lower() == name.lower() and (renaming is None or group.id != renaming.id)
        ),
        None,
    )


async def _refuse_if_taken(ctx: HandlerContext, name: str, *, renaming: OrgGroup | None = None) -> None:
    clash = await _clashing_team(ctx, name, renaming=renaming)
    if clash is not None:
        raise ChangeRefused(f"There is already a team {team_ref(clash.name)} in *{bk.escape(ctx.instance)}*.")


CHANGE_DESCRIPTION = 500
"""How much of a description an approval message repeats."""


def _description_line(label: str, description: str) -> str:
    shown = bk.escape(bk.clip(description, CHANGE_DESCRIPTION)) if description else "_none_"
    return f"{label}: {shown}"


async def _member_of_team(ctx: HandlerContext, team: str, username: str) -> GroupMember | None:
    found = await ctx.hub.list_group_members(team, search=username)
    return next((member for member in found if member.username.lower() == username.lower()), None)


def _refuse_owners(group: OrgGroup, what: str) -> None:
    # Docker Hub's owners team *is* the set of org owners: it cannot be renamed or deleted.
    if group.name == OWNERS_TEAM:
        raise ChangeRefused(f"The {team_ref(OWNERS_TEAM)} team cannot be {what}; it holds the org's owners.")


# -- change kinds ---------------------------------------------------------------------------------


class TeamCreate:
    name = "team_create"

    @staticmethod
    def _params(params: Mapping[str, Any]) -> tuple[str, str]:
        return param(params, "name", paths.team), optional_text(params, "description") or ""

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        team, description = self._params(params)
        await _refuse_if_taken(ctx, team)
        return Plan(
            summary=f"Create team {team_ref(team)} in *{bk.escape(ctx.instance)}*",
            params={"name": team, "description": description},
            details=[_description_line("Description", description)],
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        team, description = self._params(params)
        await _refuse_if_taken(ctx, team)
        group = await ctx.hub.create_group(team, description)
        return Outcome(
            f"Created team {team_ref(group.name)} in *{bk.escape(ctx.instance)}*",
            {"team": group.name, "team_id": group.id},
        )


class TeamUpdate:
    name = "team_update"

    @staticmethod
    def _params(params: Mapping[str, Any]) -> tuple[str, str | None, str | None]:
        team = param(params, "name", paths.team)
        return team, optional_param(params, "new_name", paths.team), optional_text(params, "description")

    async def _changes(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[OrgGroup, str | None, str | None]:
        """The team and what would really change (a field already so is dropped); refuses when nothing would."""
        team, new_name, description = self._params(params)
        group = await existing_team(ctx, team)
        if new_name == group.name:
            new_name = None
        if description is not None and description == (group.description or ""):
            description = None
        if new_name is None and description is None:
            raise ChangeRefused(f"Team {team_ref(group.name)} already has that name and description; nothing to do.")
        if new_name is not None:
            _refuse_owners(group, "renamed")
            await _refuse_if_taken(ctx, new_name, renaming=group)
        return group, new_name, description

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
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
                _description_line("Description now", group.description or ""),
                _description_line("Description after", description),
            ]
        return Plan(
            summary=" and ".join(parts),
            params={"name": group.name, "new_name": new_name, "description": description},
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        group, new_name, description = await self._changes(ctx, params)
        updated = await ctx.hub.update_group(group.name, new_name=new_name, description=description)
        what = f"Renamed team {team_ref(group.name)} to {team_ref(updated.name)}" if new_name else "Updated"
        if description is not None:
            what += (
                f" the description of team {team_ref(updated.name)}" if not new_name else " and changed its description"
            )
        return Outcome(what, {"team": updated.name, "team_id": updated.id, "previous_name": group.name})


class TeamDelete:
    name = "team_delete"

    async def _team(self, ctx: HandlerContext, params: Mapping[str, Any]) -> OrgGroup:
        group = await existing_team(ctx, param(params, "name", paths.team))
        _refuse_owners(group, "deleted")
        return group

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
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
            params={"name": group.name},
            destructive=True,
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        group = await self._team(ctx, params)
        await ctx.hub.delete_group(group.name)
        return Outcome(
            f"Deleted team {team_ref(group.name)} from *{bk.escape(ctx.instance)}*",
            {"team": group.name, "team_id": group.id},
        )


class TeamAdd:
    name = "team_add"

    async def _check(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[OrgGroup, OrgMember, str]:
        """The team, the org member (an email resolved) and what was asked for; refuses what cannot be."""
        asked = param(params, "member", commands.member_ref)
        group = await existing_team(ctx, param(params, "team", paths.team))
        member = await ctx.hub.find_member(asked)
        if member is None:
            # Adding to a team does not invite (API-NOTES §8): point at the command that does.
            invite = bk.code(f"/hub invite {asked} --team {group.name}", 200)
            raise ChangeRefused(
                f"{bk.code(asked)} is not a member of *{bk.escape(ctx.instance)}*, and adding to a team does "
                f"not invite. Invite them first: {invite}"
            )
        if any(team.lower() == group.name.lower() for team in member.groups):
            raise ChangeRefused(f"*{bk.escape(member.username)}* is already in team {team_ref(group.name)}.")
        return group, member, asked

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        group, member, asked = await self._check(ctx, params)
        details = []
        if asked.lower() != member.username.lower():
            details.append(f"{bk.code(asked)} is the Docker ID *{bk.escape(member.username)}*.")
        owners = group.name == OWNERS_TEAM
        if owners:
            details.append(f"Joining {team_ref(OWNERS_TEAM)} makes them an owner of *{bk.escape(ctx.instance)}*.")
        return Plan(
            summary=f"Add *{bk.escape(member.username)}* to team {team_ref(group.name)}",
            params={"team": group.name, "member": member.username},
            # The owners team is the owner role by another door: as destructive as `role … owner`.
            destructive=owners,
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        group, member, _ = await self._check(ctx, params)
        # Membership was checked just now; the client need not check it again.
        await ctx.hub.add_group_member(group.name, member.username, check_membership=False)
        return Outcome(
            f"Added *{bk.escape(member.username)}* to team {team_ref(group.name)}",
            {"team": group.name, "team_id": group.id, "username": member.username},
        )


class TeamRemove:
    name = "team_remove"

    async def _check(self, ctx: HandlerContext, params: Mapping[str, Any]) -> tuple[OrgGroup, GroupMember]:
        username = param(params, "username", paths.username)
        group = await existing_team(ctx, param(params, "team", paths.team))
        member = await _member_of_team(ctx, group.name, username)
        if member is None:
            raise ChangeRefused(f"{bk.code(username)} is not in team {team_ref(group.name)}; nothing to remove.")
        if group.name == OWNERS_TEAM and (group.member_count or 0) <= 1:
            raise ChangeRefused(
                f"*{bk.escape(member.username)}* is the only owner of *{bk.escape(ctx.instance)}*; "
                "make someone else an owner first."
            )
        return group, member

    async def plan(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Plan:
        group, member = await self._check(ctx, params)
        details = []
        if group.name == OWNERS_TEAM:
            details.append(f"Leaving {team_ref(OWNERS_TEAM)} makes them a plain member of *{bk.escape(ctx.instance)}*.")
        return Plan(
            summary=f"Remove *{bk.escape(member.username)}* from team {team_ref(group.name)}",
            params={"team": group.name, "username": member.username},
            details=details,
        )

    async def execute(self, ctx: HandlerContext, params: Mapping[str, Any]) -> Outcome:
        group, member = await self._check(ctx, params)
        await ctx.hub.remove_group_member(group.name, member.username)
        return Outcome(
            f"Removed *{bk.escape(member.username)}* from team {team_ref(group.name)}",
            {"team": group.name, "team_id": group.id, "username": member.username},
        )


register(TeamCreate())
register(TeamUpdate())
register(TeamDelete())
register(TeamAdd())
register(TeamRemove())
