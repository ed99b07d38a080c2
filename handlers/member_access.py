"""`/hub access <username|email|@slack-user>`: every repository a member reaches through their teams.

The effective permission on a repository is the highest any of the member's teams has, and the
reply names the teams it comes through. Owners reach every repository as admin through the
`owners` team; guests are marked. The answer comes from the access index with its age ("as of
02:14 UTC"); when the index is missing or older than a day and the member's teams are few, their
pairs are read live instead (one read per repository and team), with a progress message first.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from handlers import blocks as bk
from handlers import concurrently
from handlers.access_index import (
    PERMISSION_RANK,
    AccessIndexStore,
    IndexStatus,
    index_age_text,
    is_fresh,
    strongest,
)
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax, UsageError, member_ref
from handlers.lookup import Lookup
from handlers.teams import OWNERS_TEAM
from hub.errors import HubError, InvalidInput
from hub.models import OrgMember

LIVE_MAX_READS = 300
"""Live reading is for members whose teams are few: at most this many (repository, team) reads."""
LIVE_CONCURRENCY = 8
INDEX_MAX_AGE = timedelta(days=1)
_SLACK_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>|]*)?>")

Progress = Callable[[str], Awaitable[None]]
"""Tell the person something while they wait (mrkdwn, escaped)."""


@dataclass(frozen=True)
class Reach:
    repository: str
    permission: str
    """The effective (highest) permission."""
    teams: tuple[tuple[str, str], ...]
    """(team, its permission) it comes through, strongest first."""


def combine(grants: Iterable[tuple[str, str, str]]) -> list[Reach]:
    """(repository, team, permission) → one Reach per repository, by name."""
    by_repository: dict[str, list[tuple[str, str]]] = {}
    for repository, team, permission in grants:
        by_repository.setdefault(repository, []).append((team, permission))
    reaches = []
    for repository, teams in sorted(by_repository.items()):
        ordered = tuple(sorted(teams, key=lambda entry: (-PERMISSION_RANK.get(entry[1], 0), entry[0])))
        reaches.append(Reach(repository, strongest(permission for _, permission in teams), ordered))
    return reaches


async def _resolve(ctx: HandlerContext, who: str) -> str | None:
    """A Slack mention becomes the person's email (through the directory), None when Slack shows none;
    anything else stays as it is."""
    mention = _SLACK_MENTION.fullmatch(who)
    if mention is None:
        return who
    return await ctx.directory.user_email(mention.group(1))


async def _read_live(ctx: HandlerContext, teams: Sequence[str]) -> list[tuple[str, str, str]]:
    groups = [group for group in await ctx.hub.list_groups() if group.name in set(teams)]
    repositories = [repo.name async for repo in ctx.hub.iter_repositories()]
    gate = asyncio.Semaphore(LIVE_CONCURRENCY)

    async def read(repository: str) -> list[tuple[str, str, str]]:
        found = []
        for group in groups:
            async with gate:
                grant = await ctx.hub.get_team_access(group, repository)
            if grant is not None:
                found.append((repository, group.name, grant.permission.lower()))
        return found

    results = await concurrently.each(read(repository) for repository in repositories)
    return [grant for found in results for grant in found]


async def _live_cost(ctx: HandlerContext, teams: Sequence[str]) -> int | None:
    """Reads a live answer would take, or None when the org's repository count is unknown."""
    first = await ctx.hub.repositories_page(1, 1)
    return None if first.count is None else first.count * len(teams)


async def access(
    ctx: HandlerContext,
    who: str,
    *,
    index: AccessIndexStore | None,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> Reply:
    """`/hub access alicechen` (or an email, or an @mention)."""
    now = now or datetime.now(UTC)
    if not who.strip():
        return bk.message(":warning: Say whose access: `/hub access username`, an email or an @mention.")
    mention = _SLACK_MENTION.fullmatch(who.strip())
    # A person is shown by their ID alone: Slack renders it as their name, and the label is theirs to choose.
    person = f"<@{mention.group(1)}>" if mention else bk.code(who.strip())
    wanted = await _resolve(ctx, who.strip())
    if wanted is None:
        return bk.message(
            f":warning: Slack shows no email for {person}, so hubkeeper cannot tell who they are on Docker Hub; "
            "give their Docker username."
        )
    try:
        # The index's status is read while Docker Hub looks the member up.
        status_task = asyncio.ensure_future(_status(index, ctx.instance))
        try:
            member = await ctx.hub.find_member(wanted)
        finally:
            status = await status_task
    except InvalidInput as error:
        return bk.message(f":warning: {bk.escape(error.message)}.")
    except HubError as error:
        return bk.error_reply(error)
    if member is None:
        if wanted != who.strip():  # a Slack person, found by their email
            return bk.message(
                f":warning: {person} ({bk.code(wanted)} on Slack) is not a member of {bk.code(ctx.hub.org)}: "
                "no Docker Hub member has that email. Give their Docker username."
            )
        return bk.message(f":warning: {bk.code(who.strip())} is not a member of {bk.code(ctx.hub.org)}.")
    teams = [team for team in member.groups if team != OWNERS_TEAM]
    try:
        if index is not None and is_fresh(status, now, INDEX_MAX_AGE):
            grants = await index.grants_of_teams(ctx.instance, teams)
            reaches = combine((g.repository, g.team, g.permission) for g in grants)
            return render_access(ctx.hub.org, member, reaches, index_age_text(status, now))
        cost = await _live_cost(ctx, teams) if teams else 0
        if cost is not None and cost <= LIVE_MAX_READS:
            if progress is not None and cost:
                await progress(
                    f":hourglass_flowing_sand: Reading {bk.escape(member.username)}'s access live "
                    f"({cost:,} reads; the access index is {_why_not_index(status, now)})…"
                )
            reaches = combine(await _read_live(ctx, teams)) if teams else []
            return render_access(ctx.hub.org, member, reaches, "read live just now")
    except HubError as error:
        return bk.error_reply(error)
    if index is not None and status is not None and status.finished_at is not None:
        grants = await index.grants_of_teams(ctx.instance, teams)
        reaches = combine((g.repository, g.team, g.permission) for g in grants)
        stale = f"{index_age_text(status, now)} — older than a day; `hubkeeper index` refreshes it"
        return render_access(ctx.hub.org, member, reaches, stale)
    return bk.message(
        f":warning: {bk.escape(member.username)} is in {bk.plural(len(teams), 'team')}: too many repository "
        "reads to answer live, and the access index has not been built yet. Run `hubkeeper index` (or wait "
        "for the scheduled refresh) and ask again."
    )


async def _status(index: AccessIndexStore | None, instance: str) -> IndexStatus | None:
    return None if index is None else await index.index_status(instance)


def _why_not_index(status: IndexStatus | None, now: datetime) -> str:
    if status is None or status.finished_at is None:
        return "not built yet"
    return f"from {index_age_text(status, now).removeprefix('as of ')}"


def render_access(org: str, member: OrgMember, reaches: Sequence[Reach], age: str) -> Reply:
    marks = [member.role]
    if member.is_guest:
        marks.append("guest")
    head = [
        bk.header(f"What {member.username} can reach in {org}"),
        bk.context(
            f"{' · '.join(bk.escape(mark) for mark in marks)} · teams: "
            f"{bk.escape(', '.join(member.groups)) or 'none'} · {bk.escape(age)}"
        ),
    ]
    if member.role_key == "owner":
        head.append(
            bk.section(
                ":crown: *Owner*: admin on every repository of the org through the *owners* team; "
                "the list below is what their other teams give."
            )
        )
    if member.is_guest:
        head.append(bk.section(":bust_in_silhouette: *Guest*: someone from outside the company."))
    lines = [
        f"• *{bk.escape(org)}/{bk.escape(reach.repository)}* — *{reach.permission}* via "
        + ", ".join(f"{bk.escape(team)} ({permission})" for team, permission in reach.teams)
        for reach in reaches
    ]
    if not lines:
        lines = ["No repository through a team."]
    return bk.reply(bk.list_blocks(head, lines, not_shown="{n} more repositories not shown"))


# -- the command -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessQuery:
    who: str
    """A Docker username, an email, or a Slack mention (`<@U…|name>`), checked by the parser."""


def _parse_access(spec: Syntax, args: list[str]) -> AccessQuery:
    if not args:
        raise UsageError("access needs a Docker username, an email or an @mention of someone on Slack", spec)
    joined = " ".join(args)  # a mention's name may hold spaces
    if _SLACK_MENTION.fullmatch(joined):
        return AccessQuery(joined)
    if len(args) != 1:
        raise UsageError("access needs one person: a Docker username, an email or an @mention", spec)
    who = args[0]
    if who.startswith("@") and who.count("@") == 1:
        # Slack turns a person picked from its @ suggestions into their ID; this one was not.
        raise UsageError(f"{who!r} is nobody on Slack: pick the person from Slack's @ suggestions", spec)
    return AccessQuery(member_ref(who))


async def _run_access(ctx: HandlerContext, query: AccessQuery) -> Reply:
    return await access(ctx, query.who, index=ctx.access_index, progress=ctx.progress)


ACCESS = Lookup(
    Syntax(
        "access",
        "access <username|email|@slack-user>",
        "Every repository someone reaches through their teams, and through which",
        ("/hub access erinpatel",),
    ),
    AccessQuery,
    _parse_access,
    _run_access,
    # By email (or a Slack person, found by theirs) the member is searched for through the org's pages,
    # as `/hub whois` by email: its turn with the scans, but no cooldown.
    scan=lambda query: "@" in query.who,
    scan_cooldown=False,
)
