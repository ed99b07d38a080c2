"""`/hub review` and `hubkeeper review`: the access review, one CSV row per org member.

One pass over the members listing (its `groups` field carries each member's teams, so there are no
per-team calls) plus one `list_invites` call, which runs alongside the first members page. Each row
is written as its page arrives: memory holds the client's few in-flight pages and the pending
invites, never the org.

Decisions the columns encode (documented in the module so the CSV's reader can find them):

- `last_login` / `last_seen`: an ISO 8601 UTC time; `never` when Docker Hub sent the field as null
  (Insights on, never happened); `unknown` when the field was absent (Insights not enabled).
- `stale`: `yes` when the member's most recent activity (the later of last login and last seen) is
  older than the threshold. The later of the two, because someone seen yesterday on a long-lived
  session is active even if their last login was months ago. A member who never logged in is
  stale once they joined more than the threshold ago (they had the time to and did not); before
  that, `no`. `unknown` when Insights fields are absent, or when a never-seen member has no join
  date: a review must not call someone stale on no evidence.
- `pending_invite`: `yes` when a pending invite names the member's email or username
  (case-insensitively). Invites matching no member are listed after the members as rows with role
  `Invitee` (Docker ID or email from the invite, its team, the invite date as `joined`) and
  `stale` left empty: they are access being granted, which a review should see.
- `teams`: the member's `groups`, `; `-separated, as Docker Hub lists them: `owners` included, so
  "in no team" counts members in no team at all, owners' team too.
- The threshold is `stale_after_days` (the CLI and the bot read `HUBKEEPER_STALE_AFTER_DAYS`, 90 by
  default); a member exactly at it is not yet stale.
- Formula injection: a cell Docker Hub fills (username, email, full name, role, teams, invitee)
  that starts with `=`, `+`, `-`, `@` (or tab / carriage return, which spreadsheets strip before
  evaluating) gets a leading `'`, so a full name like `=HYPERLINK(...)` is shown as text in a
  spreadsheet rather than run. The other cells are ours (dates, yes/no) and never start so.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from handlers import blocks as bk
from handlers.context import HandlerContext, Reply
from handlers.grammar import Syntax
from handlers.lookup import without_arguments
from handlers.stale import STALE_AFTER_DAYS
from hub.client import HubClient
from hub.errors import HubError
from hub.models import Invite, OrgMember

COLUMNS = (
    "username",
    "email",
    "full_name",
    "role",
    "teams",
    "guest",
    "joined",
    "last_login",
    "last_seen",
    "stale",
    "pending_invite",
)
TEAM_SEPARATOR = "; "
"""Team names cannot hold `;` or spaces, so the list splits back unambiguously."""

NEVER = "never"
UNKNOWN = "unknown"
YES = "yes"
NO = "no"
INVITEE_ROLE = "Invitee"

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

Upload = Callable[[str, str, bytes | Path, str], Awaitable[None]]
"""upload(user_id, filename, content or a path to it, comment): share a file with a user by DM."""


class UploadFailed(Exception):
    """The uploader could not deliver the file; the message says why in one line (no secrets)."""


@dataclass
class ReviewSummary:
    org: str = ""
    members: int = 0
    owners: int = 0
    guests: int = 0
    stale: int = 0
    unknown_activity: int = 0
    """Members whose staleness cannot be told (Insights off, or never seen with no join date)."""
    pending_invites: int = 0
    """Every pending invite, whether its invitee is already a member or listed as an Invitee row."""
    invitee_rows: int = 0
    """Pending invites matching no member, written as rows with role Invitee."""
    no_team: int = 0
    stale_after_days: int = STALE_AFTER_DAYS

    @property
    def rows(self) -> int:
        return self.members + self.invitee_rows

    def text(self) -> str:
        """One line, for the CLI's stderr and the upload's comment."""
        return (
            f"Access review of {self.org}: {self.members:,} members ({self.owners:,} owners, {self.guests:,} guests), "
            f"{self.stale:,} stale (no activity in {self.stale_after_days} days), "
            f"{self.unknown_activity:,} with unknown activity, {self.no_team:,} in no team, "
            f"{self.pending_invites:,} pending invites ({self.invitee_rows:,} not yet members)."
        )


def safe_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: formula-looking values get a leading `'`."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def timestamp(when: datetime | None) -> str:
    """ISO 8601 in UTC to the second. Formatted by hand: strftime was a quarter of a review's CPU."""
    if when is None:
        return ""
    # Docker Hub's times are UTC ("Z"); a naive one is read as such rather than as local time.
    offset = when.utcoffset()
    if offset:
        when = when - offset
    return f"{when.year:04d}-{when.month:02d}-{when.day:02d}T{when.hour:02d}:{when.minute:02d}:{when.second:02d}Z"


def activity_cell(insights: bool, when: datetime | None) -> str:
    if not insights:
        return UNKNOWN
    return NEVER if when is None else timestamp(when)


def staleness(member: OrgMember, now: datetime, threshold: timedelta) -> str:
    """`yes`, `no` or `unknown`; see the module docstring for why each case is what it is."""
    if not member.has_insights:
        return UNKNOWN
    seen = [_aware(when) for when in (member.last_logged_in_at, member.last_seen_at) if when is not None]
    if seen:
        return YES if now - max(seen) > threshold else NO
    if member.date_joined is None:
        return UNKNOWN
    return YES if now - _aware(member.date_joined) > threshold else NO


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class _InviteIndex:
    """Pending invites by lowercased invitee, remembering which ones a member row claimed."""

    def __init__(self, invites: Sequence[Invite]) -> None:
        self.invites = invites
        self._by_name: dict[str, list[int]] = {}
        for index, invite in enumerate(invites):
            self._by_name.setdefault(invite.invitee.lower(), []).append(index)
        self._claimed: set[int] = set()

    def claim(self, *names: str | None) -> bool:
        found = False
        for name in names:
            for index in self._by_name.get(name.lower(), ()) if name else ():
                self._claimed.add(index)
                found = True
        return found

    def unclaimed(self) -> Iterable[Invite]:
        return (invite for index, invite in enumerate(self.invites) if index not in self._claimed)


def _member_row(member: OrgMember, stale: str, pending: bool) -> list[str]:
    # Only the cells Docker Hub fills with free text can start like a formula; the rest are ours.
    insights = member.has_insights
    return [
        safe_cell(member.username),
        safe_cell(member.email or ""),
        safe_cell(member.full_name or ""),
        safe_cell(member.role),
        safe_cell(TEAM_SEPARATOR.join(member.groups)),
        YES if member.is_guest else NO,
        timestamp(member.date_joined),
        activity_cell(insights, member.last_logged_in_at),
        activity_cell(insights, member.last_seen_at),
        stale,
        YES if pending else NO,
    ]


def _invitee_row(invite: Invite) -> list[str]:
    is_email = "@" in invite.invitee
    return [
        "" if is_email else safe_cell(invite.invitee),
        safe_cell(invite.invitee) if is_email else "",
        "",
        INVITEE_ROLE,
        safe_cell(invite.team or ""),
        NO,
        timestamp(invite.created_at),
        "",
        "",
        "",
        YES,
    ]


async def write_review_csv(
    hub: HubClient,
    out: TextIO,
    *,
    stale_after_days: int = STALE_AFTER_DAYS,
    now: datetime | None = None,
) -> ReviewSummary:
    """Write the access review of `hub`'s org to `out` (opened with newline=""), row by row.

    Raises HubError as the client does; `out` then holds the rows written so far, so callers that
    keep the file write to a temporary one first.
    """
    now = now or datetime.now(UTC)
    threshold = timedelta(days=stale_after_days)
    summary = ReviewSummary(org=hub.org, stale_after_days=stale_after_days)
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    # Started now so it shares the first page's round trip; awaited before the first row, which
    # needs it. The token exchange is single-flight, so the two requests still make one exchange.
    invites_task = asyncio.create_task(hub.list_invites())
    index: _InviteIndex | None = None
    try:
        async for member in hub.iter_members():
            if index is None:
                index = _InviteIndex(await invites_task)
            stale = staleness(member, now, threshold)
            pending = index.claim(member.email, member.username)
            writer.writerow(_member_row(member, stale, pending))
            summary.members += 1
            summary.owners += member.role_key == "owner"
            summary.guests += member.is_guest
            summary.stale += stale == YES
            summary.unknown_activity += stale == UNKNOWN
            summary.no_team += not member.groups
        if index is None:  # an org with no members at all (not possible on Docker Hub, but cheap)
            index = _InviteIndex(await invites_task)
    finally:
        # Cancel it if the listing failed first; await it either way so its own failure is never
        # left unretrieved (asyncio would log it), the listing's error being the one that matters.
        invites_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, HubError):
            await invites_task
    summary.pending_invites = len(index.invites)
    for invite in index.unclaimed():
        writer.writerow(_invitee_row(invite))
        summary.invitee_rows += 1
    return summary


def review_filename(org: str, now: datetime) -> str:
    return f"access-review-{org}-{now.astimezone(UTC):%Y-%m-%d}.csv"


async def review(ctx: HandlerContext, *, upload: Upload, stale_after_days: int = STALE_AFTER_DAYS) -> Reply:
    """`/hub review`: the CSV goes to the requester by DM (it holds emails); the reply is a summary."""
    now = datetime.now(UTC)
    filename = review_filename(ctx.hub.org, now)
    # A temporary file rather than a buffer, so a 50,000-member review does not sit in memory.
    with tempfile.TemporaryDirectory(prefix="hubkeeper-review-") as directory:
        path = Path(directory) / filename
        try:
            with path.open("w", encoding="utf-8", newline="") as out:
                summary = await write_review_csv(ctx.hub, out, stale_after_days=stale_after_days, now=now)
        except HubError as error:
            return bk.error_reply(error)
        try:
            await upload(ctx.actor, filename, path, summary.text())
        except UploadFailed as error:
            return bk.message(
                f":warning: The access review of {bk.code(ctx.hub.org)} was built but could not be sent to you: "
                f"{bk.echo(str(error))}"
            )
    return render_summary(summary, filename, ctx.instance)


def render_summary(summary: ReviewSummary, filename: str, instance: str = "") -> Reply:
    where = f" ({bk.escape(instance)})" if instance and instance != summary.org else ""
    lines = [
        f"*Access review of {bk.code(summary.org)}{where}* sent to you by DM as {bk.code(filename)}.",
        f"• {bk.plural(summary.members, 'member')}: {bk.plural(summary.owners, 'owner')}, "
        f"{bk.plural(summary.guests, 'guest')}, {summary.no_team:,} in no team",
        f"• {summary.stale:,} stale (no activity in {summary.stale_after_days} days), "
        f"{summary.unknown_activity:,} with unknown activity",
        f"• {bk.plural(summary.pending_invites, 'pending invite')} ({summary.invitee_rows:,} listed as Invitee rows)",
    ]
    return bk.message("\n".join(lines))


@dataclass(frozen=True)
class Review:
    pass


async def _run_review(ctx: HandlerContext) -> Reply:
    if ctx.upload is None:
        return Reply("Access reviews need Slack file uploads, which this hubkeeper lacks.")
    return await review(ctx, upload=ctx.upload, stale_after_days=ctx.stale_after_days)


REVIEW = without_arguments(
    Syntax("review", "review", "An access review: a CSV of every member, sent to you by DM", ("/hub review",)),
    Review,
    _run_review,
    scan=True,
)
