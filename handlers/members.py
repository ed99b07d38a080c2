"""`/hub whois` and `/hub members`: who is in the org, one person or a page at a time.

Each handler fetches, then hands plain models to a pure `render_*` function, so the rendering can
be checked against Slack's limits with any input, however large.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from handlers import blocks as bk
from handlers import concurrently
from handlers.context import Block, HandlerContext, Reply
from handlers.grammar import MAX_SEARCH, ROLES, Syntax, UsageError, take_option
from handlers.lookup import Lookup
from hub import paths
from hub.errors import HubError
from hub.models import Invite, OrgMember

PAGE_SIZE = 20
PAGE_ACTION = "members_page"
MAX_PAGE = 100_000
"""Far beyond any org (2M members); a bigger number in a button value is tampering."""
NO_INSIGHTS = "unknown (Insights not enabled)"


# -- whois ----------------------------------------------------------------------------------------


def activity(member: OrgMember, when: datetime | None, now: datetime | None = None) -> str:
    """Absent Insights fields mean we cannot know; present but null means never. Never a guess."""
    if not member.has_insights:
        return NO_INSIGHTS
    if when is None:
        return "never"
    return bk.when_ago(when, now)


def matching_invites(invites: Sequence[Invite], *names: str | None) -> list[Invite]:
    """Invites whose invitee is one of `names` (an email or a Docker ID), case-insensitively."""
    wanted = {name.lower() for name in names if name}
    return [invite for invite in invites if invite.invitee.lower() in wanted]


def invite_line(invite: Invite, now: datetime | None = None) -> str:
    inviter = bk.code(invite.inviter_username) if invite.inviter_username else "someone unknown"
    team = f", to team {bk.code(invite.team)}" if invite.team else ", no team"
    role = f", as {bk.escape(invite.role.lower())}" if invite.role else ""
    when = bk.when_ago(invite.created_at, now) if invite.created_at else "at an unknown time"
    return f"invited by {inviter} on {when}{team}{role}"


def render_whois(
    query: str,
    org: str,
    member: OrgMember | None,
    invites: Sequence[Invite] | HubError,
    now: datetime | None = None,
) -> Reply:
    """One person: a member (with any pending invite), an invitee, or nobody we know."""
    pending = [] if isinstance(invites, HubError) else list(invites)
    out: list[Block] = []
    if member is not None:
        name = f" — {bk.escape(bk.clip(member.full_name, 200))}" if member.full_name else ""
        teams = bk.join_limited([bk.code(team, 60) for team in member.groups], 1900) if member.groups else "none"
        fields = [
            f"*Role*\n{bk.escape(member.role)}",
            f"*Guest*\n{'yes (not in the company domain)' if member.is_guest else 'no'}",
            f"*Email*\n{bk.escape(member.email) if member.email else 'not shown by Docker Hub'}",
            f"*Joined*\n{bk.when_ago(member.date_joined, now)}",
            f"*Last login*\n{activity(member, member.last_logged_in_at, now)}",
            f"*Last seen*\n{activity(member, member.last_seen_at, now)}",
            f"*Teams*\n{teams}",
        ]
        out += bk.fields_sections(f"*{bk.escape(member.username)}*{name} is a member of *{bk.escape(org)}*.", fields)
        for invite in pending[:5]:
            line = f":envelope: Also a pending invite for {bk.code(invite.invitee)}: {invite_line(invite, now)}"
            out.append(bk.section(line))
    elif pending:
        out.append(bk.section(f"{bk.code(query)} is not a member of *{bk.escape(org)}* yet, but has a pending invite."))
        out += [bk.section(f":envelope: {invite_line(invite, now)}") for invite in pending[:5]]
    else:
        out.append(bk.section(f"No member of *{bk.escape(org)}* and no pending invite matches {bk.code(query)}."))
        out.append(bk.context("`/hub members &lt;search&gt;` searches names and emails; `/hub invites` lists invites."))
    if len(pending) > 5:
        out.append(bk.context(f"{bk.plural(len(pending) - 5, 'more invite')} not shown; see `/hub invites`."))
    if isinstance(invites, HubError):
        problem = bk.escape(bk.clip(invites.message, 300))
        out.append(bk.context(f":warning: Pending invites could not be read: {problem}"))
    return bk.reply(out)


async def _invites_or_error(ctx: HandlerContext) -> list[Invite] | HubError:
    # The member is what was asked about; failing to read invites should not hide them.
    try:
        return await ctx.hub.list_invites()
    except HubError as error:
        return error


async def whois(ctx: HandlerContext, query: str) -> Reply:
    # Both reads at once; when the member cannot be read the invites read is cancelled, not left running.
    member, invites = await concurrently.both(ctx.hub.find_member(query), _invites_or_error(ctx))
    names = (query, member.email, member.username) if member is not None else (query,)
    found = invites if isinstance(invites, HubError) else matching_invites(invites, *names)
    return render_whois(query, ctx.instance, member, found, datetime.now(UTC))


# -- members --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageState:
    """What a paging button carries: enough to fetch that page again, nothing else."""

    instance: str
    search: str | None
    role: str | None
    page: int

    def encode(self) -> str:
        return bk.compact_json({"i": self.instance, "s": self.search, "r": self.role, "p": self.page})


class BadPageValue(ValueError):
    """A paging button's value that we did not write (or an old format)."""


def parse_page_value(value: str) -> PageState:
    """The state in a `members_page` button, checked field by field; the router can read `instance`."""
    if len(value) > bk.MAX_BUTTON_VALUE:
        raise BadPageValue("it is too long")
    try:
        data = json.loads(value)
    except ValueError:
        raise BadPageValue("it is not JSON") from None
    if not isinstance(data, dict) or set(data) != {"i", "s", "r", "p"}:
        raise BadPageValue("it does not have the expected fields")
    instance, search, role, page = data["i"], data["s"], data["r"], data["p"]
    if not isinstance(instance, str) or not instance:
        raise BadPageValue("the instance is missing")
    if search is not None and (not isinstance(search, str) or len(search) > MAX_SEARCH):
        raise BadPageValue("the search is not valid")
    if role is not None and role not in ROLES:
        raise BadPageValue("the role is not valid")
    # bool is an int to Python; `true` is not a page number.
    if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= MAX_PAGE:
        raise BadPageValue("the page number is not valid")
    return PageState(instance, search or None, role, page)


def member_line(member: OrgMember) -> str:
    name = f" — {bk.escape(bk.clip(member.full_name, 100))}" if member.full_name else ""
    guest = " · _guest_" if member.is_guest else ""
    email = f" · {bk.escape(bk.clip(member.email, 254))}" if member.email else ""
    return f"• *{bk.escape(member.username)}*{name} · {bk.escape(member.role)}{guest}{email}"


def _filters(search: str | None, role: str | None) -> str:
    parts = []
    if search:
        parts.append(f"matching {bk.code(search)}")
    if role:
        parts.append(f"with role {bk.escape(role)}")
    return " " + " and ".join(parts) if parts else ""


def render_members_page(
    state: PageState,
    items: Sequence[OrgMember],
    count: int | None,
    has_next: bool,
    *,
    replace_original: bool = False,
) -> Reply:
    """One page: who, "Showing 21–40 of 123", and Previous / Next page buttons carrying the state."""
    filters = _filters(state.search, state.role)
    first = (state.page - 1) * PAGE_SIZE + 1
    last = first + len(items) - 1
    total = f" of {count:,}" if count is not None else ""
    out: list[Block] = [bk.header(f"Members of {bk.clip(state.instance, 60)}")]
    if items:
        status = f"Showing {first:,}–{last:,}{total}{filters}"
    elif state.page == 1:
        status = f"No members{filters}."
    else:
        status = f"Page {state.page:,} is past the end of the list{f' ({count:,} in all)' if count else ''}{filters}."
    has_next = has_next or (count is not None and bool(items) and last < count)
    # Both buttons have action_id `members_page`, and Slack wants action_ids unique within a block:
    # each gets its own actions block.
    tail: list[Block] = []
    if state.page > 1:
        previous = state.page - 1
        if not items and count is not None:
            # Past the end (the org shrank): Previous goes to the last page that has anyone.
            previous = max(1, min(previous, -(-count // PAGE_SIZE)))
        previous_button = bk.button("Previous", PAGE_ACTION, _state(state, previous).encode())
        tail.append(bk.actions([previous_button], block_id="members_previous"))
    if has_next and items:
        next_button = bk.button("Next page", PAGE_ACTION, _state(state, state.page + 1).encode(), style="primary")
        tail.append(bk.actions([next_button], block_id="members_next"))
    lines = [member_line(member) for member in items]
    head = [*out, bk.context(status)]
    return bk.reply(
        bk.list_blocks(head, lines, tail, not_shown="{n} more on this page not shown"),
        replace_original=replace_original,
    )


def _state(state: PageState, page: int) -> PageState:
    return PageState(state.instance, state.search, state.role, page)


async def _members_page(ctx: HandlerContext, state: PageState, *, replace_original: bool) -> Reply:
    result = await ctx.hub.members_page(state.page, PAGE_SIZE, search=state.search, role=state.role)
    return render_members_page(state, result.items, result.count, result.has_next, replace_original=replace_original)


async def members(ctx: HandlerContext, *, search: str | None = None, role: str | None = None, page: int = 1) -> Reply:
    # The grammar already refuses these; a caller that skipped it gets the same answer, not a crash.
    if search is not None and len(search) > MAX_SEARCH:
        return bk.message(f"The search is longer than {MAX_SEARCH} characters; try a shorter one.")
    if role is not None and role.lower() not in ROLES:
        return bk.message(f"{bk.code(role)} is not a role; use one of {', '.join(ROLES)}.")
    if not 1 <= page <= MAX_PAGE:
        return bk.message(f"Pages are numbered from 1 to {MAX_PAGE:,}.")
    state = PageState(ctx.instance, search or None, role.lower() if role else None, page)
    return await _members_page(ctx, state, replace_original=False)


async def members_page_clicked(ctx: HandlerContext, value: str) -> Reply:
    """A Previous / Next page click: the page it asks for, replacing the page it was on."""
    try:
        state = parse_page_value(value)
    except BadPageValue as error:
        return bk.message(f"That page button is not valid ({error}); run `/hub members` again.")
    if state.instance != ctx.instance:
        return bk.message(
            f"That page button is for {bk.code(state.instance, 60)}, not {bk.code(ctx.instance, 60)}; "
            "run `/hub members` again."
        )
    return await _members_page(ctx, state, replace_original=True)


# -- the commands -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Whois:
    query: str


def _parse_whois(spec: Syntax, args: list[str]) -> Whois:
    if len(args) != 1:
        raise UsageError("whois needs one email or username", spec)
    query = args[0]
    return Whois(paths.email(query) if "@" in query else paths.username(query))


async def _run_whois(ctx: HandlerContext, query: Whois) -> Reply:
    return await whois(ctx, query.query)


WHOIS = Lookup(
    Syntax(
        "whois",
        "whois <email|username>",
        "One person: role, teams, guest or not, activity, pending invite",
        ("/hub whois ada@acme.example",),
    ),
    Whois,
    _parse_whois,
    _run_whois,
    # By email, Docker Hub's member search may not narrow the listing: it can page through the whole org.
    scan=lambda query: "@" in query.query,
    scan_cooldown=False,
)


@dataclass(frozen=True)
class Members:
    search: str | None = None
    role: str | None = None
    page: int = 1


def _parse_members(spec: Syntax, args: list[str]) -> Members:
    rest, role = take_option(args, "--role", spec)
    unknown = [arg for arg in rest if arg.startswith("--")]
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r}", spec)
    if role is not None and role.lower() not in ROLES:
        raise UsageError(f"--role must be one of {', '.join(ROLES)}", spec)
    search = " ".join(rest) or None
    if search is not None and len(search) > MAX_SEARCH:
        raise UsageError(f"the search is longer than {MAX_SEARCH} characters", spec)
    return Members(search=search, role=role.lower() if role else None)


async def _run_members(ctx: HandlerContext, query: Members) -> Reply:
    return await members(ctx, search=query.search, role=query.role, page=query.page)


MEMBERS = Lookup(
    Syntax(
        "members",
        "members [search] [--role owner|editor|member]",
        "Org members, a page at a time",
        ("/hub members --role owner",),
    ),
    Members,
    _parse_members,
    _run_members,
)
