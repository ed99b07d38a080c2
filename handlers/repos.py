"""`/hub repo <ns/repo>` and `/hub repos [search]`: which teams reach a repository, and the org's
repositories a page at a time.

`/hub repo` reads its T (team) pairs live, all at once: T requests, cheap enough to be always
current. `/hub repos` shows one page of the listing and, next to each repository, how many teams
have access when the access index knows it (reading that live would be R·T requests).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers import blocks as bk
from handlers.access_index import (
    PERMISSION_RANK,
    AccessIndexStore,
    index_age_text,
    read_repository_grants,
)
from handlers.context import HandlerContext, Reply
from handlers.grammar import MAX_SEARCH, Syntax, UsageError, reject_unknown_options
from handlers.lookup import Lookup
from hub import paths
from hub.errors import HubError, InvalidInput, NotFound
from hub.models import RepositoryListEntry

PAGE_SIZE = 20
MAX_PAGE = 100_000
PAGE_ACTION = "repos_page"
PUSH = frozenset({"write", "admin"})
MAX_PUSHERS_SHOWN = 30


@dataclass(frozen=True)
class TeamAccess:
    team: str
    permission: str
    members: int | None


async def repository_teams(ctx: HandlerContext, repository: str) -> list[TeamAccess]:
    """Every team with a grant on the org's repository, strongest first: one read per team, at once."""
    teams = await ctx.hub.list_groups()
    by_name = {team.name: team for team in teams}
    found = await read_repository_grants(ctx.hub, repository, teams)
    access = [TeamAccess(name, permission, by_name[name].member_count) for name, permission in found]
    return sorted(access, key=lambda entry: (-PERMISSION_RANK.get(entry.permission, 0), entry.team))


async def _pushers(ctx: HandlerContext, teams: Sequence[TeamAccess]) -> set[str]:
    names: set[str] = set()
    for entry in teams:
        if entry.permission in PUSH:
            names.update([member.username async for member in ctx.hub.iter_group_members(entry.team)])
    return names


async def repo(ctx: HandlerContext, ref: str) -> Reply:
    """`/hub repo acme/api` (or just `api`, in the instance's org)."""
    text = ref.strip()
    try:
        namespace, repository = paths.parse_repository_ref(text if "/" in text else f"{ctx.hub.org}/{text}")
    except InvalidInput as error:
        return bk.message(f":warning: {bk.escape(error.message)}. Usage: `/hub repo namespace/repository`.")
    full = f"{namespace}/{repository}"
    if namespace != ctx.hub.org:
        return bk.message(
            f":warning: {bk.code(full)} is not in {bk.code(ctx.hub.org)}: teams of the org only reach its own "
            "repositories."
        )
    try:
        info = await ctx.hub.get_repository(repository)
        teams = await repository_teams(ctx, repository)
        pushers = await _pushers(ctx, teams)
    except NotFound:
        return bk.message(f":warning: There is no repository {bk.code(full)}; `/hub repos` lists them.")
    except HubError as error:
        return bk.error_reply(error)
    return render_repo(full, info.is_private, teams, pushers)


def render_repo(full: str, private: bool, teams: Sequence[TeamAccess], pushers: set[str]) -> Reply:
    visibility = "private" if private else "public"
    head = [
        bk.header(full),
        bk.context(f"{visibility} · {bk.plural(len(teams), 'team')} with access · read live just now"),
    ]
    if pushers:
        shown = sorted(pushers)[:MAX_PUSHERS_SHOWN]
        more = f" and {len(pushers) - len(shown):,} more" if len(pushers) > len(shown) else ""
        push_teams = ", ".join(f"*{bk.escape(t.team)}*" for t in teams if t.permission in PUSH)
        head.append(
            bk.section(
                f":arrow_up: *Can push* ({bk.plural(len(pushers), 'person', 'people')} through {push_teams}): "
                f"{', '.join(bk.escape(name) for name in shown)}{more}"
            )
        )
    else:
        head.append(bk.section(":lock: *Nobody can push* through a team (owners can, as admins of every repository)."))
    lines = [
        f"• *{bk.escape(entry.team)}* — {entry.permission}"
        + ("" if entry.members is None else f" ({bk.plural(entry.members, 'member')})")
        for entry in teams
    ]
    if not lines:
        lines = ["No team has been given access; only the org's owners reach it."]
    tail = [bk.context("Owners reach every repository of the org, as admin through the owners team.")]
    return bk.reply(bk.list_blocks(head, lines, tail))


# -- /hub repos ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReposPage:
    instance: str
    search: str | None
    page: int

    def encode(self) -> str:
        return bk.compact_json({"i": self.instance, "s": self.search, "p": self.page})


def parse_repos_page(value: str) -> ReposPage:
    """The state in a `repos_page` button, checked field by field; ValueError says what is wrong."""
    if len(value) > bk.MAX_BUTTON_VALUE:
        raise ValueError("it is too long")
    try:
        data = json.loads(value)
    except ValueError:
        raise ValueError("it is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"i", "s", "p"}:
        raise ValueError("it does not have the expected fields")
    instance, search, page = data["i"], data["s"], data["p"]
    if not isinstance(instance, str) or not (search is None or isinstance(search, str)):
        raise ValueError("it does not have the expected fields")
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise ValueError("the page number is not valid")
    return ReposPage(instance, search or None, page)


async def repos(
    ctx: HandlerContext,
    search: str | None = None,
    *,
    page: int = 1,
    index: AccessIndexStore | None = None,
    replace_original: bool = False,
) -> Reply:
    """`/hub repos [search]`: one page of the org's repositories by name."""
    if not 1 <= page <= MAX_PAGE:
        return bk.message(f":warning: Pages go from 1 to {MAX_PAGE:,}.")
    state = ReposPage(ctx.instance, (search or "").strip() or None, page)
    try:
        result = await ctx.hub.repositories_page(page, PAGE_SIZE, name=state.search)
    except HubError as error:
        return bk.error_reply(error)
    counts: dict[str, int] | None = None
    age = ""
    if index is not None:
        status = await index.index_status(ctx.instance)
        if status is not None and status.finished_at is not None:
            counts = await index.team_counts(ctx.instance, [repo.name for repo in result.items])
            age = index_age_text(status, datetime.now(UTC))
    return render_repos(state, result.items, result.count, result.has_next, counts, age, replace_original)


async def repos_page_clicked(ctx: HandlerContext, value: str, *, index: AccessIndexStore | None = None) -> Reply:
    """A Previous / Next click: that page, replacing the one it was on."""
    try:
        state = parse_repos_page(value)
    except ValueError as error:
        return bk.message(f"That page button is not valid ({error}); run `/hub repos` again.")
    if state.instance != ctx.instance:
        return bk.message(f"That page button is for {bk.code(state.instance, 60)}; run `/hub repos` again.")
    return await repos(ctx, state.search, page=state.page, index=index, replace_original=True)


def render_repos(
    state: ReposPage,
    items: Sequence[RepositoryListEntry],
    count: int | None,
    has_next: bool,
    team_counts: dict[str, int] | None,
    age: str,
    replace_original: bool = False,
) -> Reply:
    first = (state.page - 1) * PAGE_SIZE + 1
    filters = f" matching {bk.code(state.search)}" if state.search else ""
    if items:
        total = f" of {count:,}" if count is not None else ""
        status = f"Showing {first:,}–{first + len(items) - 1:,}{total} repositories{filters}."
    elif state.page == 1:
        status = f"No repositories{filters}."
    else:
        status = f"Page {state.page:,} is past the end of the list{filters}."
    if team_counts is not None:
        status += f" Teams with access {age}."
    lines = []
    for repo in items:
        visibility = "private" if repo.is_private else "public"
        teams = ""
        if team_counts is not None:
            teams = f" · {bk.plural(team_counts.get(repo.name, 0), 'team')}"
        lines.append(f"• *{bk.escape(repo.namespace)}/{bk.escape(repo.name)}* — {visibility}{teams}")
    buttons = []
    if state.page > 1:
        buttons.append(
            bk.button("Previous page", PAGE_ACTION, ReposPage(state.instance, state.search, state.page - 1).encode())
        )
    if has_next:
        buttons.append(
            bk.button(
                "Next page",
                PAGE_ACTION,
                ReposPage(state.instance, state.search, state.page + 1).encode(),
                style="primary",
            )
        )
    tail = [bk.context("`/hub repo namespace/repository` shows a repository's teams.")]
    if buttons:
        tail.append(bk.actions(buttons, block_id="repos_paging"))
    reply = bk.reply(bk.list_blocks([bk.section(status)], lines, tail))
    reply.replace_original = replace_original
    return reply


# -- the commands ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepoQuery:
    ref: str
    """`namespace/repository`, or a repository name of the instance's org; checked by the parser."""


def _parse_repo(spec: Syntax, args: list[str]) -> RepoQuery:
    if len(args) != 1:
        raise UsageError("repo needs one repository, namespace/repository", spec)
    ref = args[0]
    # Checked here, before anything is read: a bare name is taken as a repository of the org.
    if "/" in ref:
        paths.parse_repository_ref(ref)
    else:
        paths.repository(ref)
    return RepoQuery(ref)


async def _run_repo(ctx: HandlerContext, query: RepoQuery) -> Reply:
    return await repo(ctx, query.ref)


REPO = Lookup(
    Syntax(
        "repo",
        "repo <namespace/repo>",
        "One repository: the teams with access, their permission, and who can push",
        ("/hub repo acme/api",),
    ),
    RepoQuery,
    _parse_repo,
    _run_repo,
)


@dataclass(frozen=True)
class ReposQuery:
    search: str | None = None


def _parse_repos(spec: Syntax, args: list[str]) -> ReposQuery:
    reject_unknown_options(spec, args)
    search = " ".join(args) or None
    if search is not None and len(search) > MAX_SEARCH:
        raise UsageError(f"the search is longer than {MAX_SEARCH} characters", spec)
    return ReposQuery(search)


async def _run_repos(ctx: HandlerContext, query: ReposQuery) -> Reply:
    return await repos(ctx, query.search, index=ctx.access_index)


REPOS = Lookup(
    Syntax(
        "repos",
        "repos [search]",
        "The org's repositories, a page at a time, with how many teams reach each",
        ("/hub repos api",),
    ),
    ReposQuery,
    _parse_repos,
    _run_repos,
)
