"""`/hub teams` and `/hub team <name>`: the org's teams, and one team with its members."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from handlers import blocks as bk
from handlers import concurrently
from handlers.context import Block, HandlerContext, Reply
from handlers.grammar import Syntax, UsageError
from handlers.lookup import Lookup, without_arguments
from hub import paths
from hub.errors import HubError, NotFound
from hub.models import GroupMember, OrgGroup

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
    # Both reads at once; when one fails the other is cancelled, not left running after the reply.
    try:
        group, members = await concurrently.both(ctx.hub.get_group(name), ctx.hub.list_group_members(name))
    except NotFound:
        # A near miss ("backnd") deserves a suggestion; one more call is cheap next to a dead end.
        try:
            known: list[OrgGroup] | None = await ctx.hub.list_groups()
        except HubError:
            known = None
        return _not_found_reply(ctx.instance, name, known)
    return render_team(ctx.instance, group, members)


# -- the commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Teams:
    pass


TEAMS = without_arguments(
    Syntax("teams", "teams", "Every team with its description and member count", ("/hub teams",)),
    Teams,
    teams,
)


@dataclass(frozen=True)
class TeamShow:
    name: str


def _parse_team(spec: Syntax, args: list[str]) -> TeamShow:
    # `team --show <name>` looks up a team named like a subcommand (`create`, `delete`…).
    if len(args) == 2 and args[0] == "--show":
        return TeamShow(paths.team(args[1]))
    unknown = [arg for arg in args if arg.startswith("--")]
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}", spec)
    if len(args) != 1:
        raise UsageError("team needs one team name", spec)
    return TeamShow(paths.team(args[0]))


async def _run_team(ctx: HandlerContext, query: TeamShow) -> Reply:
    return await team(ctx, query.name)


TEAM = Lookup(
    Syntax("team", "team <name>", "One team: its details and members", ("/hub team backend",)),
    TeamShow,
    _parse_team,
    _run_team,
)
